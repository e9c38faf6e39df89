import Logging
import WhatIfAWS
import WhatIfCore
import WhatIfCrypto
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The DynamoDB table a backup reads.
package struct DynamoSource: Sendable {
    package var client: DynamoDB
    package var table: String
    /// DynamoDB Local or moto; nil for AWS.
    package var endpoint: String?
    package var region: String
    // memberwise-init: package
}

extension TableSchema {
    /// The schema to recreate a table from DescribeTable's answer.
    init(_ t: TableDescription) throws {
        guard let keys = t.keySchema, let attrs = t.attributeDefinitions else {
            throw Failure("DescribeTable did not return table \(t.tableName)'s key schema")
        }
        let billing = t.billingModeSummary?.billingMode ?? "PROVISIONED"
        func throughput(_ d: TableDescription.ThroughputDescription?) -> Throughput? {
            guard billing == "PROVISIONED", let r = d?.readCapacityUnits, let w = d?.writeCapacityUnits, r > 0, w > 0
            else { return nil }
            return Throughput(readCapacityUnits: r, writeCapacityUnits: w)
        }
        func index(_ i: TableDescription.IndexDescription) -> Index {
            Index(
                indexName: i.indexName,
                keySchema: (i.keySchema ?? []).map { Key(attributeName: $0.attributeName, keyType: $0.keyType) },
                projectionType: i.projection?.projectionType ?? "ALL",
                nonKeyAttributes: i.projection?.nonKeyAttributes,
                provisionedThroughput: throughput(i.provisionedThroughput))
        }
        self.init(
            tableName: t.tableName,
            keySchema: keys.map { Key(attributeName: $0.attributeName, keyType: $0.keyType) },
            attributeDefinitions: attrs.map {
                Attribute(attributeName: $0.attributeName, attributeType: $0.attributeType)
            },
            billingMode: billing, provisionedThroughput: throughput(t.provisionedThroughput),
            globalSecondaryIndexes: t.globalSecondaryIndexes.flatMap { $0.isEmpty ? nil : $0.map(index) },
            localSecondaryIndexes: t.localSecondaryIndexes.flatMap { $0.isEmpty ? nil : $0.map(index) })
    }

    /// CreateTable's request for a table named `name` with this schema.
    func createRequest(name: String) -> DynamoDB.CreateTableRequest {
        func pt(_ t: Throughput?) -> ProvisionedThroughput? {
            t.map {
                ProvisionedThroughput(
                    readCapacityUnits: $0.readCapacityUnits, writeCapacityUnits: $0.writeCapacityUnits)
            }
        }
        func keys(_ k: [Key]) -> [KeySchemaElement] {
            k.map { KeySchemaElement(attributeName: $0.attributeName, keyType: $0.keyType) }
        }
        let provisioned = billingMode == "PROVISIONED"
        return DynamoDB.CreateTableRequest(
            tableName: name, keySchema: keys(keySchema),
            attributeDefinitions: attributeDefinitions.map {
                AttributeDefinition(attributeName: $0.attributeName, attributeType: $0.attributeType)
            },
            globalSecondaryIndexes: globalSecondaryIndexes?.map {
                GlobalSecondaryIndex(
                    indexName: $0.indexName, keySchema: keys($0.keySchema),
                    projection: Projection(projectionType: $0.projectionType, nonKeyAttributes: $0.nonKeyAttributes),
                    provisionedThroughput: provisioned
                        ? pt($0.provisionedThroughput ?? provisionedThroughput)
                            ?? ProvisionedThroughput(readCapacityUnits: 5, writeCapacityUnits: 5) : nil)
            },
            localSecondaryIndexes: localSecondaryIndexes?.map {
                LocalSecondaryIndex(
                    indexName: $0.indexName, keySchema: keys($0.keySchema),
                    projection: Projection(projectionType: $0.projectionType, nonKeyAttributes: $0.nonKeyAttributes))
            },
            billingMode: provisioned ? "PROVISIONED" : "PAY_PER_REQUEST",
            provisionedThroughput: provisioned
                ? pt(provisionedThroughput) ?? ProvisionedThroughput(readCapacityUnits: 5, writeCapacityUnits: 5) : nil)
    }
}

