/// An incremental HTTP/1.1 response parser: status line, headers, and a body framed by
/// Content-Length, chunked transfer coding, or the end of the connection.
/// Strict where it matters (sizes, framing) and fed any bytes without crashing (it has a fuzz target).
public struct HTTPResponseParser: Sendable {
    /// A response's status line and headers.
    public struct Head: Sendable, Equatable {
        /// The status code.
        public var status: Int
        /// The reason phrase.
        public var reason: String
        /// Header names lower-cased, in arrival order.
        public var headers: [(name: String, value: String)]

        /// The first value of a header, by name in any case.
        public func header(_ name: String) -> String? {
            let n = name.lowercased()
            return headers.first(where: { $0.name == n })?.value
        }

        /// Equal status, reason and headers.
        public static func == (a: Head, b: Head) -> Bool {
            a.status == b.status && a.reason == b.reason
                && a.headers.map { "\($0.name):\($0.value)" }
                    == b.headers.map { "\($0.name):\($0.value)" }
        }
    }

    /// What the parser found in the bytes fed to it, in order.
    public enum Event: Sendable, Equatable {
        case head(Head)
        case body([UInt8])
        case end
    }

    /// An answer that is not HTTP/1.1 as the agent writes it.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What was wrong, and where.
        public var description: String
    }

    private enum Framing: Equatable {
        case length(Int)
        case chunked
        case untilClose
        case none
    }

    private enum State: Equatable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case done
    }

    /// A longer status line and headers is an error (a runaway peer).
    public let maxHeadBytes: Int
    private var buffer: [UInt8] = []
    /// Read cursor into `buffer`: bytes before it are consumed.
    private var pos = 0
    private var state: State = .head
    /// The request method, so that responses to HEAD carry no body.
    private let isHeadRequest: Bool

    /// A parser for one response (`isHeadRequest`: an answer to HEAD has no body).
    public init(maxHeadBytes: Int = 64 * 1024, isHeadRequest: Bool = false) {
        self.maxHeadBytes = maxHeadBytes
        self.isHeadRequest = isHeadRequest
    }

    /// True once the whole response has been read.
    public var isComplete: Bool { state == .done }

    /// Feeds bytes; returns the events they complete. After `.end`, further bytes are an error
    /// unless the caller starts a new parser for the next response on the connection.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(ParseError) -> [Event] {
        if pos > 0, pos >= buffer.count / 2 {
            buffer.removeFirst(pos)
            pos = 0
        }
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        while true {
            switch state {
            case .head:
                guard let end = findCRLFCRLF() else {
                    if available > maxHeadBytes {
                        throw ParseError(description: "response head over \(maxHeadBytes) bytes")
                    }
                    return events
                }
                if end - pos > maxHeadBytes {
                    throw ParseError(description: "response head over \(maxHeadBytes) bytes")
                }
                let head = try parseHead(Array(buffer[pos..<end]))
                pos = end + 4
                events.append(.head(head))
                switch try framing(for: head) {
                case .none:
                    state = .done
                case .length(let n):
                    state = n == 0 ? .done : .fixedBody(remaining: n)
                case .chunked:
                    state = .chunkSize
                case .untilClose:
                    state = .untilClose
                }
                if state == .done { events.append(.end) }
            case .fixedBody(let remaining):
                if available == 0 { return events }
                let n = min(remaining, available)
                events.append(.body(Array(buffer[pos..<(pos + n)])))
                pos += n
                if remaining - n == 0 {
                    state = .done
                    events.append(.end)
                } else {
                    state = .fixedBody(remaining: remaining - n)
                }
            case .chunkSize:
                guard let lineEnd = findCRLF() else {
                    if available > 1024 { throw ParseError(description: "chunk size line too long") }
                    return events
                }
                let line = buffer[pos..<lineEnd]
                let sizePart = line.prefix(while: { $0 != UInt8(ascii: ";") })
                guard !sizePart.isEmpty, sizePart.count <= 15 else { throw ParseError(description: "bad chunk size") }
                var size = 0
                for c in sizePart {
                    guard let d = hexDigit(c) else { throw ParseError(description: "bad chunk size") }
                    size = size * 16 + d
                }
                pos = lineEnd + 2
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                if available == 0 { return events }
                let n = min(remaining, available)
                events.append(.body(Array(buffer[pos..<(pos + n)])))
                pos += n
                state = remaining - n == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            case .chunkDataEnd:
                if available < 2 { return events }
                guard buffer[pos] == 13, buffer[pos + 1] == 10 else {
                    throw ParseError(description: "chunk not followed by CRLF")
                }
                pos += 2
                state = .chunkSize
            case .trailers:
                guard let lineEnd = findCRLF() else {
                    if available > maxHeadBytes { throw ParseError(description: "trailers too long") }
                    return events
                }
                let empty = lineEnd == pos
                pos = lineEnd + 2
                if empty {
                    state = .done
                    events.append(.end)
                }
            case .untilClose:
                if available > 0 {
                    events.append(.body(Array(buffer[pos...])))
                    pos = buffer.count
                }
                return events
            case .done:
                if available > 0 { throw ParseError(description: "unexpected bytes after the response") }
                return events
            }
        }
    }

    /// The connection closed. Completes a body framed by the close; anything else is truncated.
    public mutating func finish() throws(ParseError) -> [Event] {
        switch state {
        case .untilClose:
            state = .done
            return [.end]
        case .done:
            return []
        case .head where available == 0:
            throw ParseError(description: "connection closed before a response")
        default:
            throw ParseError(description: "connection closed in the middle of a response")
        }
    }

    private var available: Int { buffer.count - pos }

    private func findCRLFCRLF() -> Int? {
        guard available >= 4 else { return nil }
        var i = pos
        while i + 3 < buffer.count {
            if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }

    private func findCRLF() -> Int? {
        guard available >= 2 else { return nil }
        var i = pos
        while i + 1 < buffer.count {
            if buffer[i] == 13, buffer[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    private func hexDigit(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: Int(c - 48)
        case 65...70: Int(c - 55)
        case 97...102: Int(c - 87)
        default: nil
        }
    }

    private func parseHead(_ bytes: [UInt8]) throws(ParseError) -> Head {
        var lines = bytes.split(separator: 10, omittingEmptySubsequences: false).map { line -> ArraySlice<UInt8> in
            line.last == 13 ? line.dropLast() : line
        }
        guard !lines.isEmpty else { throw ParseError(description: "empty response head") }
        let statusLine = lines.removeFirst()
        // HTTP/1.x SP 3DIGIT SP reason
        guard statusLine.count >= 12, statusLine.starts(with: Array("HTTP/1.".utf8)),
            statusLine[statusLine.startIndex + 8] == 32
        else { throw ParseError(description: "bad status line") }
        let codeBytes = statusLine.dropFirst(9).prefix(3)
        guard codeBytes.count == 3, codeBytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw ParseError(description: "bad status code")
        }
        let status = codeBytes.reduce(0) { $0 * 10 + Int($1 - 48) }
        guard (100...599).contains(status) else { throw ParseError(description: "bad status code") }
        let reason = String(decoding: statusLine.dropFirst(13), as: UTF8.self)
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: 58), colon > line.startIndex else {
                throw ParseError(description: "bad header line")
            }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self)
            guard name.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                throw ParseError(description: "bad header name")
            }
            let value = String(decoding: line[line.index(after: colon)...], as: UTF8.self)
                .trimmingCharacters(in: " \t")
            headers.append((name.lowercased(), value))
        }
        return Head(status: status, reason: reason, headers: headers)
    }

    private func framing(for head: Head) throws(ParseError) -> Framing {
        if isHeadRequest || head.status == 204 || head.status == 304 || (100..<200).contains(head.status) {
            return .none
        }
        if let te = head.header("transfer-encoding") {
            guard te.lowercased() == "chunked" else {
                throw ParseError(description: "unsupported transfer-encoding \(te)")
            }
            return .chunked
        }
        let lengths = head.headers.filter { $0.name == "content-length" }
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0.value == first.value }), !first.value.isEmpty, first.value.count < 16,
                first.value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(first.value)
            else { throw ParseError(description: "bad content-length") }
            return .length(n)
        }
        return .untilClose
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s.removeFirst() }
        while let l = s.last, chars.contains(l) { s.removeLast() }
        return String(s)
    }
}
