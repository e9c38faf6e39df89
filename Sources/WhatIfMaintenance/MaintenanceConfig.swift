import WhatIfProtocol

/// `maintenance:` in agent.yaml: windows (RDS weekly format or cron) and the jobs each runs, in order.
package struct MaintenanceConfig: Sendable, Equatable {
    package enum CatchUp: String, Sendable, Equatable, CaseIterable { case run, report }
    /// Who opens a window: the agent's own scheduler, or a systemd timer running `whatifctl maintenance run`.
    package enum Trigger: String, Sendable, Equatable, CaseIterable { case agent, timer }

    /// Several agents sharing singleton work through lease items in a DynamoDB table.
    package struct Fleet: Sendable, Equatable {
        package var table: String
        package var leaseSeconds: Double
        package var heartbeatSeconds: Double
        /// This agent's name in the lease table (unique across the fleet).
        package var owner: String?

        // memberwise-init: package
    }

    package struct Window: Sendable, Equatable {
        package var name: String
        package var when: String
        package var schedule: WindowSchedule
        package var jobs: [String]
        package var silenceAlarms: [String]
        package var trigger: Trigger = .agent

        // memberwise-init: package
    }

    package var windows: [Window]
    package var catchUp: CatchUp
    package var fleet: Fleet?

    // memberwise-init: package
}

extension MaintenanceConfig {
    /// The window of that name in `config` (nil: no `maintenance:`), or a 404 listing the windows there are.
    package static func window(_ name: String, in config: MaintenanceConfig?, configPath: String) throws(APIError)
        -> Window
    {
        guard let w = config?.windows.first(where: { $0.name == name }) else {
            let known = config?.windows.map(\.name) ?? []
            throw APIError(
                .notFound, "there is no maintenance window named '\(name)'",
                hint: known.isEmpty
                    ? "add maintenance.windows to \(configPath)" : "windows: \(known.joined(separator: ", "))")
        }
        return w
    }
}
