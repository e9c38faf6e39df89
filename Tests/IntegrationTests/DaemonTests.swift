import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfClient
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

/// whatifd and whatifctl as built, as processes.
@Suite struct CheckConfigTests {
    @Test func problemsAreListedAsFileLineAndExit78() throws {
        let dir = TempDir()
        let path = try dir.write("bad.yaml", "environment: prod\npostgres:\n  prot: 5432\n  port: x\n")
        let r = try Run.command([TestPaths.binary("whatifd"), "--check-config", "--config", path])
        #expect(r.status == 78)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("\(path):1: ") && $0.contains("; ") })
        #expect(lines.contains { $0.hasPrefix("\(path):3: unknown key 'postgres.prot'; did you mean 'port'?") })
        #expect(lines.contains { $0.hasPrefix("\(path):4: ") })
        #expect(lines.last == "3 problems in \(path)")
        // Starting with the same file refuses too, with the same status.
        #expect(try Run.command([TestPaths.binary("whatifd"), "--config", path]).status == 78)
    }

    @Test func commandLine() throws {
        let help = try Run.command([TestPaths.binary("whatifd"), "--help"])
        #expect(help.status == 0 && help.stdout.contains("--check-config") && help.stdout.contains("whatifd(8)"))
        let bad = try Run.command([TestPaths.binary("whatifd"), "--frobnicate"])
        #expect(bad.status == 64 && bad.stderr.contains("unknown option '--frobnicate'"))
        let missing = try Run.command([TestPaths.binary("whatifd"), "--config"])
        #expect(missing.status == 64 && missing.stderr.contains("--config needs a path"))
    }

    /// libpq and libcurl (and their forty-odd dependencies) are loaded on first use, which keeps the
    /// idle daemon small (bench/admin-api.sh measures it).
    @Test func serviceLibrariesAreNotLinkedAtStart() throws {
        let r = try Run.command(["/usr/bin/ldd", TestPaths.binary("whatifd")])
        #expect(r.status == 0)
        #expect(!r.stdout.contains("libpq") && !r.stdout.contains("libcurl"), "\(r.stdout)")
    }

    /// A million-deep YAML collection is a config problem on its line, never a crash: for
    /// --check-config, and for a running agent on SIGHUP and `config reload` (which keeps the old config).
    @Test func deeplyNestedConfigIsRefusedNotACrash() throws {
        let dir = TempDir()
        let deep =
            "environment: development\nx: " + String(repeating: "[", count: 1_000_000)
            + String(repeating: "]", count: 1_000_000) + "\n"
        let path = try dir.write("deep.yaml", deep)
        let r = try Run.command([TestPaths.binary("whatifd"), "--check-config", "--config", path])
        #expect(r.status == 78, "\(r.output.prefix(2000))")
        #expect(r.stderr.contains("\(path):2: YAML syntax error: collections nested deeper than 64"))

        let agent = try AgentProcess(TestConfig())
        let good = try String(contentsOfFile: agent.configPath, encoding: .utf8)
        try (good + "x: " + String(repeating: "[", count: 1_000_000) + "\n").write(
            toFile: agent.configPath, atomically: true, encoding: .utf8)
        let reload = try agent.ctl(["config", "reload"])
        #expect(reload.status == 78, "\(reload.output)")
        #expect(reload.stderr.contains("unclosed '['") || reload.stderr.contains("nested deeper"), "\(reload.output)")
        try
            (good + "x: " + String(repeating: "{a: ", count: 500_000) + "1" + String(repeating: "}", count: 500_000)
            + "\n").write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        #expect(try agent.ctl(["config", "reload"]).status == 78)
        agent.process.signal(SIGHUP)
        #expect(
            eventually(timeout: 20) { agent.process.log.components(separatedBy: "config reload refused").count >= 4 },
            "\(agent.process.log)")
        #expect(agent.process.isRunning)
        #expect(try agent.ctl(["status"]).status == 0)
        agent.process.signal(SIGTERM)
        #expect(agent.process.wait(timeout: 20) == 0)
        #expect(agent.process.log.contains("whatifd is exiting"), "\(agent.process.log.suffix(2000))")
    }

    @Test func aGoodConfigPasses() throws {
        let dir = TempDir()
        let path = try dir.write(
            "ok.yaml", TestConfig().render(socket: dir.file("s.sock"), stateDir: dir.file("state")))
        let r = try Run.command([TestPaths.binary("whatifd"), "--check-config", "--config", path])
        #expect(r.status == 0 && r.stdout.contains("OK"))
    }

    @Test func versionIsTheOneVersion() throws {
        #expect(
            try Run.command([TestPaths.binary("whatifd"), "--version"]).stdout.trimmingCharacters(
                in: .whitespacesAndNewlines) == WhatIfVersion.string)
        let agent = try AgentProcess(TestConfig())
        let r = try agent.ctl(["version", "--json"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"version\" : \"\(WhatIfVersion.string)\""))
        let human = try agent.ctl(["version"])
        #expect(
            human.stdout.contains("whatifctl \(WhatIfVersion.string)")
                && human.stdout.contains("whatifd   \(WhatIfVersion.string)"))
    }
}

