// swift-tools-version:6.2
import PackageDescription

// Fuzz targets, one per parser of outside input. Built by scripts/fuzz with
// -sanitize=fuzzer,address; each defines LLVMFuzzerTestOneInput (libFuzzer provides main).
let targets: [(String, [Target.Dependency])] = [
    ("FuzzConfig", [.product(name: "WhatIfAgent", package: "whatif-agent")]),
    (
        "FuzzConfigReload",
        [
            .product(name: "WhatIfAgent", package: "whatif-agent"),
            .product(name: "WhatIfProtocol", package: "whatif-agent"), .product(name: "Logging", package: "swift-log"),
        ]
    ),
    ("FuzzHTTPResponse", [.product(name: "WhatIfClient", package: "whatif-agent")]),
    ("FuzzRequestBody", [.product(name: "WhatIfProtocol", package: "whatif-agent")]),
    (
        "FuzzAdminAPI",
        [.product(name: "WhatIfAgent", package: "whatif-agent"), .product(name: "WhatIfCore", package: "whatif-agent")]
    ),
    ("FuzzXML", [.product(name: "WhatIfAWS", package: "whatif-agent")]),
    ("FuzzAWSError", [.product(name: "WhatIfAWS", package: "whatif-agent")]),
    ("FuzzSharedConfig", [.product(name: "WhatIfAWS", package: "whatif-agent")]),
    ("FuzzCredentials", [.product(name: "WhatIfAWS", package: "whatif-agent")]),
    ("FuzzRESP", [.product(name: "WhatIfRedis", package: "whatif-agent")]),
    ("FuzzRedisURL", [.product(name: "WhatIfRedis", package: "whatif-agent")]),
    ("FuzzScanPage", [.product(name: "WhatIfAWS", package: "whatif-agent")]),
    ("FuzzMetrics", [.product(name: "WhatIfMonitoring", package: "whatif-agent")]),
    ("FuzzGlob", [.product(name: "WhatIfExpiry", package: "whatif-agent")]),
    ("FuzzWindow", [.product(name: "WhatIfMaintenance", package: "whatif-agent")]),
    ("FuzzBSON", [.product(name: "WhatIfMigration", package: "whatif-agent")]),
    ("FuzzExtendedJSON", [.product(name: "WhatIfMigration", package: "whatif-agent")]),
    (
        "FuzzExportManifest",
        [
            .product(name: "WhatIfBackup", package: "whatif-agent"),
            .product(name: "WhatIfCore", package: "whatif-agent"),
            .product(name: "WhatIfProtocol", package: "whatif-agent"),
        ]
    ),
]

let package = Package(
    name: "whatif-fuzz",
    dependencies: [
        .package(name: "whatif-agent", path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [.target(name: "CFuzzDriver"), .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"])]
        + targets.map { .executableTarget(name: $0.0, dependencies: $0.1 + ["FuzzSupport"]) },
    swiftLanguageModes: [.v6]
)
