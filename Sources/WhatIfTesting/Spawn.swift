import Foundation

/// Starts programs the way systemd does: empty signal mask, default signal dispositions. (Children of
/// the test process would otherwise inherit its blocked signals, and ignore SIGTERM and SIGHUP.)
enum Spawn {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// posix_spawn with `stdin`, `stdout`, `stderr` bound to the given descriptors (or /dev/null).
    static func start(
        _ argv: [String], environment: [String: String], stdin: Int32?, stdout: Int32?, stderr: Int32?,
        closeInChild: [Int32] = []
    ) throws -> pid_t {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target) in [(stdin, Int32(0)), (stdout, Int32(1)), (stderr, Int32(2))] {
            if let fd {
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }
        for fd in closeInChild { posix_spawn_file_actions_addclose(&actions, fd) }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for a in cArgs { free(a) }
            for e in cEnv { free(e) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attr, cArgs, cEnv)
        guard rc == 0 else { throw Failed(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    static var currentEnvironment: [String: String] { ProcessInfo.processInfo.environment }
}
