import CZlib

/// gzip (RFC 1952) through zlib, streaming in both directions.
package struct GzipError: OperatorError, Sendable {
    package var message: String
    package var hint: String? { nil }
    init(_ message: String) { self.message = message }
}

/// Compresses bytes into one gzip member; compressed output goes to `sink` in chunks.
package final class GzipWriter {
    private var stream = z_stream()
    private var out = [UInt8](repeating: 0, count: 256 << 10)
    private let sink: ([UInt8]) throws -> Void
    private var finished = false
    package private(set) var inputBytes: Int64 = 0

    package init(level: Int32 = 6, sink: @escaping ([UInt8]) throws -> Void) throws(GzipError) {
        self.sink = sink
        guard whatif_deflate_init_gzip(&stream, level) == Z_OK else { throw GzipError("cannot start gzip") }
    }

    deinit { deflateEnd(&stream) }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        inputBytes += Int64(bytes.count)
        stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(bytes.count)
        try pump(flush: Z_NO_FLUSH)
    }

    package func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Ends the member (writes the trailer).
    package func finish() throws {
        guard !finished else { return }
        finished = true
        stream.next_in = nil
        stream.avail_in = 0
        try pump(flush: Z_FINISH)
    }

    private func pump(flush: Int32) throws {
        while true {
            let rc = out.withUnsafeMutableBytes { buf -> Int32 in
                stream.next_out = buf.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(buf.count)
                return deflate(&stream, flush)
            }
            let produced = out.count - Int(stream.avail_out)
            if produced > 0 { try sink(Array(out[0..<produced])) }
            if rc == Z_STREAM_END { return }
            guard rc == Z_OK || rc == Z_BUF_ERROR else { throw GzipError("gzip failed (zlib \(rc))") }
            // Without flushing, stop once the input is used up and deflate had room to spare.
            if flush == Z_NO_FLUSH && stream.avail_in == 0 && stream.avail_out > 0 { return }
        }
    }
}

/// Decompresses gzip (one or more members, as `cat a.gz b.gz` makes) fed in chunks.
public final class GzipReader {
    private var stream = z_stream()
    private var out = [UInt8](repeating: 0, count: 256 << 10)
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private var atMemberEnd = true
    private var sawInput = false
    /// The most decompressed bytes accepted (a guard against decompression bombs).
    private let limit: Int64
    package private(set) var outputBytes: Int64 = 0

    package init(limit: Int64 = 1 << 40, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws(GzipError) {
        self.sink = sink
        self.limit = limit
        guard whatif_inflate_init_gzip(&stream) == Z_OK else { throw GzipError("cannot start gunzip") }
    }

    deinit { inflateEnd(&stream) }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        sawInput = true
        stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(bytes.count)
        while stream.avail_in > 0 {
            atMemberEnd = false
            let rc = out.withUnsafeMutableBytes { buf -> Int32 in
                stream.next_out = buf.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(buf.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            let produced = out.count - Int(stream.avail_out)
            if produced > 0 {
                outputBytes += Int64(produced)
                if outputBytes > limit { throw GzipError("decompresses to more than \(limit) bytes") }
                try out.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
            }
            switch rc {
            case Z_STREAM_END:
                atMemberEnd = true
                guard inflateReset(&stream) == Z_OK else { throw GzipError("cannot reset gunzip") }
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                return
            case Z_DATA_ERROR:
                throw GzipError("not gzip data, or corrupt: \(stream.msg.map { String(cString: $0) } ?? "data error")")
            default:
                throw GzipError("gunzip failed (zlib \(rc))")
            }
        }
    }

    package func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Checks that the input ended at the end of a member (a truncated file is an error).
    package func finish() throws {
        if sawInput && !atMemberEnd { throw GzipError("the gzip data is truncated") }
        if !sawInput { throw GzipError("the file is empty, not gzip data") }
    }

    /// Decompresses a whole buffer.
    public static func decompress(_ bytes: [UInt8], limit: Int64 = 1 << 32) throws -> [UInt8] {
        var out: [UInt8] = []
        let r = try GzipReader(limit: limit) { out.append(contentsOf: $0) }
        try r.write(bytes)
        try r.finish()
        return out
    }
}

extension GzipWriter {
    /// Compresses a whole buffer.
    package static func compress(_ bytes: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var out: [UInt8] = []
        let w = try GzipWriter(level: level) { out += $0 }
        try w.write(bytes)
        try w.finish()
        return out
    }
}