/// A parallel Scan written in AWS's export layout: one writer per segment, each page split into
/// `{"Item":...}` lines, gzipped, hashed (MD5 for AWS's manifest, SHA-256 for ours) as written.
struct ScanExporter {
    let source: DynamoSource
    let settings: DynamoExportSettings
    let reporter: any JobReporter
    /// Where the backup's copy in S3 will be (bucket, `<prefix>/dynamodb/<id>`), for the manifests'
    /// S3 keys; nil when the backup stays local.
    let s3Location: (bucket: String, prefix: String)?

    struct Output {
        var files: [BackupFile]
        var items: Int64
        var export: BackupManifest.ExportInfo
        var schema: TableSchema
        var tableArn: String?
    }

    struct SegmentFile {
        var entry: ExportLayout.FileEntry
        var file: BackupFile
    }

    func run(into folder: String, deadline: Deadline) throws -> Output {
        let startTime = Date()
        let table = try source.client.describeTable(source.table)
        let schema = try TableSchema(table)
        let exportId = ExportLayout.newExportId(at: startTime)
        let exportPath = "AWSDynamoDB/\(exportId)"
        let exportDir = "\(folder)/\(exportPath)"
        try Files.makeDirectories("\(exportDir)/data")
        let keyBase = (s3Location.map { "\($0.prefix)/" } ?? "") + exportPath + "/"
        let exportArn = table.tableArn.map { "\($0)/export/\(exportId)" }

        var files: [BackupFile] = []
        let started = try HashedFile(path: "\(exportDir)/\(ExportLayout.startedName)")
        files.append(try started.finish(relativeTo: folder).file)

        let segments = max(1, settings.totalSegments)
        let estimate = table.itemCount.map(Double.init)
        reporter.info(
            "scanning \(source.table) with \(segments) segment\(segments == 1 ? "" : "s")"
                + (settings.consistentRead ? ", consistent reads" : "")
                + (table.itemCount.map { " (DescribeTable: about \($0) items)" } ?? ""))
        let total = Locked<Int64>(0)
        let results = Locked<[Int: [SegmentFile]]>([:])
        let throttle = ProgressThrottle(reporter)
        try Threads.parallel(segments) { segment in
            let written = try scanSegment(
                segment, of: segments, folder: folder, exportDir: exportDir, keyBase: keyBase, deadline: deadline
            ) { n in
                let t = total.withLock { v -> Int64 in
                    v += n
                    return v
                }
                throttle.report(
                    done: Double(t), total: estimate.map { max($0, Double(t)) }, unit: "items",
                    phase: "scan \(source.table)")
            }
            results.withLock { $0[segment] = written }
        }
        throttle.flush()
        let segmentFiles = (0..<segments).flatMap { results.value[$0] ?? [] }
        let items = segmentFiles.reduce(Int64(0)) { $0 + $1.entry.itemCount }
        guard items == total.value else {
            throw Failure("the scan counted \(total.value) items but its files hold \(items)")
        }
        files += segmentFiles.map(\.file)

        // manifest-files.json, then manifest-summary.json, each with its MD5 beside it.
        let filesText = segmentFiles.map { $0.entry.jsonLine + "\n" }.joined()
        files += try writeWithChecksum(
            Array(filesText.utf8), name: ExportLayout.filesName, exportDir: exportDir, folder: folder)
        let summary = ExportLayout.Summary(
            exportArn: exportArn, startTime: startTime, endTime: Date(), tableArn: table.tableArn,
            tableId: table.tableId, exportTime: startTime, s3Bucket: s3Location?.bucket, s3Prefix: s3Location?.prefix,
            manifestFilesS3Key: keyBase + ExportLayout.filesName, itemCount: items)
        files += try writeWithChecksum(
            Array(summary.json.utf8), name: ExportLayout.summaryName, exportDir: exportDir, folder: folder)
        Files.syncDirectory("\(exportDir)/data")
        Files.syncDirectory(exportDir)
        Files.syncDirectory("\(folder)/AWSDynamoDB")
        reporter.info("exported \(items) items into \(segmentFiles.count) data files")
        return Output(
            files: files, items: items,
            export: BackupManifest.ExportInfo(exportId: exportId, exportArn: exportArn, path: exportPath),
            schema: schema,
            tableArn: table.tableArn)
    }

