import CHiredis

/// A Redis reply (RESP2).
public enum RESPValue: Sendable, Equatable {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case null
    case array([RESPValue])

    package var string: String? {
        switch self {
        case .status(let s): s
        case .bulk(let b): String(decoding: b, as: UTF8.self)
        case .integer(let i): String(i)
        default: nil
        }
    }

    package var int: Int64? {
        switch self {
        case .integer(let i): i
        case .bulk(let b): Int64(String(decoding: b, as: UTF8.self))
        case .status(let s): Int64(s)
        default: nil
        }
    }

    package var array: [RESPValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    package var isError: Bool {
        if case .error = self { return true }
        return false
    }
}

/// hiredis's reply parser, fed with whatever bytes the transport read. Arrays declaring more than
/// 1 Mi elements are refused (hiredis would allocate room for them up front).
/// Any input is safe to feed (it has a fuzz target); a protocol error is sticky.
public final class RESPReader {
    private let reader: UnsafeMutablePointer<redisReader>

    public struct ProtocolError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init() {
        reader = whatif_redisReaderCreate()
    }

    deinit { redisReaderFree(reader) }

    public func feed(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count) != REDIS_OK {
            throw ProtocolError(description: errorText)
        }
    }

    /// The next complete reply, or nil when more bytes are needed.
    public func next() throws(ProtocolError) -> RESPValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
            throw ProtocolError(description: errorText)
        }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    private var errorText: String {
        withUnsafeBytes(of: reader.pointee.errstr) { raw in
            "Redis protocol error: " + String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    static func convert(_ r: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let reply = r.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(reply.str, reply.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(reply.str, reply.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(reply.str, reply.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(reply.integer)
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var items: [RESPValue] = []
            items.reserveCapacity(reply.elements)
            for i in 0..<reply.elements {
                if let e = reply.element[i] { items.append(convert(e)) } else { items.append(.null) }
            }
            return .array(items)
        default:
            return .error("unknown reply type \(reply.type)")
        }
    }

    private static func bytes(_ p: UnsafeMutablePointer<CChar>?, _ len: Int) -> [UInt8] {
        guard let p, len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: len))
    }
}

/// hiredis's command formatter: an argument vector in, RESP bytes out (binary-safe).
package enum RESPFormatter {
    package static func format(_ args: [[UInt8]]) -> [UInt8] {
        var target: UnsafeMutablePointer<CChar>?
        let lengths = args.map { $0.count }
        // Keep every argument's storage alive while hiredis reads it.
        let storage = args.map { arg -> UnsafeMutablePointer<CChar> in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(arg.count, 1))
            arg.withUnsafeBytes { raw in
                if let base = raw.baseAddress {
                    UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: arg.count)
                }
            }
            return p
        }
        defer { for p in storage { p.deallocate() } }
        var argvArray = storage.map { UnsafePointer($0) as UnsafePointer<CChar>? }
        let n = argvArray.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { lens in
                redisFormatCommandArgv(&target, Int32(args.count), argv.baseAddress, lens.baseAddress)
            }
        }
        guard n > 0, let target else { return [] }
        defer { redisFreeCommand(target) }
        return Array(UnsafeRawBufferPointer(start: target, count: Int(n)))
    }

    package static func format(_ args: [String]) -> [UInt8] {
        format(args.map { Array($0.utf8) })
    }
}
