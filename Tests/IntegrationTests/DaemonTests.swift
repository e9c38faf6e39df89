import Foundation
import Testing
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

    @Test func theSocketsModeKeepsStrangersOut() throws {
        try #require(isRoot, "needs root for test users")
        try TestUsers.ensure()
        var config = TestConfig()
        config.socketMode = "0660"
        config.extraSocket = "  group: \(TestUsers.readerGroup)\n  reader_group: \(TestUsers.readerGroup)\n"
        let agent = try AgentProcess(config)
        var st = stat()
        stat(agent.socket, &st)
        #expect(st.st_mode & 0o777 == 0o660)
        let r = try ctl(as: "nobody", socket: agent.socket, ["status"])
        #expect(r.status == 77 && r.stderr.contains("permission denied on \(agent.socket)"))
        #expect(try ctl(as: TestUsers.reader, socket: agent.socket, ["status"]).status == 0)
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
                let r = try? AgentClient(socketPath: a.socket, timeout: 30).request(method: "GET", path: APIPath.status)
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
}

@Suite struct CompletionTests {
    /// The packaged bash completion is what the built whatifctl generates (regenerate with
    /// `whatifctl --generate-completion-script bash > packaging/completion/whatifctl.bash`).
    @Test func packagedCompletionIsCurrent() throws {
        let generated = try Run.command([TestPaths.binary("whatifctl"), "--generate-completion-script", "bash"])
        let packaged = try String(
            contentsOfFile: "\(TestPaths.repository)/packaging/completion/whatifctl.bash", encoding: .utf8)
        #expect(generated.status == 0 && generated.stdout == packaged)
        #expect(packaged.contains("jobs") && packaged.contains("--socket"))
    }
}
