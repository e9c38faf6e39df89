import WhatIfAWS
import WhatIfCore
import WhatIfCrypto
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// AWS's DynamoDB export to S3, as documented ("DynamoDB table export output format") and as real
/// exports look:
///
///     <export-prefix>/AWSDynamoDB/<ExportId>/_started
///     <export-prefix>/AWSDynamoDB/<ExportId>/manifest-summary.json   (+ .md5: base64 MD5 of it)
///     <export-prefix>/AWSDynamoDB/<ExportId>/manifest-files.json     (+ .md5)
///     <export-prefix>/AWSDynamoDB/<ExportId>/data/<26 base32 chars>.json.gz
///
/// The guide names the checksum files `.checksum`; exports in the wild (and S3 listings in AWS's own
/// migration walkthroughs) have `.md5` holding 24 base64 characters. We write `.md5` and read either.
public enum ExportLayout {
    package static let summaryName = "manifest-summary.json"
    package static let filesName = "manifest-files.json"
    package static let startedName = "_started"
    package static let checksumSuffixes = [".md5", ".checksum"]

    /// `01732491012345-1a2b3c4d`: milliseconds since 1970 (14 digits) and 8 hex digits, like AWS's.
    package static func newExportId(at date: Date = Date()) -> String {
        let ms = Int64(date.timeIntervalSince1970 * 1000)
        let digits = String(ms)
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return String(repeating: "0", count: max(0, 14 - digits.count)) + digits + "-"
            + String(repeating: "0", count: 8 - hex.count) + hex
    }

    private static let base32 = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// A data file name like AWS's: 26 lowercase base32 characters and `.json.gz`.
    package static func newDataFileName() -> String {
        let bytes = secureRandomBytes(26)
        return String(decoding: bytes.map { base32[Int($0 & 31)] }, as: UTF8.self) + ".json.gz"
    }

    /// One line of manifest-files.json.
    public struct FileEntry: Codable, Sendable, Equatable {
        package var itemCount: Int64
        /// Base64 MD5 of the data file's (compressed) bytes.
        package var md5Checksum: String
        package var etag: String?
        public var dataFileS3Key: String

        // memberwise-init: public

        /// The line, keys in AWS's order.
        package var jsonLine: String {
            "{\"itemCount\":\(itemCount),\"md5Checksum\":\(json(md5Checksum)),\"etag\":\(etag.map(json) ?? "null"),\"dataFileS3Key\":\(json(dataFileS3Key))}"
        }
    }

    /// manifest-summary.json.
    public struct Summary: Codable, Sendable, Equatable {
        package var version: String
        package var exportArn: String?
        package var startTime: String?
        package var endTime: String?
        package var tableArn: String?
        package var tableId: String?
        package var exportTime: String?
        package var s3Bucket: String?
        package var s3Prefix: String?
        package var s3SseAlgorithm: String?
        package var s3SseKmsKeyId: String?
        package var manifestFilesS3Key: String
        package var billedSizeBytes: Int64?
        package var itemCount: Int64
        package var outputFormat: String
        package var exportType: String?

        package init(
            exportArn: String?, startTime: Date, endTime: Date, tableArn: String?, tableId: String?, exportTime: Date,
            s3Bucket: String?, s3Prefix: String?, manifestFilesS3Key: String, itemCount: Int64
        ) {
            version = "2020-06-30"
            self.exportArn = exportArn
            self.startTime = Timestamp.format(startTime)
            self.endTime = Timestamp.format(endTime)
            self.tableArn = tableArn
            self.tableId = tableId
            self.exportTime = Timestamp.format(exportTime)
            self.s3Bucket = s3Bucket
            self.s3Prefix = s3Prefix
            s3SseAlgorithm = s3Bucket == nil ? nil : "AES256"
            s3SseKmsKeyId = nil
            self.manifestFilesS3Key = manifestFilesS3Key
            billedSizeBytes = 0
            self.itemCount = itemCount
            outputFormat = "DYNAMODB_JSON"
            exportType = "FULL_EXPORT"
        }

