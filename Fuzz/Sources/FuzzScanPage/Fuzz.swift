import FuzzSupport
import WhatIfAWS

/// DynamoDB's Scan and BatchWriteItem answers and an incremental export's change lines, as the backup's
/// byte-level JSON reader sees them. What it accepts must come out as export lines that read back to
/// items, and keys and images that validate as JSON.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    var out: [UInt8] = []
    if let page = try? RawJSON.splitScanPage(body, into: &out) {
        var lines = 0
        var start = 0
        for (i, b) in out.enumerated() where b == 10 {
            let line = Array(out[start..<i])
            start = i + 1
            lines += 1
            guard let item = try? line.withUnsafeBytes({ try RawJSON.itemOfLine($0) }) else {
                fatalError("an export line written by splitScanPage does not read back")
            }
            do { try RawJSON.validate(item) } catch { fatalError("an item read back is not valid JSON: \(error)") }
        }
        precondition(lines == page.items, "lines written differ from the items counted")
        if let key = page.lastEvaluatedKey {
            do { try RawJSON.validate(key) } catch { fatalError("LastEvaluatedKey is not valid JSON: \(error)") }
        }
    }
    if let change = try? body.withUnsafeBytes({ try RawJSON.changeOfLine($0) }) {
        do {
            try RawJSON.validate(change.keys)
            if let new = change.newImage { try RawJSON.validate(new) }
        } catch { fatalError("a change's keys or image read back is not valid JSON: \(error)") }
    }
    if let puts = try? RawJSON.unprocessedPuts(body, table: "t") {
        for p in puts {
            do { try RawJSON.validate(p) } catch { fatalError("an unprocessed put is not valid JSON: \(error)") }
        }
    }
    return 0
}

/// SwiftPM names this program's entry point FuzzScanPage_main.
@_cdecl("FuzzScanPage_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
