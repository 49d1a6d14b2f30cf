// swift-tools-version: 6.1
// TalkTrace benchmarks (package-benchmark). Separate from the main package so `swift test` never
// builds the benchmark framework. Run from this folder:
//   swift package benchmark                      # run, compare with nothing
//   swift package benchmark baseline check --check-absolute-path Thresholds   # against committed thresholds
import PackageDescription

let package = Package(
    name: "TalkTraceBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "TalkTrace", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "TalkTraceBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TalkTraceAudio", package: "TalkTrace"),
                .product(name: "TalkTraceRecords", package: "TalkTrace"),
                .product(name: "TalkTracePipeline", package: "TalkTrace"),
            ],
            path: "Benchmarks/TalkTraceBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
