import Logging
import WhatIfAWS
import WhatIfCore
import WhatIfCrypto
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Backup ids: `<kind>-<yyyymmdd>T<hhmmss>Z-<4 hex>`, sortable by time, safe as a file name.
package enum BackupID {
    package static func make(kind: BackupKind, at date: Date = Date()) -> String {
        let t = Timestamp.format(date)  // 2026-11-24T20:37:33.123Z
        let digits = t.filter(\.isNumber)
        let day = digits.prefix(8)
        let time = digits.dropFirst(8).prefix(6)
        let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        return "\(kind.rawValue)-\(day)T\(time)Z-\(String(repeating: "0", count: 4 - suffix.count))\(suffix)"
    }

    /// The kind an id names, or nil when it is not a well-formed id (never a path).
    package static func kind(of id: String) -> BackupKind? {
        // The kind may hold hyphens itself (rds-snapshot): the time and the suffix are the last two parts.
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, let kind = BackupKind(rawValue: parts.dropLast(2).joined(separator: "-")) else {
            return nil
        }
        let t = Array(parts[parts.count - 2].utf8)
        guard t.count == 16, t[8] == UInt8(ascii: "T"), t[15] == UInt8(ascii: "Z"),
            t[0..<8].allSatisfy({ (0x30...0x39).contains($0) }), t[9..<15].allSatisfy({ (0x30...0x39).contains($0) })
        else { return nil }
        let h = Array(parts[parts.count - 1].utf8)
        guard h.count == 4, h.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            return nil
        }
        return kind
    }
}

extension BackupID {
    /// When the backup with this id started (to the second), from the id itself.
    package static func date(of id: String) -> Date? {
        guard kind(of: id) != nil else { return nil }
        // <kind>-yyyymmddThhmmssZ-<hex> -> yyyy-mm-ddThh:mm:ssZ, read by the one timestamp parser.
        let parts = id.split(separator: "-")
        let t = Array(parts[parts.count - 2])
        let iso =
            "\(String(t[0..<4]))-\(String(t[4..<6]))-\(String(t[6..<8]))T\(String(t[9..<11])):\(String(t[11..<13])):\(String(t[13..<15]))Z"
        return Timestamp.parse(iso)
    }
}

/// Catalog side files, beside the manifest but not part of the backup.
enum SideFile {
    static let manifest = "manifest.json"
    static let pin = "pin.json"
    static let verification = "verification.json"
    static let all: Set<String> = [manifest, pin, verification]
}

