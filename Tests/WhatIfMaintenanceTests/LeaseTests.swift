import Foundation
import Testing
import WhatIfAWS
import WhatIfCore
import WhatIfHTTP
import WhatIfTesting

@testable import WhatIfMaintenance

/// A clock the test moves by hand: no real waiting for leases to expire.
final class TestClock: @unchecked Sendable {
    private let t = Locked(1000.0)
    var now: Double { t.value }
    func advance(_ s: Double) { t.withLock { $0 += s } }
}

/// Three agents (three lease clients, one owner each) against one moto.
@Suite(.serialized) struct LeaseTests {
    let ddb: DynamoDB
    let table = "whatif-leases-test-\(getpid())-\(Int.random(in: 1000...9999))"

    init() throws {
        let stack = try Stack.shared()
        let keys = stack.awsKeys
        let client = AWSClient(
            settings: AWSSettings(region: "us-east-1", endpoint: stack.motoEndpoint),
            credentials: StaticCredentials(
                AWSCredentials(accessKeyId: keys.id, secretAccessKey: keys.secret, source: "test")),
            http: HTTPClient())
        ddb = DynamoDB(client: client)
    }

    @Test func oneHolderThenTakeoverOnlyAfterAWholeLeaseUnchanged() throws {
        let clock = TestClock()
        let agents = ["host-a", "host-b", "host-c"].map {
            FleetLease(client: ddb, table: table, owner: $0, leaseSeconds: 30, now: { clock.now })
        }
        try agents[0].ensureTable()
        try agents[1].ensureTable()  // a second creation attempt is harmless
        let name = "window:weekly:backup"
        var holdings: [FleetLease.Holding] = []
        for a in agents {
            if case .acquired(let h) = try a.tryAcquire(name) { holdings.append(h) }
        }
        #expect(holdings.count == 1, "exactly one agent holds the lease")
        #expect(holdings.first?.fence == 1)
        #expect(try agents[0].read(name)?.owner == "host-a")

        // The holder heartbeats: however long the others watch, the version keeps changing.
        var h = holdings[0]
        for _ in 0..<4 {
            clock.advance(20)
            #expect(try agents[0].heartbeat(&h))
            for a in agents.dropFirst() {
                guard case .heldBy(let owner, _) = try a.tryAcquire(name) else {
                    Issue.record("taken over while its holder heartbeats")
                    return
                }
                #expect(owner == "host-a")
            }
        }
        // host-a dies (no more heartbeats). Before a whole lease has passed, nobody takes over.
        clock.advance(29)
        for a in agents.dropFirst() {
            if case .acquired = try a.tryAcquire(name) { Issue.record("taken over too early") }
        }
        clock.advance(2)
        var next: [(Int, FleetLease.Holding)] = []
        for (i, a) in agents.enumerated().dropFirst() {
            if case .acquired(let h2) = try a.tryAcquire(name) { next.append((i, h2)) }
        }
        #expect(next.count == 1, "exactly one takes over: \(next.map(\.0))")
        let (winner, taken) = try #require(next.first)
        #expect(taken.fence == 2, "the fencing token grows with each holder")
        // The old holder is fenced off: its heartbeat fails and it no longer holds the lease.
        #expect(try agents[0].heartbeat(&h) == false)
        #expect(try agents[0].stillHolds(h) == false)
        #expect(try agents[winner].stillHolds(taken))
        // A release frees it at once for the next agent.
        try agents[winner].release(taken)
        guard case .acquired(let again) = try agents[0].tryAcquire(name) else {
            Issue.record("not free after release")
            return
        }
        #expect(again.fence == 3, "the fence never goes back, release or not")
        #expect(try agents[0].stillHolds(h) == false, "the stale holding of fence 1 stays fenced off")
    }

    /// A holder that finished an occurrence records it on release; an agent asking for that occurrence (or
    /// an earlier one) is told it is done and the fence stays; a later occurrence takes the lease as usual.
    @Test func completedOccurrencesAreNotTakenAgain() throws {
        let a = FleetLease(client: ddb, table: table, owner: "host-a", leaseSeconds: 30)
        let b = FleetLease(client: ddb, table: table, owner: "host-b", leaseSeconds: 30)
        try a.ensureTable()
        let name = "window:nightly"
        guard case .acquired(let h) = try a.tryAcquire(name, unlessCompletedSince: 5000) else {
            Issue.record("not acquired")
            return
        }
        try a.release(h, completed: 5000)
        #expect(try b.tryAcquire(name, unlessCompletedSince: 5000) == .completed(at: 5000))
        #expect(try b.tryAcquire(name, unlessCompletedSince: 4000) == .completed(at: 5000))
        #expect(try b.read(name)?.fence == h.fence, "asking does not move the fence")
        guard case .acquired(let next) = try b.tryAcquire(name, unlessCompletedSince: 6000) else {
            Issue.record("the next occurrence was not taken")
            return
        }
        #expect(next.fence == h.fence + 1 && next.completed == 5000)
        // Heartbeats and a release without a new completion keep the last one.
        var n = next
        #expect(try b.heartbeat(&n))
        try b.release(n)
        #expect(try a.read(name)?.completed == 5000)
    }
}
