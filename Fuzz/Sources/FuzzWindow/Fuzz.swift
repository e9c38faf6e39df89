import FuzzSupport
import WhatIfMaintenance

/// Maintenance window schedules from the config (`when:`, RDS weekly format or cron): the first line is
/// the schedule, the second an optional duration in minutes. Parsing must not crash, and a schedule that
/// parses must be consistent: the next start is not before the time asked about, the window is open at
/// its start, and the latest start at or before a time is not after it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: min(size, 4096)), as: UTF8.self)
    let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let duration = lines.count > 1 ? Double(lines[1]).flatMap { $0.isFinite ? $0 * 60 : nil } : nil
    guard let s = try? WindowSchedule.parse(String(lines[0]), duration: duration) else { return 0 }
    precondition(s.minutes > 0, "a window has a length")
    // 2026-11-25T10:00:30Z and a few times around week and year ends.
    for t in [1_795_600_830.0, 1_798_761_599.0, 1_796_263_200.0, 0.0] {
        if let n = s.nextStart(atOrAfter: t) {
            precondition(n >= t, "next start \(n) before \(t)")
            precondition(s.open(at: n) != nil, "not open at its own start")
        }
        if let l = s.latestStart(atOrBefore: t) { precondition(l <= t, "latest start \(l) after \(t)") }
    }
    return 0
}

/// SwiftPM names this program's entry point FuzzWindow_main.
@_cdecl("FuzzWindow_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
