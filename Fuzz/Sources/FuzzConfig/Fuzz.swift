import FuzzSupport
import WhatIfAgent

/// The config loader reports problems for any text; it never crashes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    switch ConfigLoader.parse(text: text, path: "/fuzz/agent.yaml", environment: ["RDS_POSTGRES_PORT": "5432"]) {
    case .success(let c): precondition(!c.socket.path.isEmpty)
    case .failure(let e): precondition(!e.problems.isEmpty && e.problems.allSatisfy { !$0.hint.isEmpty })
    }
    return 0
}

/// SwiftPM names this program's entry point FuzzConfig_main.
@_cdecl("FuzzConfig_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
