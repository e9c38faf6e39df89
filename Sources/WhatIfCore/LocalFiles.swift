#if canImport(Glibc)
    import Glibc
#endif

/// Local file helpers: streaming reads, ranges, tree walks and removal, sizes (backups, migrations).
package enum LocalFiles {
    package static func stream(_ path: String, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure("cannot read \(path): \(Files.errnoText())") }
        defer { close(fd) }
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buf.deallocate() }
        while true {
            let n = Glibc.read(fd, buf.baseAddress, buf.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure("cannot read \(path): \(Files.errnoText())")
            }
            if n == 0 { return }
            try sink(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
        }
    }

    package static func readRange(_ path: String, offset: Int64, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure("cannot read \(path): \(Files.errnoText())") }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + got, count - got, off_t(offset) + off_t(got))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure("cannot read \(path): \(Files.errnoText())")
            }
            if n == 0 { break }
            got += n
        }
        out.removeLast(count - got)
        return out
    }

    package static func size(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    /// Regular files under `root`, relative paths with sizes.
    package static func walk(_ root: String) -> [(String, Int64)] {
        var out: [(String, Int64)] = []
        func visit(_ dir: String, _ rel: String) {
            for name in Files.list(dir) {
                let path = "\(dir)/\(name)"
                let r = rel.isEmpty ? name : "\(rel)/\(name)"
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                if (st.st_mode & S_IFMT) == S_IFDIR {
                    visit(path, r)
                } else if (st.st_mode & S_IFMT) == S_IFREG {
                    out.append((r, Int64(st.st_size)))
                }
            }
        }
        visit(root, "")
        return out.sorted { $0.0 < $1.0 }
    }

    /// rm -rf, without following symbolic links.
    package static func removeTree(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in Files.list(path) { try removeTree("\(path)/\(name)") }
            guard rmdir(path) == 0 || errno == ENOENT else {
                throw Failure("cannot remove \(path): \(Files.errnoText())")
            }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else {
                throw Failure("cannot remove \(path): \(Files.errnoText())")
            }
        }
    }

    /// Free bytes for an unprivileged writer on the file system holding `path`.
    package static func freeBytes(_ path: String) -> Int64? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }
}
