import Logging
import WhatIfCore

#if canImport(Glibc)
    import Glibc
#endif

/// Writes job records (write, fsync, rename) in the order they were handed over, off the JobManager
/// actor: it never holds one of Swift's cooperative threads (two on a two-core host) while a disk syncs.
/// The writes run on the agent's blocking pool (threads it has anyway; no thread of its own idling).
/// `recorded()` waits until everything handed over so far is on disk: the admin API answers about a job
/// only then, and shutdown waits for it.
final class JobRecordWriter: Sendable {
    private enum Item: Sendable {
        case write(path: String, bytes: [UInt8])
        case remove(path: String)
        case barrier(CheckedContinuation<Void, Never>)
    }

    private let state = Locked<(items: [Item], draining: Bool)>(([], false))
    private let logger: Logger
    /// Runs a drain on a thread that may block.
    private let execute: @Sendable (@escaping @Sendable () -> Void) -> Void

    init(logger: Logger, execute: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        self.logger = logger
        self.execute = execute
    }

    /// Hands a record over; returns at once.
    func write(_ path: String, _ bytes: [UInt8]) { enqueue(.write(path: path, bytes: bytes)) }

    /// Deletes a record, in order with the writes: a write still queued for it cannot bring it back.
    func remove(_ path: String) { enqueue(.remove(path: path)) }

    /// Returns once every record handed over before the call is on disk.
    func recorded() async {
        // Nothing queued or being written: everything handed over is on disk already (no pool hop for
        // the reads that call this on every request).
        if state.withLock({ $0.items.isEmpty && !$0.draining }) { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in enqueue(.barrier(c)) }
    }

    private func enqueue(_ item: Item) {
        let start = state.withLock { s -> Bool in
            s.items.append(item)
            if s.draining { return false }
            s.draining = true
            return true
        }
        if start { execute { [self] in drain() } }
    }

    /// One drain at a time, so records land in order.
    private func drain() {
        while true {
            let batch = state.withLock { s -> [Item] in
                guard !s.items.isEmpty else {
                    s.draining = false
                    return []
                }
                defer { s.items = [] }
                return s.items
            }
            if batch.isEmpty { return }
            for item in batch {
                switch item {
                case .write(let path, let bytes):
                    do { try Files.writeAtomically(path, bytes, mode: 0o640) } catch {
                        logger.error("cannot record job", metadata: ["file": "\(path)", "error": "\(error)"])
                    }
                case .remove(let path):
                    if unlink(path) != 0, errno != ENOENT {
                        logger.error(
                            "cannot remove a job record",
                            metadata: ["file": "\(path)", "error": "\(Files.errnoText())"])
                    }
                case .barrier(let c): c.resume()
                }
            }
        }
    }
}
