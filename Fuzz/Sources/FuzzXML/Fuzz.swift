import CFuzzDriver
import WhatIfAWS

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let root = try? XMLReader.parse(Array(UnsafeBufferPointer(start: data, count: size))) {
        _ = root.first("Code")?.text
    }
    return 0
}

/// SwiftPM names this program's entry point FuzzXML_main; it hands over to libFuzzer.
@_cdecl("FuzzXML_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in
        guard let data else { return 0 }
        return fuzz(data, size)
    }
}
