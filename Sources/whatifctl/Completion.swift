import ArgumentParser
import WhatIfClient
import WhatIfProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// Dynamic completion: the shell asks whatifctl, which asks the agent (the --socket on the command line,
/// else $WHATIF_SOCKET, else the default) with a short timeout; no agent, no candidates.
enum Complete {
    static func client(_ words: [String]) -> AgentClient {
        let i = words.firstIndex(of: "--socket")
        let given = i.flatMap { $0 + 1 < words.count ? words[$0 + 1] : nil }
        return AgentClient(socketPath: GlobalOptions.socketPath(given), timeout: 2)
    }

    static func names(_ list: @escaping @Sendable (AgentClient) throws -> [String]) -> CompletionKind {
        .custom { words, _, prefix in
            ((try? list(client(words))) ?? []).filter { $0.hasPrefix(prefix) }
        }
    }

    static let jobIDs = names { try $0.jobs().map(\.id) }
    static let jobKinds = names { try $0.jobKinds().map(\.kind) }
    static let backupIDs = names { try $0.backups().backups.map(\.id) }
    static let alarmNames = names { try $0.alarms().alarms.map(\.alarmName) }
    static let windowNames = names { try $0.maintenanceWindows().windows.map(\.name) }
}
