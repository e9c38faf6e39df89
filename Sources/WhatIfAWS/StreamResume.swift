import WhatIfHTTP

/// A GET streamed to a sink, across attempts: what the sink has had, and the ETag of the version it came
/// from. An attempt after a break mid-body asks for the rest of that version (`Range`, `If-Match`; S3
/// answers 206, or 412 when the object has changed since), so the sink never sees a byte twice: a backup
/// file read back over a flaky link is neither hashed nor restored with a stretch repeated.
package final class StreamResume {
    /// Bytes the sink has taken, over all attempts.
    private(set) var delivered: Int64 = 0
    private var etag: String?
    private var attemptStart: Int64 = 0
    /// What is read (`GetObject /bucket/key`), for errors.
    private var target = ""

    /// The call for the next attempt: once bytes were delivered, only the rest of the same version.
    func next(_ call: AWSClient.Call) -> AWSClient.Call {
        attemptStart = delivered
        target = "\(call.operation) \(call.path)"
        guard delivered > 0, let etag else { return call }
        var c = call
        c.headers += [("range", "bytes=\(delivered)-"), ("if-match", etag)]
        return c
    }

    /// A 2xx head: the first names the version; a resumed one must start at the first byte not yet had.
    func check(_ head: HTTPResponse) throws {
        guard (200..<300).contains(head.status) else { return }
        guard attemptStart > 0 else {
            etag = head.header("etag")
            return
        }
        let range = head.header("content-range") ?? ""
        guard head.status == 206, Self.start(ofContentRange: range) == attemptStart else {
            throw HTTPError(
                .aborted,
                "\(target): a read resumed at byte \(attemptStart) was answered \(head.status) \(range.isEmpty ? "without a Content-Range" : range)",
                hint:
                    "the endpoint ignored the Range request, so the read cannot go on where it broke off; run the job again"
            )
        }
    }

    func pass(_ chunk: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try sink(chunk)
        delivered += Int64(chunk.count)
    }

    /// Whether an attempt after a failure can go on: not once bytes were delivered from an answer
    /// without an ETag (the rest could come from another version).
    var canResume: Bool { delivered == 0 || etag != nil }

    /// `bytes 100-199/1000` → 100.
    package static func start(ofContentRange value: String) -> Int64? {
        guard value.hasPrefix("bytes ") else { return nil }
        return Int64(value.dropFirst(6).prefix { $0 != "-" })
    }
}