@Suite struct StatusCommandTests {
    @Test func allThreeServicesThenEachStopped() throws {
        let stack = try Stack.startPrivate(["pg", "redis", "moto"])
        let keys = stack.info.awsKeys
        let table = "what-if-generator-scenarios-development"
        let mk = try Run.command([
            "python3", "-c",
            "import boto3; boto3.client('dynamodb', endpoint_url='\(stack.info.motoEndpoint)', region_name='us-east-1', aws_access_key_id='\(keys.id)', aws_secret_access_key='\(keys.secret)').create_table(TableName='\(table)', BillingMode='PAY_PER_REQUEST', AttributeDefinitions=[{'AttributeName':'scenarioId','AttributeType':'S'}], KeySchema=[{'AttributeName':'scenarioId','KeyType':'HASH'}])",
        ])
        try #require(mk.status == 0, "\(mk.output)")
        var config = TestConfig.forStack(stack.info)
        config.status = "  timeout: 2s\n  max_age: 1ms\n"
        let agent = try AgentProcess(config)

        func status() throws -> (StatusReport, Int32, String) {
            let r = try agent.ctl(["status", "--json"])
            let report = try APICoding.decode(StatusReport.self, from: Array(r.stdout.utf8))
            let human = try agent.ctl(["status"])
            return (report, r.status, human.stdout)
        }

        var (report, code, human) = try status()
        #expect(code == 0 && report.allReachable, "\(human)")
        #expect(
            human.contains("SERVICE") && human.contains("postgres  ok") && human.contains("redis     ok")
                && human.contains("dynamodb  ok"))

        for service in ["pg", "redis", "moto"] {
            try stack.stop(service)
            let started = Date()
            (report, code, human) = try status()
            #expect(Date().timeIntervalSince(started) < 8)
            let name: ServiceKind = service == "pg" ? .postgres : service == "redis" ? .redis : .dynamodb
            let down = try #require(report.services.first { $0.service == name })
            #expect(!down.reachable && down.error != nil, "\(service)")
            let others = report.services.filter { $0.service != name }
            #expect(others.allSatisfy { $0.reachable }, "\(human)")
            #expect(code == 1)
            #expect(human.contains("\(name.rawValue): error:"))
            try stack.start(service)
            if service == "moto" {
                // A new moto is empty; the table's absence is reported, not hidden.
                (report, _, _) = try status()
                #expect(report.services.first { $0.service == .dynamodb }?.error?.contains("ResourceNotFound") == true)
            } else {
                #expect(eventually(timeout: 20) { (try? status().0.allReachable) == true })
            }
        }
    }

    @Test func agentNotRunningIsExit69AndNamesTheSocket() throws {
        let path = "/tmp/whatif-nowhere-\(getpid())/agent.sock"
        let r = try Run.command([TestPaths.binary("whatifctl"), "status", "--socket", path])
        #expect(r.status == 69)
        #expect(r.stderr.contains(path) && r.stderr.contains("not running"))
        #expect(try Run.command([TestPaths.binary("whatifctl"), "jobs", "show"]).status == 64)
    }
}

