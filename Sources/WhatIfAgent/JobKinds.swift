/// Every job kind whatifd runs, from the capabilities.
package enum JobKinds {
    static func builtIn(_ core: AgentCore) -> [JobKind] {
        BackupJobs.kinds(core) + ExpiryJobs.kinds(core) + MigrationJobs.kinds(core) + [PreflightJobs.job(core)]
            + MaintenanceJobs.kinds(core)
    }
}
