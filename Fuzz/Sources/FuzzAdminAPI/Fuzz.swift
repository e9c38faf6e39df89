import Foundation
import FuzzSupport
import Logging
import WhatIfAgent
import WhatIfCore

/// Sends each input as raw bytes to a real agent's admin socket (in this process, so a crash in the
/// agent is a crash of the target), then checks that the agent still answers a valid request; every
/// request that can change something goes through the audit trail, whose line reader gets the bytes too.
final class Harness: @unchecked Sendable {
    let dir: String
    let socket: String
    var execs = 0

    init() {
        dir = scratchFolder("whatif-fuzz")
        socket = "\(dir)/agent.sock"
        let yaml = """
            environment: development
            state_dir: \(dir)/state
            socket:
              path: \(socket)
              request_timeout: 200ms
              idle_timeout: 1s
              max_body_bytes: 4096
              max_header_bytes: 4096
            postgres:
              enabled: false
            redis:
              enabled: false
            dynamodb:
              enabled: false
            """
        guard case .success(let config) = ConfigLoader.parse(text: yaml, path: "\(dir)/agent.yaml", environment: [:])
        else {
            fatalError("fuzz config")
        }
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let daemon = Daemon(config: config, environment: [:], logger: logger)
        let started = DispatchSemaphore(value: 0)
        Task {
            try! await daemon.start()
            started.signal()
        }
        started.wait()
    }

    func exchange(_ bytes: [UInt8]) -> [UInt8] {
        guard let fd = try? Sockets.connectUnix(path: socket, deadline: .after(seconds: 2)) else {
            fatalError("agent gone")
        }
        defer { close(fd) }
        if !bytes.isEmpty {
            try? bytes.withUnsafeBytes { try Sockets.writeAll(fd, $0, deadline: .after(seconds: 2)) }
        }
        shutdown(fd, Int32(SHUT_WR))
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        let deadline = Deadline.after(seconds: 2)
        while !deadline.hasPassed {
            let n = (try? buf.withUnsafeMutableBytes { try Sockets.read(fd, into: $0, deadline: deadline) }) ?? 0
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }
}

let harness = Harness()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let answer = harness.exchange(bytes)
    // The same bytes as the audit log's lines (the requests above are audited too): never a crash.
    _ = AuditFileCheck.wholeEntries(bytes)
    // Whatever came back is an HTTP response (or nothing, for an empty or cut-off request).
    precondition(answer.isEmpty || answer.starts(with: Array("HTTP/1.".utf8)))
    harness.execs += 1
    if harness.execs % 100 == 0 {
        let ok = harness.exchange(Array("GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        precondition(ok.starts(with: Array("HTTP/1.1 200".utf8)), "the agent stopped answering")
    }
    return 0
}

/// SwiftPM names this program's entry point FuzzAdminAPI_main.
@_cdecl("FuzzAdminAPI_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
