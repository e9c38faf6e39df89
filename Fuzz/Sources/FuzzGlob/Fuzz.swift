import FuzzSupport
import WhatIfExpiry

/// Redis MATCH globs from the expiry policy (config) against keys from the server: the input is split
/// at its first 0 byte into a pattern and a key. Matching must end, in time linear in both, without a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let cut = bytes.firstIndex(of: 0) ?? bytes.count
    let pattern = Array(bytes[..<cut])
    let key = cut < bytes.count ? Array(bytes[(cut + 1)...]) : []
    let m = RedisGlob.matches(pattern, key)
    // A pattern always matches itself when it has no special characters.
    if !pattern.contains(where: { "*?[]\\".utf8.contains($0) }) { precondition(RedisGlob.matches(pattern, pattern)) }
    _ = m
    return 0
}

/// SwiftPM names this program's entry point FuzzGlob_main.
@_cdecl("FuzzGlob_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
