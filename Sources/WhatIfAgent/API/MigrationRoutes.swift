import WhatIfAWS
import WhatIfCore
import WhatIfJSON
import WhatIfMaintenance
import WhatIfMigration
import WhatIfMonitoring
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Router {
    static func migrationRoutes(_ agent: AgentCore) -> [Route] {
        [
            Route(.setupTables) { [agent] req, _ in
                await startJob(agent, req, JobSpecs.TablesSetup.self)
            },
            Route(.tablesTemplate) { [agent] req, _ in
                let env = req.query["environment"].flatMap { $0.isEmpty ? nil : $0 } ?? "production"
                guard MigrationRequests.environments.contains(env) else {
                    return .error(
                        APIError(
                            .badRequest, "unknown environment '\(env)'", hint: "use development, test or production"))
                }
                // The data tier, its CloudWatch dashboard and the configured alarms.
                return .json(
                    CloudWatchTemplate.add(
                        to: ScenarioTable.cloudFormation(environment: env), alarms: agent.config.monitoring.alarms))
            },
            Route(.migrateScenarios) {
                [agent] req, _ in
                await startJob(agent, req, JobSpecs.MigrateScenarios.self)
            },
            Route(.migratePostgres) {
                [agent] req, _ in
                await startJob(agent, req, JobSpecs.MigratePostgres.self)
            },
            Route(.maintenanceWindows) { [agent] _, _ in
                // No windows configured is an empty list (whatifctl says how to add one), not an error.
                guard let m = agent.config.maintenance else {
                    return .json(MaintenanceWindowList(catchUp: "report", windows: []))
                }
                return .json(
                    maintenanceList(
                        m, now: agent.maintenance.clock.now, lastRun: { agent.maintenance.windows.load($0)?.lastRun }))
            },
            Route(.runMaintenanceWindow) {
                [agent] req, params in
                let run: MaintenanceRunRequest
                do throws(APIError) {
                    run = try body(
                        req, as: MaintenanceRunRequest.self, what: "window run",
                        example: #"{"ignoreEstimates": false}"#)
                } catch { return .error(error) }
                // An unknown window is refused by the job kind itself (404, naming the known windows).
                let p = WindowParams(window: params[0], trigger: "manual", ignoreEstimates: run.ignoreEstimates)
                return await startJob(agent, req, JobSpecs.MaintenanceWindow.self, p)
            },
            Route(.maintenanceLeases) { [agent] _, _ in
                .json(await leaseList(agent))
            },
            Route(.preflight) { [agent] req, _ in
                await startJob(agent, req, JobSpecs.Preflight.self)
            },
            Route(.migrateVerify) {
                [agent] req, _ in
                await startJob(agent, req, JobSpecs.MigrateVerify.self)
            },
        ]
    }
}

extension Router {
    /// Each window with the occurrence open at `now`, else the next one.
    static func maintenanceList(
        _ m: MaintenanceConfig, now: Double, lastRun: (String) -> WindowLastRun? = { _ in nil }
    ) -> MaintenanceWindowList {
        MaintenanceWindowList(
            catchUp: m.catchUp.rawValue,
            windows: m.windows.map { w in
                let open = w.schedule.open(at: now)
                let start = open?.start ?? w.schedule.nextStart(atOrAfter: now) ?? now
                let end = open?.end ?? start + Double(w.schedule.minutes) * 60
                return MaintenanceWindowInfo(
                    name: w.name, when: w.schedule.description, jobs: w.jobs, silenceAlarms: w.silenceAlarms,
                    start: Date(timeIntervalSince1970: start), end: Date(timeIntervalSince1970: end),
                    openNow: open != nil, trigger: w.trigger.rawValue, lastRun: lastRun(w.name))
            })
    }

    /// Every window's lease as the fleet's table has it (read-only; nothing is taken).
    static func leaseList(_ agent: AgentCore) async -> LeaseList {
        guard let m = agent.config.maintenance, let fleet = m.fleet else {
            return LeaseList(table: nil, owner: nil, leases: [])
        }
        let lease = FleetLease(fleet, client: agent.clients.dynamodb)
        let names = m.windows.map { "window:\($0.name)" }
        do {
            let records = try await Threads.run { try names.compactMap { try lease.read($0) } }
            return LeaseList(
                table: fleet.table, owner: lease.owner,
                leases: records.map {
                    LeaseInfo(
                        name: $0.name, owner: $0.owner, fence: $0.fence, leaseSeconds: $0.leaseSeconds,
                        heartbeatAt: Date(timeIntervalSince1970: $0.heartbeatAt), mine: $0.owner == lease.owner,
                        completed: $0.completed.map { Date(timeIntervalSince1970: $0) })
                })
        } catch let e as AWSError where e.code == "ResourceNotFoundException" {
            return LeaseList(table: fleet.table, owner: lease.owner, leases: [])
        } catch {
            return LeaseList(
                table: fleet.table, owner: lease.owner, leases: [],
                error: (error as? any OperatorError)?.message ?? "\(error)")
        }
    }
}