    private func writeWithChecksum(_ bytes: [UInt8], name: String, exportDir: String, folder: String) throws
        -> [BackupFile]
    {
        let f = try HashedFile(path: "\(exportDir)/\(name)", md5: true)
        try f.write(bytes)
        let (entry, md5) = try f.finish(relativeTo: folder)
        let c = try HashedFile(path: "\(exportDir)/\(name.dropLast(5)).md5")
        try c.write(Array(ExportLayout.base64MD5(md5!).utf8))
        return [entry, try c.finish(relativeTo: folder).file]
    }

    /// One segment's scan, to its end. Writes a new data file every `fileBytes` uncompressed bytes;
    /// an empty segment still gets one (empty) file, as AWS writes one for an empty partition.
    private func scanSegment(
        _ segment: Int, of segments: Int, folder: String, exportDir: String, keyBase: String, deadline: Deadline,
        onItems: (Int64) -> Void
    ) throws -> [SegmentFile] {
        var done: [SegmentFile] = []
        var current: (file: HashedFile, gzip: GzipWriter, name: String, items: Int64)?
        func open() throws {
            let name = ExportLayout.newDataFileName()
            let file = try HashedFile(path: "\(exportDir)/data/\(name)", md5: true)
            let gzip = try GzipWriter(level: settings.compression) { try file.write($0) }
            current = (file, gzip, name, 0)
        }
        func close() throws {
            guard let c = current else { return }
            try c.gzip.finish()
            let (entry, md5) = try c.file.finish(relativeTo: folder)
            let md5b = md5!
            done.append(
                SegmentFile(
                    entry: ExportLayout.FileEntry(
                        itemCount: c.items, md5Checksum: ExportLayout.base64MD5(md5b), etag: Hex.encode(md5b),
                        dataFileS3Key: keyBase + "data/" + c.name), file: entry))
            current = nil
        }
        try open()
        var startKey: [UInt8]?
        var lines: [UInt8] = []
        lines.reserveCapacity(2 << 20)
        var uncompressed = 0
        repeat {
            try reporter.checkCancelled()
            if deadline.hasPassed {
                throw Failure(
                    "the scan ran longer than backups.dynamodb.timeout (\(Units.duration(settings.timeout)))",
                    hint: "raise backups.dynamodb.timeout or total_segments")
            }
            let body = try scanPage(segment: segment, of: segments, startKey: startKey)
            lines.removeAll(keepingCapacity: true)
            let page: RawJSON.ScanPage
            do { page = try RawJSON.splitScanPage(body, into: &lines) } catch {
                throw Failure(
                    "DynamoDB's Scan answer for segment \(segment) is unusable: \(error)",
                    hint: "nothing was kept; if it happens again, check the endpoint")
            }
            if uncompressed > 0, uncompressed + lines.count > settings.fileBytes {
                try close()
                try open()
                uncompressed = 0
            }
            try current!.gzip.write(lines)
            current!.items += Int64(page.items)
            uncompressed += lines.count
            if page.items > 0 { onItems(Int64(page.items)) }
            startKey = page.lastEvaluatedKey
        } while startKey != nil
        try close()
        return done
    }

    /// One Scan page. Throttling and 5xx errors are retried by the client; when they outlast its
    /// retries, the segment waits longer (full jitter, up to 30 s) before trying again.
    private func scanPage(segment: Int, of segments: Int, startKey: [UInt8]?) throws -> [UInt8] {
        let backoff = Backoff(base: 1, cap: 30, maxAttempts: settings.throttleRetries)
        var round = 0
        while true {
            do {
                return try source.client.scanRaw(
                    table: source.table, segment: segments > 1 ? segment : nil,
                    totalSegments: segments > 1 ? segments : nil,
                    startKey: startKey, limit: settings.pageLimit, consistentRead: settings.consistentRead)
            } catch let e as AWSError where e.isRetryable && round < settings.throttleRetries {
                let delay = backoff.delay(retry: round)
                round += 1
                reporter.log(
                    .warning,
                    "segment \(segment): \(e.code) outlasted the client's retries; waiting \(Int(delay * 1000)) ms (round \(round) of \(settings.throttleRetries))"
                )
                try reporter.checkCancelled()
                sleepThread(seconds: delay)
            } catch let e as AWSError where e.isRetryable {
                throw Failure(
                    "the scan of \(source.table) was throttled or failed (\(e.code)) through \(settings.throttleRetries) rounds of retries",
                    hint: "try again later, lower backups.dynamodb.total_segments, or raise the table's read capacity")
            }
        }
    }
}

