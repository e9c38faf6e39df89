#if canImport(Glibc)
    import Glibc
#endif

/// File helpers with the guarantees the agent needs: nothing half-written, secrets kept secret.
package enum Files {
    package static func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    /// Reads a whole file.
    package static func read(_ path: String, limit: Int = 64 << 20) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure("cannot read \(path): \(errnoText())") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure("cannot read \(path): \(errnoText())")
            }
            if n == 0 { break }
            out += buf[0..<n]
            if out.count > limit { throw Failure("\(path) is larger than \(limit) bytes") }
        }
        return out
    }

    /// Writes `bytes` to a temporary file beside `path`, fsyncs it, renames it over `path`
    /// and fsyncs the directory: readers see the old file or the new one, never a mix.
    package static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o640) throws(Failure) {
        let dir = directory(of: path)
        let tmp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure("cannot create \(tmp): \(errnoText())") }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errnoText()
                close(fd)
                throw Failure("cannot write \(tmp): \(e)")
            }
            off += n
        }
        if fsync(fd) != 0 {
            let e = errnoText()
            close(fd)
            throw Failure("cannot fsync \(tmp): \(e)")
        }
        close(fd)
        guard rename(tmp, path) == 0 else { throw Failure("cannot rename \(tmp) to \(path): \(errnoText())") }
        ok = true
        syncDirectory(dir)
    }

    package static func syncDirectory(_ dir: String) {
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// The last component of a path.
    package static func baseName(_ path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }

    package static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    package static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates a directory and its parents.
    package static func makeDirectories(_ path: String, mode: mode_t = 0o750) throws(Failure) {
        if isDirectory(path) { return }
        let parent = directory(of: path)
        if parent != path, !parent.isEmpty, parent != "/" { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0, errno != EEXIST {
            throw Failure("cannot create directory \(path): \(errnoText())")
        }
    }

    package static func list(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// A secret read from a file: the file must exist, be readable by us, and not be readable by others.
package enum SecretFile {
    package enum Problem: Error, Sendable, Equatable {
        case missing
        case unreadable(String)
        case worldReadable(mode: UInt32)
        case empty
        case notRegularFile
    }

    /// Checks the file without keeping its contents.
    package static func check(_ path: String) -> Problem? {
        switch load(path) {
        case .success: nil
        case .failure(let p): p
        }
    }

    package static func load(_ path: String) -> Result<String, Problem> {
        var st = stat()
        guard stat(path, &st) == 0 else {
            return .failure(errno == ENOENT ? .missing : .unreadable(Files.errnoText()))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return .failure(.notRegularFile) }
        if st.st_mode & 0o007 != 0 { return .failure(.worldReadable(mode: UInt32(st.st_mode & 0o777))) }
        let bytes: [UInt8]
        do { bytes = try Files.read(path, limit: 64 * 1024) } catch { return .failure(.unreadable(error.message)) }
        var s = String(decoding: bytes, as: UTF8.self)
        while let last = s.last, last == "\n" || last == "\r" { s.removeLast() }
        if s.isEmpty { return .failure(.empty) }
        return .success(s)
    }

    package static func describe(_ p: Problem, path: String) -> (message: String, hint: String) {
        switch p {
        case .missing:
            (
                "secret file \(path) does not exist",
                "create it with the secret on one line, mode 0640, owner root:whatif"
            )
        case .unreadable(let why):
            (
                "secret file \(path) cannot be read: \(why)",
                "make it readable by the agent's user (chown root:whatif, chmod 0640)"
            )
        case .worldReadable(let mode):
            (
                "secret file \(path) is readable by others (mode \(String(mode, radix: 8)))",
                "run `chmod o-rwx \(path)` (0640 root:whatif is right)"
            )
        case .empty:
            ("secret file \(path) is empty", "write the secret into it")
        case .notRegularFile:
            ("secret \(path) is not a regular file", "point the setting at a file holding the secret")
        }
    }
}
