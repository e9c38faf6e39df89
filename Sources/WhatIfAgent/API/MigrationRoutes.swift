import WhatIfAWS
import WhatIfCore
import WhatIfJSON
import WhatIfMaintenance
import WhatIfMigration
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Router {
    static func migrationRoutes(_ agent: AgentCore) -> [Route] {
        [
            Route(method: "POST", pattern: ["v1", "tables"], role: .admin, takesBody: true) { [agent] req, _ in
                await startJob(
                    agent, req, kind: MigrationJobs.tablesKind, TablesSetupRequest.self,
                    example: #"{"environment": "test"}"#)
            },
            Route(method: "GET", pattern: ["v1", "tables", "template"], role: .reader) { req, _ in
                let env = req.query["environment"].flatMap { $0.isEmpty ? nil : $0 } ?? "production"
                guard MigrationJobs.environments.contains(env) else {
                    return .error(
                        APIError(
                            .badRequest, "unknown environment '\(env)'", hint: "use development, test or production"))
                }
                return .json(TableSchema.cloudFormation(environment: env))
            },
            Route(method: "POST", pattern: ["v1", "migrations", "scenarios"], role: .admin, takesBody: true) {
                [agent] req, _ in
                await startJob(
                    agent, req, kind: MigrationJobs.scenariosKind, StartScenarioMigrationRequest.self,
                    example: #"{"from": "/path/to/scenarios.bson", "dryRun": true}"#)
            },
            Route(method: "POST", pattern: ["v1", "migrations", "postgres"], role: .admin, takesBody: true) {
                [agent] req, _ in
                await startJob(
                    agent, req, kind: MigrationJobs.postgresKind, StartPostgresMigrationRequest.self,
                    example: #"{"to": "test", "dryRun": true}"#)
            },
            Route(method: "GET", pattern: ["v1", "maintenance", "windows"], role: .reader) { [agent] _, _ in
                guard let m = agent.config.maintenance else {
                    return .error(
                        APIError(
                            .notFound, "there are no maintenance windows",
                            hint: "add maintenance.windows to the config (docs/configuration.md)"))
                }
                return .json(
                    maintenanceList(
                        m, now: agent.maintenanceClock.now, lastRun: { agent.windowStates.load($0)?.lastRun }))
            },
            Route(
                method: "POST", pattern: ["v1", "maintenance", "windows", "{id}", "run"], role: .admin, takesBody: true
            ) {
                [agent] req, params in
                let run: MaintenanceRunRequest
                do throws(APIError) {
                    run = try body(
                        req, as: MaintenanceRunRequest.self, what: "window run",
                        example: #"{"ignoreEstimates": false}"#)
                } catch { return .error(error) }
                // An unknown window is refused by the job kind itself (404, naming the known windows).
                let p = MaintenanceJobs.WindowParams(
                    window: params[0], trigger: "manual", ignoreEstimates: run.ignoreEstimates)
                return await startJob(
                    agent, req, kind: MaintenanceJobs.windowKind, params: try? JSONValue.encoding(p))
            },
            Route(method: "GET", pattern: ["v1", "maintenance", "leases"], role: .reader) { [agent] _, _ in
                .json(await leaseList(agent))
            },
            Route(method: "POST", pattern: ["v1", "preflight"], role: .admin, takesBody: true) { [agent] req, _ in
                await startJob(
                    agent, req, kind: Preflight.kind, PreflightRequest.self, example: #"{"environment": "test"}"#)
            },
            Route(method: "POST", pattern: ["v1", "migrations", "verify"], role: .admin, takesBody: true) {
                [agent] req, _ in
                await startJob(
                    agent, req, kind: MigrationJobs.verifyKind, StartVerifyRequest.self,
                    example: #"{"from": "/path/to/scenarios.bson"}"#)
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
        let lease = agent.fleetLease(fleet)
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
