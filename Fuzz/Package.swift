// swift-tools-version: 6.0
// A libFuzzer target for the WAV reader and the analyzer. A package of its own, so the main
// package's `swift build` never links a binary without `main`. Run it with `scripts/fuzz.sh`
// (bounded time); it builds with `-sanitize=fuzzer,address`.
import PackageDescription

let package = Package(
    name: "TalkTraceFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "TalkTrace", path: "../"),
    ],
    targets: [
        // MARK: - Fuzz targets
        .executableTarget(
            name: "WAVFuzzer",
            dependencies: [.product(name: "TalkTraceAudio", package: "TalkTrace")],
            path: "WAVFuzzer"
        ),
    ],
    swiftLanguageModes: [.v6]
)
