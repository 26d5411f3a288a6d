// swift-tools-version: 6.1
// Micro-benchmarks of Tessera's hot paths (ordo-one/benchmark): instructions and mallocs,
// which stay stable on a noisy machine. A package of its own so `swift test` and
// scripts/test never build it:
//
//   cd Benchmarks && swift package benchmark        (or scripts/bench --micro)
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name (the clone's, not "Tessera").
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "TesseraBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "TesseraBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TesseraCore", package: root),
                .product(name: "TesseraPostgres", package: root),
                .product(name: "TesseraRedis", package: root),
                .product(name: "TesseraServe", package: root),
                .product(name: "TesseraStream", package: root),
            ],
            path: "Benchmarks/TesseraBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
