import CLinuxShims
import CZlib
import Logging
import WhatIfCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Every series's recent history in memory (sorted by time, trimmed to the retention), backed by an
/// append-only log in the state directory so a restart loses nothing. The log is checksummed record
/// by record: a torn tail (a crash mid-write) is cut off at the last whole record and reported.
public final class MetricStore: Sendable {
    struct Series {
        var key: MetricKey
        var id: UInt32
        var times: [Double] = []
        var values: [Double] = []
        var logged = false
    }

    struct State {
        var index: [MetricKey: Int] = [:]
        var series: [Series] = []
        var log: MetricLog?
        var compactedBytes: Int = 0
        /// Per series counted per period: the sum of what was appended since the agent started.
        var totals: [Int: Double] = [:]
    }

    package let retention: Double
    let logger: Logger
    private let state: Locked<State>

    /// `directory` nil keeps history in memory only.
    package init(retention: Double, directory: String?, logger: Logger, now: Double) throws(Failure) {
        self.retention = retention
        self.logger = logger
        var s = State()
        if let directory {
            try Files.makeDirectories(directory)
            let path = "\(directory)/history.log"
            let loaded = try MetricLog.load(path: path, logger: logger)
            let cutoff = now - retention
            for (key, points) in loaded {
                var series = Series(key: key, id: UInt32(s.series.count))
                // Room for the history and an eighth more: appends then trims stay within it.
                let kept = points.count - points.prefix { $0.0 < cutoff }.count
                series.times.reserveCapacity(kept + kept / 8 + 16)
                series.values.reserveCapacity(kept + kept / 8 + 16)
                for (t, v) in points where t >= cutoff {
                    if let last = series.times.last, t <= last { continue }
                    series.times.append(t)
                    series.values.append(v)
                }
                guard !series.times.isEmpty else { continue }
                s.index[key] = s.series.count
                s.series.append(series)
            }
            s.log = try MetricLog.rewrite(path: path, series: s.series.map { ($0.key, $0.id, $0.times, $0.values) })
            s.compactedBytes = s.log?.size ?? 0
            for i in s.series.indices { s.series[i].logged = true }
        }
        state = Locked(s)
        // Loading used about twice the history's size in passing; give it back to the system.
        whatif_malloc_trim()
    }

    /// Adds samples (each series's times must increase; an older or equal time is dropped) and logs them.
    package func append(_ samples: [Sample], now: Double) {
        let cutoff = now - retention
        state.withLock { s in
            var newSeries: [(MetricKey, UInt32)] = []
            var records: [(UInt32, Double, Double)] = []
            records.reserveCapacity(samples.count)
            for sample in samples where sample.value.isFinite {
                let i: Int
                if let existing = s.index[sample.key] {
                    i = existing
                } else {
                    i = s.series.count
                    s.index[sample.key] = i
                    s.series.append(Series(key: sample.key, id: UInt32(i)))
                }
                if let last = s.series[i].times.last, sample.time <= last { continue }
                if sample.key.kind == .deltaCounter { s.totals[i, default: 0] += sample.value }
                s.series[i].times.append(sample.time)
                s.series[i].values.append(sample.value)
                if !s.series[i].logged {
                    newSeries.append((sample.key, s.series[i].id))
                    s.series[i].logged = true
                }
                records.append((s.series[i].id, sample.time, sample.value))
                // Trim in steps of an eighth, so trimming costs O(1) per sample on average.
                let times = s.series[i].times
                if let first = times.first, first < cutoff {
                    let drop = Self.lowerBound(times, cutoff)
                    if drop > times.count / 8 || drop > 64 {
                        s.series[i].times.removeFirst(drop)
                        s.series[i].values.removeFirst(drop)
                    }
                }
            }
            guard let log = s.log, !records.isEmpty || !newSeries.isEmpty else { return }
            do throws(Failure) {
                try log.append(series: newSeries, samples: records)
                if log.size > 2 * s.compactedBytes + (4 << 20) {
                    log.close()
                    s.log = try MetricLog.rewrite(
                        path: log.path,
                        series: s.series.map { ser in
                            let from = Self.lowerBound(ser.times, cutoff)
                            return (ser.key, ser.id, Array(ser.times[from...]), Array(ser.values[from...]))
                        })
                    s.compactedBytes = s.log?.size ?? 0
                }
            } catch {
                logger.error(
                    "cannot write the metrics history; history since the last write will be lost on restart",
                    metadata: ["error": "\(error.message)", "hint": "\(error.hint ?? "check the state directory")"])
            }
        }
    }

