// swift-tools-version: 6.0
// TalkTrace: contact-center call recordings -> conversation metrics, joined onto Amazon Connect CTRs.
//
// Targets, in the one direction of dependency:
//   C shims (CSndFile, CFFTW3f, CZlib, CIsal, CCurl)
//     -> TalkTraceStorage (where bytes come from: folder listings, S3 listings and objects, the S3
//        client with its signer and credential chain; knows nothing of audio or CTRs)
//     -> TalkTraceAudio   (read -> split -> spectral frames -> activity -> segments -> conversation; knows nothing of CTRs)
//     -> TalkTraceRecords (CTR ingestion and dedup; knows nothing of audio)
//     -> TalkTracePipeline (the join, batch scheduling, outputs)
//     -> talktrace (the command line)
import PackageDescription

let package = Package(
    name: "TalkTrace",
    platforms: [.macOS(.v13)],
    products: [
        // MARK: - Public API
        .executable(name: "talktrace", targets: ["talktrace"]),
        .library(name: "TalkTraceAudio", targets: ["TalkTraceAudio"]),
        .library(name: "TalkTraceRecords", targets: ["TalkTraceRecords"]),
        .library(name: "TalkTraceStorage", targets: ["TalkTraceStorage"]),
        .library(name: "TalkTracePipeline", targets: ["TalkTracePipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        // MARK: - Public API
        .executableTarget(
            name: "talktrace",
            dependencies: [
                "TalkTracePipeline", "TalkTraceAudio", "TalkTraceRecords", "TalkTraceStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TalkTraceAudio", dependencies: ["CSndFile", "CFFTW3f", "TalkTraceStorage"]),
        .target(name: "TalkTraceStorage", dependencies: ["CCurl"]),
        .target(name: "TalkTraceRecords", dependencies: ["CZlib", "CIsal", "TalkTraceStorage"]),
        .target(
            name: "TalkTracePipeline",
            dependencies: [
                "TalkTraceAudio", "TalkTraceRecords", "TalkTraceStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),

        // MARK: - Implementation details (system libraries, one module per C library)
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CFFTW3f", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Intel ISA-L's igzip: gzipped CTR files inflate in under a quarter of zlib's instructions.
        .systemLibrary(name: "CIsal", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        // libcurl (HTTP, TLS, connection reuse) and OpenSSL's libcrypto (SHA-256, HMAC) for S3.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev", "libssl-dev"])]),

        // MARK: - Tests
        .target(name: "_TestSupport", dependencies: ["TalkTraceAudio", "TalkTraceStorage"], path: "Tests/_TestSupport"),
        .testTarget(name: "TalkTraceAudioTests", dependencies: ["TalkTraceAudio", "_TestSupport"]),
        .testTarget(name: "TalkTraceRecordsTests", dependencies: ["TalkTraceRecords"]),
        .testTarget(name: "TalkTraceStorageTests", dependencies: ["TalkTraceStorage", "_TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TalkTracePipelineTests", dependencies: ["TalkTracePipeline", "_TestSupport"]),
        .testTarget(name: "TalkTraceCLITests", dependencies: ["talktrace", "_TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
    ],
    swiftLanguageModes: [.v6]
)
