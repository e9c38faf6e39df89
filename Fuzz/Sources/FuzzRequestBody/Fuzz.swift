import FuzzSupport
import WhatIfProtocol

/// Request bodies: the strict JSON reader and decoder refuse or accept any bytes without crashing, and
/// what they accept re-encodes to a body they accept again, as the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? StrictJSON.parse(bytes) else { return 0 }
    let again = try? StrictJSON.parse(try APICoding.encode(value))
    precondition(again == value, "a parsed body does not survive encoding")
    _ = try? StrictJSON.decode(StartJobRequest.self, from: value)
    _ = try? StrictJSON.decode(VerifyRequest.self, from: value)
    _ = try? StrictJSON.decode(RestoreRequest.self, from: value)
    _ = try? StrictJSON.decode(StartScenarioMigrationRequest.self, from: value)
    _ = try? StrictJSON.decode(MaintenanceRunRequest.self, from: value)
    return 0
}

/// SwiftPM names this program's entry point FuzzRequestBody_main.
@_cdecl("FuzzRequestBody_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