/// Roles from SO_PEERCRED, with real users run through runuser.
@Suite(.serialized) struct AuthorizationTests {
    @Test func readersAdminsAndStrangers() throws {
        try #require(isRoot, "needs root for test users")
        try TestUsers.ensure()
        var config = TestConfig()
        config.socketMode = "0666"
        config.extraSocket = "  reader_group: \(TestUsers.readerGroup)\n  admin_group: \(TestUsers.adminGroup)\n"
        let agent = try AgentProcess(config)
        // A stranger reaches the socket but the agent refuses: 403 as JSON, exit 77.
        let stranger = try ctl(as: "nobody", socket: agent.socket, ["status"])
        #expect(
            stranger.status == 77 && stranger.stderr.contains("may not use")
                && stranger.stderr.contains(TestUsers.readerGroup), "\(stranger.output)")
        let raw = try Run.command([
            "/usr/sbin/runuser", "-u", "nobody", "--", "curl", "-s", "-w", "\n%{http_code}", "--unix-socket",
            agent.socket, "http://x/v1/status",
        ])
        #expect(raw.stdout.hasSuffix("403") && raw.stdout.contains(#""code":"forbidden""#))
        // A reader reads, but may not start jobs or reload.
        let readerStatus = try ctl(as: TestUsers.reader, socket: agent.socket, ["status"])
        #expect(readerStatus.status == 0, "\(readerStatus.output)")
        let who = try ctl(as: TestUsers.reader, socket: agent.socket, ["whoami", "--json"])
        #expect(who.stdout.contains(#""role" : "reader""#) && who.stdout.contains(TestUsers.reader))
        let denied = try ctl(as: TestUsers.reader, socket: agent.socket, ["config", "reload"])
        #expect(denied.status == 77 && denied.stderr.contains("admin"))
        // An admin may.
        #expect(try ctl(as: TestUsers.admin, socket: agent.socket, ["config", "reload"]).status == 0)
        #expect(
            try ctl(as: TestUsers.admin, socket: agent.socket, ["whoami", "--json"]).stdout.contains(
                #""role" : "admin""#))
    }