        /// The document, keys in AWS's order, nulls written out as AWS does.
        package var json: String {
            func s(_ v: String?) -> String { v.map(ExportLayout.json) ?? "null" }
            return """
                {"version":\(s(version)),"exportArn":\(s(exportArn)),"startTime":\(s(startTime)),\
                "endTime":\(s(endTime)),"tableArn":\(s(tableArn)),"tableId":\(s(tableId)),\
                "exportTime":\(s(exportTime)),"s3Bucket":\(s(s3Bucket)),"s3Prefix":\(s(s3Prefix)),\
                "s3SseAlgorithm":\(s(s3SseAlgorithm)),"s3SseKmsKeyId":\(s(s3SseKmsKeyId)),\
                "manifestFilesS3Key":\(s(manifestFilesS3Key)),"billedSizeBytes":\(billedSizeBytes.map(String.init) ?? "null"),\
                "itemCount":\(itemCount),"outputFormat":\(s(outputFormat)),"exportType":\(s(exportType))}
                """
        }
    }

    static func json(_ s: String) -> String { JSONString.quote(s) }

    package static func base64MD5(_ digest: [UInt8]) -> String { Data(digest).base64EncodedString() }

    /// manifest-files.json: one JSON object per line. Errors name the line.
    public static func parseFiles(_ bytes: [UInt8]) throws -> [FileEntry] {
        var out: [FileEntry] = []
        let decoder = JSONDecoder()
        var lineNo = 0
        for line in bytes.split(separator: 10, omittingEmptySubsequences: false) {
            lineNo += 1
            let trimmed = line.drop { $0 == 32 || $0 == 13 }
            if trimmed.isEmpty || trimmed.allSatisfy({ $0 == 32 || $0 == 13 }) { continue }
            do {
                let e = try decoder.decode(FileEntry.self, from: Data(line))
                guard e.itemCount >= 0, !e.dataFileS3Key.isEmpty,
                    Data(base64Encoded: e.md5Checksum).map({ $0.count == 16 }) == true
                else { throw Failure("bad values") }
                out.append(e)
            } catch {
                throw Failure(
                    "\(filesName) line \(lineNo) is not a data-file entry (itemCount, md5Checksum, dataFileS3Key)",
                    hint: "the export's manifest is damaged")
            }
        }
        return out
    }

    public static func parseSummary(_ bytes: [UInt8]) throws -> Summary {
        do {
            let s = try JSONDecoder().decode(Summary.self, from: Data(bytes))
            guard s.itemCount >= 0 else { throw Failure("negative itemCount") }
            return s
        } catch {
            throw Failure(
                "\(summaryName) is not an export summary (version, manifestFilesS3Key, itemCount, outputFormat)",
                hint: "the export's manifest is damaged")
        }
    }

    /// The part of a data file's S3 key below the export folder: `data/x.json.gz`.
    public static func relativeDataPath(_ key: String, exportId: String) -> String? {
        let marker = "AWSDynamoDB/\(exportId)/"
        guard let r = key.find(marker) else { return nil }
        let rel = String(key[r.upperBound...])
        guard !rel.isEmpty, !rel.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            return nil
        }
        return rel
    }
}

/// Reads an export in AWS's layout from a backup store, checking what AWS's manifests promise.
struct ExportReader {
    let store: any BackupStore
    let id: String
    /// `AWSDynamoDB/<exportId>` below the backup's folder.
    let exportPath: String
    let exportId: String
    /// An incremental export: its lines are changes, not items.
    var incremental = false

    /// What a data file's line holds.
    enum Record {
        case item([UInt8])
        case change(RawJSON.Change)
    }

    struct Loaded {
        var summary: ExportLayout.Summary
        var files: [ExportLayout.FileEntry]
        var problems: [BackupProblem]
    }

    func readAll(_ name: String) throws -> [UInt8]? {
        var out: [UInt8] = []
        do {
            try store.read(id, "\(exportPath)/\(name)") { out.append(contentsOf: $0) }
        } catch {
            if try store.files(id)["\(exportPath)/\(name)"] == nil { return nil }
            throw error
        }
        return out
    }

