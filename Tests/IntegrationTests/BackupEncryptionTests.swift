import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

/// Server-side encryption of the S3 copy, as S3 reports it on the stored objects (HEAD), with KMS keys
/// from moto's KMS.
@Suite(.serialized) struct BackupEncryptionTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    /// `key ETag algorithm kms-key` for each object of the backup's S3 copy.
    func objects(_ bucket: String) throws -> [[String]] {
        try fx.ddb(["sse", fx.envFile, bucket, "whatif-backups/"]).split(separator: "\n").map {
            $0.split(separator: "\t").map(String.init)
        }
    }

    func config(_ db: String, _ bucket: String, _ location: TempDir, encryption: String) -> TestConfig {
        fx.config(
            db: db, table: nil,
            backups: """
                  location: \(location.path)
                  s3:
                    bucket: \(bucket)
                    part_size: 5MiB
                \(encryption)
                """)
    }

    @Test func sseKMSOnEveryObjectMultipartIncludedAndVerifyReadsItBack() throws {
        let db = try fx.makeDatabase(randomMiB: 12)
        defer { fx.dropDatabase(db) }
        let bucket = "whatif-sse-kms-\(getpid())"
        _ = try fx.ddb(["mkbucket", fx.envFile, bucket])
        let key = try fx.ddb(["kms-key", fx.envFile])
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            config(db, bucket, location, encryption: "    encryption: sse-kms\n    kms_key_id: \(key)\n"))
        let r = try a.ctl(["backup", "postgres"])
        #expect(r.status == 0, "\(r.output)")
        let stored = try objects(bucket)
        #expect(stored.count >= 2, "\(stored)")
        // The 12 MiB dump went up in parts (its ETag ends in -<parts>); every object is under the key.
        #expect(stored.contains { $0[0].hasSuffix("/postgres.dump") && $0[1].contains("-") }, "\(stored)")
        #expect(stored.allSatisfy { $0[2] == "aws:kms" && $0[3].hasSuffix(key) }, "\(stored)")
        let id = try #require(try a.client.backups().backups.first?.id)
        let manifest = try a.client.backup(id).manifest
        #expect(manifest.s3Encryption == StoredEncryption(algorithm: "aws:kms", kmsKeyId: key))
        #expect(try a.ctl(["backups", "verify", id]).status == 0)

        // An object written again without encryption (by hand, or by a tool that drops the header) is
        // found by verify, named, in the S3 copy only.
        let dump = try #require(stored.first { $0[0].hasSuffix("/postgres.dump") })[0]
        _ = try fx.ddb(["strip-sse", fx.envFile, bucket, dump])
        let v = try a.ctl(["backups", "verify", id])
        #expect(v.status == 1)
        #expect(
            v.output.contains("postgres.dump")
                && v.output.contains("is stored with no server-side encryption; the manifest says SSE-KMS (\(key))"),
            "\(v.output)")
    }

    @Test func aDisabledKeyStopsTheCopyNamingTheKey() throws {
        let db = try fx.makeDatabase(randomMiB: 0)
        defer { fx.dropDatabase(db) }
        let bucket = "whatif-sse-off-\(getpid())"
        _ = try fx.ddb(["mkbucket", fx.envFile, bucket])
        let key = try fx.ddb(["kms-key", fx.envFile])
        _ = try fx.ddb(["kms-disable", fx.envFile, key])
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(config(db, bucket, location, encryption: "    kms_key_id: \(key)\n"))
        let r = try a.ctl(["backup", "postgres"])
        #expect(r.status == 1)
        #expect(
            r.output.contains("the KMS key \(key) (backups.s3.kms_key_id) is Disabled")
                && r.output.contains("aws kms enable-key"), "\(r.output)")
        #expect(try objects(bucket).isEmpty, "nothing is written under a disabled key")
        // The local copy stands.
        #expect(try a.client.backups().backups.first?.locations == [.local])
    }

    @Test func sseS3ByDefault() throws {
        let db = try fx.makeDatabase(randomMiB: 0)
        defer { fx.dropDatabase(db) }
        let bucket = "whatif-sse-s3-\(getpid())"
        _ = try fx.ddb(["mkbucket", fx.envFile, bucket])
        let a = try AgentProcess(config(db, bucket, TempDir("whatif-backups"), encryption: ""))
        #expect(try a.ctl(["backup", "postgres"]).status == 0)
        let stored = try objects(bucket)
        #expect(!stored.isEmpty && stored.allSatisfy { $0[2] == "AES256" }, "\(stored)")
        let config = try a.ctl(["config", "show"]).stdout
        #expect(config.contains("encryption: sse-s3"), "\(config)")
    }
}