    /// The audit trail names the caller of every request that can change something, refused ones too;
    /// a reader may read it; an edited line makes `whatifctl audit` exit 1 naming it.
    @Test func theAuditTrailNamesWhoDidWhatAndReadersMayReadIt() throws {
        try #require(isRoot, "needs root for test users")
        try TestUsers.ensure()
        var config = TestConfig()
        config.extraSocket = "  reader_group: \(TestUsers.readerGroup)\n  admin_group: \(TestUsers.adminGroup)\n"
        let agent = try AgentProcess(config)
        #expect(try ctl(as: TestUsers.reader, socket: agent.socket, ["config", "reload"]).status == 77)
        #expect(try ctl(as: TestUsers.admin, socket: agent.socket, ["config", "reload"]).status == 0)
        let missing = try ctl(as: TestUsers.admin, socket: agent.socket, ["jobs", "cancel", "no-such-job"])
        #expect(missing.status == 66, "\(missing.output)")
        let shown = try ctl(as: TestUsers.reader, socket: agent.socket, ["audit", "--json"])
        #expect(shown.status == 0, "\(shown.output)")
        let list = try APICoding.decode(AuditList.self, from: Array(shown.stdout.utf8))
        let readerUID = UInt32(
            try #require(
                Int(
                    try Run.command(["id", "-u", TestUsers.reader]).stdout.trimmingCharacters(
                        in: .whitespacesAndNewlines))))
        #expect(
            list.entries.contains {
                $0.event == "request" && $0.user == TestUsers.reader && $0.uid == readerUID && $0.role == "reader"
                    && $0.route == "POST /v1/config/reload" && $0.status == 403 && $0.outcome == "refused"
            }, "\(list.entries)")
        #expect(
            list.entries.contains { $0.event == "config.reloaded" && $0.user == TestUsers.admin && $0.outcome == "ok" })
        #expect(
            list.entries.contains {
                $0.route == "DELETE /v1/jobs/{id}" && $0.user == TestUsers.admin && $0.status == 404
                    && $0.message?.contains("no job no-such-job") == true
            })
        let mine = try ctl(as: TestUsers.reader, socket: agent.socket, ["audit", "--user", TestUsers.admin])
        #expect(
            mine.status == 0 && mine.stdout.contains("config.reloaded") && !mine.stdout.contains("refused"),
            "\(mine.output)")
        // An entry changed behind the agent's back.
        let path = agent.dir.file("state") + "/audit/audit.log"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "\"outcome\":\"refused\"", with: "\"outcome\":\"ok\"")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let broken = try ctl(as: TestUsers.reader, socket: agent.socket, ["audit"])
        #expect(
            broken.status == 1 && broken.stderr.contains("the audit trail is broken: audit.log line 1"),
            "\(broken.output)")
    }

    /// The default model (socket 0666, the role from SO_PEERCRED) reaches every role whatever groups its
    /// user is in; an outsider connects and is refused with the configured group names.
    @Test func everyRoleReachesTheAgentWithTheDefaultSocket() throws {
        try #require(isRoot, "needs root for test users")
        try TestUsers.ensure()
        var config = TestConfig()
        config.extraSocket = "  reader_group: \(TestUsers.readerGroup)\n  admin_group: \(TestUsers.adminGroup)\n"
        let agent = try AgentProcess(config)
        var st = stat()
        stat(agent.socket, &st)
        #expect(st.st_mode & 0o777 == 0o666)
        for (user, role) in [
            (TestUsers.reader, "reader"), (TestUsers.admin, "admin"), (TestUsers.both, "admin"), ("root", "admin"),
        ] {
            let who = try ctl(as: user, socket: agent.socket, ["whoami", "--json"])
            #expect(who.status == 0 && who.stdout.contains(#""role" : "\#(role)""#), "\(user): \(who.output)")
        }
        // An admin-only user may do admin things, not just connect.
        #expect(try ctl(as: TestUsers.admin, socket: agent.socket, ["config", "reload"]).status == 0)
        let outsider = try ctl(as: "nobody", socket: agent.socket, ["status"])
        #expect(outsider.status == 77, "\(outsider.output)")
        #expect(
            outsider.stderr.contains("the group \(TestUsers.readerGroup)")
                && outsider.stderr.contains("the group \(TestUsers.adminGroup)"), "\(outsider.output)")
        #expect(!outsider.stderr.contains("whatif-admin"), "\(outsider.output)")
    }

    /// Readers cannot take the places kept for admins: with 8 places, a reader gets at most 7.
    @Test func readersCannotLockAdminsOut() throws {
        try #require(isRoot, "needs root for test users")
        try TestUsers.ensure()
        var config = TestConfig()
        config.extraSocket =
            "  reader_group: \(TestUsers.readerGroup)\n  admin_group: \(TestUsers.adminGroup)\n  max_connections: 8\n  idle_timeout: 60s\n"
        let agent = try AgentProcess(config)
        // A reader's process holds as many connections as it can get, and reports what each got.
        let script = """
            import socket, sys, time
            conns, answers = [], []
            for i in range(10):
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); conns.append(s)
            for s in conns:
                try:
                    s.sendall(b'GET /v1/version HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
                except OSError:
                    pass
                answers.append(s.recv(12).decode() or 'closed')
            print(','.join(answers), flush=True)
            time.sleep(60)
            """
        let dir = TempDir()
        let path = try dir.write("hold.py", script)
        chmod(dir.path, 0o755)
        chmod(path, 0o644)
        let holder = try BackgroundProcess(
            ["/usr/sbin/runuser", "-u", TestUsers.reader, "--", "python3", path, agent.socket],
            logPath: dir.file("hold.log"))
        defer { holder.signal(SIGKILL) }
        #expect(eventually(timeout: 30) { holder.log.contains("\n") }, "\(holder.log)")
        let answers = holder.log.split(separator: "\n").first.map { $0.split(separator: ",").map(String.init) } ?? []
        #expect(answers.filter { $0 == "HTTP/1.1 200" }.count == 7, "\(answers)")
        #expect(answers.filter { $0 == "HTTP/1.1 503" }.count == 3, "\(answers)")
        // The admin still gets in.
        let admin = try ctl(as: TestUsers.admin, socket: agent.socket, ["whoami"])
        #expect(admin.status == 0, "\(admin.output)")
    }

    @Test func theSocketsModeKeepsStrangersOut() throws {
        try #require(isRoot, "needs root for test users")
        try TestUsers.ensure()
        var config = TestConfig()
        config.socketMode = "0660"
        config.extraSocket =
            "  group: \(TestUsers.readerGroup)\n  reader_group: \(TestUsers.readerGroup)\n  admin_group: \(TestUsers.adminGroup)\n"
        let agent = try AgentProcess(config)
        var st = stat()
        stat(agent.socket, &st)
        #expect(st.st_mode & 0o777 == 0o660)
        let r = try ctl(as: "nobody", socket: agent.socket, ["status"])
        #expect(r.status == 77 && r.stderr.contains("permission denied on \(agent.socket)"))
        #expect(try ctl(as: TestUsers.reader, socket: agent.socket, ["status"]).status == 0)
        // The agent says at start that this mode shuts out admins who are not in the socket's group.
        #expect(
            agent.process.log.contains("members of \(TestUsers.adminGroup) who are not in it cannot connect"),
            "\(agent.process.log)")
    }
}

