import ServiceLifecycle
import WhatIfCore

/// A capability's background service (WhatIfCore.BackgroundService: the hooks, monitoring, the expiry
/// schedule, the maintenance scheduler) as a member of whatifd's `ServiceGroup`: it runs for the life
/// of the group, and at the graceful shutdown `willStop` runs, then the service is cancelled and
/// awaited, so the group moves on to the service before it only once this one has cleaned up.
package struct BackgroundPart: Service, CustomStringConvertible {
    let service: any BackgroundService
    let willStop: @Sendable () -> Void

    package init(_ service: any BackgroundService, willStop: @escaping @Sendable () -> Void = {}) {
        self.service = service
        self.willStop = willStop
    }

    package var description: String { service.name }

    package func run() async {
        let service = self.service
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await service.run() }
            // Returns at the graceful shutdown, throws when the group is cancelled: stop either way.
            try? await gracefulShutdown()
            willStop()
            group.cancelAll()
        }
    }
}

/// A part of the agent that `Daemon.start` has already brought up (where the order of dependencies
/// is plain: the socket is bound before systemd hears READY=1), which the group stops at its graceful
/// shutdown: the admin socket, the job manager, the open connections, the blocking pool.
package struct StartedPart: Service, CustomStringConvertible {
    package let description: String
    let stop: @Sendable () async -> Void

    package init(_ name: String, stop: @escaping @Sendable () async -> Void) {
        description = name
        self.stop = stop
    }

    package func run() async {
        try? await gracefulShutdown()
        await stop()
    }
}

/// The capabilities' background services, in the order the agent brought them up.
final class BackgroundServices: Sendable {
    private let parts = Locked<[BackgroundPart]>([])

    func add(_ service: any BackgroundService, willStop: @escaping @Sendable () -> Void = {}) {
        parts.withLock { $0.append(BackgroundPart(service, willStop: willStop)) }
    }

    var all: [BackgroundPart] { parts.value }
}
