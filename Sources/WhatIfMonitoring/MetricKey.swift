/// One metric's identity, as CloudWatch names it: namespace, metric name and dimensions (sorted by name),
/// plus the unit its values are in.
public struct MetricKey: Hashable, Sendable, Codable, CustomStringConvertible {
    package struct Dimension: Hashable, Sendable, Codable {
        public var name: String
        package var value: String
        package init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    package var namespace: String
    public var name: String
    package var dimensions: [Dimension]
    package var unit: String

    package init(namespace: String, name: String, dimensions: [Dimension], unit: String) {
        self.namespace = namespace
        self.name = name
        self.dimensions = dimensions.sorted { $0.name < $1.name }
        self.unit = unit
    }

    /// The series an alarm watches: namespace, name and every dimension must match (the unit does not).
    package func matches(namespace: String, name: String, dimensions: [Dimension]) -> Bool {
        self.namespace == namespace && self.name == name && self.dimensions == dimensions
    }

    /// How Prometheus sees the series: a count per period (a CloudWatch `Sum`: hits, evictions,
    /// consumed capacity, throttles, keys fixed by a sweep) is a counter whose total is the sum of the
    /// values; a count kept since the agent started (hooks delivered) is a counter as it is; anything else
    /// is a gauge.
    package enum Kind: Sendable { case gauge, deltaCounter, totalCounter }

    package var kind: Kind {
        switch (namespace, name) {
        case ("AWS/ElastiCache", "CacheHits"), ("AWS/ElastiCache", "CacheMisses"), ("AWS/ElastiCache", "Evictions"),
            ("AWS/ElastiCache", "Reclaimed"), ("AWS/ElastiCache", "NewConnections"),
            ("AWS/ElastiCache", "NetworkBytesIn"), ("AWS/ElastiCache", "NetworkBytesOut"),
            ("WhatIf/Redis", "SlowlogEntries"),
            ("AWS/DynamoDB", "ConsumedReadCapacityUnits"), ("AWS/DynamoDB", "ConsumedWriteCapacityUnits"),
            ("AWS/DynamoDB", "ReadThrottleEvents"), ("AWS/DynamoDB", "WriteThrottleEvents"),
            ("AWS/DynamoDB", "ThrottledRequests"), ("AWS/DynamoDB", "SystemErrors"), ("AWS/DynamoDB", "UserErrors"),
            ("AWS/DynamoDB", "AgentRequests"), ("AWS/DynamoDB", "AgentThrottleEvents"),
            ("AWS/DynamoDB", "AgentUserErrors"), ("AWS/DynamoDB", "AgentSystemErrors"),
            ("AWS/DynamoDB", "AgentRetries"),
            ("WhatIf/Redis", "ExpiryFixed"), ("WhatIf/Redis", "KeysScanned"):
            .deltaCounter
        case ("WhatIf/Agent", "HooksDelivered"), ("WhatIf/Agent", "HooksFailed"), ("WhatIf/Agent", "HooksDropped"):
            .totalCounter
        default: .gauge
        }
    }

    public var description: String {
        let dims = dimensions.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
        return "\(namespace) \(name)" + (dims.isEmpty ? "" : " {\(dims)}")
    }
}

/// CloudWatch's units that the collectors use.
package enum MetricUnit {
    package static let percent = "Percent"
    package static let count = "Count"
    package static let bytes = "Bytes"
    package static let seconds = "Seconds"
    package static let milliseconds = "Milliseconds"
    package static let countPerSecond = "Count/Second"
    package static let none = "None"
}

/// One value a collector read, stamped with when it was read (seconds since the epoch).
public struct Sample: Sendable, Equatable {
    public var key: MetricKey
    package var value: Double
    package var time: Double
    // memberwise-init: package
}
