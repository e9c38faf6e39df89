import FuzzSupport
import WhatIfAWS

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    CredentialInputs.parse(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// SwiftPM names this program's entry point FuzzCredentials_main.
@_cdecl("FuzzCredentials_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