    /// First index whose time is >= t.
    static func lowerBound(_ times: [Double], _ t: Double) -> Int {
        var lo = 0
        var hi = times.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if times[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    package var keys: [MetricKey] { state.withLock { $0.series.map(\.key) } }

    package var seriesCount: Int { state.withLock { $0.series.count } }

    /// A series's points with time >= `since`.
    package func points(_ key: MetricKey, since: Double) -> [(time: Double, value: Double)] {
        state.withLock { s -> [(time: Double, value: Double)] in
            guard let i = s.index[key] else { return [] }
            let ser = s.series[i]
            let from = Self.lowerBound(ser.times, since)
            return (from..<ser.times.count).map { (ser.times[$0], ser.values[$0]) }
        }
    }

    /// The running total since the agent started of each series counted per period (`MetricKey.Kind`).
    package func counterTotals() -> [MetricKey: Double] {
        state.withLock { s in
            var out: [MetricKey: Double] = [:]
            for (i, t) in s.totals { out[s.series[i].key] = t }
            return out
        }
    }

    /// The most recent point of each series.
    package func latest() -> [(key: MetricKey, time: Double, value: Double)] {
        state.withLock { s -> [(key: MetricKey, time: Double, value: Double)] in
            s.series.compactMap { ser in
                guard let t = ser.times.last, let v = ser.values.last else { return nil }
                return (ser.key, t, v)
            }
        }
    }

    /// For each of `count` periods of `period` seconds ending at `end` (oldest first), the values of the
    /// series matching namespace, name and dimensions that fall in it.
    package func periodValues(
        namespace: String, name: String, dimensions: [MetricKey.Dimension], period: Double, count: Int, end: Double
    ) -> [[Double]] {
        let start = end - period * Double(count)
        return state.withLock { s -> [[Double]] in
            var buckets = [[Double]](repeating: [], count: count)
            for ser in s.series where ser.key.matches(namespace: namespace, name: name, dimensions: dimensions) {
                var i = Self.lowerBound(ser.times, start)
                while i < ser.times.count, ser.times[i] < end {
                    let b = Int((ser.times[i] - start) / period)
                    if b >= 0, b < count { buckets[b].append(ser.values[i]) }
                    i += 1
                }
            }
            return buckets
        }
    }

    /// Reads a history log image as the agent would on start: series, points and the valid prefix length
    /// (for tools and the fuzz target; the file is outside input after a crash or a disk error).
    public static func inspectLog(_ bytes: [UInt8]) -> (series: Int, points: Int, validBytes: Int) {
        let (series, good) = MetricLog.parse(bytes)
        return (series.count, series.reduce(0) { $0 + $1.1.count }, good)
    }

    package func close() {
        state.withLock { s in
            s.log?.close()
            s.log = nil
        }
    }
}

/// The history log: `WHATIFM1`, then records of [u32 length][u32 CRC-32 of the payload][payload], little
/// endian. Payload 1: a series (u32 id, the key as JSON). Payload 2: samples, each u32 id, f64 time, f64 value.
final class MetricLog: @unchecked Sendable {
    static let magic: [UInt8] = Array("WHATIFM1".utf8)
    let path: String
    private var fd: Int32
    private(set) var size: Int

    private init(path: String, fd: Int32, size: Int) {
        self.path = path
        self.fd = fd
        self.size = size
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Reads the log; a damaged or torn tail is reported and ignored (the rewrite that follows drops it).
    static func load(path: String, logger: Logger) throws(Failure) -> [(MetricKey, [(Double, Double)])] {
        guard Files.exists(path) else { return [] }
        let bytes = try Files.read(path, limit: 1 << 30)
        let (series, good) = parse(bytes)
        if good < bytes.count {
            logger.warning(
                "the metrics history is damaged after byte \(good) (a crash mid-write?); keeping what comes before",
                metadata: ["file": "\(path)", "bytes_dropped": "\(bytes.count - good)"])
        }
        return series
    }

    /// Parses a log image: the series in it and how many leading bytes were whole, valid records.
    static func parse(_ bytes: [UInt8]) -> (series: [(MetricKey, [(Double, Double)])], good: Int) {
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else { return ([], 0) }
        var keys: [UInt32: MetricKey] = [:]
        var order: [UInt32] = []
        var points: [UInt32: [(Double, Double)]] = [:]
        var off = magic.count
        let decoder = JSONDecoder()
        while off + 8 <= bytes.count {
            let len = Int(u32(bytes, off))
            let crc = u32(bytes, off + 4)
            guard len >= 1, len <= 64 << 20, off + 8 + len <= bytes.count else { break }
            let payload = bytes[(off + 8)..<(off + 8 + len)]
            let actual = payload.withUnsafeBytes { raw in
                UInt32(crc32(0, raw.bindMemory(to: Bytef.self).baseAddress, uInt(raw.count)))
            }
            guard actual == crc else { break }
            let p = payload.startIndex
            switch bytes[p] {
            case 1:
                guard len >= 5, let key = try? decoder.decode(MetricKey.self, from: Data(bytes[(p + 5)..<(p + len)]))
                else { return (collect(keys, order, points), off) }
                let id = u32(bytes, p + 1)
                if keys[id] == nil { order.append(id) }
                keys[id] = key
            case 2:
                guard (len - 1) % 20 == 0 else { return (collect(keys, order, points), off) }
                var q = p + 1
                while q < p + len {
                    let id = u32(bytes, q)
                    let t = Double(bitPattern: u64(bytes, q + 4))
                    let v = Double(bitPattern: u64(bytes, q + 12))
                    if keys[id] != nil { points[id, default: []].append((t, v)) }
                    q += 20
                }
            default:
                return (collect(keys, order, points), off)
            }
            off += 8 + len
        }
        return (collect(keys, order, points), off)
    }

    private static func collect(
        _ keys: [UInt32: MetricKey], _ order: [UInt32], _ points: [UInt32: [(Double, Double)]]
    ) -> [(MetricKey, [(Double, Double)])] {
        order.compactMap { id in keys[id].map { ($0, points[id] ?? []) } }
    }

    static func u32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }

    static func u64(_ b: [UInt8], _ o: Int) -> UInt64 {
        UInt64(u32(b, o)) | UInt64(u32(b, o + 4)) << 32
    }

    static func put32(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)]
    }

