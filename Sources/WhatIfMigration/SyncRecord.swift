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

/// What a finished migration wrote to a table, key by key: each item's key and a hash of its bytes, so
/// that `migrate scenarios --sync` can write only what a newer dump changed and delete what it no
/// longer has. One file per table, `<state>/migrations/<table>.sync`, replaced (rename) only when a run
/// has finished every write and delete, so it always describes an acknowledged state of the table.
///
/// Layout: the magic line, one JSON header line, then records — u32 key length (little-endian), the
/// key's 128-bit hash, the item's 128-bit hash, the key (the JSON string's content, escaped) — and a
/// trailer: u32 0xFFFFFFFF, u64 record count, SHA-256 of every byte before the trailer.
public enum SyncRecord {
    static let magic = Array("WHATIF-SYNC 1\n".utf8)
    static let trailerMark: UInt32 = 0xFFFF_FFFF
    /// DynamoDB's partition keys are at most 2048 bytes; escaped (\u00XX) at most six times that.
    package static let maxKeyBytes = 6 * 2048
    static let maxHeaderBytes = 64 << 10

    /// The header: what the record describes.
    package struct Header: Codable, Sendable, Equatable {
        package var table: String
        /// `TableDescription.identity` of the table written to: a table recreated under the name is not it.
        package var tableIdentity: String?
        /// The dump the items came from.
        package var source: String
        /// When the run that wrote it finished (UTC, RFC 3339).
        package var recorded: String
    }

    package struct Entry {
        package var keyHash: ScenarioTransform.KeyHash
        package var content: ScenarioTransform.KeyHash
        /// The key as it appears in the item's JSON (escaped).
        package var key: UnsafeRawBufferPointer
    }

    package static func path(directory: String, table: String) -> String { "\(directory)/\(table).sync" }

    /// A record that cannot be read, and where.
    public struct Damaged: Error, Sendable, CustomStringConvertible {
        package var reason: String
        public var description: String { reason }
    }