/// Hostile and broken clients: the agent answers each with an error and keeps answering others.
@Suite struct RobustnessTests {
    func agent() throws -> AgentProcess {
        var config = TestConfig()
        config.extraSocket =
            "  request_timeout: 1s\n  idle_timeout: 2s\n  max_body_bytes: 4096\n  max_header_bytes: 4096\n"
        return try AgentProcess(config)
    }

    func stillAnswers(_ a: AgentProcess) -> Bool { (try? a.client.version().version) == WhatIfVersion.string }

    @Test func randomBytes() throws {
        let a = try agent()
        var g = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let junk = (0..<Int.random(in: 1...8192, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            let answer = rawExchange(a.socket, junk, timeout: 3)
            #expect(
                answer.isEmpty || answer.hasPrefix("HTTP/1.1 400") || answer.hasPrefix("HTTP/1.1 408"),
                "\(answer.prefix(80))")
        }
        let garbage = rawExchange(a.socket, Array("GARBAGE / HTTP/1.1\r\n\r\n".utf8))
        #expect(garbage.hasPrefix("HTTP/1.1 400") && garbage.contains(#""code":"bad_request""#))
        #expect(stillAnswers(a))
    }

    @Test func oversizedBodiesAndHeaders() throws {
        let a = try agent()
        let big = rawExchange(
            a.socket, Array("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n".utf8))
        #expect(big.hasPrefix("HTTP/1.1 413") && big.contains("payload_too_large"))
        let chunked = rawExchange(
            a.socket,
            Array("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n".utf8)
                + [UInt8](repeating: 65, count: 8192) + Array("\r\n0\r\n\r\n".utf8))
        #expect(chunked.hasPrefix("HTTP/1.1 413"))
        let headers = rawExchange(
            a.socket,
            Array("GET /v1/version HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 8000))\r\n\r\n".utf8))
        #expect(headers.hasPrefix("HTTP/1.1 431"))
        #expect(stillAnswers(a))
    }

    @Test func slowAndIdleClientsAreCutOff() throws {
        let a = try agent()
        let started = Date()
        // One byte every 300 ms: the 1 s request deadline runs out long before the request is whole.
        let slow = rawExchange(
            a.socket, Array("GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\n".utf8), timeout: 15, sendSlowly: 0.3)
        #expect(slow.hasPrefix("HTTP/1.1 408") && Date().timeIntervalSince(started) < 5)
        // Connected, silent: closed after the 2 s idle timeout.
        let idleStart = Date()
        let idle = rawExchange(a.socket, [], timeout: 10)
        #expect(idle.isEmpty && Date().timeIntervalSince(idleStart) < 5)
        #expect(stillAnswers(a))
    }

    @Test func fiveHundredConcurrentClients() throws {
        let a = try agent()
        let results = Locked<[Int]>([])
        let group = DispatchGroup()
        for _ in 0..<500 {
            group.enter()
            Thread {
                let r = try? AgentClient(socketPath: a.socket, timeout: 30).request(
                    method: "GET", path: Endpoint.status.path())
                results.withLock { $0.append(r?.status ?? 0) }
                group.leave()
            }.start()
        }
        group.wait()
        let statuses = results.value
        #expect(statuses.count == 500)
        #expect(statuses.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        #expect(stillAnswers(a))
    }

