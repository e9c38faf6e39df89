import WhatIfCore

/// A table as PostgreSQL's catalog names it.
package struct PostgresTable: Sendable, Hashable, Comparable {
    package var schema: String
    package var name: String

    /// `schema.name`, as people read it and as backup manifests key their row counts.
    package var displayName: String { "\(schema).\(name)" }
    /// `"schema"."name"`, safe to put in SQL whatever the names hold.
    package var quoted: String { schema.quotedIdentifier + "." + name.quotedIdentifier }

    package static func < (a: PostgresTable, b: PostgresTable) -> Bool { (a.schema, a.name) < (b.schema, b.name) }
}

extension PostgresConnection {
    /// "The tables of a database", one definition for every capability (backup row counts, restore
    /// checks, the migration's comparison): ordinary and partitioned tables outside the system schemas,
    /// not the partitions themselves (a partitioned table's count covers its partitions, and pg_dump
    /// restores them through it). Views, sequences and foreign tables hold no rows of their own.
    package static let userTablesSQL = """
        SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
        ORDER BY 1, 2
        """

    /// The database's tables (see `userTablesSQL`), in schema and name order.
    package func userTables(deadline: Deadline) throws -> [PostgresTable] {
        try query(Self.userTablesSQL, deadline: deadline).rows.map {
            PostgresTable(schema: $0[0] ?? "", name: $0[1] ?? "")
        }
    }
}

extension String {
    /// A PostgreSQL identifier, quoted: `"a""b"` for `a"b`.
    package var quotedIdentifier: String {
        var out = "\""
        for c in self {
            if c == "\"" { out += "\"\"" } else { out.append(c) }
        }
        return out + "\""
    }
}
