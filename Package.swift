// swift-tools-version:6.2
import PackageDescription

// Layers, bottom to top (see docs/architecture.md):
//   C shims -> one client per backing service -> capabilities -> agent -> two executables.
// whatifctl depends on WhatIfClient + WhatIfProtocol (and the leaf formatter WhatIfUnits) only.

let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
    .enableUpcomingFeature("ExistentialAny"),
]

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
]

let package = Package(
    name: "whatif-agent",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "whatifd", targets: ["whatifd"]),
        .executable(name: "whatifctl", targets: ["whatifctl"]),
        .executable(name: "whatif-bench", targets: ["WhatIfBench"]),
        .executable(name: "whatif-bench-metrics", targets: ["MetricsBench"]),
        .library(name: "WhatIfProtocol", targets: ["WhatIfProtocol"]),
        .library(name: "WhatIfClient", targets: ["WhatIfClient"]),
        .library(name: "WhatIfCore", targets: ["WhatIfCore"]),
        .library(name: "WhatIfPostgres", targets: ["WhatIfPostgres"]),
        .library(name: "WhatIfRedis", targets: ["WhatIfRedis"]),
        .library(name: "WhatIfAWS", targets: ["WhatIfAWS", "WhatIfHTTP"]),
        .library(name: "WhatIfBackup", targets: ["WhatIfBackup"]),
        .library(name: "WhatIfMonitoring", targets: ["WhatIfMonitoring"]),
        .library(name: "WhatIfExpiry", targets: ["WhatIfExpiry"]),
        .library(name: "WhatIfMigration", targets: ["WhatIfMigration"]),
        .library(name: "WhatIfMaintenance", targets: ["WhatIfMaintenance"]),
        .library(name: "WhatIfAgent", targets: ["WhatIfAgent"]),
        .library(name: "WhatIfTesting", targets: ["WhatIfTesting"]),
        .library(name: "WhatIfAgentTesting", targets: ["WhatIfAgentTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // MARK: C libraries, each behind one module map (+ typed shims for variadics and hidden structs).
        // libpq is loaded on first use (dlopen), so CLibpq is a C target over libpq's headers.
        .target(name: "CLibpq", linkerSettings: [.linkedLibrary("dl")]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // libcurl is loaded on first use (dlopen), so CCurl is a C target over libcurl's headers.
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(name: "CLinuxShims"),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),

        // MARK: Shared by agent and client.
        .target(name: "WhatIfJSON", swiftSettings: strict),
        // How durations, sizes and counts are written for people, everywhere (no dependencies).
        .target(name: "WhatIfUnits", swiftSettings: strict),
        .target(name: "WhatIfProtocol", dependencies: ["WhatIfJSON", "WhatIfUnits"], swiftSettings: strict),
        .target(name: "WhatIfClient", dependencies: ["WhatIfProtocol", "WhatIfUnits"], swiftSettings: strict),

        // MARK: Server-side foundations and one client per backing service.
        .target(
            name: "WhatIfCore",
            dependencies: ["CLinuxShims", "CZlib", "WhatIfUnits", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .target(name: "WhatIfCrypto", dependencies: ["COpenSSL", "WhatIfCore"], swiftSettings: strict),
        .target(name: "WhatIfPostgres", dependencies: ["CLibpq", "WhatIfCore"], swiftSettings: strict),
        .target(
            name: "WhatIfRedis", dependencies: ["CHiredis", "WhatIfCrypto", "WhatIfCore"], swiftSettings: strict),
        .target(name: "WhatIfHTTP", dependencies: ["CCurl", "WhatIfCore", "WhatIfUnits"], swiftSettings: strict),
        .target(
            name: "WhatIfAWS",
            dependencies: [
                "WhatIfHTTP", "WhatIfJSON", "WhatIfCrypto", "WhatIfCore", "WhatIfUnits",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(
            name: "WhatIfSystemd",
            dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),

        // MARK: Capabilities.
        .target(
            name: "WhatIfBackup",
            dependencies: [
                "CZlib", "CLinuxShims", "WhatIfProtocol", "WhatIfCore", "WhatIfCrypto", "WhatIfPostgres", "WhatIfAWS",
                "WhatIfRedis", "WhatIfUnits", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        .target(
            name: "WhatIfMonitoring",
            dependencies: [
                "CZlib", "CLinuxShims", "WhatIfJSON", "WhatIfProtocol", "WhatIfCore", "WhatIfPostgres", "WhatIfRedis",
                "WhatIfAWS", "WhatIfUnits",
                "WhatIfHTTP", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        .target(
            name: "WhatIfExpiry",
            dependencies: [
                "WhatIfProtocol", "WhatIfJSON", "WhatIfCore", "WhatIfRedis", "WhatIfUnits",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        .target(
            name: "WhatIfMigration",
            dependencies: [
                "WhatIfJSON", "WhatIfProtocol", "WhatIfCore", "WhatIfCrypto", "WhatIfPostgres", "WhatIfRedis",
                "WhatIfAWS", "WhatIfUnits", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        .target(
            name: "WhatIfMaintenance",
            dependencies: [
                "WhatIfCore", "WhatIfAWS", "WhatIfPostgres", "WhatIfProtocol", "WhatIfUnits",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        // MARK: The agent: config, jobs, admin API, lifecycle.
        .target(
            name: "WhatIfAgent",
            dependencies: [
                "WhatIfProtocol", "WhatIfCore", "WhatIfCrypto", "WhatIfPostgres", "WhatIfRedis", "WhatIfAWS",
                "WhatIfSystemd", "WhatIfBackup", "WhatIfMonitoring", "WhatIfExpiry", "WhatIfMigration",
                "WhatIfMaintenance", "WhatIfUnits", "WhatIfHTTP", "WhatIfJSON", "CLinuxShims",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ] + nio,
            swiftSettings: strict),

        // MARK: Executables.
        .executableTarget(
            name: "whatifd",
            dependencies: ["CLinuxShims", "WhatIfAgent", "WhatIfCore", "WhatIfProtocol"],
            swiftSettings: strict),
        .executableTarget(
            name: "whatifctl",
            dependencies: [
                "WhatIfClient", "WhatIfProtocol", "WhatIfUnits",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "WhatIfBench",
            dependencies: ["WhatIfClient", "WhatIfProtocol", "CLinuxShims"],
            path: "bench/Sources/WhatIfBench",
            swiftSettings: strict),

        .executableTarget(
            name: "MetricsBench",
            dependencies: [
                "WhatIfMonitoring", "WhatIfExpiry", "WhatIfMigration", "WhatIfCore", "WhatIfAWS", "WhatIfHTTP",
                "WhatIfPostgres", "WhatIfRedis",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/Sources/MetricsBench",
            swiftSettings: strict),

        // MARK: Test support (stack launcher, fault proxy, fake IMDS, certificates), like HummingbirdTesting.
        .target(
            name: "WhatIfTesting",
            dependencies: ["WhatIfCore", "WhatIfMaintenance", "WhatIfClient", "WhatIfProtocol", "CLinuxShims"],
            swiftSettings: strict),
        // Above it, what runs an agent for a test: in process or as the built whatifd.
        .target(
            name: "WhatIfAgentTesting",
            dependencies: [
                "WhatIfTesting", "WhatIfAgent", "WhatIfCore", "WhatIfMaintenance", "WhatIfClient", "WhatIfProtocol",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        // MARK: Tests.
        .testTarget(name: "WhatIfProtocolTests", dependencies: ["WhatIfProtocol", "WhatIfClient"]),
        .testTarget(
            name: "WhatIfCoreTests",
            dependencies: ["WhatIfCore", "WhatIfUnits", "WhatIfCrypto", "WhatIfHTTP", "WhatIfTesting"]),
        .testTarget(name: "WhatIfPostgresTests", dependencies: ["WhatIfPostgres", "WhatIfCore", "WhatIfTesting"]),
        .testTarget(
            name: "WhatIfRedisTests", dependencies: ["WhatIfRedis", "WhatIfCrypto", "WhatIfCore", "WhatIfTesting"]),
        .testTarget(
            name: "WhatIfAWSTests",
            dependencies: ["WhatIfAWS", "WhatIfCore", "WhatIfCrypto", "WhatIfHTTP", "WhatIfTesting"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "WhatIfSystemdTests", dependencies: ["WhatIfSystemd", "WhatIfTesting"]),
        .testTarget(
            name: "WhatIfMonitoringTests",
            dependencies: [
                "WhatIfMonitoring", "WhatIfAWS", "WhatIfCore", "WhatIfHTTP", "WhatIfProtocol", "WhatIfTesting",
            ]),
        .testTarget(
            name: "WhatIfExpiryTests",
            dependencies: ["WhatIfExpiry", "WhatIfCore", "WhatIfRedis", "WhatIfProtocol", "WhatIfTesting"]),
        .testTarget(
            name: "WhatIfMigrationTests",
            dependencies: ["WhatIfMigration", "WhatIfAWS", "WhatIfCore", "WhatIfProtocol", "WhatIfTesting"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "WhatIfMaintenanceTests",
            dependencies: [
                "WhatIfMaintenance", "WhatIfAWS", "WhatIfCore", "WhatIfHTTP", "WhatIfTesting", "WhatIfUnits",
            ]),
        .testTarget(
            name: "WhatIfBackupTests",
            dependencies: [
                "WhatIfBackup", "WhatIfAWS", "WhatIfCore", "WhatIfCrypto", "WhatIfProtocol", "WhatIfTesting",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "WhatIfAgentTests",
            dependencies: [
                "WhatIfAgent", "WhatIfTesting", "WhatIfAgentTesting", "WhatIfClient", "WhatIfProtocol", "WhatIfRedis",
                "WhatIfExpiry", "WhatIfCore", "WhatIfSystemd",
                "WhatIfMaintenance", "WhatIfMonitoring",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "WhatIfTesting", "WhatIfAgentTesting", "WhatIfClient", "WhatIfProtocol", "WhatIfCore", "WhatIfRedis",
                "WhatIfMaintenance",
                "WhatIfMonitoring", "WhatIfBackup", "WhatIfUnits",
            ]),
    ],
    swiftLanguageModes: [.v6]
)

// Public and package memberwise initialisers, generated (Swift synthesises them as internal only): a struct
// that says `// memberwise-init: public` (or `package`) in its body gets one from the build-tool plugin
// Plugins/MemberwiseInit (tool: Sources/MemberwiseInitGenerator; protocol: Sources/WhatIfMemberwise),
// which also writes `// coding-keys: PascalCase` structs' CodingKeys (AWS's JSON shapes).
package.targets += [
    .target(name: "WhatIfMemberwise", swiftSettings: strict),
    .executableTarget(name: "MemberwiseInitGenerator", swiftSettings: strict),
    .plugin(name: "MemberwiseInit", capability: .buildTool(), dependencies: ["MemberwiseInitGenerator"]),
    .testTarget(name: "MemberwiseInitGeneratorTests", dependencies: ["MemberwiseInitGenerator"]),
]
for target in package.targets where target.type == .regular && target.name.hasPrefix("WhatIf") {
    guard target.name != "WhatIfMemberwise" else { continue }
    target.dependencies.append("WhatIfMemberwise")
    target.plugins = (target.plugins ?? []) + [.plugin(name: "MemberwiseInit")]
}
