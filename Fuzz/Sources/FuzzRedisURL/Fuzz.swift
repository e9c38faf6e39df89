import FuzzSupport
import WhatIfRedis

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let ep = try? RedisEndpoint.parse(text) {
        // What is shown carries no credentials: read back, it has neither user nor password.
        if let shown = try? RedisEndpoint.parse(ep.display) {
            precondition(shown.password == nil && shown.username == nil, "display leaks credentials")
        }
    }
    return 0
}

/// SwiftPM names this program's entry point FuzzRedisURL_main.
@_cdecl("FuzzRedisURL_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
