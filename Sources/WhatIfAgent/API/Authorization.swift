import CLinuxShims
import WhatIfCore
import WhatIfProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// The process at the other end of the socket, from SO_PEERCRED.
package struct Peer: Sendable, Equatable {
    package var pid: Int32
    package var uid: UInt32
    package var gid: UInt32

    package init(pid: Int32, uid: UInt32, gid: UInt32) {
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
package final class Authorizer: Sendable {
    private let settings: Locked<SocketSettings>
    private let agentUID: UInt32
    private let cache = Locked<[UInt32: (groups: [UInt32], name: String?, at: ContinuousClock.Instant)]>([:])
    /// How long a lookup is trusted.
    private let cacheFor: Duration

    package init(settings: SocketSettings, agentUID: UInt32 = getuid(), cacheFor: Duration = .seconds(5)) {
        self.settings = Locked(settings)
        self.agentUID = agentUID
        self.cacheFor = cacheFor
    }

    package func update(_ s: SocketSettings) {
        settings.set(s)
        cache.set([:])
    }

    /// Looks the peer up (NSS: passwd, group; files, LDAP or sssd) when the cache has nothing fresh:
    /// blocks, so callers on an event loop or a Swift task use `cached` or `resolve`.
    package func role(of peer: Peer) -> Role { role(peer, groups: membership(peer).0) }

    package func userName(_ peer: Peer) -> String? { membership(peer).1 }

    /// The role and name without a lookup, nil when the cache has nothing fresh for this uid: what the
    /// event loop may ask. Root and the agent's own user are admins whatever the cache says; their name
    /// is there only once `resolve` has looked it up.
    package func cached(_ peer: Peer) -> (role: Role, name: String?)? {
        let c = fresh(peer)
        if peer.uid == 0 || peer.uid == agentUID { return (.admin, c?.name) }
        return c.map { (role(peer, groups: $0.groups), $0.name) }
    }

    /// The role and name, the lookup (when the cache has nothing fresh) on a thread of its own: never on
    /// the event loop or Swift's cooperative pool, where a slow directory server would stall every other
    /// request.
    package func resolve(_ peer: Peer) async -> (role: Role, name: String?) {
        if let c = fresh(peer) { return (role(peer, groups: c.groups), c.name) }
        let looked = (try? await Threads.run { [self] in membership(peer) }) ?? ([peer.gid], nil)
        return (role(peer, groups: looked.0), looked.1)
    }

    private func role(_ peer: Peer, groups: [UInt32]) -> Role {
        if peer.uid == 0 || peer.uid == agentUID { return .admin }
        let s = settings.value
        if let admin = s.adminGID, peer.gid == admin || groups.contains(admin) { return .admin }
        if let reader = s.readerGID, peer.gid == reader || groups.contains(reader) { return .reader }
        return .none
    }

    private func fresh(_ peer: Peer) -> (groups: [UInt32], name: String?)? {
        guard let c = cache.withLock({ $0[peer.uid] }), ContinuousClock.now - c.at < cacheFor
        else { return nil }
        return (c.groups, c.name)
    }

    private func membership(_ peer: Peer) -> ([UInt32], String?) {
        if let c = fresh(peer) { return (c.groups, c.name) }
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
