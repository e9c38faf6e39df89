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
    /// A sync's: the checksum of the record it compared with (nil for a full migration).
    package var baseline: String?
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
        /// A sync: the record of what the previous run wrote, compared key by key (nil: a full migration,
        /// every document written).
        package var baseline: SyncBaseline?
        /// Where the record of this run is written once every write is acknowledged (nil: none).
        package var recordPath: String?
        /// Threads that transform documents (the reading and the writing go on beside them).
        package var transformThreads = Threads.cores
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
        if c.baseline != settings.baseline?.checksum {
            if c.baseline == nil { return "the checkpoint is of a full migration, this run is a sync" }
            if settings.baseline == nil { return "the checkpoint is of a sync, this run is a full migration" }
            return "the checkpoint is of a sync against another record of the table"
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
        var baseline = settings.baseline
        var changes = (added: Int64(0), changed: Int64(0), unchanged: Int64(0))
        // Documents whose key is not known (rejected by the transform, skipped as malformed): with any,
        // a key missing from the dump cannot be told from a document that is there but unreadable.
        var unkeyed: Int64 = 0
        let record: SyncRecord.Writer? =
            settings.dryRun
            ? nil
            : try settings.recordPath.map { path in
                try SyncRecord.Writer(
                    path: path,
                    header: .init(
                        table: table, tableIdentity: settings.tableIdentity, source: source.path,
                        recorded: Timestamp.format(Date())))
            }

        let written = Locked<Int64>(0)
        let throttle = ProgressThrottle(reporter)
        let progress = Progress(done: resumeAt)
        let writer: DynamoBatchWriter? =
            settings.dryRun
            ? nil
            : client.map { c in
                self.writer(c, written: { n in written.withLock { $0 += n } }, done: { progress.finished($0) })
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
                    rejected: rejected, baseline: settings.baseline?.checksum))
            lastSave = Stopwatch()
        }

        var batch: [[UInt8]] = []
        var tag = 0
        var batchStart: Int64 = 0

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

        let pipeline = TransformPipeline(transform: settings.transform, threads: settings.transformThreads)
        do {
            let noteSkip = { (s: MigrationSource.Skipped) in
                unkeyed += 1
                if skipped.count < 1000 { skipped.append(MigrationSkip(position: s.position, reason: s.reason)) }
                self.reporter.log(.warning, "skipped \(s.position): \(s.reason)")
            }
            try pipeline.run(source, skipBad: settings.skipBad, skipped: noteSkip) { doc, outcome, out in
                let i = index
                if i & 255 == 0 { try reporter.checkCancelled() }
                index += 1
                if i % 4096 == 0, let e = writer?.failed { throw e }
                let item: ScenarioTransform.Item
                let request: Range<Int>
                let content: ScenarioTransform.KeyHash
                switch outcome {
                case .item(let it, let r, let c, _): (item, request, content) = (it, r, c)
                case .reject(let r):
                    unkeyed += 1
                    if i >= resumeAt { try writeReject(doc, r) }
                    return
                case .malformed(let e):
                    guard settings.skipBad else {
                        throw SourceError(
                            message: "\(source.path): \(e.description)",
                            hint: "the documents before it were handled; repair the dump, or pass --skip-bad")
                    }
                    unkeyed += 1
                    skipped.append(MigrationSkip(position: "byte \(e.offset)", reason: e.reason))
                    return
                case .failed(let e): throw e
                }
                if keys.insert(item.keyHash) {
                    if i >= resumeAt {
                        try writeReject(
                            doc,
                            Reject(
                                "duplicate scenarioId: an earlier document has the same key and was kept",
                                field: "scenarioId"))
                    }
                    return
                }
                if item.derivedKey { derived += 1 }
                var write = true
                if let record {
                    try out.withUnsafeBytes {
                        try record.add(
                            keyHash: item.keyHash, content: content,
                            key: UnsafeRawBufferPointer(rebasing: $0[item.keyRange]))
                    }
                }
                switch baseline?.classify(item.keyHash, content: content) {
                case .added?: changes.added += 1
                case .changed?: changes.changed += 1
                case .unchanged?:
                    changes.unchanged += 1
                    write = false
                case nil: break
                }
                guard i >= resumeAt else {
                    batchStart = i + 1
                    return
                }
                if writer != nil && write { batch.append(Array(out[request])) }
                if batch.count >= settings.batchSize || (writer == nil && (i + 1) % Int64(settings.batchSize) == 0) {
                    try flush(upTo: i + 1)
                }
                if i & 255 == 0 {
                    throttle.report(
                        done: Double(i + 1), total: nil, unit: "documents",
                        phase: (settings.dryRun
                            ? "dry run: \(rejected) rejected" : "\(written.value) written, \(rejected) rejected")
                            + (baseline == nil ? "" : ", \(changes.unchanged) unchanged"))
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
        var summary: MigrationSyncSummary?
        if let baseline {
            summary = try applyDeletes(
                baseline, unkeyed: unkeyed, record: record, batchSize: settings.batchSize,
                progress: { try checkpoint() })
            summary?.added = changes.added
            summary?.changed = changes.changed
            summary?.unchanged = changes.unchanged
        }
        try record?.commit()
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
        report.sync = summary
        report.recorded = record == nil ? nil : settings.recordPath
        if let g = writer?.governor?.stats {
            report.peakConcurrency = g.peakInFlight
            report.concurrencyCuts = g.cuts
            report.waitedForBudget = settings.wcuBudget == nil ? nil : g.waitedForUnits
        }
        return report
    }

    /// The run's BatchWriteItem writer: `--workers` in flight at most, paced by throttling and the WCU budget.
    func writer(
        _ client: DynamoDB, written: @escaping @Sendable (Int64) -> Void = { _ in },
        done: @escaping @Sendable (Int) -> Void = { _ in }
    ) -> DynamoBatchWriter {
        DynamoBatchWriter(
            client: client, table: table, workers: settings.workers, retries: settings.retries,
            hint: "the table is throttled: raise its write capacity or use fewer --workers; run again to resume",
            governor: WriteGovernor(
                maxInFlight: settings.workers, unitsPerSecond: settings.wcuBudget, start: Double(settings.workers)),
            written: written, done: done)
    }

    /// A sync's last step, once every put is acknowledged: the items of keys the new dump no longer has
    /// are deleted (BatchWriteItem DeleteRequest; deleting an item already gone succeeds, so a resumed
    /// run deletes again). With documents of unknown key in the dump (rejected, skipped) a missing key
    /// may be one of them: the deletes are held, carried into the new record for the next sync, and
    /// counted. A dry run counts what it would delete.
    func applyDeletes(
        _ baseline: SyncBaseline, unkeyed: Int64, record: SyncRecord.Writer?, batchSize: Int,
        progress checkpoint: () throws -> Void
    ) throws -> MigrationSyncSummary {
        var s = MigrationSyncSummary(
            baselineSource: baseline.header.source, baselineRecorded: baseline.header.recorded, added: 0, changed: 0,
            unchanged: 0, deleted: 0, deletesHeld: 0)
        let gone = baseline.unseen
        guard gone > 0 else { return s }
        if unkeyed > 0 {
            s.deletesHeld = gone
            reporter.log(
                .warning,
                "\(gone) items whose keys are not in the dump were kept: \(unkeyed) documents were rejected or skipped, and one of them may be the item's document; fix those (see the reject file) and sync again"
            )
            try baseline.forEachUnseen { e in try record?.add(keyHash: e.keyHash, content: e.content, key: e.key) }
            return s
        }
        guard !settings.dryRun, let client else {
            s.deleted = gone
            return s
        }
        var requests: [[UInt8]] = []
        let head = Array(#"{"DeleteRequest":{"Key":{"scenarioId":{"S":""#.utf8)
        let tail = Array(#""}}}}"#.utf8)
        try baseline.forEachUnseen { e in requests.append(head + e.key + tail) }
        reporter.info("deleting \(gone) items whose documents are gone from the dump")
        let writer = self.writer(client)
        do {
            var tag = 0
            for start in stride(from: 0, to: requests.count, by: batchSize) {
                let end = min(start + batchSize, requests.count)
                try writer.submit(
                    .init(requests: Array(requests[start..<end]), tag: tag, origin: "deletes \(start + 1)-\(end)"))
                tag += 1
            }
            try writer.finish()
        } catch {
            writer.fail(error)
            try? writer.finish()
            try? checkpoint()
            let op = error as? any OperatorError
            throw Failure(
                "\(op?.message ?? "\(error)") (\(writer.stats.written) of \(gone) deletes acknowledged)",
                hint: (op?.hint.map { $0 + "; " } ?? "")
                    + "run the same command again: the sync resumes and deletes again (an item already gone is no error)"
            )
        }
        s.deleted = writer.stats.written
        return s
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

/// The keys seen so far, for the duplicate check: 256 open-addressing shards (chosen by the top byte of
/// the key hash's second lane) holding the first lane, 8 bytes a slot. Each shard grows on its own, so
/// growing never holds two copies of the whole; at most 85% full, about 13 bytes a key (134 MB for ten
/// million). Keys compare by 72 bits of their hash: two different keys look alike about once in 10^8
/// runs of ten million documents, and the second then goes to the reject file, not lost.
struct KeyTable {
    private var shards: [[UInt64]]
    private var counts: [Int]

    init(shardCapacity: Int = 1024) {
        shards = Array(repeating: Array(repeating: 0, count: shardCapacity), count: 256)
        counts = Array(repeating: 0, count: 256)
    }

    /// Adds the key and answers false, or answers true when it was there.
    mutating func insert(_ k: ScenarioTransform.KeyHash) -> Bool {
        let s = Int(truncatingIfNeeded: k.b >> 56)
        let f = k.a == 0 ? 1 : k.a
        if (counts[s] + 1) * 100 > shards[s].count * 85 { grow(s) }
        let found = shards[s].withUnsafeMutableBufferPointer { slots -> Bool in
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: f) & mask
            while slots[i] != 0 {
                if slots[i] == f { return true }
                i = (i + 1) & mask
            }
            slots[i] = f
            return false
        }
        if !found { counts[s] += 1 }
        return found
    }

    private mutating func grow(_ s: Int) {
        let old = shards[s]
        var slots = [UInt64](repeating: 0, count: old.count * 2)
        let mask = slots.count - 1
        for f in old where f != 0 {
            var i = Int(truncatingIfNeeded: f) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = f
        }
        shards[s] = slots
    }
}
