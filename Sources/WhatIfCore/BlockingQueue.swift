#if canImport(Glibc)
    import Glibc
#endif

/// A bounded queue between threads: `put` waits while it is full, `take` while it is empty.
/// `close()` wakes everyone: `take` then drains what is left and answers nil.
package final class BlockingQueue<Element>: @unchecked Sendable {
    /// Taken slots are nil until compacted: a taken element is released at once, not when the array
    /// is next compacted (a queue of large batches would otherwise hold up to a thousand of them).
    private var items: [Element?] = []
    private var head = 0
    private let capacity: Int
    private var closed = false
    private var mutex = pthread_mutex_t()
    private var notEmpty = pthread_cond_t()
    private var notFull = pthread_cond_t()

    package init(capacity: Int) {
        self.capacity = max(1, capacity)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&notEmpty, nil)
        pthread_cond_init(&notFull, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&notEmpty)
        pthread_cond_destroy(&notFull)
    }

    /// Adds an element; false when the queue was closed (the element is dropped).
    @discardableResult
    package func put(_ e: Element) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while items.count - head >= capacity && !closed { pthread_cond_wait(&notFull, &mutex) }
        guard !closed else { return false }
        items.append(e)
        pthread_cond_signal(&notEmpty)
        return true
    }

    /// Adds an element without waiting; false when the queue is full or closed (the element is dropped).
    package func offer(_ e: Element) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard !closed, items.count - head < capacity else { return false }
        items.append(e)
        pthread_cond_signal(&notEmpty)
        return true
    }

    package func take() -> Element? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while items.count == head && !closed { pthread_cond_wait(&notEmpty, &mutex) }
        guard items.count > head else { return nil }
        let e = items[head].take()
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        pthread_cond_signal(&notFull)
        return e
    }

    package func close() {
        pthread_mutex_lock(&mutex)
        closed = true
        pthread_cond_broadcast(&notEmpty)
        pthread_cond_broadcast(&notFull)
        pthread_mutex_unlock(&mutex)
    }
}
