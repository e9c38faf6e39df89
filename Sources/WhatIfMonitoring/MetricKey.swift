/// One metric's identity, as CloudWatch names it: namespace, metric name and dimensions (sorted by name),
/// plus the unit its values are in.
public struct MetricKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public struct Dimension: Hashable, Sendable, Codable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var namespace: String
    public var name: String
    public var dimensions: [Dimension]
    public var unit: String

    public init(namespace: String, name: String, dimensions: [Dimension], unit: String) {
        self.namespace = namespace
        self.name = name
        self.dimensions = dimensions.sorted { $0.name < $1.name }
        self.unit = unit
    }

    /// The series an alarm watches: namespace, name and every dimension must match (the unit does not).
    public func matches(namespace: String, name: String, dimensions: [Dimension]) -> Bool {
        self.namespace == namespace && self.name == name && self.dimensions == dimensions
    }

    public var description: String {
        let dims = dimensions.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
        return "\(namespace) \(name)" + (dims.isEmpty ? "" : " {\(dims)}")
    }
}

/// CloudWatch's units that the collectors use.
public enum MetricUnit {
    public static let percent = "Percent"
    public static let count = "Count"
    public static let bytes = "Bytes"
    public static let seconds = "Seconds"
    public static let milliseconds = "Milliseconds"
    public static let countPerSecond = "Count/Second"
    public static let none = "None"
}

/// One value a collector read, stamped with when it was read (seconds since the epoch).
public struct Sample: Sendable, Equatable {
    public var key: MetricKey
    public var value: Double
    public var time: Double
    public init(key: MetricKey, value: Double, time: Double) {
        self.key = key
        self.value = value
        self.time = time
    }
}