    /// Reads a record from chunks of bytes: `header` once, then `entry` for each record; `finish` checks
    /// the trailer and the checksum (a record read in full but not finished is not to be trusted).
    package struct Parser {
        private var buffer: [UInt8] = []
        private let digest = Hasher256()
        private var sawHeader = false
        private var ended = false
        private var expectedSum: [UInt8] = []
        private var expectedCount: UInt64 = 0
        package private(set) var count: UInt64 = 0
        package private(set) var header: Header?
        /// The checksum the trailer carries (hex), once `finish` has checked it.
        package private(set) var checksum = ""

        package init() {}

        package mutating func feed(_ chunk: UnsafeRawBufferPointer, entry: (Entry) throws -> Void) throws {
            guard !chunk.isEmpty else { return }
            guard !ended else { throw Damaged(reason: "bytes after the trailer") }
            buffer.append(contentsOf: chunk)
            var at = 0
            defer { if at > 0 { buffer.removeFirst(at) } }
            if !sawHeader {
                guard let nl = buffer.firstIndex(of: 10, after: magic.count) else {
                    guard buffer.count <= magic.count + SyncRecord.maxHeaderBytes else {
                        throw Damaged(reason: "the header is longer than \(SyncRecord.maxHeaderBytes) bytes")
                    }
                    if !magic.starts(with: buffer.prefix(magic.count)) {
                        throw Damaged(reason: "not a sync record (no WHATIF-SYNC 1 line)")
                    }
                    return
                }
                guard buffer.starts(with: magic) else {
                    throw Damaged(reason: "not a sync record (no WHATIF-SYNC 1 line)")
                }
                guard nl - magic.count <= SyncRecord.maxHeaderBytes else {
                    throw Damaged(reason: "the header is longer than \(SyncRecord.maxHeaderBytes) bytes")
                }
                let line = Data(buffer[magic.count..<nl])
                guard let h = try? JSONDecoder().decode(Header.self, from: line) else {
                    throw Damaged(reason: "the header is not the expected JSON")
                }
                header = h
                sawHeader = true
                buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[0...nl])) }
                at = nl + 1
            }
            try buffer.withUnsafeBytes { b in
                while !ended {
                    guard b.count - at >= 4 else { return }
                    let len = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt32.self))
                    if len == SyncRecord.trailerMark {
                        guard b.count - at >= 4 + 8 + 32 else { return }
                        expectedCount = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at + 4, as: UInt64.self))
                        expectedSum = Array(b[(at + 12)..<(at + 44)])
                        at += 44
                        ended = true
                        guard at == b.count else { throw Damaged(reason: "bytes after the trailer") }
                        return
                    }
                    guard Int(len) <= SyncRecord.maxKeyBytes else {
                        throw Damaged(
                            reason: "record \(count + 1) has a key of \(len) bytes (at most \(SyncRecord.maxKeyBytes))")
                    }
                    let size = 4 + 32 + Int(len)
                    guard b.count - at >= size else { return }
                    let r = UnsafeRawBufferPointer(rebasing: b[at..<(at + size)])
                    digest.update(r)
                    func word(_ o: Int) -> UInt64 {
                        UInt64(littleEndian: r.loadUnaligned(fromByteOffset: o, as: UInt64.self))
                    }
                    count += 1
                    try entry(
                        Entry(
                            keyHash: .init(a: word(4), b: word(12)), content: .init(a: word(20), b: word(28)),
                            key: UnsafeRawBufferPointer(rebasing: r[36...])))
                    at += size
                }
            }
        }

        /// Checks that the record ended with a trailer whose count and checksum match what was read.
        package mutating func finish() throws {
            guard sawHeader else { throw Damaged(reason: "the file ends before its header") }
            guard ended else {
                throw Damaged(reason: "the file ends after \(count) records, without its trailer (cut short)")
            }
            guard expectedCount == count else {
                throw Damaged(reason: "the trailer counts \(expectedCount) records, the file has \(count)")
            }
            guard digest.finish() == expectedSum else {
                throw Damaged(reason: "the checksum does not match (the file was changed or damaged)")
            }
            checksum = Hex.encode(expectedSum)
        }
    }

    /// Checks a whole record held in memory (fed in pieces of `piece` bytes, as a file is read) and
    /// answers its record count; throws `Damaged` for one that cannot be trusted.
    public static func check(_ bytes: [UInt8], piece: Int = 1 << 20) throws -> UInt64 {
        var parser = Parser()
        var at = 0
        try bytes.withUnsafeBytes { all in
            while at < all.count {
                let end = min(all.count, at + max(1, piece))
                try parser.feed(UnsafeRawBufferPointer(rebasing: all[at..<end])) { _ in }
                at = end
            }
        }
        try parser.finish()
        return parser.count
    }

    /// Writes a new record beside the old one (`<path>.partial`, 0600) and puts it in place with
    /// `commit`; one not committed is removed.
    package final class Writer {
        let path: String
        let partial: String
        private var fd: Int32
        private var buffer: [UInt8] = []
        private let digest = Hasher256()
        package private(set) var count: UInt64 = 0
        private var committed = false

        package init(path: String, header: Header) throws {
            self.path = path
            partial = path + ".partial"
            try Files.makeDirectories(Files.directory(of: path))
            fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw Failure(
                    "cannot write \(partial): \(Files.errnoText())",
                    hint: "check the state directory's space and permissions")
            }
            buffer.reserveCapacity(1 << 20)
            buffer += magic
            buffer += try JSONEncoder().encode(header)
            buffer.append(10)
            buffer.withUnsafeBytes { digest.update($0) }
        }

        deinit {
            if fd >= 0 { close(fd) }
            if !committed { unlink(partial) }
        }

        package func add(
            keyHash: ScenarioTransform.KeyHash, content: ScenarioTransform.KeyHash, key: UnsafeRawBufferPointer
        )
            throws
        {
            let start = buffer.count
            func word(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { buffer += $0 } }
            withUnsafeBytes(of: UInt32(key.count).littleEndian) { buffer += $0 }
            word(keyHash.a)
            word(keyHash.b)
            word(content.a)
            word(content.b)
            buffer += key
            buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            count += 1
            if buffer.count >= 1 << 20 { try drain() }
        }

        private func drain() throws {
            var off = 0
            while off < buffer.count {
                let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Failure(
                        "cannot write \(partial): \(Files.errnoText())",
                        hint: "check the state directory's space and permissions")
                }
                off += n
            }
            buffer.removeAll(keepingCapacity: true)
        }

        /// Ends the record (trailer, fsync) and renames it over the old one.
        package func commit() throws {
            withUnsafeBytes(of: SyncRecord.trailerMark.littleEndian) { buffer += $0 }
            withUnsafeBytes(of: count.littleEndian) { buffer += $0 }
            buffer += digest.finish()
            try drain()
            guard fsync(fd) == 0 else { throw Failure("cannot fsync \(partial): \(Files.errnoText())") }
            close(fd)
            fd = -1
            guard rename(partial, path) == 0 else {
                throw Failure("cannot rename \(partial) to \(path): \(Files.errnoText())")
            }
            committed = true
            Files.syncDirectory(Files.directory(of: path))
        }
    }

    /// Removes the half-written records a killed run left in `directory` (they hold the table's keys);
    /// run at start. Returns what it removed.
    package static func removePartials(in directory: String) -> [String] {
        var removed: [String] = []
        for name in Files.list(directory) where name.hasSuffix(".sync.partial") {
            if unlink("\(directory)/\(name)") == 0 { removed.append("\(directory)/\(name)") }
        }
        return removed
    }

    /// Moves a damaged record aside (`<path>.damaged-<unix time>`), kept for a look; returns where.
    package static func quarantine(_ path: String) -> String? {
        let to = "\(path).damaged-\(Int(Date().timeIntervalSince1970))"
        return rename(path, to) == 0 ? to : nil
    }
}

