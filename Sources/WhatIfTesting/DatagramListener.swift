import Foundation
import WhatIfCore

/// A Unix datagram socket standing in for systemd's notification socket or the journal's.
package final class DatagramListener: @unchecked Sendable {
    package let path: String
    private let fd: Int32

    package init(_ path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard let addr = Sockets.unixAddress(path), Sockets.withAddress(addr, { bind(fd, $0, $1) }) == 0 else {
            close(fd)
            throw TestFailure("cannot bind \(path): \(String(cString: strerror(errno)))")
        }
        chmod(path, 0o777)
    }

    deinit { close(fd) }

    /// The datagrams received within `timeout` seconds.
    package func receive(timeout: Double) -> [String] {
        var out: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buf = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 20) > 0 {
                let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 { out.append(String(decoding: buf[0..<n], as: UTF8.self)) }
            }
        }
        return out
    }
}
