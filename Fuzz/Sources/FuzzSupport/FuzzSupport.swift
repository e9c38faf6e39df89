import CFuzzDriver
import Foundation

/// Hands a fuzz target over to libFuzzer. SwiftPM renames each executable's entry point to
/// `<Target>_main`, so every target defines that symbol and calls this.
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, callback)
}

nonisolated(unsafe) private var scratch: String?

/// A folder for a target's state, `<tmp>/<prefix>-<pid>`: removed when the fuzzer exits (libFuzzer
/// ends with exit()), and the folder of a run that ended otherwise (a crash, a kill) by the next run.
public func scratchFolder(_ prefix: String) -> String {
    let base = FileManager.default.temporaryDirectory.path
    for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix(prefix + "-") {
        guard let pid = pid_t(name.dropFirst(prefix.count + 1)), pid != getpid() else { continue }
        if kill(pid, 0) != 0, errno == ESRCH { try? FileManager.default.removeItem(atPath: "\(base)/\(name)") }
    }
    let dir = "\(base)/\(prefix)-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    scratch = dir
    atexit { scratch.map { _ = try? FileManager.default.removeItem(atPath: $0) } }
    return dir
}
