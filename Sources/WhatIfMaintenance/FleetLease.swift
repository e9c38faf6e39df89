import WhatIfAWS
import WhatIfCore

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One agent per job across a fleet: a lease item per job in a DynamoDB table, the approach of AWS's
/// dynamodb-lock-client. Each write sets a new record version number (RVN) with a conditional write;
/// the holder heartbeats by replacing its own RVN. Another agent takes a lease over only after it has
/// seen the same RVN unchanged for the whole lease duration by its own clock (so clocks across hosts
/// need not agree). Every acquisition increments `fence`, the fencing token: work done under a lease
/// checks `stillHolds` with it before it commits anything.
package final class FleetLease: @unchecked Sendable {
    package struct Holding: Sendable, Equatable {
        package var name: String
        package var fence: Int64
        var version: String
        /// The last occurrence (window start) a holder finished, as the table said when this was taken.
        package var completed: Double?
    }

    /// What the table says about a lease (for `whatifctl status`).
    package struct Record: Sendable, Equatable {
        package var name: String
        package var owner: String
        package var fence: Int64
        package var leaseSeconds: Double
        package var heartbeatAt: Double
        /// The last window occurrence (start, seconds since 1970) a holder finished.
        package var completed: Double?
    }

    package enum Outcome: Sendable, Equatable {
        case acquired(Holding)
        /// Someone else holds it; it may be taken over once it has not changed for `wait` more seconds.
        case heldBy(owner: String, wait: Double)
        /// The work was done already (`completed` at or after what the caller asked about): not taken.
        case completed(at: Double)
    }

    let client: DynamoDB
    package let table: String
    package let owner: String
    package let leaseSeconds: Double
    let now: @Sendable () -> Double
    /// RVNs seen on others' leases, with when (by our clock) we first saw each.
    private let observed = Locked<[String: (version: String, since: Double)]>([:])

    /// The fleet's lease table, under the configured owner name or else `host:pid` (unique on a host).
    package convenience init(_ fleet: MaintenanceConfig.Fleet, client: DynamoDB) {
        self.init(
            client: client, table: fleet.table, owner: fleet.owner ?? "\(HostName.current):\(getpid())",
            leaseSeconds: fleet.leaseSeconds)
    }

    package init(
        client: DynamoDB, table: String, owner: String, leaseSeconds: Double = 60,
        now: @escaping @Sendable () -> Double = FleetLease.monotonicSeconds
    ) {
        self.client = client
        self.table = table
        self.owner = owner
        self.leaseSeconds = leaseSeconds
        self.now = now
    }

    /// Creates the lease table (on demand) if it is missing.
    package func ensureTable() throws {
        do { _ = try client.describeTable(table) } catch let e as AWSError where e.code == "ResourceNotFoundException" {
            do {
                try client.createTable(
                    .init(
                        tableName: table, keySchema: [KeySchemaElement(attributeName: "name", keyType: "HASH")],
                        attributeDefinitions: [AttributeDefinition(attributeName: "name", attributeType: "S")]))
            } catch let e as AWSError where e.code == "ResourceInUseException" {}
            _ = try client.waitUntilActive(table, timeout: 300)
        }
    }

    /// A record version number: 128 random bits as hex.
    static func newVersion() -> String {
        String(UInt64.random(in: .min ... .max), radix: 16) + "-" + String(UInt64.random(in: .min ... .max), radix: 16)
    }

    func item(_ name: String, version: String, fence: Int64, completed: Double?) -> DynamoItem {
        var i: DynamoItem = [
            "name": .s(name), "owner": .s(owner), "version": .s(version), "fence": .n(String(fence)),
            "leaseSeconds": .n(String(leaseSeconds)),
            "heartbeatAt": .n(String(Int64(Date().timeIntervalSince1970 * 1000))),
        ]
        if let completed { i["completed"] = .n(String(Int64(completed))) }
        return i
    }

    static func record(_ i: DynamoItem) -> Record? {
        guard case .s(let name)? = i["name"], case .s(let owner)? = i["owner"] else { return nil }
        func num(_ k: String) -> Double {
            if case .n(let v)? = i[k] { return Double(v) ?? 0 }
            return 0
        }
        var completed: Double?
        if case .n(let v)? = i["completed"] { completed = Double(v) }
        return Record(
            name: name, owner: owner, fence: Int64(num("fence")), leaseSeconds: num("leaseSeconds"),
            heartbeatAt: num("heartbeatAt") / 1000, completed: completed)
    }

    package func read(_ name: String) throws -> Record? {
        try client.getItem(table: table, key: ["name": .s(name)], consistentRead: true).flatMap(Self.record)
    }

    /// Tries to take the lease once (never waits). With `unlessCompletedSince`, a lease whose item records
    /// a completed occurrence at or after it is left alone (its fence does not move).
    package func tryAcquire(_ name: String, unlessCompletedSince: Double? = nil) throws -> Outcome {
        let current = try client.getItem(table: table, key: ["name": .s(name)], consistentRead: true)
        let rec = current.flatMap(Self.record)
        if let since = unlessCompletedSince, let c = rec?.completed, c >= since { return .completed(at: c) }
        guard case .s(let seenVersion)? = current?["version"], let rec else {
            let version = Self.newVersion()
            let ok = try conditionalPut(
                item(name, version: version, fence: 1, completed: nil), condition: "attribute_not_exists(#n)",
                names: ["#n": "name"], values: nil)
            if ok { return .acquired(Holding(name: name, fence: 1, version: version, completed: nil)) }
            return try tryAcquire(name, unlessCompletedSince: unlessCompletedSince)
        }
        /// Replaces the item as it was seen with ours under the next fence (nil when it changed meanwhile).
        func take() throws -> Holding? {
            let version = Self.newVersion()
            let fence = rec.fence + 1
            guard
                try conditionalPut(
                    item(name, version: version, fence: fence, completed: rec.completed), condition: "#v = :v",
                    names: ["#v": "version"], values: [":v": .s(seenVersion)])
            else { return nil }
            return Holding(name: name, fence: fence, version: version, completed: rec.completed)
        }
        if rec.owner == owner || rec.owner.isEmpty {
            // Ours already (a restart with the same owner name), or released: take it under a new version.
            if let h = try take() { return .acquired(h) }
            return try tryAcquire(name, unlessCompletedSince: unlessCompletedSince)
        }
        let t = now()
        let since = observed.withLock { o -> Double in
            if let seen = o[name], seen.version == seenVersion { return seen.since }
            o[name] = (seenVersion, t)
            return t
        }
        let duration = max(rec.leaseSeconds, 1)
        guard t - since >= duration else { return .heldBy(owner: rec.owner, wait: duration - (t - since)) }
        // Unchanged for a whole lease: its holder is gone. Take it over if nobody else did meanwhile.
        guard let h = try take() else { return .heldBy(owner: try read(name)?.owner ?? "?", wait: duration) }
        _ = observed.withLock { $0.removeValue(forKey: name) }
        return .acquired(h)
    }

    /// Renews a held lease; false when it was lost (taken over): the work under it must stop.
    package func heartbeat(_ h: inout Holding) throws -> Bool {
        let version = Self.newVersion()
        let ok = try conditionalPut(
            item(h.name, version: version, fence: h.fence, completed: h.completed), condition: "#v = :v AND #o = :o",
            names: ["#v": "version", "#o": "owner"], values: [":v": .s(h.version), ":o": .s(owner)])
        if ok { h.version = version }
        return ok
    }

    /// True while the table still shows this holding (same owner and fence).
    package func stillHolds(_ h: Holding) throws -> Bool {
        guard let r = try read(h.name) else { return false }
        return r.owner == owner && r.fence == h.fence
    }

    /// Frees the lease for the next agent at once. The item stays (owner empty) so the fence keeps growing.
    /// `completed` records the window occurrence the holder finished, so no other agent runs it again.
    /// False when the lease is no longer this holding's (taken over, or a newer version written).
    @discardableResult
    package func release(_ h: Holding, completed: Double? = nil) throws -> Bool {
        var free = item(h.name, version: Self.newVersion(), fence: h.fence, completed: completed ?? h.completed)
        free["owner"] = .s("")
        return try conditionalPut(
            free, condition: "#v = :v AND #o = :o", names: ["#v": "version", "#o": "owner"],
            values: [":v": .s(h.version), ":o": .s(owner)])
    }

    func conditionalPut(
        _ item: DynamoItem, condition: String, names: [String: String], values: DynamoItem?
    ) throws -> Bool {
        do {
            try client.putItem(
                table: table, item: item, conditionExpression: condition, names: names, values: values)
            return true
        } catch let e as AWSError where e.code == "ConditionalCheckFailedException" {
            return false
        }
    }
}

extension FleetLease {
    static let start = ContinuousClock.now

    /// Seconds on a monotonic clock (durations only; never compared across hosts).
    @Sendable package static func monotonicSeconds() -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
