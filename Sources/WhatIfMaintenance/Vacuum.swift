import WhatIfCore
import WhatIfPostgres
import WhatIfProtocol
import WhatIfUnits

/// The `postgres.vacuum` job: VACUUM (ANALYZE) of the whole database, which a window runs when the
/// app is quiet.
package enum Vacuum {
    /// Vacuums and analyzes `database` on a connection from `connect`; reports the number of tables
    /// first (as the phase) and the time it took.
    package static func run(
        database: String, connect: () throws -> PostgresConnection, reporter: any JobReporter
    ) throws -> VacuumResult {
        let watch = Stopwatch()
        let conn = try connect()
        defer { conn.close() }
        let tables =
            try conn.query("SELECT count(*) FROM pg_stat_user_tables", deadline: .after(seconds: 30))
            .rows.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
        reporter.progress(
            done: 0, total: nil, unit: "", phase: "VACUUM (ANALYZE) \(database): \(Units.count(tables, "table"))")
        _ = try conn.query("VACUUM (ANALYZE)", deadline: .after(seconds: 6 * 3600))
        reporter.info(
            "VACUUM (ANALYZE) of \(database): \(Units.count(tables, "table")) in \(Units.duration(watch.elapsedSeconds))"
        )
        return VacuumResult(database: database, tables: tables, seconds: watch.elapsedSeconds)
    }
}
