import Logging
import ServiceLifecycle
import Testing
import WhatIfAgent
import WhatIfCore

/// whatifd's parts in one ServiceGroup: the group stops them in reverse order of the list, and moves
/// to the next only once a background service has finished its clean-up.
@Suite struct AgentServicesTests {
    struct Recorder: BackgroundService {
        let name: String
        let log: Locked<[String]>
        let started: AsyncStream<String>.Continuation

        func run() async {
            started.yield(name)
            await waitUntilCancelled()
            // Clean-up that takes a moment: the group must wait for it.
            try? await Task.sleep(for: .milliseconds(20))
            log.withLock { $0.append("stop \(name)") }
        }
    }

    @Test func theGroupStopsPartsInReverseOrderAndWaitsForEach() async throws {
        let log = Locked<[String]>([])
        let (starts, started) = AsyncStream.makeStream(of: String.self)
        let members: [any Service & CustomStringConvertible] = [
            StartedPart("pool") { log.withLock { $0.append("stop pool") } },
            BackgroundPart(Recorder(name: "hooks", log: log, started: started)),
            BackgroundPart(
                Recorder(name: "monitoring", log: log, started: started),
                willStop: { log.withLock { $0.append("will stop monitoring") } }),
            StartedPart("socket") { log.withLock { $0.append("stop socket") } },
        ]
        #expect(members.map(\.description) == ["pool", "hooks", "monitoring", "socket"])
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: members.map { .init(service: $0) }, logger: Logger(label: "test")))
        let run = Task { try await group.run() }
        var seen = 0
        for await _ in starts {
            seen += 1
            if seen == 2 { break }
        }
        #expect(log.value.isEmpty, "nothing stops before the shutdown")
        await group.triggerGracefulShutdown()
        try await run.value
        #expect(log.value == ["stop socket", "will stop monitoring", "stop monitoring", "stop hooks", "stop pool"])
    }
}
