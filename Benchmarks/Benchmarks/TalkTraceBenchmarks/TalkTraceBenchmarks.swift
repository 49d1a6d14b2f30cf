// One benchmark per pipeline stage, then end to end (names without spaces or punctuation: package-benchmark 1.38.1 writes threshold
// files with a shell-safe version of the name but looks them up by the raw name). Inputs are generated once into a temporary
// folder: speech-like bursts (pulse train through two resonances) over noise, stereo 8 kHz pcm_s16le.
import Benchmark
import Foundation
import TalkTraceAudio
import TalkTracePipeline
import TalkTraceRecords

/// Deterministic test audio and CTRs, made once per process.
enum Inputs {
    static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("talktrace-benchmarks-\(getpid())")
        try! FileManager.default.createDirectory(at: dir.appendingPathComponent("batch"), withIntermediateDirectories: true)
        return dir
    }()

    /// `seconds` of a two-party call: alternating 3 s turns over -60 dBFS noise.
    static func call(seconds: Int) -> [Float] {
        let rate = 8000, n = seconds * rate
        var x = [Float](repeating: 0, count: 2 * n)
        var state: UInt64 = 0x9E3779B97F4A7C15
        var y1: Float = 0, y2: Float = 0, phase = 0.0
        for i in 0..<n {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            let noise = Float(Double((state &* 2685821657736338717) >> 11) / Double(1 << 53) - 0.5) * 0.002
            let t = Double(i) / Double(rate)
            let turn = Int(t / 3) % 3  // agent, customer, pause
            phase += (turn == 0 ? 120 : 210) / Double(rate)
            var src: Float = 0
            if phase >= 1 { phase -= 1; src = 1 }
            let y = src + 1.6 * y1 - 0.8 * y2; y2 = y1; y1 = y
            let env = Float(0.55 - 0.45 * cos(2 * Double.pi * 4 * t))
            let v = turn == 2 ? 0 : 0.05 * y * env
            x[2 * i] = noise + (turn == 1 ? v : 0)      // customer, left
            x[2 * i + 1] = noise + (turn == 0 ? v : 0)  // agent, right
        }
        return x
    }

    static func wav(seconds: Int) -> String {
        let path = directory.appendingPathComponent("call-\(seconds)s.wav").path
        if !FileManager.default.fileExists(atPath: path) {
            try! SoundFileWriter.writeWAV(path: path, sampleRate: 8000, channels: 2, interleaved: call(seconds: seconds))
        }
        return path
    }

    static let oneMinute = wav(seconds: 60)
    static let tenMinutes = wav(seconds: 600)

    /// 20 one-minute calls named like Connect recordings, and a Firehose object naming them.
    static let batch: (recordings: String, ctr: String) = {
        let rec = directory.appendingPathComponent("batch")
        var ctr = ""
        for i in 0..<20 {
            let id = String(format: "%08x-0000-4000-8000-%012x", i, i)
            let name = "\(id)_20260303T10:\(String(format: "%02d", i))_UTC.wav"
            try? FileManager.default.removeItem(atPath: rec.appendingPathComponent(name).path)
            try! FileManager.default.copyItem(atPath: oneMinute, toPath: rec.appendingPathComponent(name).path)
            ctr += #"{"ContactId":"\#(id)","LastUpdateTimestamp":"2026-03-03T11:00:00Z","Recordings":[{"Location":"bucket/\#(name)"}]}"#
        }
        let ctrPath = directory.appendingPathComponent("firehose-object").path
        try! Data(ctr.utf8).write(to: URL(fileURLWithPath: ctrPath))
        return (rec.path, ctrPath)
    }()

    /// 2,000 Firehose-style CTRs concatenated with no delimiter, one duplicate in ten.
    static let firehose: Data = {
        var s = ""
        for i in 0..<2000 {
            s += #"{"ContactId":"\#(String(format: "%08x-0000-4000-8000-%012x", i % 1800, i))","LastUpdateTimestamp":"2026-03-03T10:\#(String(format: "%02d", i % 60)):00Z","Channel":"VOICE","Agent":{"AgentInteractionDuration":120,"CustomerHoldDuration":0},"Recordings":[{"Location":"bucket/connect/x/CallRecordings/2026/03/03/\#(i).wav","StorageType":"S3"}],"Attributes":{"a":"b"}}"#
        }
        return Data(s.utf8)
    }()
}

