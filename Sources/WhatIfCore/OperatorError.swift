/// An error an operator reads: what went wrong, where, and what to do about it.
public protocol OperatorError: Error, CustomStringConvertible {
    /// What went wrong, naming the place (file, host, table, ...).
    var message: String { get }
    /// How to fix it, when we know.
    var hint: String? { get }
}

extension OperatorError {
    public var description: String {
        if let hint { return "\(message); \(hint)" }
        return message
    }
}

/// A generic operator-facing error.
public struct Failure: OperatorError, Sendable {
    public var message: String
    public var hint: String?
    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
}
