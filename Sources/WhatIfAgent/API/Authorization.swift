import CLinuxShims
import WhatIfCore
import WhatIfProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// The process at the other end of the socket, from SO_PEERCRED.
public struct Peer: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    init(_ c: whatif_peer_cred) {
        self.init(pid: c.pid, uid: c.uid, gid: c.gid)
    }
}

/// Decides each request's role from the peer's credentials: root and the agent's own user are admins;
/// members of the admin group are admins; members of the reader group are readers; anyone else is
/// refused. Group membership is looked up (getgrouplist) and cached for a few seconds.
public final class Authorizer: Sendable {
    private let settings: Locked<SocketSettings>
    private let agentUID: UInt32
    private let cache = Locked<[UInt32: (groups: [UInt32], name: String?, at: ContinuousClock.Instant)]>([:])
    static let cacheSeconds = 5

    public init(settings: SocketSettings, agentUID: UInt32 = getuid()) {
        self.settings = Locked(settings)
        self.agentUID = agentUID
    }

    public func update(_ s: SocketSettings) {
        settings.set(s)
        cache.set([:])
    }

    public func role(of peer: Peer) -> Role {
        if peer.uid == 0 || peer.uid == agentUID { return .admin }
        let s = settings.value
        let (groups, _) = membership(peer)
        if let admin = s.adminGID, peer.gid == admin || groups.contains(admin) { return .admin }
        if let reader = s.readerGID, peer.gid == reader || groups.contains(reader) { return .reader }
        return .none
    }

    public func userName(_ peer: Peer) -> String? { membership(peer).1 }

    private func membership(_ peer: Peer) -> ([UInt32], String?) {
        if let c = cache.withLock({ $0[peer.uid] }), ContinuousClock.now - c.at < .seconds(Self.cacheSeconds) {
            return (c.groups, c.name)
        }
        var groups: [UInt32] = [peer.gid]
        var name: String?
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buf = [CChar](repeating: 0, count: 16384)
        if getpwuid_r(peer.uid, &pw, &buf, buf.count, &result) == 0, result != nil, let n = pw.pw_name {
            name = String(cString: n)
            var count: Int32 = 64
            var list = [gid_t](repeating: 0, count: Int(count))
            if getgrouplist(n, pw.pw_gid, &list, &count) == -1, count > 0 {
                list = [gid_t](repeating: 0, count: Int(count))
                _ = getgrouplist(n, pw.pw_gid, &list, &count)
            }
            groups += list.prefix(Int(max(0, count)))
        }
        cache.withLock { $0[peer.uid] = (groups, name, .now) }
        return (groups, name)
    }
}
