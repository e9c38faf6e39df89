import WhatIfAWS
import WhatIfCore
import WhatIfCrypto
import WhatIfProtocol

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where a migration got to: every document before `done` is written or in the reject file.
package struct MigrationCheckpoint: Codable, Sendable, Equatable {
    package var source: String
    package var size: Int64
    /// The file's mtime as `seconds.nanoseconds` (text: JSON numbers would round it).
    package var modified: String
    package var table: String
    /// The table's identity (`TableDescription.identity`) when the checkpoint was written: a table
    /// recreated under the same name is another table, and a resume there would skip what it lacks.
    package var tableIdentity: String?
    package var done: Int64
    package var rejectFile: String?
    package var rejected: Int64
    package init(
        source: String, size: Int64, modified: String, table: String, tableIdentity: String? = nil, done: Int64,
        rejectFile: String?, rejected: Int64
    ) {
        self.source = source
        self.size = size
        self.modified = modified
        self.table = table
        self.tableIdentity = tableIdentity
        self.done = done
        self.rejectFile = rejectFile
        self.rejected = rejected
    }
}

/// The migration guide's `migrate-to-aws.js` as a job that cannot lose a document: reads the source
/// streaming, transforms each document, writes `batchSize` items per batch with parallel
/// BatchWriteItem workers (25 per request), sends what cannot be written to a reject file with its
/// reason and bytes, refuses a second document with the same key, and checkpoints the position below
/// which everything is written, so a stopped or killed run resumes there.
package final class ScenarioMigrator {
    package struct Settings: Sendable {
        package var batchSize = 100
        package var workers = 4
        /// Write capacity units per second the writes may use (nil: no budget).
        package var wcuBudget: Double?
        package var retries = 10
        package var dryRun = false
        package var skipBad = false
        package var transform = ScenarioTransform()
        /// How often the checkpoint is written (seconds).
        package var checkpointEvery = 2.0
        /// The target table's identity, recorded in checkpoints and required of one to resume.
        package var tableIdentity: String?
        package init() {}
    }

    let source: MigrationSource
    let table: String
    let client: DynamoDB?
    let settings: Settings
    let reporter: any JobReporter
    let rejectDirectory: String
    /// Names this run's reject file (the job id).
    let runName: String

    package init(
        source: MigrationSource, table: String, client: DynamoDB?, settings: Settings, reporter: any JobReporter,
        rejectDirectory: String, runName: String
    ) {
        self.runName = runName
        self.source = source
        self.table = table
        self.client = client
        self.settings = settings
        self.reporter = reporter
        self.rejectDirectory = rejectDirectory
    }

    static func fileStamp(_ path: String) -> (size: Int64, modified: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return (-1, "") }
        return (Int64(st.st_size), "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)")
    }

    /// A checkpoint applies only to the same file, unchanged, and the same table (the same one, not one
    /// recreated under its name).
    package func applies(_ c: MigrationCheckpoint) -> Bool { whyNotResume(c) == nil }

    /// Why the checkpoint does not apply, in words, or nil when it does.
    package func whyNotResume(_ c: MigrationCheckpoint) -> String? {
        let s = Self.fileStamp(source.path)
        if c.source != source.path { return "the checkpoint is for another file (\(c.source))" }
        if c.size != s.size || c.modified != s.modified { return "the file changed since the checkpoint" }
        if c.table != table { return "the checkpoint is for another table (\(c.table))" }
        if c.tableIdentity != settings.tableIdentity {
            return
                "table \(table) is not the table the checkpoint was written against (it was \(c.tableIdentity ?? "unrecorded"), it is \(settings.tableIdentity ?? "unknown")): it was deleted and created again"
        }
        return nil
    }

    /// Tracks finished batches and the position below which everything is done.
    final class Progress: @unchecked Sendable {
        struct State {
            var ends: [Int: Int64] = [:]
            var finished = Set<Int>()
            var next = 0
            var done: Int64 = 0
        }
        let state: Locked<State>
        init(done: Int64) { state = Locked(State(done: done)) }
        func opened(_ tag: Int, end: Int64) { state.withLock { $0.ends[tag] = end } }
        func finished(_ tag: Int) {
            state.withLock { s in
                s.finished.insert(tag)
                while s.finished.contains(s.next) {
                    s.finished.remove(s.next)
                    if let e = s.ends.removeValue(forKey: s.next) { s.done = e }
                    s.next += 1
                }
            }
        }
        var done: Int64 { state.value.done }
    }

    package func run(
        resume: MigrationCheckpoint?, backupId: String?, save: (MigrationCheckpoint) throws -> Void
    ) throws -> ScenarioMigrationReport {
        let watch = Stopwatch()
        let stamp = Self.fileStamp(source.path)
        let resumeAt = resume.map(\.done) ?? 0
        var rejectPath = resume?.rejectFile
        var rejectFD: Int32 = -1
        defer { if rejectFD >= 0 { close(rejectFD) } }
        var rejected = resume?.rejected ?? 0
        var reasons: [String: Int64] = [:]
        var derived: Int64 = 0
        var skipped: [MigrationSkip] = []
        var keys = KeyTable()
        var index: Int64 = 0

        let written = Locked<Int64>(0)
        let throttle = ProgressThrottle(reporter)
        let progress = Progress(done: resumeAt)
        let writer: DynamoBatchWriter? =
            settings.dryRun
            ? nil
            : client.map { c in
                DynamoBatchWriter(
                    client: c, table: table, workers: settings.workers, retries: settings.retries,
                    hint:
                        "the table is throttled: raise its write capacity or use fewer --workers; run again to resume",
                    governor: WriteGovernor(
                        maxInFlight: settings.workers, unitsPerSecond: settings.wcuBudget,
                        start: Double(settings.workers)),
                    written: { n in written.withLock { $0 += n } }, done: { progress.finished($0) })
            }

        func writeReject(_ doc: SourceDocument, _ r: Reject) throws {
            rejected += 1
            reasons[r.reason.split(separator: ";").first.map(String.init) ?? r.reason, default: 0] += 1
            if rejectFD < 0 {
                if rejectPath == nil {
                    rejectPath =
                        "\(rejectDirectory)/\(table)-\(runName)\(settings.dryRun ? "-dry-run" : "").rejects.ndjson"
                }
                try Files.makeDirectories(rejectDirectory)
                rejectFD = open(rejectPath!, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
                guard rejectFD >= 0 else {
                    throw Failure(
                        "cannot write the reject file \(rejectPath!): \(Files.errnoText())",
                        hint: "check the state directory's space and permissions")
                }
            }
            var line: [String: String] = [
                "index": String(doc.index), "position": positionText(doc.position), "reason": r.reason,
                "bson": Data(doc.bytes).base64EncodedString(),
            ]
            if let f = r.field { line["field"] = f }
            if let id = ScenarioTransform.idText(doc.bytes) { line["_id"] = id }
            var bytes = Array(try JSONEncoder().encode(line))
            bytes.append(10)
            let n = bytes.withUnsafeBytes { write(rejectFD, $0.baseAddress, $0.count) }
            guard n == bytes.count else {
                throw Failure("cannot write the reject file \(rejectPath!): \(Files.errnoText())")
            }
        }

        func positionText(_ p: Int64) -> String {
            source.format == .jsonLines ? "line \(p)" : "byte \(p)"
        }

        var lastSave = Stopwatch()
        func checkpoint() throws {
            if rejectFD >= 0 { fdatasync(rejectFD) }
            try save(
                MigrationCheckpoint(
                    source: source.path, size: stamp.size, modified: stamp.modified, table: table,
                    tableIdentity: settings.tableIdentity, done: progress.done, rejectFile: rejectPath,
                    rejected: rejected))
            lastSave = Stopwatch()
        }

        var batch: [[UInt8]] = []
        var tag = 0
        var batchStart: Int64 = 0
        var out: [UInt8] = []
        out.reserveCapacity(64 << 10)

        func flush(upTo end: Int64) throws {
            if let writer {
                progress.opened(tag, end: end)
                if batch.isEmpty {
                    progress.finished(tag)
                } else {
                    try writer.submit(.init(requests: batch, tag: tag, origin: "documents \(batchStart + 1)-\(end)"))
                }
                tag += 1
            }
            batch.removeAll(keepingCapacity: true)
            batchStart = end
        }

        let prefix = Array(#"{"PutRequest":{"Item":"#.utf8)
        do {
            let noteSkip = { (s: MigrationSource.Skipped) in
                if skipped.count < 1000 { skipped.append(MigrationSkip(position: s.position, reason: s.reason)) }
                self.reporter.log(.warning, "skipped \(s.position): \(s.reason)")
            }
            try source.read(skipBad: settings.skipBad, skipped: noteSkip) { doc in
                let i = index
                if i & 255 == 0 { try reporter.checkCancelled() }
                index += 1
                if i % 4096 == 0, let e = writer?.failed { throw e }
                out.removeAll(keepingCapacity: true)
                out += prefix
                let item: ScenarioTransform.Item
                do {
                    item = try settings.transform.transform(doc.bytes, base: doc.position, into: &out)
                } catch let r as Reject {
                    if i >= resumeAt { try writeReject(doc, r) }
                    return
                } catch let e as BSONError {
                    guard settings.skipBad else {
                        throw SourceError(
                            message: "\(source.path): \(e.description)",
                            hint: "the documents before it were handled; repair the dump, or pass --skip-bad")
                    }
                    skipped.append(MigrationSkip(position: "byte \(e.offset)", reason: e.reason))
                    return
                }
                if let first = keys.insert(item.keyHash, i) {
                    if i >= resumeAt {
                        try writeReject(
                            doc,
                            Reject(
                                "duplicate scenarioId: document \(first + 1) has the same key and was kept",
                                field: "scenarioId"))
                    }
                    return
                }
                if item.derivedKey { derived += 1 }
                guard i >= resumeAt else {
                    batchStart = i + 1
                    return
                }
                out.append(UInt8(ascii: "}"))
                out.append(UInt8(ascii: "}"))
                if writer != nil { batch.append(out) }
                if batch.count >= settings.batchSize || (writer == nil && (i + 1) % Int64(settings.batchSize) == 0) {
                    try flush(upTo: i + 1)
                }
                if i & 255 == 0 {
                    throttle.report(
                        done: Double(i + 1), total: nil, unit: "documents",
                        phase: settings.dryRun
                            ? "dry run: \(rejected) rejected" : "\(written.value) written, \(rejected) rejected")
                }
                if writer != nil && lastSave.elapsedSeconds >= settings.checkpointEvery { try checkpoint() }
            }
            try flush(upTo: index)
        } catch {
            // A malformed source stops the read; the documents before it are still written (and the
            // checkpoint covers them). Anything else stops the writers too.
            if error is SourceError, let writer, writer.failed == nil {
                try? flush(upTo: index)
            } else {
                writer?.fail(error)
            }
            try? writer?.finish()
            if writer != nil { try? checkpoint() }
            throw Self.stopped(error, at: progress.done, written: written.value)
        }
        do { try writer?.finish() } catch {
            try? checkpoint()
            throw Self.stopped(error, at: progress.done, written: written.value)
        }
        throttle.flush()
        let seconds = watch.elapsedSeconds
        let stats = writer?.stats ?? DynamoBatchWriter.Counters()
        let docs = index
        var report = ScenarioMigrationReport(
            mode: settings.dryRun ? "dry-run" : "write", source: source.path, format: source.format.rawValue,
            sourceSHA256: nil, table: table, documents: docs, written: written.value, rejected: rejected,
            rejectReasons: reasons, rejectFile: rejectPath, skippedBad: skipped, derivedKeys: derived,
            resumedAt: resume == nil ? nil : resumeAt, backupId: backupId, unprocessedRetried: stats.unprocessedRetried,
            errorsRetried: stats.errorsRetried, seconds: seconds,
            documentsPerSecond: seconds > 0 ? Double(docs - resumeAt) / seconds : 0)
        if let g = writer?.governor?.stats {
            report.peakConcurrency = g.peakInFlight
            report.concurrencyCuts = g.cuts
            report.waitedForBudget = settings.wcuBudget == nil ? nil : g.waitedForUnits
        }
        return report
    }

    static func stopped(_ error: any Error, at done: Int64, written: Int64) -> any Error {
        if error is CancellationError { return error }
        if let e = error as? SourceError {
            return Failure("\(e.message) (\(written) items written before it)", hint: e.hint)
        }
        let op = error as? any OperatorError
        let hint = op?.hint
        return Failure(
            "\(op?.message ?? "\(error)") (stopped after \(done) documents; \(written) items written by this run)",
            hint: (hint.map { $0 + "; " } ?? "") + "run the same command again to resume from document \(done + 1)")
    }

    /// The SHA-256 of the source file, streaming.
    package static func sha256(of path: String) throws -> String {
        var d = Digest(.sha256)
        try LocalFiles.stream(path) { d.update($0) }
        return Hex.encode(d.finish())
    }
}

/// The keys seen so far (their 128-bit hashes) and the document each came from: open addressing over
/// the hash's own bits, so a million keys cost 24 MB and no Swift Hasher.
struct KeyTable {
    private var slots: [(a: UInt64, b: UInt64, index: Int64)]
    private var count = 0
    private var mask: Int

    init(capacity: Int = 1 << 16) {
        slots = Array(repeating: (0, 0, -1), count: capacity)
        mask = capacity - 1
    }

    /// Adds the key and returns nil, or returns the index of the document that had it first.
    mutating func insert(_ k: ScenarioTransform.KeyHash, _ index: Int64) -> Int64? {
        if (count + 1) * 2 > slots.count { grow() }
        var i = Int(truncatingIfNeeded: k.a) & mask
        while slots[i].index >= 0 {
            if slots[i].a == k.a && slots[i].b == k.b { return slots[i].index }
            i = (i + 1) & mask
        }
        slots[i] = (k.a, k.b, index)
        count += 1
        return nil
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: (0, 0, -1), count: old.count * 2)
        mask = slots.count - 1
        for s in old where s.index >= 0 {
            var i = Int(truncatingIfNeeded: s.a) & mask
            while slots[i].index >= 0 { i = (i + 1) & mask }
            slots[i] = s
        }
    }
}
