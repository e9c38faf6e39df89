import FuzzSupport
import WhatIfRedis

/// Server replies fed in two pieces; every complete reply is read out.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    let reader = RESPReader()
    let cut = size / 2
    do {
        for part in [UnsafeRawBufferPointer(rebasing: raw[0..<cut]), UnsafeRawBufferPointer(rebasing: raw[cut...])] {
            try reader.feed(part)
            var n = 0
            while (try reader.next()) != nil {
                n += 1
                if n > 100_000 { break }
            }
        }
    } catch {}
    return 0
}

/// SwiftPM names this program's entry point FuzzRESP_main.
@_cdecl("FuzzRESP_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