    @Test func connectionsOverTheLimitGetA503() throws {
        var config = TestConfig()
        config.extraSocket = "  max_connections: 3\n  idle_timeout: 30s\n"
        let a = try AgentProcess(config)
        // Three idle connections hold every place.
        let held = (0..<3).map { _ in try? UnixHTTPConnection(socketPath: a.socket, timeout: 5) }
        #expect(held.allSatisfy { $0 != nil })
        // The agent accepts the held connections in its own time (slowly on a loaded CI machine): ask
        // until all three count, keeping the last answer for the failure message.
        var refused = ""
        let gotRefused = eventually(timeout: 15) {
            refused = rawExchange(a.socket, Array("GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            return refused.hasPrefix("HTTP/1.1 503")
        }
        #expect(gotRefused, "last answer: \(refused)")
        #expect(refused.contains("too_many_connections"), "answer: \(refused)")
        for c in held { c?.close() }
        #expect(eventually(timeout: 5) { (try? a.client.version()) != nil })
    }

    /// Clients that close their connection (whatifctl does, after each request) leave nothing open.
    @Test func closedClientsLeaveNoConnectionsBehind() throws {
        let a = try agent()
        func sockets() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(a.process.pid)/fd")) ?? []).filter {
                ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(a.process.pid)/fd/\($0)")) ?? "")
                    .hasPrefix("socket:")
            }.count
        }
        let before = sockets()
        for _ in 0..<20 { _ = try a.client.version() }
        #expect(eventually(timeout: 5) { sockets() <= before })
    }

    @Test func aClientThatHalfClosesStillGetsItsAnswer() throws {
        let a = try agent()
        let answer = rawExchange(a.socket, Array("GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\n".utf8), halfClose: true)
        #expect(answer.hasPrefix("HTTP/1.1 200") && answer.contains(#""api":"v1""#))
    }