/// Client-side envelope encryption (`backups.encryption`): files sealed on disk and in S3, verify,
/// restore and the drill reading them through the data key; a wrong or unusable key named.
@Suite(.serialized) struct ClientEncryptionTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    func keyFile(_ dir: TempDir, _ name: String = "backup.key") throws -> String {
        try dir.write(
            name, (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined(), mode: 0o600)
    }

    /// Every file of the backup's local copy starts with the cipher's magic and holds no plaintext marker.
    func expectSealed(_ folder: String, notContaining marker: String) throws {
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder).filter {
            !$0.hasSuffix(".json") && !FileManager.default.isDirectory("\(folder)/\($0)")
        }
        #expect(!files.isEmpty)
        for f in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(f)"))
            #expect(bytes.prefix(8) == Data("WHATIFE1".utf8), "\(f)")
            #expect(bytes.range(of: Data(marker.utf8)) == nil, "\(f) holds plaintext")
        }
    }

    /// While an encrypted backup is taken, its plaintext sits in a 0700 partial folder (the agent's
    /// alone); the finished backup holds only sealed files.
    @Test func plaintextIsTheAgentsAloneUntilItIsEncrypted() throws {
        let db = try fx.makeDatabase()
        defer { fx.dropDatabase(db) }
        let keys = TempDir("whatif-keys")
        let key = try keyFile(keys)
        let wrapper = try PgDumpWrapper(holdAfter: 4096)
        defer { wrapper.releaseDump() }
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: db, table: nil,
                backups:
                    "  location: \(location.path)\n  postgres:\n    bin_dir: \(wrapper.bin)\n  encryption:\n    key_file: \(key)\n"
            ))
        let job = try a.client.startBackup(kinds: [.postgres])
        #expect(wrapper.waitUntilHolding(), "\((try? a.ctl(["jobs", "logs", job.id]).output) ?? "")")
        let dir = "\(location.path)/postgres"
        let partial = {
            (try? FileManager.default.contentsOfDirectory(atPath: dir))?.first { $0.hasSuffix(".partial") }
        }
        #expect(eventually(timeout: 10) { partial() != nil })
        let mode = { (path: String) -> Int? in
            (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? nil
        }
        #expect(mode("\(dir)/\(try #require(partial()))") == 0o700)
        wrapper.releaseDump()
        let done = try a.ctl(["jobs", "follow", job.id])
        #expect(done.status == 0, "\(done.output)")
        let id = try #require(try a.client.backups().backups.first?.id)
        #expect(mode("\(dir)/\(id)") == 0o750, "group-readable once only sealed files are in it")
        try expectSealed("\(dir)/\(id)", notContaining: "pgbench_accounts")
    }

    @Test func keyFileBackupsRestoreAndVerifyAndAnotherKeyIsNamed() throws {
        let db = try fx.makeDatabase()
        let restored = db + "_r"
        defer {
            fx.dropDatabase(db)
            fx.dropDatabase(restored)
        }
        let table = try fx.seedTable(30)
        let keys = TempDir("whatif-keys")
        let key = try keyFile(keys)
        let location = TempDir("whatif-backups")
        var config = fx.config(
            db: db, table: table, backups: "  location: \(location.path)\n  encryption:\n    key_file: \(key)\n")
        let a = try AgentProcess(config)
        let r = try a.ctl(["backup"])
        #expect(r.status == 0, "\(r.output)")
        let entries = try a.client.backups().backups
        let pg = try #require(entries.first { $0.kind == .postgres })
        let ddb = try #require(entries.first { $0.kind == .dynamodb })
        #expect(pg.manifest.encryption?.keyFile == key && pg.manifest.encryption?.wrappedKey.isEmpty == false)
        // pg_dump's custom format starts with PGDMP; the scan export's lines name the table's key.
        try expectSealed("\(location.path)/postgres/\(pg.id)", notContaining: "PGDMP")
        try expectSealed("\(location.path)/dynamodb/\(ddb.id)", notContaining: "scenarioId")
        let verified = try a.ctl(["backups", "verify", "--all"])
        #expect(verified.status == 0, "\(verified.output)")
        let rp = try a.ctl(["restore", "postgres", pg.id, "--target-db", restored, "--create"])
        #expect(rp.status == 0, "\(rp.output)")
        #expect(try fx.digests(restored) == (try fx.digests(db)))
        let rd = try a.ctl(["restore", "dynamodb", ddb.id, "--target-table", table + "-r"])
        #expect(rd.status == 0, "\(rd.output)")
        #expect(try fx.tableDigest(table + "-r") == (try fx.tableDigest(table)))
        let drill = try a.ctl(["maintenance", "drill"])
        #expect(drill.status == 0, "\(drill.output)")
        // Nothing decrypted is left in the backup location.
        let left = try FileManager.default.contentsOfDirectory(atPath: location.path).filter {
            $0.hasPrefix(".restore-")
        }
        #expect(left.isEmpty, "\(left)")

        // The same backups read with another key file: named, refused, nothing restored.
        let other = try keyFile(keys, "other.key")
        config.backups = "  location: \(location.path)\n  encryption:\n    key_file: \(other)\n"
        let b = try AgentProcess(config)
        let v = try b.ctl(["backups", "verify", pg.id])
        #expect(v.status == 1)
        #expect(
            v.output.contains("the key file \(other)")
                && v.output.contains("is not the key backup \(pg.id) was encrypted with"),
            "\(v.output)")
        let refused = try b.ctl(["restore", "postgres", pg.id, "--target-db", restored + "2", "--create"])
        // Refused before anything is read or created, naming the key (the data key is unwrapped once).
        #expect(
            refused.status == 1 && refused.output.contains("the key file \(other)")
                && refused.output.contains("is not the key backup \(pg.id) was encrypted with"), "\(refused.output)")
        #expect(try fx.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = '\(restored)2'") == "0")
    }

    @Test func kmsWrappedDataKeysAndADisabledKey() throws {
        let db = try fx.makeDatabase()
        defer { fx.dropDatabase(db) }
        let key = try fx.ddb(["kms-key", fx.envFile])
        let bucket = "whatif-cse-\(getpid())"
        _ = try fx.ddb(["mkbucket", fx.envFile, bucket])
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: db, table: nil,
                backups:
                    "  location: \(location.path)\n  s3:\n    bucket: \(bucket)\n  encryption:\n    kms_key_id: \(key)\n"
            ))
        let r = try a.ctl(["backup", "postgres"])
        #expect(r.status == 0, "\(r.output)")
        let e = try #require(try a.client.backups().backups.first)
        // Both copies are the sealed files: verify decrypts each (the S3 one as it streams).
        #expect(e.locations == [.local, .s3])
        #expect(e.manifest.encryption?.kmsKeyId?.hasSuffix(key) == true)
        try expectSealed("\(location.path)/postgres/\(e.id)", notContaining: "PGDMP")
        #expect(try a.ctl(["backups", "verify", e.id]).status == 0)
        // AWS refuses a disabled key (moto does not): the agent checks, and names it.
        _ = try fx.ddb(["kms-disable", fx.envFile, key])
        let v = try a.ctl(["backups", "verify", e.id])
        #expect(v.status == 1)
        #expect(v.output.contains("is Disabled") && v.output.contains(key), "\(v.output)")
        let next = try a.ctl(["backup", "postgres"])
        #expect(next.status == 1 && next.output.contains("is Disabled"), "\(next.output)")
        #expect(try a.client.backups().backups.count == 1, "no backup is taken under a disabled key")
    }
}

extension FileManager {
    func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }
}
