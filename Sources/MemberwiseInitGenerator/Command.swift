import Foundation

/// `MemberwiseInitGenerator <output.swift> <input.swift>...` (see Generator.swift). `@main` rather than
/// top-level code, so that the fuzz build's `-parse-as-library`, which SwiftPM passes to build tools
/// too, leaves it whole.
@main
enum Command {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            print("usage: MemberwiseInitGenerator <output.swift> <input.swift>...")
            exit(2)
        }
        do {
            try generate(output: arguments[1], inputs: Array(arguments.dropFirst(2)))
        } catch {
            print("error: \(error)")
            exit(1)
        }
    }
}

/// Never called. The fuzz build passes `-sanitize=fuzzer` to build tools as well (SwiftPM applies
/// `-Xswiftc` to them), which links libFuzzer's driver, and the driver needs this symbol to link; the
/// tool's own `main` is the one that runs.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerEntryNeverCalled(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { 0 }