    @Test func keepAliveAndPipelining() throws {
        let a = try agent()
        let two = rawExchange(
            a.socket,
            Array(
                "GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    .utf8))
        #expect(two.components(separatedBy: "HTTP/1.1 200").count == 3)
        #expect(two.contains(#""api":"v1""#) && two.contains(#""role":"admin""#))
    }

    /// Every request read is answered, in order, also when the client half-closes right after sending
    /// them (the last answer used to be lost while its request still ran).
    @Test func pipelinedRequestsBeforeAHalfCloseAreAllAnswered() throws {
        let a = try agent()
        for n in [1, 2, 5, 16] {
            let paths = (0..<n).map { $0 % 2 == 0 ? "/v1/version" : "/v1/whoami" }
            let bytes = paths.map { "GET \($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined()
            let answer = rawExchange(a.socket, Array(bytes.utf8), timeout: 10, halfClose: true)
            let answers = answer.components(separatedBy: "HTTP/1.1 200 OK").dropFirst()
            #expect(answers.count == n, "\(n) requests: \(answer)")
            for (p, body) in zip(paths, answers) {
                #expect(body.contains(p == "/v1/version" ? #""api":"v1""# : #""role":"admin""#))
            }
        }
    }

    /// A malformed request after a good one: the good one is answered, then a 400, then the connection closes.
    @Test func malformedRequestAfterAGoodOneGetsA400AfterItsAnswer() throws {
        let a = try agent()
        let answer = rawExchange(
            a.socket, Array("GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\nBOGUS\r\n\r\n".utf8), timeout: 5)
        #expect(answer.hasPrefix("HTTP/1.1 200 OK"), "\(answer)")
        let rest = answer.components(separatedBy: "HTTP/1.1 400 Bad Request")
        #expect(rest.count == 2 && rest[0].contains(#""api":"v1""#), "\(answer)")
        #expect(answer.contains(#""code":"bad_request""#))
        #expect(stillAnswers(a))
    }

    /// `Allow` names each method once, for the resource the path names; HEAD is GET without a body.
    @Test func allowAndHead() throws {
        let a = try agent()
        let post = rawExchange(
            a.socket, Array("POST /v1/jobs/kinds HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".utf8))
        #expect(post.hasPrefix("HTTP/1.1 405"), "\(post)")
        #expect(post.contains("Allow: GET, HEAD\r\n"), "\(post)")
        let job = rawExchange(a.socket, Array("PUT /v1/jobs/j-1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".utf8))
        #expect(job.contains("Allow: GET, HEAD, DELETE\r\n"), "\(job)")
        let get = rawExchange(a.socket, Array("GET /v1/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        let head = rawExchange(
            a.socket, Array("HEAD /v1/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        #expect(head.hasPrefix("HTTP/1.1 200 OK"), "\(head)")
        let getParts = get.components(separatedBy: "\r\n\r\n")
        let headParts = head.components(separatedBy: "\r\n\r\n")
        #expect(headParts.count == 2 && headParts[1].isEmpty, "HEAD has no body: \(head)")
        #expect(getParts.count == 2 && !getParts[1].isEmpty)
        let length = { (h: String) in h.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
        }
        #expect(length(headParts[0]) != nil && length(headParts[0]) == length(getParts[0]), "\(head)\n\(get)")
        // Pipelined after a HEAD, the next answer is still framed right.
        let two = rawExchange(
            a.socket,
            Array(
                "HEAD /v1/version HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    .utf8))
        #expect(two.components(separatedBy: "HTTP/1.1 200 OK").count == 3, "\(two)")
    }

    /// The listen backlog is the 1024 asked for (NIO listens again with 128 on a socket it is given), so
    /// a burst of non-blocking connects is queued, not refused with EAGAIN.
    @Test func backlogAndABurstOfNonBlockingConnects() throws {
        let a = try agent()
        let ss = try Run.command(["/usr/bin/ss", "-xlnH", "src", a.socket])
        // Columns: Netid State Recv-Q Send-Q Local... ; for a listener Send-Q is the backlog.
        let fields = ss.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" })
        #expect(fields.count >= 4 && fields[3] == "1024", "\(ss.output)")

        var fds: [Int32] = []
        var failures: [String] = []
        for _ in 0..<1000 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard let addr = Sockets.unixAddress(a.socket) else { break }
            if Sockets.withAddress(addr, { connect(fd, $0, $1) }) != 0 {
                failures.append(String(cString: strerror(errno)))
                close(fd)
            } else {
                fds.append(fd)
            }
        }
        #expect(failures.isEmpty, "\(failures.count) connects failed: \(Set(failures))")
        // Each gets an answer: a 200 or a 503 above max_connections.
        var statuses: [String: Int] = [:]
        let request = Array("GET /v1/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        for fd in fds {
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        for fd in fds {
            var tv = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buf = [UInt8](repeating: 0, count: 16)
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 12, Int32(MSG_WAITALL)) }
            let line = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : "nothing"
            statuses[line, default: 0] += 1
            close(fd)
        }
        #expect(Set(statuses.keys).isSubset(of: ["HTTP/1.1 200", "HTTP/1.1 503"]), "\(statuses)")
        #expect(statuses["HTTP/1.1 200", default: 0] >= 1)
        #expect(stillAnswers(a))
    }
}

@Suite struct CompletionTests {
    /// bash, zsh and fish completions come from the binary (packaging/build-deb installs them where each
    /// shell looks; packaging/check checks they are there and parse).
    @Test(arguments: ["bash", "zsh", "fish"]) func everyShellGetsACompletion(shell: String) throws {
        let generated = try Run.command([TestPaths.binary("whatifctl"), "--generate-completion-script", shell])
        #expect(generated.status == 0)
        // fish names options without their dashes (-l socket).
        for word in ["maintenance", "backups", shell == "fish" ? "socket" : "--socket", "---completion"] {
            #expect(generated.stdout.contains(word), "\(shell) completion lacks \(word)")
        }
    }

    /// Job ids, backup ids, alarm and window names complete from the agent named on the command line.
    @Test func namesCompleteFromTheAgent() throws {
        var config = TestConfig()
        config.maintenance =
            "  windows:\n    - name: nightly\n      when: \"0 3 * * *\"\n      duration: 1h\n      jobs: [prune]\n"
        let a = try AgentProcess(config)
        func complete(_ path: [String], _ prefix: String) throws -> [String] {
            let words = ["whatifctl"] + path + ["--socket", a.socket, prefix]
            let r = try Run.command(
                [TestPaths.binary("whatifctl"), "---completion"] + path
                    + ["--", "positional@0", String(words.count - 1), String(prefix.count)] + words)
            return r.stdout.split(separator: "\n").map(String.init)
        }
        #expect(try complete(["maintenance", "run"], "") == ["nightly"])
        #expect(try complete(["maintenance", "run"], "x").isEmpty)
        #expect(try complete(["jobs", "start"], "").contains("backup.prune"))
        // No agent: no candidates, and no error on the terminal.
        let r = try Run.command(
            [
                TestPaths.binary("whatifctl"), "---completion", "jobs", "show", "--", "positional@0", "5", "0",
                "whatifctl",
                "jobs", "show", "--socket", "/nonexistent/agent.sock", "",
            ])
        #expect(r.stdout.isEmpty && r.stderr.isEmpty, "\(r.output)")
    }
}