    static func put64(_ out: inout [UInt8], _ v: UInt64) {
        put32(&out, UInt32(v & 0xffff_ffff))
        put32(&out, UInt32(v >> 32))
    }

    static func record(_ payload: [UInt8], into out: inout [UInt8]) {
        put32(&out, UInt32(payload.count))
        let crc = payload.withUnsafeBytes { raw in
            UInt32(crc32(0, raw.bindMemory(to: Bytef.self).baseAddress, uInt(raw.count)))
        }
        put32(&out, crc)
        out += payload
    }

    static func encode(series: [(MetricKey, UInt32)], samples: [(UInt32, Double, Double)]) -> [UInt8] {
        var out: [UInt8] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for (key, id) in series {
            var p: [UInt8] = [1]
            put32(&p, id)
            p += (try? Array(encoder.encode(key))) ?? []
            record(p, into: &out)
        }
        var i = 0
        while i < samples.count {
            let chunk = samples[i..<min(i + 4096, samples.count)]
            var p: [UInt8] = [2]
            p.reserveCapacity(1 + chunk.count * 20)
            for (id, t, v) in chunk {
                put32(&p, id)
                put64(&p, t.bitPattern)
                put64(&p, v.bitPattern)
            }
            record(p, into: &out)
            i += chunk.count
        }
        return out
    }

    /// Writes a fresh log holding exactly `series` (atomically), and opens it for appending.
    static func rewrite(path: String, series: [(MetricKey, UInt32, [Double], [Double])]) throws(Failure) -> MetricLog {
        var image = magic
        image += encode(series: series.map { ($0.0, $0.1) }, samples: [])
        // Samples series by series, 4096 to a record, without an intermediate copy.
        for (_, id, times, values) in series {
            var i = 0
            while i < times.count {
                let end = min(i + 4096, times.count)
                var p: [UInt8] = [2]
                p.reserveCapacity(1 + (end - i) * 20)
                for j in i..<end {
                    put32(&p, id)
                    put64(&p, times[j].bitPattern)
                    put64(&p, values[j].bitPattern)
                }
                record(p, into: &image)
                i = end
            }
        }
        try Files.writeAtomically(path, image, mode: 0o640)
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw Failure("cannot open \(path): \(Files.errnoText())") }
        return MetricLog(path: path, fd: fd, size: image.count)
    }

    func append(series: [(MetricKey, UInt32)], samples: [(UInt32, Double, Double)]) throws(Failure) {
        let bytes = Self.encode(series: series, samples: samples)
        guard fd >= 0 else { throw Failure("the metrics history is closed") }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(
                    "cannot write \(path): \(Files.errnoText())", hint: "check free space in the state directory")
            }
            off += n
        }
        _ = fdatasync(fd)
        size += bytes.count
    }
}