let benchmarks: @Sendable () -> Void = {
    // Time varies with machine load: relaxed thresholds. Allocation counts are exact: the default.
    let tolerances: [BenchmarkMetric: BenchmarkThresholds] = [
        .wallClock: .relaxed, .throughput: .relaxed, .mallocCountTotal: .default, .peakMemoryResident: .relaxed,
    ]
    let stage = Benchmark.Configuration(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2),
                                        thresholds: tolerances)
    let whole = Benchmark.Configuration(metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
                                        maxDuration: .seconds(3), maxIterations: 20, thresholds: tolerances)

    Benchmark("ReadDecode1minInt16", configuration: stage) { benchmark in
        let buffer = UnsafeMutablePointer<Int16>.allocate(capacity: 2 * 8192)
        defer { buffer.deallocate() }
        for _ in benchmark.scaledIterations {
            var file = try SoundFile(path: Inputs.oneMinute)
            var total = 0
            while true { let n = file.read(into: buffer, frames: 8192); if n <= 0 { break }; total += n }
            blackHole(total)
        }
    }

    Benchmark("SplitDeinterleave1min", configuration: stage) { benchmark in
        let n = 480_000
        let source = UnsafeMutablePointer<Int16>.allocate(capacity: 2 * n); source.initialize(repeating: 1, count: 2 * n)
        let l = UnsafeMutablePointer<Float>.allocate(capacity: n), r = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { source.deallocate(); l.deallocate(); r.deallocate() }
        for _ in benchmark.scaledIterations {
            ChannelSplit.deinterleave(source, frames: n, left: l, right: r)
            blackHole(l[n - 1])
        }
    }

    Benchmark("SpectralFrames1minOneChannel", configuration: stage) { benchmark in
        let samples = Inputs.call(seconds: 60).enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        let geometry = FrameGeometry(sampleRate: 8000)
        let bands = UnsafeMutablePointer<Float>.allocate(capacity: geometry.bandCount)
        defer { bands.deallocate() }
        for _ in benchmark.scaledIterations {
            var framer = SpectralFramer(geometry: geometry)
            var frames = 0
            samples.withUnsafeBufferPointer { s in framer.push(s.baseAddress!, count: s.count, bands: bands) { _, _ in frames += 1 } }
            blackHole(frames)
        }
    }

    Benchmark("ActivityDetector1minBothChannels", configuration: stage) { benchmark in
        let geometry = FrameGeometry(sampleRate: 8000)
        var framesL: [[Float]] = [], framesR: [[Float]] = [], featL: [FrameFeatures] = [], featR: [FrameFeatures] = []
        let x = Inputs.call(seconds: 60)
        let left = x.enumerated().filter { $0.offset % 2 == 0 }.map(\.element), right = x.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        let bands = UnsafeMutablePointer<Float>.allocate(capacity: geometry.bandCount)
        defer { bands.deallocate() }
        var f0 = SpectralFramer(geometry: geometry), f1 = SpectralFramer(geometry: geometry)
        left.withUnsafeBufferPointer { s in f0.push(s.baseAddress!, count: s.count, bands: bands) { b, f in framesL.append(Array(UnsafeBufferPointer(start: b, count: geometry.bandCount))); featL.append(f) } }
        right.withUnsafeBufferPointer { s in f1.push(s.baseAddress!, count: s.count, bands: bands) { b, f in framesR.append(Array(UnsafeBufferPointer(start: b, count: geometry.bandCount))); featR.append(f) } }
        for _ in benchmark.scaledIterations {
            var detector = ActivityDetector(parameters: ActivityParameters(), geometry: geometry)
            var talk = 0
            for k in 0..<min(framesL.count, framesR.count) {
                framesL[k].withUnsafeBufferPointer { l in framesR[k].withUnsafeBufferPointer { r in
                    detector.push(left: l.baseAddress!, leftFeatures: featL[k], right: r.baseAddress!, rightFeatures: featR[k]) { a, b in
                        talk += (a.strong ? 1 : 0) + (b.strong ? 1 : 0)
                    }
                } }
            }
            blackHole(talk)
        }
    }

    Benchmark("ConversationMetrics2x1000Segments", configuration: stage) { benchmark in
        let agent = (0..<1000).map { Segment(start: Double($0) * 10, end: Double($0) * 10 + 4) }
        let customer = (0..<1000).map { Segment(start: Double($0) * 10 + 3.5, end: Double($0) * 10 + 8) }
        for _ in benchmark.scaledIterations {
            blackHole(ConversationMetrics(agent: agent, customer: customer, duration: 10_000))
        }
    }

    Benchmark("RecordsScan2000FirehoseCTRs", configuration: stage) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(JSONRecordScanner.scan(Inputs.firehose).records.count)
        }
    }

    Benchmark("Analyze1minCall", configuration: whole) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try CallAnalyzer.analyze(path: Inputs.oneMinute)) }
    }

    Benchmark("Analyze10minCall", configuration: whole) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try CallAnalyzer.analyze(path: Inputs.tenMinutes)) }
    }

    Benchmark("Batch20OneMinuteCallsAllCores", configuration: whole) { benchmark in
        let (rec, ctr) = Inputs.batch
        let out = Inputs.directory.appendingPathComponent("out").path
        for _ in benchmark.scaledIterations {
            let result = try BatchRunner.run(BatchOptions(recordingsDirectory: rec, ctrPaths: [ctr], outputDirectory: out))
            blackHole(try OutputFiles.writeAll(result, to: out))
        }
    }
}
