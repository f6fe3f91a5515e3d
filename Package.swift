// swift-tools-version: 6.1
// GraphSeq: a CPU library for graph-structured sequence models.
// No unsafe build flags in any library target: they would make GraphSeq unusable as a
// versioned dependency (scripts/check-versioned-dependency proves there are none).
import PackageDescription

let package = Package(
    name: "GraphSeq",
    // MARK: - Products
    products: [
        // The Swift API.
        .library(name: "GraphSeq", targets: ["GraphSeq"]),
        // libGraphSeqC.so for C and other languages: every gsq_ symbol of
        // include/graphseq.h.
        .library(name: "GraphSeqC", type: .dynamic, targets: ["GraphSeq"]),
        // The command-line tool.
        .executable(name: "graphseq", targets: ["GraphSeqTool"]),
    ],
    // MARK: - Dependencies
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    // MARK: - Targets
    targets: [
        // C kernels (CSupport/) behind the one public header (include/).
        .target(
            name: "CGraphSeq",
            path: ".",
            sources: ["CSupport"],
            publicHeadersPath: "include",
            linkerSettings: [.linkedLibrary("omp5"), .linkedLibrary("m")]
        ),
        .target(name: "GraphSeq", dependencies: ["CGraphSeq"], path: "Sources/GraphSeq"),
        .executableTarget(
            name: "GraphSeqTool",
            dependencies: [
                "GraphSeq",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/graphseq"
        ),
        // MARK: - Tests
        // Independent naive references, seeded RNG and closeness checks.
        .target(name: "TestSupport", dependencies: ["GraphSeq", "CGraphSeq"], path: "Tests/TestSupport"),
        .testTarget(
            name: "GraphSeqTests",
            dependencies: ["GraphSeq", "CGraphSeq", "TestSupport"],
            path: "Tests/GraphSeqTests"
        ),
    ]
)
