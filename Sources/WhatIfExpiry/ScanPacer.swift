import WhatIfCore
import WhatIfRedis

/// SCAN's pace, shared by the expiry sweep and the key audit: COUNT halves when a batch (SCAN and its
/// pipelined follow-ups) runs over `batchBudget` and doubles back, up to `scanCount`, when well under it;
/// `keysPerSecond` is a ceiling kept by sleeping between batches.
struct ScanPacer {
    let settings: SweepSettings
    private(set) var count: Int
    private let started = Stopwatch()
    private let scannedAtStart: Int64

    init(_ settings: SweepSettings, scannedAtStart: Int64 = 0) {
        self.settings = settings
        count = settings.scanCount
        self.scannedAtStart = scannedAtStart
    }

    /// After a batch that took `seconds`, with `scanned` keys read in all: the next COUNT, and a sleep if
    /// the run is ahead of its keys-per-second budget (at most 5 s at a time, so cancelling stays prompt).
    mutating func pace(batchSeconds seconds: Double, scanned: Int64) {
        if seconds > settings.batchBudget {
            count = max(10, count / 2)
        } else if seconds < settings.batchBudget / 2 {
            count = min(settings.scanCount, count * 2)
        }
        if let kps = settings.keysPerSecond, kps > 0 {
            let due = Double(scanned - scannedAtStart) / kps
            let ahead = due - started.elapsedSeconds
            if ahead > 0 { sleepThread(seconds: min(ahead, 5)) }
        }
    }

    /// One `SCAN cursor COUNT n` at the current count: the next cursor and the keys (binary-safe).
    func scan(_ connection: RedisConnection, cursor: String) throws -> (next: String, keys: [[UInt8]]) {
        var reply = try connection.command(["SCAN", cursor, "COUNT", String(count)])
        // A cluster node refuses commands while the cluster is down (a failover under way): wait for it.
        let deadline = Deadline.after(seconds: 30)
        while ClusterConnections.isTransient(reply), !deadline.hasPassed {
            sleepThread(seconds: 0.25)
            reply = try connection.command(["SCAN", cursor, "COUNT", String(count)])
        }
        guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let keyList = parts[1].array
        else {
            throw Failure("unexpected SCAN reply: \(reply)", hint: "is this a Redis server?")
        }
        return (next, keyList.compactMap { if case .bulk(let b) = $0 { b } else { nil } })
    }

    /// One pipeline of per-key reads (PTTL, TYPE, MEMORY USAGE). An error reply is never taken as "the
    /// key is gone": a refused command (an ACL, a cluster redirection) would otherwise make every key
    /// look vanished and the report count nothing.
    func look(_ connection: RedisConnection, _ commands: [[[UInt8]]]) throws -> [RESPValue] {
        try look({ try connection.pipeline(binary: $0) }, commands)
    }

    /// The same through `send` (a cluster's redirect-following pipeline).
    func look(_ send: ([[[UInt8]]]) throws -> [RESPValue], _ commands: [[[UInt8]]]) throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let replies = try send(commands)
        if let i = replies.firstIndex(where: \.isError), case .error(let message) = replies[i] {
            let command = commands[i].prefix(commands[i][0] == Array("MEMORY".utf8) ? 2 : 1)
                .map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
            throw Failure(
                "Redis refused \(command): \(message)",
                hint: "the agent's ACL user needs SCAN, TYPE, PTTL and MEMORY USAGE (and EXPIRE to enforce)")
        }
        return replies
    }
}