    /// The manifests, with their checksum files checked when present.
    func load() throws -> Loaded {
        var problems: [BackupProblem] = []
        guard let summaryBytes = try readAll(ExportLayout.summaryName) else {
            throw Failure(
                "the export has no \(exportPath)/\(ExportLayout.summaryName)",
                hint: "the export is incomplete; take a new backup")
        }
        let summary = try ExportLayout.parseSummary(summaryBytes)
        guard let filesBytes = try readAll(ExportLayout.filesName) else {
            throw Failure("the export has no \(exportPath)/\(ExportLayout.filesName)", hint: "take a new backup")
        }
        for (name, bytes) in [(ExportLayout.summaryName, summaryBytes), (ExportLayout.filesName, filesBytes)] {
            let stem = String(name.dropLast(5))
            var found = false
            for suffix in ExportLayout.checksumSuffixes {
                guard let c = try readAll(stem + suffix) else { continue }
                found = true
                let text = String(decoding: c, as: UTF8.self).trimmingWhitespace()
                let md5 = Digest.md5(bytes)
                if text != ExportLayout.base64MD5(md5) && text.lowercased() != Hex.encode(md5) {
                    problems.append(
                        BackupProblem(
                            file: "\(exportPath)/\(stem + suffix)", message: "does not match the MD5 of \(name)"))
                }
            }
            if !found {
                problems.append(BackupProblem(file: "\(exportPath)/\(name)", message: "has no checksum file"))
            }
        }
        if (summary.exportType == "INCREMENTAL_EXPORT") != incremental {
            problems.append(
                BackupProblem(
                    file: "\(exportPath)/\(ExportLayout.summaryName)",
                    message:
                        "says exportType \(summary.exportType ?? "FULL_EXPORT"); the backup is \(incremental ? "an incremental" : "a full") export"
                ))
        }
        let files = try ExportLayout.parseFiles(filesBytes)
        let sum = files.reduce(Int64(0)) { $0 + $1.itemCount }
        if sum != summary.itemCount {
            problems.append(
                BackupProblem(
                    file: "\(exportPath)/\(ExportLayout.filesName)",
                    message: "its data files hold \(sum) items but the summary says \(summary.itemCount)"))
        }
        return Loaded(summary: summary, files: files, problems: problems)
    }

    /// Streams one data file: checks its MD5 and item count, and hands each item's JSON to `item`.
    /// Returns problems found (none when the file is as the manifest says).
    func readDataFile(
        _ entry: ExportLayout.FileEntry, item: ((_ record: Record, _ line: Int) throws -> Void)? = nil
    ) throws -> [BackupProblem] {
        guard let rel = ExportLayout.relativeDataPath(entry.dataFileS3Key, exportId: exportId) else {
            return [
                BackupProblem(
                    file: "\(exportPath)/\(ExportLayout.filesName)",
                    message: "data file key \(entry.dataFileS3Key) is not inside AWSDynamoDB/\(exportId)/")
            ]
        }
        let path = "\(exportPath)/\(rel)"
        var md5 = Digest(.md5)
        var lines: Int64 = 0
        var pending: [UInt8] = []
        var lineProblem: BackupProblem?
        let gunzip = try GzipReader { chunk in
            var start = 0
            for (k, b) in chunk.enumerated() where b == 10 {
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start..<k]))
                start = k + 1
                lines += 1
                if lineProblem == nil {
                    do {
                        let record: Record =
                            incremental
                            ? .change(try pending.withUnsafeBytes { try RawJSON.changeOfLine($0) })
                            : .item(try pending.withUnsafeBytes { try RawJSON.itemOfLine($0) })
                        try item?(record, Int(lines))
                    } catch let e as RawJSONError {
                        lineProblem = BackupProblem(
                            file: path, message: "line \(lines) is not \(incremental ? "a change" : "an item"): \(e)")
                    }
                }
                pending.removeAll(keepingCapacity: true)
            }
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start...]))
        }
        do {
            try store.read(id, path) { chunk in
                md5.update(chunk)
                try gunzip.write(chunk)
            }
        } catch let e as GzipError {
            return [BackupProblem(file: path, message: e.message)]
        } catch {
            if try store.files(id)[path] == nil { return [BackupProblem(file: path, message: "is missing")] }
            throw error
        }
        var problems: [BackupProblem] = []
        do { try gunzip.finish() } catch let e as GzipError {
            problems.append(BackupProblem(file: path, message: e.message))
        }
        if !pending.isEmpty {
            problems.append(BackupProblem(file: path, message: "ends with a line that has no newline"))
        }
        let digest = ExportLayout.base64MD5(md5.finalize())
        if digest != entry.md5Checksum {
            problems.append(
                BackupProblem(file: path, message: "MD5 is \(digest) but the export manifest says \(entry.md5Checksum)")
            )
        }
        if lines != entry.itemCount {
            problems.append(
                BackupProblem(
                    file: path, message: "holds \(lines) items but the export manifest says \(entry.itemCount)"))
        }
        if let lineProblem { problems.append(lineProblem) }
        return problems
    }
}
