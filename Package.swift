// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Tessera",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tessera", targets: ["tessera"]),
        // For the micro-benchmarks in Benchmarks/ (a separate package that depends on this one by path).
        .library(name: "TesseraCore", targets: ["TesseraCore"]),
        .library(name: "TesseraRedis", targets: ["TesseraRedis"]),
        .library(name: "TesseraPostgres", targets: ["TesseraPostgres"]),
        .library(name: "TesseraStream", targets: ["TesseraStream"]),
        .library(name: "TesseraServe", targets: ["TesseraServe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // C libraries, found through pkg-config; only the I/O modules import them.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // glibc's malloc.h, for `tessera serve`'s arena limit (part of libc: nothing to link).
        .systemLibrary(name: "CGlibcMalloc"),

        // Events, config, tiles, windows, aggregations, vector codec: no I/O.
        .target(name: "TesseraCore", dependencies: [.product(name: "Yams", package: "Yams")]),
        // The only code that touches librdkafka.
        .target(name: "TesseraKafka", dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")]),
        // The only code that touches hiredis.
        .target(name: "TesseraRedis", dependencies: [
            "CHiredis", "TesseraCore", .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // The only code that touches libpq.
        .target(name: "TesseraPostgres", dependencies: [
            "CLibPQ", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // Ingestion pipeline and window roller.
        .target(name: "TesseraStream", dependencies: [
            "TesseraCore", "TesseraKafka", "TesseraRedis", "TesseraPostgres",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The batch half: backfill, batch views and materialize, training sets, verify.
        .target(name: "TesseraBatch", dependencies: [
            "TesseraCore", "TesseraKafka", "TesseraRedis", "TesseraPostgres", "TesseraStream",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The lookup API.
        .target(name: "TesseraServe", dependencies: [
            "TesseraCore", "TesseraRedis",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The CLI: wiring only.
        .executableTarget(name: "tessera", dependencies: [
            "CGlibcMalloc", "TesseraCore", "TesseraKafka", "TesseraRedis", "TesseraPostgres", "TesseraStream", "TesseraBatch", "TesseraServe",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),

        .testTarget(name: "TesseraCoreTests", dependencies: ["TesseraCore"]),
        .testTarget(name: "TesseraKafkaTests", dependencies: ["TesseraKafka"]),
        .testTarget(name: "TesseraRedisTests", dependencies: [
            "TesseraRedis",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "TesseraPostgresTests", dependencies: ["TesseraPostgres"]),
        .testTarget(name: "TesseraStreamTests", dependencies: [
            "TesseraStream", "TesseraCore", "TesseraKafka", "TesseraRedis", "TesseraPostgres",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .testTarget(name: "TesseraBatchTests", dependencies: [
            "TesseraBatch", "TesseraStream", "TesseraCore", "TesseraKafka", "TesseraRedis", "TesseraPostgres", "TesseraServe",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .testTarget(name: "TesseraServeTests", dependencies: [
            "TesseraServe", "TesseraCore", "TesseraRedis", "TesseraStream", "TesseraKafka", "TesseraPostgres",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Yams", package: "Yams"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
