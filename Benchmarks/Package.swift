// swift-tools-version: 6.1
// TalkTrace benchmarks (ordo-one/benchmark). A package of its own, so `swift test` in the main
// package never builds the benchmark framework. From this folder:
//   swift package benchmark                                   # run every benchmark
//   swift package benchmark thresholds check                  # compare with the committed Thresholds/
//   swift package --allow-writing-to-package-directory benchmark thresholds update
// See README.md for what each benchmark measures.
import PackageDescription

let benchmarkPlugin: [Target.PluginUsage] = [.plugin(name: "BenchmarkPlugin", package: "benchmark")]

let package = Package(
    name: "TalkTraceBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "TalkTrace", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // MARK: - Benchmarks (Benchmarks/<Name>/<Name>.swift)
        // One benchmark per pipeline stage, on inputs prepared outside the measurement.
        .executableTarget(
            name: "Stages",
            dependencies: [
                "_BenchmarkInputs",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TalkTraceAudio", package: "TalkTrace"),
                .product(name: "TalkTraceRecords", package: "TalkTrace"),
                .product(name: "TalkTracePipeline", package: "TalkTrace"),
            ],
            path: "Benchmarks/Stages",
            plugins: benchmarkPlugin
        ),
        // Whole calls (CallAnalyzer.analyze) and whole batches (BatchRunner + every output file).
        .executableTarget(
            name: "EndToEnd",
            dependencies: [
                "_BenchmarkInputs",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TalkTraceAudio", package: "TalkTrace"),
                .product(name: "TalkTracePipeline", package: "TalkTrace"),
            ],
            path: "Benchmarks/EndToEnd",
            plugins: benchmarkPlugin
        ),

        // MARK: - Implementation details
        // Deterministic test calls (speech-like turns over noise, streamed to WAV) and CTR data.
        .target(name: "_BenchmarkInputs", path: "Sources/_BenchmarkInputs"),
    ]
)
