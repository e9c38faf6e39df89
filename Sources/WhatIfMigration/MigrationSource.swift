import WhatIfCore
import WhatIfJSON

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A source document: BSON bytes (Extended JSON is converted first) and where it came from.
package struct SourceDocument {
    package var bytes: UnsafeRawBufferPointer
    /// 0-based, counting only documents that were read (not skipped bad ones).
    package var index: Int
    /// Byte offset in the (decompressed) file for BSON and JSON arrays, the line number for JSON lines.
    package var position: Int64
}

/// A file that cannot be read as its format, at a place the message names.
package struct SourceError: OperatorError, Sendable {
    package var message: String
    package var hint: String?
}

/// mongodump output (`.bson`, `.bson.gz`, a dump folder) or mongoexport output (Extended JSON, one
/// document per line or a `--jsonArray` array; either may be gzipped), read streaming.
package final class MigrationSource: Sendable {
    package enum Format: String, Sendable, Codable {
        case bson
        case jsonLines = "json-lines"
        case jsonArray = "json-array"
    }

    package let path: String
    package let format: Format
    package let gzipped: Bool
    /// From the dump's `<collection>.metadata.json`, when there is one.
    package let collection: String?
    package let size: Int64

    package init(path given: String, jsonArray: Bool = false) throws {
        var path = given
        var collection: String?
        if Files.isDirectory(given) {
            let found = Self.dumpFiles(given)
            guard !found.isEmpty else {
                throw SourceError(
                    message: "\(given) is a folder with no .bson or .bson.gz file",
                    hint: "pass mongodump's output folder, or the collection's .bson file")
            }
            let scenarios = found.filter { Self.baseName($0) == "scenarios" }
            if found.count == 1 {
                path = found[0]
            } else if scenarios.count == 1 {
                path = scenarios[0]
            } else {
                throw SourceError(
                    message: "\(given) holds several collections: \(found.joined(separator: ", "))",
                    hint: "pass the scenarios collection's file")
            }
        }
        guard Files.exists(path) else {
            throw SourceError(
                message: "\(path) does not exist", hint: "pass the path of a mongodump or mongoexport file")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SourceError(
                message: "cannot open \(path): \(Files.errnoText())",
                hint: "whatifd reads the file itself: it must be readable by the agent's user")
        }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        size = Int64(st.st_size)
        var head = [UInt8](repeating: 0, count: 4096)
        let n = Glibc.read(fd, &head, head.count)
        head = Array(head.prefix(max(0, n)))
        gzipped = head.count >= 2 && head[0] == 0x1F && head[1] == 0x8B
        var sample = head
        if gzipped {
            var out: [UInt8] = []
            if let r = try? GzipReader(limit: 1 << 20, sink: { out += $0 }) {
                try? r.write(head)
                sample = out
            }
        }
        let lower = path.lowercased()
        if lower.hasSuffix(".bson") || lower.hasSuffix(".bson.gz") {
            format = .bson
        } else if jsonArray {
            format = .jsonArray
        } else if let first = sample.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) {
            format = first == UInt8(ascii: "[") ? .jsonArray : first == UInt8(ascii: "{") ? .jsonLines : .bson
        } else {
            format = .jsonLines
        }
        let base = Self.baseName(path)
        let meta = Files.directory(of: path) + "/" + base + ".metadata.json"
        if let bytes = try? Files.read(meta, limit: 1 << 20),
            let v = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        {
            collection = v["collectionName"]?.stringValue ?? base
        }
        self.path = path
        self.collection = collection
    }

    static func baseName(_ path: String) -> String {
        var name = String(path.split(separator: "/").last ?? "")
        for suffix in [".gz", ".bson", ".json"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name
    }

    static func dumpFiles(_ dir: String, depth: Int = 0) -> [String] {
        var out: [String] = []
        for name in Files.list(dir).sorted() {
            let p = dir + "/" + name
            if Files.isDirectory(p) {
                if depth < 2 { out += dumpFiles(p, depth: depth + 1) }
            } else if name.hasSuffix(".bson") || name.hasSuffix(".bson.gz") {
                out.append(p)
            }
        }
        return out
    }

    /// What the read skipped (with `skipBad`), each with its place.
    package struct Skipped: Sendable, Codable, Equatable {
        package var position: String
        package var reason: String
    }

    /// Calls `body` for every document in order, from a 1 MiB read buffer. A malformed document stops
    /// the read with its place, unless `skipBad`, which records it and goes on. `skipped` gets each skip
    /// as it happens (so a caller can write it down before the next document).
    package func read(
        skipBad: Bool, skipped: (Skipped) throws -> Void = { _ in }, _ body: (SourceDocument) throws -> Void
    ) throws {
        try withoutActuallyEscaping(body) { body in
            try withoutActuallyEscaping(skipped) { skipped in
                let sink = try Sink(format: format, skipBad: skipBad, path: path, body: body, skipped: skipped)
                let gunzip = gzipped ? try GzipReader(limit: 1 << 42) { try sink.push($0) } : nil
                try LocalFiles.stream(path) { chunk in
                    guard let gunzip else { return try sink.push(chunk) }
                    do { try gunzip.write(chunk) } catch let e as GzipError {
                        throw SourceError(
                            message: "\(path) is not a readable gzip file: \(e.message)",
                            hint: "check the file (gzip -t)")
                    }
                }
                if let gunzip {
                    do { try gunzip.finish() } catch let e as GzipError {
                        throw SourceError(
                            message: "\(path) ends inside its gzip stream: \(e.message)",
                            hint: "the file is truncated: copy it again")
                    }
                }
                try sink.finish()
            }
        }
    }

    /// Turns bytes into documents for one format.
    final class Sink {
        let format: Format
        let skipBad: Bool
        let path: String
        let body: (SourceDocument) throws -> Void
        let skipped: (Skipped) throws -> Void
        var bson: BSONSplitter
        var index = 0
        var reported = 0
        // JSON lines / array state.
        var line: [UInt8] = []
        var lineNumber: Int64 = 0
        var offset: Int64 = 0
        var elementStart: Int64 = 0
        var depth = 0
        var inString = false
        var escaped = false
        var arrayState = 0  // 0 before '[', 1 in the array, 2 after ']'
        var writer = BSONWriter()

        init(
            format: Format, skipBad: Bool, path: String, body: @escaping (SourceDocument) throws -> Void,
            skipped: @escaping (Skipped) throws -> Void
        ) throws {
            self.format = format
            self.skipBad = skipBad
            self.path = path
            self.body = body
            self.skipped = skipped
            bson = BSONSplitter(skipBad: skipBad)
        }

        func push(_ chunk: UnsafeRawBufferPointer) throws {
            switch format {
            case .bson:
                do {
                    try bson.push(chunk) { doc, at in try emitBSON(doc, at) }
                } catch let e as BSONError { throw bsonFailure(e) }
                try reportSkips()
            case .jsonLines:
                for c in chunk {
                    if c == 0x0A {
                        lineNumber += 1
                        try jsonLine()
                        line.removeAll(keepingCapacity: true)
                    } else {
                        line.append(c)
                    }
                }
            case .jsonArray:
                try arrayBytes(chunk)
            }
        }

        func finish() throws {
            switch format {
            case .bson:
                do { try bson.finish { doc, at in try emitBSON(doc, at) } } catch let e as BSONError {
                    throw bsonFailure(e)
                }
                try reportSkips(final: true)
            case .jsonLines:
                if !line.isEmpty {
                    lineNumber += 1
                    try jsonLine()
                }
            case .jsonArray:
                if arrayState == 1 {
                    let e = SourceError(
                        message: "\(path): the JSON array ends at byte \(offset) without its ']' (truncated?)",
                        hint: "export again, or pass --skip-bad to migrate the whole documents before it")
                    guard skipBad else { throw e }
                    try skipped(Skipped(position: "byte \(elementStart)", reason: "the array is cut short"))
                } else if arrayState == 0 {
                    throw SourceError(message: "\(path): no JSON array", hint: "mongoexport --jsonArray writes one")
                }
            }
        }

        func emitBSON(_ doc: UnsafeRawBufferPointer, _ at: Int64) throws {
            try body(SourceDocument(bytes: doc, index: index, position: at))
            index += 1
        }

        func bsonFailure(_ e: BSONError) -> SourceError {
            SourceError(
                message: "\(path): \(e.description)",
                hint:
                    "the documents before byte \(e.offset) were handled; repair the dump, or pass --skip-bad to skip what cannot be read"
            )
        }

        func reportSkips(final: Bool = false) throws {
            let ready = bson.skipped.count - (!final && bson.lastSkipMayGrow ? 1 : 0)
            while reported < ready {
                let e = bson.skipped[reported]
                reported += 1
                try skipped(Skipped(position: "byte \(e.offset)", reason: e.reason))
            }
        }

        func jsonLine() throws {
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }
            do {
                try ExtendedJSON.toBSON(line, into: &writer)
            } catch {
                guard skipBad else {
                    throw SourceError(
                        message: "\(path) line \(lineNumber), \(error.description)",
                        hint:
                            "the lines before it were handled; repair the line, or pass --skip-bad to skip lines that cannot be read"
                    )
                }
                try skipped(Skipped(position: "line \(lineNumber)", reason: error.description))
                return
            }
            try writer.bytes.withUnsafeBytes { try body(SourceDocument(bytes: $0, index: index, position: lineNumber)) }
            index += 1
        }

        /// A streaming splitter for `[ {…}, {…} ]`: tracks depth and strings, hands each element on.
        func arrayBytes(_ chunk: UnsafeRawBufferPointer) throws {
            for c in chunk {
                defer { offset += 1 }
                if arrayState == 0 {
                    if c == UInt8(ascii: "[") {
                        arrayState = 1
                        elementStart = offset + 1
                    } else if !(c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09) {
                        throw SourceError(
                            message: "\(path): byte \(offset) is not the '[' of a JSON array",
                            hint: "pass a mongoexport --jsonArray file, or one document per line")
                    }
                    continue
                }
                if arrayState == 2 {
                    guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else {
                        throw SourceError(message: "\(path): text after the array at byte \(offset)", hint: nil)
                    }
                    continue
                }
                if inString {
                    line.append(c)
                    if escaped {
                        escaped = false
                    } else if c == UInt8(ascii: "\\") {
                        escaped = true
                    } else if c == UInt8(ascii: "\"") {
                        inString = false
                    }
                    continue
                }
                switch c {
                case UInt8(ascii: "\""):
                    inString = true
                    line.append(c)
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    line.append(c)
                case UInt8(ascii: "}") where depth > 0, UInt8(ascii: "]") where depth > 0:
                    depth -= 1
                    line.append(c)
                case UInt8(ascii: ",") where depth == 0, UInt8(ascii: "]") where depth == 0:
                    if c == UInt8(ascii: "]") { arrayState = 2 }
                    try arrayElement()
                    elementStart = offset + 1
                default:
                    if line.isEmpty && (c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09) {
                        elementStart = offset + 1
                    } else {
                        line.append(c)
                    }
                }
            }
        }

        func arrayElement() throws {
            defer { line.removeAll(keepingCapacity: true) }
            guard line.contains(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) else { return }
            do {
                try ExtendedJSON.toBSON(line, into: &writer)
            } catch {
                let at = elementStart + Int64(error.column - 1)
                guard skipBad else {
                    throw SourceError(
                        message: "\(path) byte \(at) (array element \(index + 1)): \(error.reason)",
                        hint: "repair the file, or pass --skip-bad to skip elements that cannot be read")
                }
                try skipped(Skipped(position: "byte \(at)", reason: error.reason))
                return
            }
            try writer.bytes.withUnsafeBytes {
                try body(SourceDocument(bytes: $0, index: index, position: elementStart))
            }
            index += 1
        }
    }
}