/// ExportTableToPointInTime: AWS writes the export into the backup's S3 folder; we wait for it, then
/// read AWS's manifests and hash every file for our own.
struct NativeExporter {
    let source: DynamoSource
    let settings: DynamoExportSettings
    let reporter: any JobReporter
    let store: S3Store
    let id: String
    var plan: ExportPlan = .full(at: nil)

    struct Output {
        var files: [BackupFile]
        var items: Int64
        var export: BackupManifest.ExportInfo
        var schema: TableSchema
    }

    func run(deadline: Deadline) throws -> Output {
        let table = try source.client.describeTable(source.table)
        let schema = try TableSchema(table)
        guard let arn = table.tableArn else { throw Failure("DescribeTable did not return the table's ARN") }
        let prefix = store.prefix(id)
        let encryption = store.destination.encryption
        var exportTime: Date?
        var incremental: DynamoDB.IncrementalExport?
        switch plan {
        case .full(let at):
            exportTime = at
            reporter.info(
                "ExportTableToPointInTime of \(source.table)\(at.map { " at \(Timestamp.format($0))" } ?? "") to s3://\(store.destination.bucket)/\(prefix)"
            )
        case .incremental(let from, let to, let previous, _):
            incremental = DynamoDB.IncrementalExport(from: from, to: to)
            reporter.info(
                "ExportTableToPointInTime (incremental, after \(previous)) of \(source.table) from \(Timestamp.format(from)) to \(Timestamp.format(to)) to s3://\(store.destination.bucket)/\(prefix)"
            )
        }
        let requestedAt = Date()
        var export = try source.client.exportTableToPointInTime(
            tableArn: arn, bucket: store.destination.bucket, prefix: prefix, clientToken: id, encryption: encryption,
            exportTime: exportTime, incremental: incremental)
        let started = Stopwatch()
        while export.exportStatus == "IN_PROGRESS" {
            try reporter.checkCancelled()
            if deadline.hasPassed {
                throw Failure(
                    "the export is still IN_PROGRESS after \(Units.duration(settings.timeout)) (\(export.exportArn))",
                    hint: "it goes on in AWS; raise backups.dynamodb.timeout")
            }
            reporter.progress(
                done: started.elapsedSeconds, total: nil, unit: "seconds", phase: "AWS export \(source.table)")
            sleepThread(seconds: settings.exportPoll)
            export = try source.client.describeExport(arn: export.exportArn)
        }
        guard export.exportStatus == "COMPLETED" else {
            throw Failure(
                "the export \(export.exportStatus): \(export.failureCode ?? "") \(export.failureMessage ?? "")",
                hint: "see DescribeExport for \(export.exportArn)")
        }
        // What AWS reports is what the manifest records; a different algorithm than asked fails the export.
        let reported = export.s3SseAlgorithm.map {
            StoredEncryption(algorithm: $0 == "KMS" ? "aws:kms" : $0, kmsKeyId: export.s3SseKmsKeyId)
        }
        if let reported, reported.algorithm != encryption.algorithm {
            throw Failure(
                "DynamoDB reports the export encrypted with \(reported.algorithm), not \(encryption.describe) as asked",
                hint: "check the bucket's default encryption and backups.s3.encryption")
        }
        // AWS names the summary in ExportManifest; the export id is the ARN's last part.
        let exportId = export.exportArn.split(separator: "/").last.map(String.init) ?? ""
        var exportPath = "AWSDynamoDB/\(exportId)"
        if let m = export.exportManifest,
            let r = m.find("/AWSDynamoDB/") ?? (m.hasPrefix("AWSDynamoDB/") ? m.find("AWSDynamoDB/") : nil)
        {
            let rest = m[r.lowerBound...].drop { $0 == "/" }
            exportPath = String(rest.split(separator: "/").prefix(2).joined(separator: "/"))
        }
        let present = try store.files(id)
        guard present["\(exportPath)/\(ExportLayout.summaryName)"] != nil else {
            throw Failure(
                "the export says COMPLETED but s3://\(store.destination.bucket)/\(prefix)/\(exportPath)/\(ExportLayout.summaryName) does not exist",
                hint:
                    "the endpoint does not write AWS's export layout (moto and DynamoDB Local do not); set backups.dynamodb.mode: scan"
            )
        }
        let reader = ExportReader(
            store: store, id: id, exportPath: exportPath, exportId: String(exportPath.split(separator: "/").last ?? ""),
            incremental: incremental != nil)
        let loaded = try reader.load()
        // What AWS exported must be what was asked: a full export where changes were asked would be read
        // as changes (and the other way round).
        let reportedType = export.exportType ?? loaded.summary.exportType ?? "FULL_EXPORT"
        guard reportedType == (incremental == nil ? "FULL_EXPORT" : "INCREMENTAL_EXPORT") else {
            throw Failure(
                "DynamoDB reports a \(reportedType) where \(incremental == nil ? "a full" : "an incremental") export was asked",
                hint:
                    "the endpoint does not do incremental exports (moto and DynamoDB Local do not); set backups.dynamodb.incremental: false"
            )
        }
        if !loaded.problems.isEmpty {
            throw Failure(
                "AWS's export does not check out: \(loaded.problems.map(\.description).joined(separator: "; "))")
        }
        // Our manifest hashes every file: read each once (the data files' MD5s and counts are checked too).
        var files: [BackupFile] = []
        var done: Int64 = 0
        let totalBytes = present.values.reduce(0, +)
        for (path, size) in present.sorted(by: { $0.key < $1.key }) {
            try reporter.checkCancelled()
            var d = Digest(.sha256)
            var n: Int64 = 0
            try store.read(id, path) { chunk in
                d.update(chunk)
                n += Int64(chunk.count)
            }
            guard n == size else { throw Failure("\(path): read \(n) bytes, S3 lists \(size)") }
            files.append(BackupFile(path: path, bytes: n, sha256: Hex.encode(d.finalize())))
            done += n
            reporter.progress(
                done: Double(done), total: Double(totalBytes), unit: "bytes", phase: "hashing AWS export")
        }
        for entry in loaded.files {
            let problems = try reader.readDataFile(entry)
            if !problems.isEmpty {
                throw Failure("AWS's export does not check out: \(problems.map(\.description).joined(separator: "; "))")
            }
        }
        var info = BackupManifest.ExportInfo(
            exportId: reader.exportId, exportArn: export.exportArn, path: exportPath, encryption: reported)
        info.exportType = reportedType
        switch plan {
        case .full:
            // The point in time the data is of, as AWS reports it (else as asked, else when it started).
            info.exportTime =
                export.exportTime.map { Date(timeIntervalSince1970: $0) }
                ?? loaded.summary.exportTime.flatMap(Timestamp.parse) ?? exportTime ?? requestedAt
        case .incremental(let from, let to, let previous, let base):
            let spec = export.incrementalExportSpecification
            info.fromTime = spec.map { Date(timeIntervalSince1970: $0.exportFromTime) } ?? from
            info.toTime = spec.map { Date(timeIntervalSince1970: $0.exportToTime) } ?? to
            info.viewType = spec?.exportViewType ?? "NEW_AND_OLD_IMAGES"
            info.previous = previous
            info.base = base
            guard info.fromTime == from else {
                throw Failure(
                    "DynamoDB reports the incremental export starting at \(Timestamp.format(info.fromTime ?? from)), not \(Timestamp.format(from)) as asked",
                    hint: "take a full export")
            }
        }
        return Output(files: files, items: loaded.summary.itemCount, export: info, schema: schema)
    }
}
