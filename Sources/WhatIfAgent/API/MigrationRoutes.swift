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
            Route(method: "POST", pattern: ["v1", "tables"], role: .admin) { [agent] req, _ in
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
            Route(method: "POST", pattern: ["v1", "migrations", "scenarios"], role: .admin) { [agent] req, _ in
                await startJob(
                    agent, req, kind: MigrationJobs.scenariosKind, StartScenarioMigrationRequest.self,
                    example: #"{"from": "/path/to/scenarios.bson", "dryRun": true}"#)
            },
            Route(method: "POST", pattern: ["v1", "migrations", "postgres"], role: .admin) { [agent] req, _ in
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
                return .json(maintenanceList(m, now: Date().timeIntervalSince1970))
            },
            Route(method: "POST", pattern: ["v1", "preflight"], role: .admin) { [agent] req, _ in
                await startJob(
                    agent, req, kind: Preflight.kind, PreflightRequest.self, example: #"{"environment": "test"}"#)
            },
            Route(method: "POST", pattern: ["v1", "migrations", "verify"], role: .admin) { [agent] req, _ in
                await startJob(
                    agent, req, kind: MigrationJobs.verifyKind, StartVerifyRequest.self,
                    example: #"{"from": "/path/to/scenarios.bson"}"#)
            },
        ]
    }
}

extension Router {
    /// Each window with the occurrence open at `now`, else the next one.
    static func maintenanceList(_ m: MaintenanceConfig, now: Double) -> MaintenanceWindowList {
        MaintenanceWindowList(
            catchUp: m.catchUp.rawValue,
            windows: m.windows.map { w in
                let open = w.schedule.open(at: now)
                let start = open?.start ?? w.schedule.nextStart(atOrAfter: now) ?? now
                let end = open?.end ?? start + Double(w.schedule.minutes) * 60
                return MaintenanceWindowInfo(
                    name: w.name, when: w.schedule.description, jobs: w.jobs, silenceAlarms: w.silenceAlarms,
                    start: Date(timeIntervalSince1970: start), end: Date(timeIntervalSince1970: end),
                    openNow: open != nil)
            })
    }
}
