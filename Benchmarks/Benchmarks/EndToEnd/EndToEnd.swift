// End to end: a whole call through CallAnalyzer.analyze (open, decode, split, frame, detect,
// segments, levels, conversation metrics, quality), and a whole batch through BatchRunner and
// every output file (JSON Lines, CSV, SQLite, summary), with one job and with every core.
//
// `xRealTime` is seconds of audio per second of wall clock. Peak resident memory is the whole
// benchmark process's; the inputs are streamed to disk in `setup`, so it is the analyzer's plus
// the framework's: compare the 1-minute and 10-minute calls to see whether memory grows with
// the length of the call.
import _BenchmarkInputs
import Benchmark
import Foundation
import TalkTraceAudio
import TalkTracePipeline

let xRealTime = BenchmarkMetric.custom("xRealTime", polarity: .prefersLarger, useScalingFactor: false)

@inline(__always)
func measure(_ benchmark: Benchmark, amount: Double, _ body: () throws -> Void) rethrows {
    let clock = ContinuousClock()
    let start = clock.now
    for _ in benchmark.scaledIterations { try body() }
    let d = (clock.now - start).components
    let seconds = Double(d.seconds) + Double(d.attoseconds) * 1e-18
    benchmark.measurement(xRealTime, Int((amount * Double(benchmark.scaledIterations.count) / max(seconds, 1e-9)).rounded()))
}

struct BatchInput {
    var recordings: String, ctr: String, audioSeconds: Double, out: String
}

let benchmarks: @Sendable () -> Void = {
    let time = BenchmarkThresholds(relative: [.p90: 35])
    let tolerances: [BenchmarkMetric: BenchmarkThresholds] = [
        .wallClock: time, .throughput: time, xRealTime: time,
        .mallocCountTotal: BenchmarkThresholds(relative: [.p90: 5]),
        .peakMemoryResident: BenchmarkThresholds(relative: [.p90: 20]),
    ]
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, xRealTime, .mallocCountTotal, .peakMemoryResident]
    let call = Benchmark.Configuration(metrics: metrics, warmupIterations: 1, maxDuration: .seconds(3), maxIterations: 200,
                                       thresholds: tolerances)
    let batch = Benchmark.Configuration(metrics: metrics, warmupIterations: 1, maxDuration: .seconds(4), maxIterations: 30,
                                        thresholds: tolerances)

    // MARK: - One call

    for minutes in [1, 10] {
        Benchmark("Analyze\(minutes)minCall", configuration: call) { benchmark, path in
            try measure(benchmark, amount: Double(60 * minutes)) {
                blackHole(try CallAnalyzer.analyze(path: path))
            }
        } setup: { BenchmarkInputs.call(seconds: 60 * minutes) }
    }

    // MARK: - A batch: 24 one-minute calls with their CTRs (plus duplicates), all outputs written

    let calls = 24, seconds = 60
    for (name, jobs) in [("Batch24CallsJobs1", 1), ("Batch24CallsAllCores", ProcessInfo.processInfo.activeProcessorCount)] {
        Benchmark(name, configuration: batch) { (benchmark: Benchmark, input: BatchInput) throws in
            var options = BatchOptions(recordingsDirectory: input.recordings, ctrPaths: [input.ctr], outputDirectory: input.out)
            options.jobs = jobs
            try measure(benchmark, amount: input.audioSeconds) {
                let result = try BatchRunner.run(options)
                blackHole(try OutputFiles.writeAll(result, to: input.out))
            }
        } setup: {
            let b = BenchmarkInputs.batch(calls: calls, seconds: seconds)
            let out = (BenchmarkInputs.directory as NSString).appendingPathComponent("out-\(name)-\(getpid())")
            return BatchInput(recordings: b.recordings, ctr: b.ctr, audioSeconds: b.audioSeconds, out: out)
        } teardown: {
            // Each process writes its own output folder; remove them all.
            let dir = BenchmarkInputs.directory
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where entry.hasPrefix("out-\(name)-") {
                try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(entry))
            }
        }
    }
}
