import FuzzSupport
import WhatIfMonitoring

/// The metrics history log (read back after crashes and disk errors) and Redis INFO replies (the server's
/// answer, turned into ElastiCache metrics).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let r = MetricStore.inspectLog(bytes)
    precondition(r.validBytes <= bytes.count)
    let text = String(decoding: bytes, as: UTF8.self)
    let half = text.utf8.count / 2
    let first = String(decoding: Array(text.utf8.prefix(half)), as: UTF8.self)
    for s in RedisCollector.samples(first: first, second: text) { precondition(!s.key.name.isEmpty) }
    return 0
}

/// SwiftPM names this program's entry point FuzzMetrics_main.
@_cdecl("FuzzMetrics_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
