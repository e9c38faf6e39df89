import FuzzSupport
import WhatIfClient

/// Feeds the response parser in pieces whose sizes come from the input itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let step = Int(first % 17) + 1
    var parser = HTTPResponseParser(maxHeadBytes: 4096)
    var bodyBytes = 0
    var i = 1
    do {
        while i < bytes.count {
            let end = min(bytes.count, i + step)
            for e in try parser.feed(bytes[i..<end]) {
                if case .body(let b) = e { bodyBytes += b.count }
            }
            i = end
        }
        _ = try parser.finish()
    } catch {}
    precondition(bodyBytes <= bytes.count)
    return 0
}

/// SwiftPM names this program's entry point FuzzHTTPResponse_main.
@_cdecl("FuzzHTTPResponse_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
