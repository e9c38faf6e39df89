import Logging
import WhatIfCore

/// Writes job records (write, fsync, rename) on a thread of its own, in the order they were handed
/// over, so the JobManager actor never holds one of Swift's cooperative threads (two on a two-core host)
/// while a disk syncs. `recorded()` waits until everything handed over so far is on disk: the admin
/// API answers a started job only then, and shutdown waits for it.
final class JobRecordWriter: Sendable {
    private enum Item: Sendable {
        case write(path: String, bytes: [UInt8])
        case barrier(CheckedContinuation<Void, Never>)
    }

    private let queue = BlockingQueue<Item>(capacity: 4096)
    private let logger: Logger
    private let worker = Locked<Threads.Handle?>(nil)

    init(logger: Logger) {
        self.logger = logger
        let queue = self.queue
        worker.set(
            Threads.start {
                while let item = queue.take() {
                    switch item {
                    case .write(let path, let bytes): Self.write(path, bytes, logger: logger)
                    case .barrier(let c): c.resume()
                    }
                }
            })
    }

    deinit { close() }

    /// Hands a record over; returns at once. (A full queue, thousands behind, writes on the caller's
    /// thread rather than drop a record.)
    func write(_ path: String, _ bytes: [UInt8]) {
        if !queue.offer(.write(path: path, bytes: bytes)) { Self.write(path, bytes, logger: logger) }
    }

    /// Returns once every record handed over before the call is on disk.
    func recorded() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            if !queue.put(.barrier(c)) { c.resume() }
        }
    }

    /// Writes what is queued, then ends the thread.
    func close() {
        queue.close()
        worker.withLock { h in
            h?.join()
            h = nil
        }
    }

    private static func write(_ path: String, _ bytes: [UInt8], logger: Logger) {
        do {
            try Files.writeAtomically(path, bytes, mode: 0o640)
        } catch {
            logger.error("cannot record job", metadata: ["file": "\(path)", "error": "\(error)"])
        }
    }
}
