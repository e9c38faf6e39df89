import Dispatch
import Foundation
import FuzzSupport
import Logging
import WhatIfAgent
import WhatIfProtocol

/// The config reload path of a running agent: each input becomes the config file and the agent re-reads
/// it (what SIGHUP and `whatifctl config reload` do). The agent must refuse or take it and keep running:
/// its config stays one the loader accepted, and a good file reloads after any bad one.
final class Running: @unchecked Sendable {
    let dir: String
    let path: String
    let good: String
    let daemon: Daemon

    init() {
        dir = scratchFolder("whatif-fuzz-reload")
        path = dir + "/agent.yaml"
        good = """
            environment: development
            region: us-east-1
            state_dir: \(dir)/state
            socket:
              path: \(dir)/agent.sock
            postgres:
              enabled: false
            redis:
              enabled: false
            metrics:
              enabled: false

            """
        _ = FileManager.default.createFile(atPath: path, contents: Data(good.utf8))
        guard case .success(let config) = ConfigLoader.load(path: path, environment: [:]) else {
            fatalError("the fuzz target's own config does not load")
        }
        var logger = Logger(label: "fuzz-reload")
        logger.logLevel = .critical
        daemon = Daemon(config: config, environment: [:], logger: logger)
        let d = daemon
        wait { try? await d.start() }
    }

    func wait(_ body: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await body()
            done.signal()
        }
        done.wait()
    }

    func reload(_ bytes: Data) {
        _ = FileManager.default.createFile(atPath: path, contents: bytes)
        let d = daemon
        let result = Locked2<ReloadResult?>(nil)
        wait { result.value = await d.core.reload() }
        guard let r = result.value else { fatalError("reload did not answer") }
        precondition(r.reloaded || !r.problems.isEmpty, "a refused reload must say why")
        precondition(!daemon.core.config.socket.path.isEmpty)
        if r.reloaded {
            // Back to the known config, which must still load.
            _ = FileManager.default.createFile(atPath: path, contents: Data(good.utf8))
            wait { result.value = await d.core.reload() }
            precondition(result.value?.reloaded == true, "the good config no longer reloads")
        }
    }
}

final class Locked2<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var v: T
    init(_ v: T) { self.v = v }
    var value: T {
        get { lock.withLock { v } }
        set { lock.withLock { v = newValue } }
    }
}

nonisolated(unsafe) let running = Running()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    running.reload(Data(bytes: data, count: size))
    return 0
}

/// SwiftPM names this program's entry point FuzzConfigReload_main.
@_cdecl("FuzzConfigReload_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
