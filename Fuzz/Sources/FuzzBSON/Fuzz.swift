import FuzzSupport
import WhatIfMigration

/// mongodump bytes (outside input): the splitter, with and without --skip-bad, and the transform of each
/// document. Invariants: nothing crashes; a document that validates is never called malformed by the
/// transform (only rejected); the skip-bad splitter never throws and accounts for every byte. The same
/// bytes as a migration's sync record (a state file a crash or a disk may damage): read whole or in
/// small pieces, it gives the same answer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let transform = ScenarioTransform()
    var out: [UInt8] = []
    func each(_ doc: UnsafeRawBufferPointer, _ at: Int64) {
        let valid = (try? BSON.validate(doc, base: at)) != nil
        out.removeAll(keepingCapacity: true)
        do { _ = try transform.transform(doc, base: at, into: &out) } catch is BSONError {
            precondition(!valid, "a valid document was called malformed")
        } catch {}
    }
    var strict = BSONSplitter()
    do {
        try strict.push(bytes) { each($0, $1) }
        try strict.finish { each($0, $1) }
    } catch {}
    var lenient = BSONSplitter(skipBad: true)
    var seen: Int64 = 0
    do {
        try lenient.push(bytes) { d, _ in seen += Int64(d.count) }
        try lenient.finish { d, _ in seen += Int64(d.count) }
    } catch {
        preconditionFailure("the skip-bad splitter threw: \(error)")
    }
    precondition(lenient.offset == Int64(size), "the skip-bad splitter left bytes unaccounted for")
    let all = Array(bytes)
    let whole = try? SyncRecord.check(all)
    let pieces = try? SyncRecord.check(all, piece: Int(all.first ?? 7) % 13 + 1)
    precondition(whole == pieces, "a sync record read in pieces gave another answer")
    return 0
}

/// SwiftPM names this program's entry point FuzzBSON_main.
@_cdecl("FuzzBSON_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
