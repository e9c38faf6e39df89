import Foundation

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

/// A temporary folder, removed when the value is released. Traversable by other users (tests run
/// programs as `nobody` and `postgres`).
package final class TempDir: @unchecked Sendable {
    package let path: String

    package init(_ prefix: String = "whatif-test") {
        let base = ProcessInfo.processInfo.environment["WHATIF_TEST_TMP"] ?? "/tmp"
        let template = "\(base)/\(prefix)-XXXXXX"
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
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        chmod(p, mode_t(mode))
        return p
    }
}
