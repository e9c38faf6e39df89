#if canImport(Glibc)
    import Glibc
#endif

/// This host's name (gethostname(2)), as manifests, metrics, hooks and fleet leases name the host;
/// "localhost" if it cannot be read.
package enum HostName {
    package static var current: String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
