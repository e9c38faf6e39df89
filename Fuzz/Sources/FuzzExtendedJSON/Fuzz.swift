import FuzzSupport
import WhatIfMigration

/// mongoexport lines (outside input): Extended JSON to BSON, then the transform. Invariants: nothing
/// crashes; whatever the reader accepts is well-formed BSON.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = Array(UnsafeBufferPointer(start: data, count: size))
    guard let bson = try? ExtendedJSON.toBSON(line) else { return 0 }
    bson.withUnsafeBytes { b in
        do { try BSON.validate(b) } catch { preconditionFailure("the reader wrote malformed BSON: \(error)") }
        var out: [UInt8] = []
        _ = try? ScenarioTransform().transform(b, into: &out)
    }
    return 0
}

/// SwiftPM names this program's entry point FuzzExtendedJSON_main.
@_cdecl("FuzzExtendedJSON_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
