import Synchronization

/// A value behind a mutex, for state shared between threads (blocking clients run on a thread pool).
package final class Locked<Value: ~Copyable>: @unchecked Sendable {
    private let mutex: Mutex<Value>

    package init(_ value: consuming sending Value) {
        mutex = Mutex(value)
    }

    package func withLock<R: ~Copyable, E: Error>(_ body: (inout sending Value) throws(E) -> sending R) throws(E)
        -> sending R
    {
        try mutex.withLock(body)
    }
}

extension Locked where Value: Copyable & Sendable {
    package var value: Value {
        withLock { $0 }
    }

    package func set(_ newValue: Value) {
        withLock { $0 = newValue }
    }
}

/// Holds one non-Sendable resource (a connection) that threads take, use alone, and put back.
/// Taking empties the slot, so two holders never share the value.
package final class ExclusiveSlot<Value>: @unchecked Sendable {
    private let mutex = Mutex(())
    private var value: Value?

    package init() {}

    package func take() -> Value? {
        mutex.withLock { _ in
            defer { value = nil }
            return value
        }
    }

    package func put(_ v: Value) {
        mutex.withLock { _ in value = v }
    }

    /// Runs `body` on the kept value (a connection), made by `make` when there is none, and keeps it
    /// again after. A kept value that fails with an error `isStale` accepts (its server restarted, say)
    /// is discarded and `body` runs once more on a new one; a value that fails otherwise is discarded.
    package func using<T>(
        make: () throws -> Value, discard: (Value) -> Void, isStale: (any Error) -> Bool,
        _ body: (Value) throws -> T
    ) throws -> T {
        let kept = take()
        let current = try kept ?? make()
        do {
            let r = try body(current)
            put(current)
            return r
        } catch  where kept != nil && isStale(error) {
            discard(current)
            let fresh = try make()
            do {
                let r = try body(fresh)
                put(fresh)
                return r
            } catch {
                discard(fresh)
                throw error
            }
        } catch {
            discard(current)
            throw error
        }
    }
}
