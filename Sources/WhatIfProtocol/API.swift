#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a caller of the admin API may do, decided per request from the peer's credentials (SO_PEERCRED).
public enum Role: String, Codable, Sendable, Comparable, CaseIterable {
    /// Not a member of the reader or admin group: every request gets 403.
    case none
    /// Members of the reader group: status, metrics, lists, job progress.
    case reader
    /// root, the agent's own user and members of the admin group: everything.
    case admin

    private var rank: Int {
        switch self {
        case .none: 0
        case .reader: 1
        case .admin: 2
        }
    }

    /// Orders roles by what they allow: `none < reader < admin`.
    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// Machine-readable error codes of the admin API (the `code` of an error body).
public enum APIErrorCode: String, Codable, Sendable {
    case badRequest = "bad_request"
    case forbidden = "forbidden"
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case conflict = "conflict"
    case payloadTooLarge = "payload_too_large"
    case headersTooLarge = "headers_too_large"
    case requestTimeout = "request_timeout"
    case unprocessable = "unprocessable"
    case tooManyConnections = "too_many_connections"
    case unavailable = "unavailable"
    /// The request needs something the configuration does not have (whatifctl exits 78).
    case notConfigured = "not_configured"
    case shuttingDown = "shutting_down"
    case internalError = "internal"
    /// In a job's record only: the work ran and did not succeed (a check failed, pg_dump failed, ...).
    case failed = "failed"
    /// In a job's record only: it was cancelled.
    case cancelled = "cancelled"
    /// In a job's record only: the agent stopped while it ran.
    case interrupted = "interrupted"

    /// The HTTP status the agent answers with for this code.
    public var httpStatus: Int {
        switch self {
        case .badRequest: 400
        case .forbidden: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .requestTimeout: 408
        case .conflict: 409
        case .payloadTooLarge: 413
        case .unprocessable, .notConfigured: 422
        case .headersTooLarge: 431
        case .internalError, .failed, .interrupted: 500
        case .cancelled: 409
        case .tooManyConnections, .unavailable, .shuttingDown: 503
        }
    }
}

/// `{"error": {"code": "...", "message": "...", "hint": "..."}}`: every non-2xx answer of the admin API.
public struct APIError: Error, Codable, Sendable, Equatable {
    /// What kind of error, for code to act on.
    public var code: APIErrorCode
    /// What went wrong, naming the place (a job, a backup, a key, a file).
    public var message: String
    /// How to fix it, when the agent knows.
    public var hint: String?
    /// For `conflict`: the job that holds the resource.
    public var jobId: String?

    package init(_ code: APIErrorCode, _ message: String, hint: String? = nil, jobId: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.jobId = jobId
    }
}

/// The body of every non-2xx answer: `{"error": {...}}`.
public struct APIErrorBody: Codable, Sendable {
    /// The error itself.
    public var error: APIError
    package init(_ error: APIError) { self.error = error }
}

/// Exit statuses shared by whatifd and whatifctl (sysexits.h where one fits). `allCases` is the table
/// whatifctl(1) documents (a test holds the two equal).
public enum ExitStatus: Int32, Sendable, CaseIterable {
    case ok = 0
    /// The operation ran and failed (a job failed, a backup did not verify, ...).
    case failure = 1
    /// Wrong command-line usage (swift-argument-parser's EX_USAGE).
    case usage = 64
    /// The agent refused the request as invalid (400, 413, 422, 431).
    case badRequest = 65
    /// Something named does not exist (404).
    case notFound = 66
    /// The agent is not running or not reachable, or a service it needs is down.
    case unavailable = 69
    /// The agent reported an internal error (500).
    case software = 70
    /// Busy: a job already holds the resource (409).
    case busy = 75
    /// Permission denied: the socket or the agent refused this user.
    case noPermission = 77
    /// Bad configuration: the agent's config lacks what the request needs, or does not load.
    case config = 78
    /// The agent accepted the connection but did not answer within --timeout (GNU timeout's status).
    case timeout = 124

    /// The exit status whatifctl uses for an answer with this HTTP status.
    public static func forHTTPStatus(_ status: Int) -> ExitStatus {
        switch status {
        case 200..<300: .ok
        case 403: .noPermission
        case 404: .notFound
        case 409: .busy
        case 400, 405, 408, 411, 413, 414, 422, 431: .badRequest
        case 503: .unavailable
        case 500..<600: .software
        default: .failure
        }
    }
}

/// Percent-encoding of names in paths and query values (the paths themselves are `Endpoint`s).
public enum APIPath {
    /// Percent-encodes everything but unreserved characters (for names in paths and query values).
    public static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case 0x30...0x39, 0x41...0x5a, 0x61...0x7a, 0x2d, 0x2e, 0x5f, 0x7e: out.unicodeScalars.append(.init(b))
            default:
                let h = String(b, radix: 16, uppercase: true)
                out += "%" + (h.count == 1 ? "0" : "") + h
            }
        }
        return out
    }

    /// Decodes %XX escapes; nil when an escape is malformed or the result is not UTF-8.
    public static func percentDecode(_ s: some StringProtocol) -> String? {
        guard s.contains("%") else { return String(s) }
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == 0x25 {
                guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else {
                    return nil
                }
                out.append(v)
                it = it.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}

/// `GET /v1/version`: the agent's version and the API version it serves.
public struct VersionInfo: Codable, Sendable, Equatable {
    /// The agent's version (`WhatIfVersion.string`).
    public var version: String = WhatIfVersion.string
    /// The API version, the first path segment of every resource (`v1`).
    public var api: String = WhatIfVersion.api
    // memberwise-init: package
}

/// `GET /v1/whoami`: how the agent sees the caller.
public struct PeerInfo: Codable, Sendable, Equatable {
    /// The caller's user id, from SO_PEERCRED.
    public var uid: UInt32
    /// The caller's primary group id, from SO_PEERCRED.
    public var gid: UInt32
    /// The caller's process id, from SO_PEERCRED.
    public var pid: Int32
    /// The caller's user name, when the user database knows the uid.
    public var user: String?
    /// What the caller may do.
    public var role: Role
    // memberwise-init: package
}

/// `GET /v1/config`: every effective setting under its agent.yaml key (durations as the file writes them,
/// secrets `<redacted>`), and for each leaf, by dotted path, where it came from: `file`, `env NAME`,
/// `default` or `derived from KEY`.
public struct ConfigReport: Codable, Sendable {
    /// The config file.
    public var path: String
    /// Every effective setting, shaped like agent.yaml (secrets `<redacted>`).
    public var settings: JSONValue
    /// Where each leaf setting came from, by dotted path: `file`, `env NAME`, `default` or `derived from KEY`.
    public var sources: [String: String]

    // memberwise-init: package
}

/// `POST /v1/config/reload`: whether the new configuration took effect, and why not.
public struct ReloadResult: Codable, Sendable {
    /// True when the new configuration is in effect.
    public var reloaded: Bool
    /// Why the file was refused (`file:line: problem (hint)`), empty when it was reloaded.
    public var problems: [String]
    /// Settings that changed but take effect only after a restart (the socket, the state directory, ...).
    public var restartRequired: [String]
    // memberwise-init: package
}