/// Where copies of backups live. A backup is complete in a store only once its manifest is there.
package protocol BackupStore: Sendable {
    var location: BackupLocation { get }
    /// Human-readable place: a folder or an s3:// URL.
    var description: String { get }
    /// Ids that have a manifest (checked further by `manifest`).
    func ids(kind: BackupKind) throws -> [String]
    func readSide(_ id: String, _ name: String) throws -> [UInt8]?
    func writeSide(_ id: String, _ name: String, _ bytes: [UInt8]) throws
    func deleteSide(_ id: String, _ name: String) throws
    /// Streams a file to `sink`; answers how the store reports it encrypted at rest (S3: the
    /// server-side encryption of the object; nil for a local copy).
    @discardableResult
    func read(_ id: String, _ path: String, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws
        -> S3Encryption.Reported?
    /// Files present under the backup's folder, relative, with sizes (side files excluded).
    func files(_ id: String) throws -> [String: Int64]
    /// Deletes the backup: the manifest first, so nothing half-deleted looks complete.
    func delete(_ id: String) throws
}

extension BackupStore {
    /// Where the backup's manifest is, for messages.
    package func manifestPlace(_ id: String) -> String {
        if let l = self as? LocalStore { return "\(l.folder(id))/\(SideFile.manifest)" }
        if let s = self as? S3Store { return "s3://\(s.destination.bucket)/\(s.prefix(id))/\(SideFile.manifest)" }
        return "\(description): \(id)/\(SideFile.manifest)"
    }

    /// The backup's manifest, when it is there, readable, complete and matching its own checksum; nil
    /// when there is none. A manifest that is there but cannot be trusted throws `ManifestDamage`; a
    /// store that cannot be read throws its own error.
    package func manifest(_ id: String) throws -> BackupManifest? {
        guard let bytes = try readSide(id, SideFile.manifest) else { return nil }
        func damage(_ reason: String) -> ManifestDamage {
            ManifestDamage(id: id, location: location, manifestPath: manifestPlace(id), reason: reason)
        }
        let m: BackupManifest
        do { m = try APICoding.decode(BackupManifest.self, from: bytes) } catch {
            throw damage("it is not a readable manifest (\(error))")
        }
        guard m.status == "complete" else { throw damage("its status is '\(m.status)', not 'complete'") }
        guard m.id == id, BackupID.kind(of: id) == m.kind else {
            throw damage("it describes backup \(m.id) (\(m.kind.rawValue)), not \(id)")
        }
        if let problem = ManifestSeal.problem(bytes, m) { throw damage(problem) }
        return m
    }

    func decodeSide<T: Decodable>(_ type: T.Type, _ id: String, _ name: String) -> T? {
        guard let b = try? readSide(id, name) else { return nil }
        return try? APICoding.decode(type, from: b)
    }
}

/// Backups in a local folder: `<root>/<kind>/<id>/`. A backup being written is `<id>.partial`; one being
/// deleted is renamed `<id>.deleting` first.
package final class LocalStore: BackupStore {
    package let root: String
    package var location: BackupLocation { .local }
    package var description: String { root }

    package init(root: String) { self.root = root }

    package func folder(_ id: String) -> String { "\(root)/\(BackupID.kind(of: id)?.rawValue ?? "unknown")/\(id)" }
    package func partialFolder(_ id: String) -> String { folder(id) + ".partial" }

    package func ids(kind: BackupKind) throws -> [String] {
        let dir = "\(root)/\(kind.rawValue)"
        return Files.list(dir).filter {
            BackupID.kind(of: $0) == kind && Files.exists("\(dir)/\($0)/\(SideFile.manifest)")
        }
    }

    package func readSide(_ id: String, _ name: String) throws -> [UInt8]? {
        let path = "\(folder(id))/\(name)"
        guard Files.exists(path) else { return nil }
        return try Files.read(path, limit: 64 << 20)
    }

    package func writeSide(_ id: String, _ name: String, _ bytes: [UInt8]) throws {
        try Files.writeAtomically("\(folder(id))/\(name)", bytes, mode: 0o640)
    }

    package func deleteSide(_ id: String, _ name: String) throws {
        if unlink("\(folder(id))/\(name)") != 0, errno != ENOENT {
            throw Failure("cannot remove \(folder(id))/\(name): \(Files.errnoText())")
        }
    }

    @discardableResult
    package func read(_ id: String, _ path: String, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws
        -> S3Encryption.Reported?
    {
        try LocalFiles.stream("\(folder(id))/\(path)", sink)
        return nil
    }

    package func files(_ id: String) throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for (rel, size) in LocalFiles.walk(folder(id)) where !SideFile.all.contains(rel) { out[rel] = size }
        return out
    }

    package func delete(_ id: String) throws {
        let dir = folder(id)
        guard Files.exists(dir) else { return }
        let doomed = "\(Files.directory(of: dir))/.\(id).deleting"
        guard rename(dir, doomed) == 0 else { throw Failure("cannot remove \(dir): \(Files.errnoText())") }
        Files.syncDirectory(Files.directory(of: dir))
        try LocalFiles.removeTree(doomed)
    }

    /// Moves a damaged backup's folder to `<root>/quarantine/<kind>/<id>`, out of the catalog, data kept.
    /// Returns where it went.
    package func quarantine(_ id: String) throws -> String {
        let kind = BackupID.kind(of: id)?.rawValue ?? "unknown"
        let dir = "\(root)/quarantine/\(kind)"
        try Files.makeDirectories(dir, mode: 0o750)
        var to = "\(dir)/\(id)"
        if Files.exists(to) { to += "-\(Int(Date().timeIntervalSince1970))" }
        guard rename(folder(id), to) == 0 else {
            throw Failure("cannot move \(folder(id)) to \(to): \(Files.errnoText())")
        }
        Files.syncDirectory(dir)
        return to
    }

    /// Backup folders without a manifest (not ones being written or deleted), with their sizes.
    package func orphans() -> [OrphanBackup] {
        var out: [OrphanBackup] = []
        for kind in BackupKind.allCases {
            let dir = "\(root)/\(kind.rawValue)"
            for name in Files.list(dir) where BackupID.kind(of: name) == kind {
                let path = "\(dir)/\(name)"
                guard Files.isDirectory(path), !Files.exists("\(path)/\(SideFile.manifest)") else { continue }
                let bytes = LocalFiles.walk(path).reduce(Int64(0)) { $0 + $1.1 }
                out.append(OrphanBackup(path: path, location: .local, bytes: bytes, id: name))
            }
        }
        return out
    }

    /// Removes what a crash left: `.partial` and `.deleting` folders. Returns what it removed.
    package func removeLeftovers() -> [String] {
        var removed: [String] = []
        for kind in BackupKind.allCases {
            let dir = "\(root)/\(kind.rawValue)"
            for name in Files.list(dir) where name.hasSuffix(".partial") || name.hasSuffix(".deleting") {
                let path = "\(dir)/\(name)"
                if (try? LocalFiles.removeTree(path)) != nil { removed.append(path) }
            }
            // A folder without a manifest is a leftover too (never renamed into place that way, but an
            // operator's copy or a damaged disk can make one): reported, not removed.
        }
        return removed
    }
}

/// Backups in S3: `s3://<bucket>/<prefix>/<kind>/<id>/...`, manifest uploaded last and deleted first.
package final class S3Store: BackupStore {
    package let s3: S3
    package let destination: S3Destination
    package var location: BackupLocation { .s3 }
    package var description: String { destination.url }

    package init(s3: S3, destination: S3Destination) {
        self.s3 = s3
        self.destination = destination
    }

    package func prefix(_ id: String) -> String {
        destination.key("\(BackupID.kind(of: id)?.rawValue ?? "unknown")/\(id)")
    }

    package func key(_ id: String, _ path: String) -> String { "\(prefix(id))/\(path)" }

    package func ids(kind: BackupKind) throws -> [String] { try catalog(kind: kind).ids }

    /// One listing of a kind's prefix: the ids with a manifest, and the bytes under each id without one.
    package func catalog(kind: BackupKind) throws -> (ids: [String], withoutManifest: [String: Int64]) {
        let base = destination.key("\(kind.rawValue)/")
        var ids: Set<String> = []
        var bytes: [String: Int64] = [:]
        for o in try s3.list(bucket: destination.bucket, prefix: base) {
            let rest = o.key.dropFirst(base.count).split(separator: "/", maxSplits: 1)
            guard rest.count == 2, BackupID.kind(of: String(rest[0])) == kind else { continue }
            let id = String(rest[0])
            if rest[1] == SideFile.manifest { ids.insert(id) }
            bytes[id, default: 0] += o.size
        }
        for id in ids { bytes[id] = nil }
        return (ids.sorted(), bytes)
    }

    package func readSide(_ id: String, _ name: String) throws -> [UInt8]? {
        do {
            return try s3.getObject(bucket: destination.bucket, key: key(id, name))
        } catch let e as AWSError where e.status == 404 {
            return nil
        }
    }

    package func writeSide(_ id: String, _ name: String, _ bytes: [UInt8]) throws {
        _ = try s3.putObject(
            bucket: destination.bucket, key: key(id, name), body: bytes, contentType: "application/json",
            encryption: destination.encryption)
    }

    package func deleteSide(_ id: String, _ name: String) throws {
        try s3.deleteObject(bucket: destination.bucket, key: key(id, name))
    }

    @discardableResult
    package func read(_ id: String, _ path: String, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws
        -> S3Encryption.Reported?
    {
        // The HTTP client calls back on this thread while the request runs.
        try withoutActuallyEscaping(sink) { sink in
            try s3.getObject(bucket: destination.bucket, key: key(id, path), sink: sink)
        }
    }

    package func files(_ id: String) throws -> [String: Int64] {
        let p = prefix(id) + "/"
        var out: [String: Int64] = [:]
        for o in try s3.list(bucket: destination.bucket, prefix: p) {
            let rel = String(o.key.dropFirst(p.count))
            if !SideFile.all.contains(rel) { out[rel] = o.size }
        }
        return out
    }

    package func delete(_ id: String) throws {
        try deletePrefix(prefix(id), manifestFirst: true)
    }

    /// Deletes every object under `prefix/` (the manifest first) and aborts its unfinished uploads.
    package func deletePrefix(_ prefix: String, manifestFirst: Bool) throws {
        let p = prefix + "/"
        if manifestFirst { try s3.deleteObject(bucket: destination.bucket, key: p + SideFile.manifest) }
        for o in try s3.list(bucket: destination.bucket, prefix: p) {
            try s3.deleteObject(bucket: destination.bucket, key: o.key)
        }
        for u in try s3.listMultipartUploads(bucket: destination.bucket, prefix: p) {
            try s3.abortMultipartUpload(bucket: destination.bucket, key: u.key, uploadId: u.uploadId)
        }
    }

    /// Uploads a local file: one PUT up to the part size, a multipart upload above it (parts in
    /// parallel). An upload that fails is aborted. Returns the bytes sent.
    package func upload(
        localPath: String, id: String, path: String, onBytes: @escaping @Sendable (Int64) -> Void = { _ in }
    ) throws {
        let size = LocalFiles.size(localPath) ?? 0
        let objectKey = key(id, path)
        let bucket = destination.bucket
        if size <= Int64(destination.partSize) {
            let body = try Files.read(localPath, limit: destination.partSize + 1)
            _ = try s3.putObject(bucket: bucket, key: objectKey, body: body, encryption: destination.encryption)
            onBytes(Int64(body.count))
            return
        }
        let partSize = max(destination.partSize, Int((size + 9_999) / 10_000))
        let count = Int((size + Int64(partSize) - 1) / Int64(partSize))
        let encryption = destination.encryption
        let uploadId = try s3.createMultipartUpload(bucket: bucket, key: objectKey, encryption: encryption)
        let next = Locked(0)
        let parts = Locked<[S3.UploadedPart]>([])
        let s3 = self.s3
        do {
            try Threads.parallel(min(destination.concurrency, count)) { _ in
                while true {
                    let n = next.withLock { v -> Int in
                        defer { v += 1 }
                        return v
                    }
                    guard n < count else { return }
                    let body = try LocalFiles.readRange(localPath, offset: Int64(n) * Int64(partSize), count: partSize)
                    let part = try s3.uploadPart(
                        bucket: bucket, key: objectKey, uploadId: uploadId, number: n + 1, body: body)
                    parts.withLock { $0.append(part) }
                    onBytes(Int64(body.count))
                }
            }
            try s3.completeMultipartUpload(
                bucket: bucket, key: objectKey, uploadId: uploadId, parts: parts.value, encryption: encryption)
        } catch {
            try? s3.abortMultipartUpload(bucket: bucket, key: objectKey, uploadId: uploadId)
            throw error
        }
        // A CreateMultipartUpload sent again after its answer was lost leaves an upload nobody completes:
        // it holds no parts, but stays open, listed among the key's uploads, until aborted. Any other open
        // upload of this key goes. The copy stands whether or not this succeeds (docs/backups.md names
        // the bucket lifecycle rule behind it).
        for u in (try? s3.listMultipartUploads(bucket: bucket, prefix: objectKey)) ?? []
        where u.key == objectKey && u.uploadId != uploadId {
            try? s3.abortMultipartUpload(bucket: bucket, key: objectKey, uploadId: u.uploadId)
        }
    }
}

/// A file being written into a backup: created exclusively, hashed as written, fsynced on close.
package final class HashedFile {
    package let path: String
    private let fd: Int32
    private var sha = Digest(.sha256)
    private var md5 = Digest(.md5)
    private let wantMD5: Bool
    package private(set) var bytes: Int64 = 0
    private var closed = false

    package init(path: String, md5: Bool = false) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw Failure("cannot create \(path): \(Files.errnoText())") }
        wantMD5 = md5
    }

    deinit {
        if !closed { Glibc.close(fd) }
    }

    package func write(_ data: UnsafeRawBufferPointer) throws {
        sha.update(data)
        if wantMD5 { md5.update(data) }
        var off = 0
        while off < data.count {
            let n = Glibc.write(fd, data.baseAddress! + off, data.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                throw Failure(
                    "cannot write \(path): \(Files.errnoText(e))",
                    hint: e == ENOSPC ? "the backup location is full: free space or prune old backups" : nil)
            }
            off += n
        }
        bytes += Int64(data.count)
    }

    package func write(_ data: [UInt8]) throws { try data.withUnsafeBytes { try write($0) } }

    /// fsyncs and closes; returns the file's entry (path relative to `base`) and its MD5 when asked for.
    package func finish(relativeTo base: String) throws -> (file: BackupFile, md5: [UInt8]?) {
        closed = true
        if fsync(fd) != 0 {
            let e = Files.errnoText()
            Glibc.close(fd)
            throw Failure("cannot fsync \(path): \(e)")
        }
        guard Glibc.close(fd) == 0 else { throw Failure("cannot close \(path): \(Files.errnoText())") }
        let rel = path.hasPrefix(base + "/") ? String(path.dropFirst(base.count + 1)) : path
        return (BackupFile(path: rel, bytes: bytes, sha256: Hex.encode(sha.finalize())), wantMD5 ? md5.finalize() : nil)
    }
}
