#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One entry of the agent's audit trail: who did what through the admin API (every request that can
/// change something, answered or refused), and every job's start, cancellation and end. Written to the
/// journal (MESSAGE_ID `AuditEntry.messageID`) and to an append-only, hash-chained log under the state
/// directory (`<state>/audit/`).
public struct AuditEntry: Codable, Sendable, Equatable {
    /// The journal's MESSAGE_ID of audit entries (`journalctl MESSAGE_ID=...`).
    public static let messageID = "4a7c2e9d1b8f4c05a3e6d2b17f90c8e1"

    /// When (RFC 3339, UTC, milliseconds).
    public var time: String = ""
    /// 1, 2, 3, … over the life of the trail, across rotations.
    public var seq: Int64 = 0
    /// `request`, `job.started`, `job.cancel-requested`, `job.finished`, `config.reloaded`, `audit.recovered`.
    public var event: String
    /// The caller's uid (SO_PEERCRED); none for what the agent did itself.
    public var uid: UInt32?
    /// The caller's user name; for a job started or cancelled by the agent itself, what did it (a
    /// schedule, `maintenance window`, `SIGHUP`).
    public var user: String?
    /// The caller's role: admin, reader or none.
    public var role: String?
    /// A request's method.
    public var method: String?
    /// A request's route: the endpoint's pattern (`DELETE /v1/jobs/{id}`).
    public var route: String?
    /// A request's path as sent.
    public var path: String?
    /// A request's body as sent, typed JSON with secrets (passwords, tokens, keys) redacted.
    public var params: JSONValue?
    /// The job the entry is about (started by the request, cancelled, finished).
    public var jobId: String?
    /// That job's kind.
    public var kind: String?
    /// The HTTP status a request was answered with.
    public var status: Int?
    /// `ok`, `refused`, `error`, or a job's final state.
    public var outcome: String
    /// The error's message, or what else the entry needs to say.
    public var message: String?
    /// The SHA-256 (hex) of the previous entry's line: a removed or inserted entry breaks the chain.
    public var prev: String?
    /// The SHA-256 (hex) of this entry's line after its `"hash"` member: an edited entry fails it.
    public var hash: String?

    // memberwise-init: public
}

/// `GET /v1/audit`: the entries asked for (oldest first) and what checking the whole chain found.
public struct AuditList: Codable, Sendable, Equatable {
    /// The entries that matched, the newest `limit` of them, oldest first.
    public var entries: [AuditEntry]
    /// Entries that matched before `limit` cut the oldest.
    public var matched: Int
    /// True when every line of every file read is whole, hashes to its recorded hash and follows the
    /// one before it.
    public var verified: Bool
    /// Where the chain is broken, by file and line.
    public var problems: [String]
    /// The files read, oldest first.
    public var files: [String]

    // memberwise-init: package
}
