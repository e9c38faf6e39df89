import WhatIfCore
import WhatIfJSON
import WhatIfMigration
import WhatIfProtocol

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
