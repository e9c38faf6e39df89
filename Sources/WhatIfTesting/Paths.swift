import Foundation
import WhatIfCore

/// Where things are: the repository, the built binaries, the shared stack.
package enum TestPaths {
    /// The repository's root (found from this file's path).
    package static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `../shared` beside the repository (fixtures).
    package static var shared: String {
        URL(fileURLWithPath: repository).deletingLastPathComponent().appendingPathComponent("shared").path
    }

    /// The build folder of the running tests (`.build/debug` or another scratch path).
    package static var buildDirectory: String {
        if let b = ProcessInfo.processInfo.environment["WHATIF_BUILD_DIR"] { return b }
        // The test bundle lives in the build folder.
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            if FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("whatifd").path) {
                return dir.path
            }
            dir.deleteLastPathComponent()
        }
        return "\(repository)/.build/debug"
    }

    package static func binary(_ name: String) -> String { "\(buildDirectory)/\(name)" }
}

/// The folder of this test process's temporary folders, `/tmp/whatif-tests-<pid>` (or under
/// WHATIF_TEST_TMP): removed when the process exits, so a folder a test did not release (or a program it
/// ran wrote after the release) does not outlive the run; the folder of a test process that ended without
/// exiting (killed, crashed) is removed by the next one to start. Kept when WHATIF_KEEP_TMP is set.
package enum TestScratch {
    package static let root: String = {
        let base = ProcessInfo.processInfo.environment["WHATIF_TEST_TMP"] ?? "/tmp"
        removeLeftovers(in: base)
        let root = "\(base)/whatif-tests-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)  // a reused pid's
        precondition(mkdir(root, 0o755) == 0, "cannot make \(root): errno \(errno)")
        chmod(root, 0o755)
        if ProcessInfo.processInfo.environment["WHATIF_KEEP_TMP"] == nil {
            atexit { try? FileManager.default.removeItem(atPath: TestScratch.root) }
        }
        return root
    }()

    /// Removes `whatif-tests-<pid>` folders whose process no longer exists.
    static func removeLeftovers(in base: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        for name in names where name.hasPrefix("whatif-tests-") {
            guard let pid = pid_t(name.dropFirst("whatif-tests-".count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { try? FileManager.default.removeItem(atPath: "\(base)/\(name)") }
        }
    }
}

/// A temporary folder in the process's scratch folder, removed when the value is released. Traversable
/// by other users (tests run programs as `nobody` and `postgres`).
package final class TempDir: @unchecked Sendable {
    package let path: String

    package init(_ prefix: String = "whatif-test") {
        let template = "\(TestScratch.root)/\(prefix)-XXXXXX"
        var bytes = Array(template.utf8CString)
        let p = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        path = String(cString: p!)
        chmod(path, 0o755)
    }

    /// Kept when WHATIF_KEEP_TMP is set (to read logs after a failure).
    deinit {
        if ProcessInfo.processInfo.environment["WHATIF_KEEP_TMP"] == nil {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    package func file(_ name: String) -> String { "\(path)/\(name)" }

    @discardableResult
    package func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        let p = file(name)
        try FileManager.default.createDirectory(
            atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // Through a descriptor with O_CLOEXEC: a child another test forks meanwhile must not keep the
        // file open for writing, or executing it fails with ETXTBSY for as long as that child lives.
        try Files.writeAtomically(p, Array(text.utf8), mode: mode_t(mode))
        chmod(p, mode_t(mode))
        return p
    }
}