/// SHA-256 kept in a class, so a struct can hold it (Digest is noncopyable).
final class Hasher256 {
    private var digest = Digest(.sha256)
    func update(_ bytes: UnsafeRawBufferPointer) { digest.update(bytes) }
    func finish() -> [UInt8] { digest.finalize() }
}

extension Array where Element == UInt8 {
    fileprivate func firstIndex(of byte: UInt8, after start: Int) -> Int? {
        guard start < count else { return nil }
        return self[start...].firstIndex(of: byte)
    }
}

/// The previous run's record in memory, for a sync: each key's hash with its item's hash, and whether
/// the new dump has the key. 25 bytes a slot, at most half full (50 to 100 bytes a key); the keys
/// themselves stay on disk and are read again only for the deletes.
package struct SyncBaseline: Sendable {
    package enum Change { case added, changed, unchanged }

    package let path: String
    package let header: SyncRecord.Header
    /// SHA-256 of the record (hex): a checkpoint of a sync is bound to the record it compared with.
    package let checksum: String
    package let count: Int64
    private var a: [UInt64]
    private var b: [UInt64]
    private var content: [UInt64]
    /// 0 empty, 1 in the record, 2 also in the new dump.
    private var state: [UInt8]
    private var mask: Int
    package private(set) var seen: Int64 = 0

    /// Reads and checks the record at `path`.
    package static func load(_ path: String) throws -> SyncBaseline {
        var entries: [(UInt64, UInt64, UInt64)] = []
        var parser = SyncRecord.Parser()
        try LocalFiles.stream(path) { chunk in
            try parser.feed(chunk) { e in entries.append((e.keyHash.a, e.keyHash.b, e.content.a ^ e.content.b)) }
        }
        try parser.finish()
        return SyncBaseline(
            path: path, header: parser.header!, checksum: parser.checksum, entries: entries)
    }

    init(path: String, header: SyncRecord.Header, checksum: String, entries: [(UInt64, UInt64, UInt64)]) {
        self.path = path
        self.header = header
        self.checksum = checksum
        count = Int64(entries.count)
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        a = Array(repeating: 0, count: capacity)
        b = a
        content = a
        state = Array(repeating: 0, count: capacity)
        mask = capacity - 1
        for (x, y, c) in entries {
            var i = Int(truncatingIfNeeded: x) & mask
            while state[i] != 0 {
                if a[i] == x && b[i] == y { break }
                i = (i + 1) & mask
            }
            (a[i], b[i], content[i], state[i]) = (x, y, c, 1)
        }
    }

    private func slot(_ k: ScenarioTransform.KeyHash) -> Int? {
        var i = Int(truncatingIfNeeded: k.a) & mask
        while state[i] != 0 {
            if a[i] == k.a && b[i] == k.b { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    /// What the new dump's item is against the record; the key counts as seen.
    package mutating func classify(_ key: ScenarioTransform.KeyHash, content item: ScenarioTransform.KeyHash) -> Change
    {
        guard let i = slot(key) else { return .added }
        if state[i] == 1 {
            state[i] = 2
            seen += 1
        }
        return content[i] == item.a ^ item.b ? .unchanged : .changed
    }

    /// Keys of the record the new dump does not have.
    package var unseen: Int64 { count - seen }

    /// Reads the record again and calls `body` with each entry whose key the new dump does not have;
    /// the record must be the one loaded (same checksum), checked before this returns.
    package func forEachUnseen(_ body: (SyncRecord.Entry) throws -> Void) throws {
        var parser = SyncRecord.Parser()
        try LocalFiles.stream(path) { chunk in
            try parser.feed(chunk) { e in
                if let i = slot(e.keyHash), state[i] == 1 { try body(e) }
            }
        }
        try parser.finish()
        guard parser.checksum == checksum else {
            throw SyncRecord.Damaged(reason: "\(path) changed while the sync ran")
        }
    }
}
