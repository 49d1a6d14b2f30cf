// One benchmark per pipeline stage, each fed exactly what the stage before it hands over in
// CallAnalyzer (8192-frame blocks), with that input prepared in `setup`, outside the measurement:
//
//   decode (libsndfile) -> split channels -> spectral frames (FFTW) -> activity -> segments and
//   levels -> conversation metrics;   CTR scan -> CTR store (parse + dedup) -> join to recordings.
//
// Audio stages report `xRealTime` (seconds of audio per second of wall clock); CTR stages report
// `ctrsPerSecond`. Names have no spaces or punctuation: package-benchmark 1.38.1 writes threshold
// files under a shell-safe version of the name but reads them back under the raw name.
import _BenchmarkInputs
import Benchmark
import Foundation
import TalkTraceAudio
import TalkTracePipeline
import TalkTraceRecords

/// Seconds of audio per second of wall clock, measured around the whole iteration.
let xRealTime = BenchmarkMetric.custom("xRealTime", polarity: .prefersLarger, useScalingFactor: false)
/// CTR records per second of wall clock.
let ctrsPerSecond = BenchmarkMetric.custom("ctrsPerSecond", polarity: .prefersLarger, useScalingFactor: false)

/// Runs `body` once per scaled iteration and records `amount / seconds` as `metric`.
@inline(__always)
func measure(_ benchmark: Benchmark, _ metric: BenchmarkMetric, amount: Double, _ body: () throws -> Void) rethrows {
    let clock = ContinuousClock()
    let start = clock.now
    for _ in benchmark.scaledIterations { try body() }
    let d = (clock.now - start).components
    let seconds = Double(d.seconds) + Double(d.attoseconds) * 1e-18
    benchmark.measurement(metric, Int((amount * Double(benchmark.scaledIterations.count) / max(seconds, 1e-9)).rounded()))
}

/// A 1-minute call decoded once: interleaved int16, then split into two float channels, then the
/// framer's output (band powers and hop features per frame), then the detector's decisions.
final class Minute: @unchecked Sendable {
    static let seconds = 60
    let path: String
    let frames: Int
    let interleaved: UnsafeMutablePointer<Int16>
    let left: UnsafeMutablePointer<Float>
    let right: UnsafeMutablePointer<Float>
    let geometry = FrameGeometry(sampleRate: 8000)
    private(set) var bands: ([Float], [Float]) = ([], [])
    private(set) var features: ([FrameFeatures], [FrameFeatures]) = ([], [])
    private(set) var decisions: ([FrameDecision], [FrameDecision]) = ([], [])

    init(spectral: Bool = false, decisions withDecisions: Bool = false) throws {
        path = BenchmarkInputs.call(seconds: Self.seconds)
        var file = try SoundFile(path: path)
        frames = Int(file.format.frames)
        interleaved = .allocate(capacity: 2 * frames)
        left = .allocate(capacity: frames)
        right = .allocate(capacity: frames)
        var done = 0
        while done < frames {
            let n = file.read(into: interleaved + 2 * done, frames: min(8192, frames - done))
            if n <= 0 { break }
            done += n
        }
        ChannelSplit.deinterleave(interleaved, frames: frames, left: left, right: right)
        if spectral || withDecisions { frameBoth() }
        if withDecisions { decide() }
    }

    deinit { interleaved.deallocate(); left.deallocate(); right.deallocate() }

    private func frameBoth() {
        let g = geometry
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: g.bandCount)
        defer { scratch.deallocate() }
        var f0 = SpectralFramer(geometry: g), f1 = SpectralFramer(geometry: g)
        var b0: [Float] = [], b1: [Float] = [], x0: [FrameFeatures] = [], x1: [FrameFeatures] = []
        f0.push(left, count: frames, bands: scratch) { b, f in b0.append(contentsOf: UnsafeBufferPointer(start: b, count: g.bandCount)); x0.append(f) }
        f1.push(right, count: frames, bands: scratch) { b, f in b1.append(contentsOf: UnsafeBufferPointer(start: b, count: g.bandCount)); x1.append(f) }
        bands = (b0, b1)
        features = (x0, x1)
    }

    private func decide() {
        var detector = ActivityDetector(parameters: ActivityParameters(), geometry: geometry)
        var d0: [FrameDecision] = [], d1: [FrameDecision] = []
        let n = geometry.bandCount
        bands.0.withUnsafeBufferPointer { l in
            bands.1.withUnsafeBufferPointer { r in
                for k in 0..<features.0.count {
                    detector.push(left: l.baseAddress! + k * n, leftFeatures: features.0[k],
                                  right: r.baseAddress! + k * n, rightFeatures: features.1[k]) { a, b in d0.append(a); d1.append(b) }
                }
            }
        }
        detector.finish { a, b in d0.append(a); d1.append(b) }
        decisions = (d0, d1)
    }
}

