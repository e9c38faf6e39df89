import FuzzSupport
import WhatIfAWS

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let root = try? XMLReader.parse(Array(UnsafeBufferPointer(start: data, count: size))) {
        _ = root.first("Code")?.text
    }
    return 0
}

/// SwiftPM names this program's entry point FuzzXML_main.
@_cdecl("FuzzXML_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
