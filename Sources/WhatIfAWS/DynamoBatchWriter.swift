import WhatIfCore

/// BatchWriteItem with parallel workers, shared by restores and migrations. Callers submit batches of
/// put requests (`{"PutRequest":{"Item":{…}}}` as JSON, any count); a worker sends them 25 at a time,
/// as DynamoDB requires, and retries UnprocessedItems and throttling/5xx answers with exponential
/// backoff and full jitter, up to `retries` rounds per request. The first failure stops everything:
/// `submit` and `finish` throw it.
package final class DynamoBatchWriter: @unchecked Sendable {
    package struct Batch: Sendable {
        package var requests: [[UInt8]]
        /// The caller's number for this batch, handed back when all of it is written.
        package var tag: Int
        /// Where the batch came from, for error messages ("file lines 1-25").
        package var origin: String
        // memberwise-init: package
    }

    package struct Counters: Sendable, Equatable {
        package var written: Int64 = 0
        package var requests: Int64 = 0
        /// Items DynamoDB returned as unprocessed and that were sent again.
        package var unprocessedRetried: Int64 = 0
        /// Requests answered with throttling or a 5xx, then retried.
        package var errorsRetried: Int64 = 0
        package init() {}
    }

    private let queue: BlockingQueue<Batch>
    private let failure = Locked<(any Error)?>(nil)
    private let counters = Locked(Counters())
    private var handles: [Threads.Handle] = []
    private let hint: String
    /// Paces the workers' requests (AIMD concurrency, a WCU budget); nil: every worker sends at will.
    package let governor: WriteGovernor?

    /// `written(count)` is called after each successful request with its item count; `done(tag)` once a
    /// whole batch is written. Both run on worker threads.
    package init(
        client: DynamoDB, table: String, workers: Int, retries: Int, queueDepth: Int = 64,
        backoff: Backoff = Backoff(base: 0.05, cap: 10, maxAttempts: 1000),
        hint: String = "the table is throttled: raise its write capacity or use fewer workers, and run again",
        governor: WriteGovernor? = nil,
        written: @escaping @Sendable (Int64) -> Void = { _ in }, done: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        queue = BlockingQueue<Batch>(capacity: queueDepth)
        self.hint = hint
        self.governor = governor
        let failure = self.failure
        let counters = self.counters
        let queue = self.queue
        let hint = self.hint
        handles = (0..<max(1, workers)).map { _ in
            Threads.start {
                while let batch = queue.take() {
                    if failure.value != nil { continue }
                    do {
                        var start = 0
                        while start < batch.requests.count {
                            let end = min(start + 25, batch.requests.count)
                            try Self.send(
                                Array(batch.requests[start..<end]), batch: batch, client: client, table: table,
                                retries: retries, backoff: backoff, hint: hint, counters: counters,
                                failure: failure, governor: governor, written: written)
                            start = end
                        }
                        if failure.value == nil { done(batch.tag) }
                    } catch {
                        failure.withLock { if $0 == nil { $0 = error } }
                    }
                }
            }
        }
    }

    static func send(
        _ requests: [[UInt8]], batch: Batch, client: DynamoDB, table: String, retries: Int, backoff: Backoff,
        hint: String, counters: Locked<Counters>, failure: Locked<(any Error)?>, governor: WriteGovernor? = nil,
        written: (Int64) -> Void
    ) throws {
        var pending = requests
        var round = 0
        while !pending.isEmpty {
            if failure.value != nil { return }
            let answer: [UInt8]
            governor?.acquire(units: pending.reduce(0) { $0 + WriteGovernor.units(bytes: $1.count) })
            do {
                counters.withLock { $0.requests += 1 }
                answer = try client.batchWriteRaw(table: table, putRequests: pending)
            } catch let e as AWSError where e.isRetryable && round < retries {
                governor?.release(throttled: true)
                round += 1
                counters.withLock { $0.errorsRetried += 1 }
                sleepThread(seconds: backoff.delay(retry: round))
                continue
            } catch {
                governor?.release(throttled: true)
                throw Failure("writing \(batch.origin): \(error)", hint: (error as? any OperatorError)?.hint)
            }
            let left: [[UInt8]]
            do { left = try RawJSON.unprocessedPuts(answer, table: table) } catch {
                governor?.release(throttled: false)
                throw Failure("BatchWriteItem's answer for \(batch.origin) is unreadable: \(error)")
            }
            // Unprocessed items are DynamoDB throttling part of a request.
            governor?.release(throttled: !left.isEmpty)
            guard left.count <= pending.count else {
                throw Failure("BatchWriteItem returned more unprocessed items than it was sent")
            }
            let done = Int64(pending.count - left.count)
            if done > 0 {
                counters.withLock { $0.written += done }
                written(done)
            }
            if left.isEmpty { return }
            round += 1
            guard round <= retries else {
                throw Failure(
                    "\(left.count) items of \(batch.origin) stayed unprocessed through \(retries) retries", hint: hint)
            }
            counters.withLock { $0.unprocessedRetried += Int64(left.count) }
            pending = left
            sleepThread(seconds: backoff.delay(retry: round))
        }
    }

    /// Queues a batch (blocks while the queue is full). Throws the first failure so far.
    package func submit(_ batch: Batch) throws {
        if let e = failure.value { throw e }
        queue.put(batch)
    }

    package var failed: (any Error)? { failure.value }
    package var stats: Counters { counters.value }

    /// Records a failure from outside (the reader's), which stops the workers at their next request.
    package func fail(_ error: any Error) { failure.withLock { if $0 == nil { $0 = error } } }

    /// Waits for every queued batch (or the first failure) and throws that failure.
    package func finish() throws {
        queue.close()
        for h in handles { h.join() }
        handles = []
        if let e = failure.value { throw e }
    }
}
