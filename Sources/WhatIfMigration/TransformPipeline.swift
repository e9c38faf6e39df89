import WhatIfCore

/// The migration's read → transform → consume as a pipeline on every core: the calling thread reads
/// and splits the source into chunks of documents (copied out of the read buffer), `threads` workers
/// transform the chunks (the costly part: BSON walk, DynamoDB JSON, the content hash), and the calling
/// thread consumes each chunk's results strictly in source order (duplicates, rejects, batches and
/// checkpoints stay sequential, so the first document of a key is still the one kept). At most
/// `window` chunks are in flight, so memory is bounded whatever the dump's size.
final class TransformPipeline {
    /// What the transform made of one document.
    enum Outcome {
        /// `request` is the whole `{"PutRequest":{"Item":…}}` in the chunk's output; `content` hashes the
        /// item alone (what the sync record compares).
        /// `digest` is what the pipeline's `digest` step made of the item's JSON (nil without one).
        case item(ScenarioTransform.Item, request: Range<Int>, content: ScenarioTransform.KeyHash, digest: [UInt8]?)
        case reject(Reject)
        case malformed(BSONError)
        /// Neither a reject nor damage (the transform throws no other error today): the run stops with
        /// it rather than count the document as rejected.
        case failed(any Error)
    }

    final class Chunk: @unchecked Sendable {
        var docs: [UInt8] = []
        var spans: [(range: Range<Int>, position: Int64)] = []
        var out: [UInt8] = []
        var outcomes: [Outcome] = []
        let done = CountdownLatch(1)
        init(capacity: Int) {
            docs.reserveCapacity(capacity)
            out.reserveCapacity(capacity * 2)
        }
    }

    static let prefix = Array(#"{"PutRequest":{"Item":"#.utf8)

    let transform: ScenarioTransform
    /// Run on the workers for each item, on its DynamoDB JSON (`{"scenarioId":{"S":…},…}`): verify's
    /// structural digest, costly enough to want both cores. An error stops the run (`.failed`).
    let digest: (@Sendable (UnsafeRawBufferPointer) throws -> [UInt8])?
    let threads: Int
    let window: Int
    let chunkBytes: Int
    let chunkDocuments: Int

    init(
        transform: ScenarioTransform, threads: Int = Threads.cores, window: Int? = nil, chunkBytes: Int = 512 << 10,
        chunkDocuments: Int = 1024, digest: (@Sendable (UnsafeRawBufferPointer) throws -> [UInt8])? = nil
    ) {
        self.transform = transform
        self.digest = digest
        self.threads = max(1, threads)
        self.window = window ?? max(2, 2 * max(1, threads))
        self.chunkBytes = chunkBytes
        self.chunkDocuments = chunkDocuments
    }

    /// Transforms every document of a chunk (on a worker).
    static func work(
        _ c: Chunk, _ transform: ScenarioTransform, digest: (@Sendable (UnsafeRawBufferPointer) throws -> [UInt8])?
    ) {
        c.outcomes.reserveCapacity(c.spans.count)
        c.docs.withUnsafeBytes { all in
            for span in c.spans {
                let doc = UnsafeRawBufferPointer(rebasing: all[span.range])
                let start = c.out.count
                c.out += prefix
                do {
                    let item = try transform.transform(doc, base: span.position, into: &c.out)
                    let (content, made) = try c.out.withUnsafeBytes { all in
                        let json = UnsafeRawBufferPointer(rebasing: all[(start + prefix.count)...])
                        return (ScenarioTransform.KeyHash(json), try digest?(json))
                    }
                    c.out.append(UInt8(ascii: "}"))
                    c.out.append(UInt8(ascii: "}"))
                    c.outcomes.append(.item(item, request: start..<c.out.count, content: content, digest: made))
                } catch let r as Reject {
                    c.out.removeSubrange(start...)
                    c.outcomes.append(.reject(r))
                } catch let e as BSONError {
                    c.out.removeSubrange(start...)
                    c.outcomes.append(.malformed(e))
                } catch {
                    c.out.removeSubrange(start...)
                    c.outcomes.append(.failed(error))
                }
            }
        }
    }

    /// Reads `source`, transforms on the workers and calls `consume` for each document in order with
    /// its bytes, position, outcome and the chunk output the outcome's ranges point into. A read error
    /// (a malformed file) is thrown after every document before it was consumed; an error thrown by
    /// `consume` stops the read and is thrown.
    func run(
        _ source: MigrationSource, skipBad: Bool, skipped: (MigrationSource.Skipped) throws -> Void,
        consume: (SourceDocument, Outcome, [UInt8]) throws -> Void
    ) throws {
        let queue = BlockingQueue<Chunk>(capacity: window)
        let transform = self.transform
        let digest = self.digest
        let workers = (0..<threads).map { _ in
            Threads.start {
                while let c = queue.take() {
                    Self.work(c, transform, digest: digest)
                    c.done.countDown()
                }
            }
        }
        defer {
            queue.close()
            for w in workers { w.join() }
        }
        var pending: [Chunk] = []
        var head = 0
        var consumed = 0
        func drainOne() throws {
            let c = pending[head]
            pending[head] = Chunk(capacity: 0)
            head += 1
            if head > 64 {
                pending.removeFirst(head)
                head = 0
            }
            _ = c.done.wait(seconds: .infinity)
            try c.docs.withUnsafeBytes { all in
                for (i, span) in c.spans.enumerated() {
                    let doc = SourceDocument(
                        bytes: UnsafeRawBufferPointer(rebasing: all[span.range]), index: consumed,
                        position: span.position)
                    consumed += 1
                    try consume(doc, c.outcomes[i], c.out)
                }
            }
        }
        var current = Chunk(capacity: chunkBytes)
        func submit() throws {
            guard !current.spans.isEmpty else { return }
            pending.append(current)
            queue.put(current)
            current = Chunk(capacity: chunkBytes)
            while pending.count - head >= window { try drainOne() }
        }
        do {
            try source.read(skipBad: skipBad, skipped: skipped) { doc in
                let start = current.docs.count
                current.docs.append(contentsOf: doc.bytes)
                current.spans.append((start..<current.docs.count, doc.position))
                if current.docs.count >= chunkBytes || current.spans.count >= chunkDocuments { try submit() }
            }
        } catch let e as SourceError {
            // The documents before the damage are consumed first, as a sequential read would have.
            try submit()
            while head < pending.count { try drainOne() }
            throw e
        }
        try submit()
        while head < pending.count { try drainOne() }
    }
}
