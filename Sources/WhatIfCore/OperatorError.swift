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
package struct Failure: OperatorError, Sendable {
    public var message: String
    public var hint: String?
    package init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
}

/// The one shape of a transport's error (a socket, HTTP, Redis): what kind of failure, for code to
/// decide on (retry a timeout, not a refused login), and the operator's message and hint.
public struct TransportError<Kind: Sendable & Equatable>: OperatorError, Sendable {
    public var kind: Kind
    public var message: String
    public var hint: String?

    public init(_ kind: Kind, _ message: String, hint: String? = nil) {
        self.kind = kind
        self.message = message
        self.hint = hint
    }
}

/// A job that failed but has a result worth keeping (a backup of two parts where one failed): the
/// job manager records the failure and keeps the result, of the kind's result type, in the record.
package struct JobFailed: OperatorError, Sendable {
    package var message: String
    package var hint: String?
    package var result: (any Encodable & Sendable)?

    package init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
        self.result = nil
    }

    /// A failure whose result is kept in the job record.
    package init(_ message: String, hint: String? = nil, result: some Encodable & Sendable) {
        self.message = message
        self.hint = hint
        self.result = result
    }
}