/// The CTR inputs: 2,000 contacts delivered as 2,200 records (every tenth twice, older copy and
/// newer copy), as a plain and a gzipped Firehose object; and 2,000 matching (empty) recordings.
final class Records: @unchecked Sendable {
    static let contacts = 2000, records = 2200
    let data: Data
    let plainPath: String
    let gzipPath: String?
    init() {
        let data = BenchmarkInputs.firehose(records: Self.records, contacts: Self.contacts)
        self.data = data
        plainPath = BenchmarkInputs.file("ctr-\(Self.records)-firehose") { data }
        let gz = plainPath + ".gz"
        if !FileManager.default.fileExists(atPath: gz), FileManager.default.isExecutableFile(atPath: "/bin/gzip") {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/gzip")
            p.arguments = ["-k", "-6", plainPath]
            try? p.run()
            p.waitUntilExit()
        }
        gzipPath = FileManager.default.fileExists(atPath: gz) ? gz : nil
    }
}

let benchmarks: @Sendable () -> Void = {
    // Time on a 2-core VM moves by about 10 % between runs: 35 % tolerance on time and rates.
    // Allocation counts are near exact: 5 %.
    let time = BenchmarkThresholds(relative: [.p90: 35])
    func configuration(_ rate: BenchmarkMetric) -> Benchmark.Configuration {
        .init(metrics: [.wallClock, .throughput, .mallocCountTotal, rate], warmupIterations: 2, maxDuration: .seconds(2),
              maxIterations: 1000,
              thresholds: [.wallClock: time, .throughput: time, rate: time, .mallocCountTotal: BenchmarkThresholds(relative: [.p90: 5])])
    }
    let audio = configuration(xRealTime), ctr = configuration(ctrsPerSecond)
    let minute = Double(Minute.seconds)

    // MARK: - Audio stages

    // libsndfile: open, check, and read the file as int16 in 8192-frame blocks (the fast path).
    Benchmark("Decode1minLibsndfile", configuration: audio) { benchmark, m in
        let buffer = UnsafeMutablePointer<Int16>.allocate(capacity: 2 * 8192)
        defer { buffer.deallocate() }
        try measure(benchmark, xRealTime, amount: minute) {
            var file = try SoundFile(path: m.path)
            var total = 0
            while true { let n = file.read(into: buffer, frames: 8192); if n <= 0 { break }; total += n }
            blackHole(total)
        }
    } setup: { try Minute() }

    // Interleaved int16 -> two normalized float channels, in 8192-frame blocks.
    Benchmark("ChannelSplit1min", configuration: audio) { benchmark, m in
        let l = UnsafeMutablePointer<Float>.allocate(capacity: 8192), r = UnsafeMutablePointer<Float>.allocate(capacity: 8192)
        defer { l.deallocate(); r.deallocate() }
        measure(benchmark, xRealTime, amount: minute) {
            var at = 0
            while at < m.frames {
                let n = min(8192, m.frames - at)
                ChannelSplit.deinterleave(m.interleaved + 2 * at, frames: n, left: l, right: r)
                at += n
            }
            blackHole(l[0] + r[0])
        }
    } setup: { try Minute() }

    // Two SpectralFramers (Hann window, FFTW r2c, 12 speech bands, hop features, flux) fed
    // 8192-sample blocks of each channel; FFTW plans are cached per process, so this is execution.
    Benchmark("SpectralFraming1minBothChannels", configuration: audio) { benchmark, m in
        let g = m.geometry
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: g.bandCount)
        defer { scratch.deallocate() }
        measure(benchmark, xRealTime, amount: minute) {
            var f0 = SpectralFramer(geometry: g), f1 = SpectralFramer(geometry: g)
            var count = 0
            var at = 0
            while at < m.frames {
                let n = min(8192, m.frames - at)
                f0.push(m.left + at, count: n, bands: scratch) { _, f in count &+= Int(f.hopClipped) &+ 1 }
                f1.push(m.right + at, count: n, bands: scratch) { _, f in count &+= Int(f.hopClipped) &+ 1 }
                at += n
            }
            blackHole(count)
        }
    } setup: { try Minute(spectral: true) }

    // The two-channel detector (noise floors, band SNR score, speech level, echo coupling and
    // evidence) on the framer's output for one minute.
    Benchmark("ActivityDetection1min", configuration: audio) { benchmark, m in
        let n = m.geometry.bandCount
        measure(benchmark, xRealTime, amount: minute) {
            var detector = ActivityDetector(parameters: ActivityParameters(), geometry: m.geometry)
            var talk = 0
            m.bands.0.withUnsafeBufferPointer { l in
                m.bands.1.withUnsafeBufferPointer { r in
                    for k in 0..<m.features.0.count {
                        detector.push(left: l.baseAddress! + k * n, leftFeatures: m.features.0[k],
                                      right: r.baseAddress! + k * n, rightFeatures: m.features.1[k]) { a, b in
                            talk &+= (a.strong ? 1 : 0) &+ (b.strong ? 1 : 0)
                        }
                    }
                }
            }
            detector.finish { a, b in talk &+= (a.strong ? 1 : 0) &+ (b.strong ? 1 : 0) }
            blackHole(talk)
        }
    } setup: { try Minute(decisions: true) }

    // Frame decisions -> talk segments (SegmentBuilder) and levels/loudness (LevelMeter), both
    // channels, as CallAnalyzer's per-channel track does.
    Benchmark("SegmentsAndLevels1min", configuration: audio) { benchmark, m in
        let parameters = ActivityParameters()
        let seconds = m.geometry.frameSeconds, hop = m.geometry.hop
        measure(benchmark, xRealTime, amount: minute) {
            var segments = 0
            for decisions in [m.decisions.0, m.decisions.1] {
                var builder = SegmentBuilder(parameters: parameters, frameSeconds: seconds)
                var meter = LevelMeter(frameSeconds: seconds)
                func settle(_ o: SegmentBuilder.Outcome) {
                    if case .accepted = o { segments &+= 1; meter.settle(accepted: true) } else { meter.settle(accepted: false) }
                }
                for d in decisions {
                    if let o = builder.push(d) { settle(o) }
                    meter.push(features: d.features, hopSamples: hop, decision: d, inCandidate: builder.inCandidate)
                }
                if let o = builder.finish() { settle(o) }
                blackHole(meter.levels())
                blackHole(meter.loudnessScores())
            }
            blackHole(segments)
        }
    } setup: { try Minute(decisions: true) }

    // Conversation metrics (talk, silence, overlap, non-talk, interruptions, backchannels,
    // latency) from the segments of an hour-long call: 2 x 1,000 segments.
    Benchmark("ConversationMetrics1hCall", configuration: audio) { (benchmark: Benchmark, segments: ([Segment], [Segment])) in
        measure(benchmark, xRealTime, amount: 3600) {
            blackHole(ConversationMetrics(agent: segments.0, customer: segments.1, duration: 3600))
        }
    } setup: { () -> ([Segment], [Segment]) in
        var rng = SplitMix64(seed: 7)
        var agent: [Segment] = [], customer: [Segment] = []
        var t = 0.0
        for k in 0..<2000 {
            let length = Double(rng.uniform(0.3, 2.8))
            let start = t + Double(rng.uniform(-0.4, 0.8))  // some overlap, some gaps
            if k % 2 == 0 { agent.append(Segment(start: max(0, start), end: start + length)) } else { customer.append(Segment(start: max(0, start), end: start + length)) }
            t = start + length
        }
        let scale = 3590 / t
        return (agent.map { Segment(start: $0.start * scale, end: $0.end * scale) },
                customer.map { Segment(start: $0.start * scale, end: $0.end * scale) })
    }

    // MARK: - CTR stages

    // Splitting a Firehose object (records concatenated with no delimiter) into JSON objects.
    Benchmark("CTRScanFirehose2200", configuration: ctr) { benchmark, r in
        measure(benchmark, ctrsPerSecond, amount: Double(Records.records)) {
            blackHole(JSONRecordScanner.scan(r.data, want: ContactRecord.wanted).records.count)
        }
    } setup: { Records() }

    // ContactStore: read the file, scan, make ContactRecords, deduplicate by ContactId keeping the
    // latest LastUpdateTimestamp.
    Benchmark("CTRStoreDedup2200", configuration: ctr) { benchmark, r in
        measure(benchmark, ctrsPerSecond, amount: Double(Records.records)) {
            blackHole(try! ContactStore(paths: [r.plainPath]).count)
        }
    } setup: { Records() }

    // The same from a gzipped object (zlib inflate first).
    Benchmark("CTRStoreDedup2200Gzip", configuration: ctr) { benchmark, r in
        guard let gz = r.gzipPath else { benchmark.error("no /bin/gzip to make the input"); return }
        measure(benchmark, ctrsPerSecond, amount: Double(Records.records)) {
            blackHole(try! ContactStore(paths: [gz]).count)
        }
    } setup: { Records() }

    // The join: 2,000 recordings found on disk matched to 2,000 CTRs by location (suffix of path
    // components), contact ID in the name as fallback.
    Benchmark("JoinRecordingsToCTRs2000", configuration: ctr) { (benchmark: Benchmark, input: (recordings: [RecordingFile], contacts: [ContactStore.Key])) in
        measure(benchmark, ctrsPerSecond, amount: Double(Records.contacts)) {
            let matcher = RecordingMatcher(recordings: input.recordings, contacts: input.contacts)
            blackHole(matcher.matches.count)
        }
    } setup: { () throws -> (recordings: [RecordingFile], contacts: [ContactStore.Key]) in
        let store = try ContactStore(paths: [Records().plainPath])
        let root = (BenchmarkInputs.directory as NSString).appendingPathComponent("join-\(Records.contacts)")
        let done = (root as NSString).appendingPathComponent(".complete")
        if !FileManager.default.fileExists(atPath: done) {
            for i in 0..<Records.contacts {
                let path = (root as NSString).appendingPathComponent(BenchmarkInputs.recordingKey(i))
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: path, contents: Data())
            }
            _ = FileManager.default.createFile(atPath: done, contents: Data())
        }
        return (recordings: try RecordingFinder.find(in: root), contacts: store.keys)
    }
}
