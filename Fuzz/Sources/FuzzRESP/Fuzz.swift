import FuzzSupport
import WhatIfRedis

/// Server replies fed in two pieces; every complete reply is read out, and read as a cluster's
/// topology (CLUSTER SHARDS, CLUSTER SLOTS) and as a redirect, as the cluster sweep reads them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    let reader = RESPReader()
    let cut = size / 2
    do {
        for part in [UnsafeRawBufferPointer(rebasing: raw[0..<cut]), UnsafeRawBufferPointer(rebasing: raw[cut...])] {
            try reader.feed(part)
            var n = 0
            while let value = try reader.next() {
                if let t = try? ClusterTopology.fromShards(value, seedHost: "127.0.0.1") {
                    precondition(t.shards.allSatisfy { !$0.slots.isEmpty }, "a shard without slots was kept")
                }
                _ = try? ClusterTopology.fromSlots(value, seedHost: "127.0.0.1")
                if let r = ClusterRedirect(value) {
                    let again = ClusterRedirect(.error("\(r.ask ? "ASK" : "MOVED") \(r.slot) \(r.host):\(r.port)"))
                    precondition(again == r, "a redirect does not read back as itself")
                }
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
