import Foundation
import Testing
import WhatIfAgent
import WhatIfAgentTesting
import WhatIfClient
import WhatIfProtocol
import WhatIfTesting

/// The job system through the admin API of an agent running in the test process.
@Suite struct JobTests {
    func agent() async throws -> InProcessAgent { try await InProcessAgent(TestConfig()) }

    func follow(_ a: InProcessAgent, _ id: String) async throws -> [JobEvent] {
        try await a.call { c in
            var events: [JobEvent] = []
            try c.events(of: id, follow: true) { e in
                events.append(e)
                return true
            }
            return events
        }
    }

    @Test func startFollowAndFinish() async throws {
        let a = try await agent()
        defer { Task { await a.stop() } }
        #expect(try await a.call { try $0.jobKinds() }.map(\.kind).contains("test.count"))
        let job = try await a.call { try $0.startJob(kind: "test.count", params: ["to": 60, "stepMs": 2]) }
        #expect(job.state == .running && job.resource == "test:counter" && job.requestedBy != nil)
        let events = try await follow(a, job.id)
        // The stream starts with the job, carries progress and logs, and ends with the final state.
        #expect(events.first?.type == .state)
        #expect(events.contains { $0.type == .progress })
        #expect(events.contains { $0.type == .log && $0.message == "reached 50" })
        let last = try #require(events.last?.job)
        #expect(last.state == .succeeded && last.result?["counted"]?.intValue == 60)
        #expect(events.map(\.seq) == events.map(\.seq).sorted())
        let shown = try await a.call { try $0.job(job.id) }
        #expect(shown.state == .succeeded && shown.progress?.done == 60 && shown.endedAt != nil)
        #expect(try await a.call { try $0.jobs() }.first?.id == job.id)
    }

    @Test func oneJobPerResource() async throws {
        let a = try await agent()
        defer { Task { await a.stop() } }
        let first = try await a.call { try $0.startJob(kind: "test.count", params: ["to": 1000, "stepMs": 5]) }
        do {
            _ = try await a.call { try $0.startJob(kind: "test.count", params: ["to": 10]) }
            Issue.record("a second job on the same resource was accepted")
        } catch ClientError.api(let status, let e) {
            #expect(status == 409 && e.code == .conflict && e.jobId == first.id && e.message.contains(first.id))
        }
        // Another resource is free.
        let other = try await a.call {
            try $0.startJob(kind: "test.count", params: ["to": 5, "resource": "test:other"])
        }
        #expect(other.state == .running)
        _ = try await a.call { try $0.cancelJob(first.id) }
    }

    @Test func cancelStopsAJobWhichCheckpointsAndResumes() async throws {
        let a = try await agent()
        defer { Task { await a.stop() } }
        let c = a.client
        let job = try await a.call { try $0.startJob(kind: "test.count", params: ["to": 200, "stepMs": 3]) }
        // Wait past the first checkpoint (at 25), then cancel.
        #expect(await eventually(timeout: 30) { ((try? c.job(job.id))?.progress?.done ?? 0) >= 30 })
        _ = try await a.call { try $0.cancelJob(job.id) }
        #expect(await eventually(timeout: 30) { (try? c.job(job.id))?.state == .cancelled })
        let again = try await a.call { try $0.startJob(kind: "test.count", params: ["to": 200, "stepMs": 1]) }
        let events = try await follow(a, again.id)
        #expect(events.contains { $0.type == .log && ($0.message ?? "").hasPrefix("resuming at ") })
        #expect(events.last?.job?.state == .succeeded)
    }

    @Test func failuresCarryTheErrorAndHint() async throws {
        let a = try await agent()
        defer { Task { await a.stop() } }
        let job = try await a.call { try $0.startJob(kind: "test.fail") }
        let events = try await follow(a, job.id)
        let last = try #require(events.last?.job)
        #expect(
            last.state == .failed && last.error?.message == "the test job failed as asked"
                && last.error?.hint == "nothing to fix")
    }

    @Test func aJobOutlivesTheClientThatStartedIt() async throws {
        let a = try await agent()
        defer { Task { await a.stop() } }
        let c = a.client
        let job = try await a.call { try $0.startJob(kind: "test.count", params: ["to": 100, "stepMs": 3]) }
        // A follower that walks away after two events.
        try await a.call { c in
            var seen = 0
            try c.events(of: job.id, follow: true) { _ in
                seen += 1
                return seen < 2
            }
        }
        #expect(await eventually(timeout: 30) { (try? c.job(job.id))?.state == .succeeded })
    }

    @Test func badJobRequests() async throws {
        let a = try await agent()
        defer { Task { await a.stop() } }
        await #expect { try await a.call { try $0.startJob(kind: "no.such.kind") } } throws: { e in
            if case ClientError.api(422, let body) = e { return body.hint?.contains("test.count") == true }
            return false
        }
        let r = try await a.call {
            try $0.request(method: "POST", path: Endpoint.startJob.path(), body: Array("{not json".utf8))
        }
        #expect(r.status == 400)
        await #expect { try await a.call { try $0.job("nope") } } throws: { e in
            if case ClientError.api(404, _) = e { return true }
            return false
        }
        await #expect { try await a.call { try $0.cancelJob("nope") } } throws: {
            ($0 as? ClientError)?.exitStatus == .notFound
        }
    }

    @Test func historySurvivesARestartAndRunningJobsBecomeInterrupted() async throws {
        let a = try await agent()
        let job = try await a.call { try $0.startJob(kind: "test.count", params: ["to": 10_000, "stepMs": 5]) }
        let done = try await a.call { try $0.startJob(kind: "test.fail") }
        let c = a.client
        #expect(await eventually(timeout: 30) { (try? c.job(done.id))?.state == .failed })
        // Simulate a crash: the record says running, the process is gone.
        let record = a.dir.file("state/jobs/\(job.id).json")
        let manager = JobManager(
            stateDirectory: a.dir.file("state"), logger: .init(label: "t"), config: { a.daemon.core.config })
        let bytes = try Data(contentsOf: URL(fileURLWithPath: record))
        #expect(try APICoding.decode(JobInfo.self, from: Array(bytes)).state == .running)
        try await manager.restore()
        let restored = try #require(await manager.get(job.id))
        #expect(restored.state == .interrupted && restored.error?.message.contains("stopped") == true)
        #expect(await manager.get(done.id)?.state == .failed)
        await a.stop()
    }

    /// Records are written on a thread of their own, and what the API says of a job is on disk by then:
    /// a 202 is a record, a job reported failed is recorded failed.
    @Test func whatTheAPISaysOfAJobIsOnDisk() async throws {
        let a = try await agent()
        defer { Task { await a.stop() } }
        let job = try await a.call { try $0.startJob(kind: "test.fail") }
        let path = a.dir.file("state/jobs/\(job.id).json")
        #expect(FileManager.default.fileExists(atPath: path), "answered 202 before the record was written")
        let final = try await a.call { c -> JobInfo? in
            var last: JobInfo?
            try c.events(of: job.id, follow: true) { e in
                if let j = e.job { last = j }
                return true
            }
            return last
        }
        #expect(final?.state == .failed)
        let onDisk = try APICoding.decode(JobInfo.self, from: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(onDisk.state == .failed, "the stream reported the end before the record said so")
    }

    /// A window waits for its step's end without polling: `ended` answers when the job ends (here by
    /// cancellation), at once for an ended job, nil for an unknown one.
    @Test func endedWaitsForTheEnd() async throws {
        let a = try await agent()
        defer { Task { await a.stop() } }
        let jobs = a.daemon.core.jobs
        let job = try await a.call { try $0.startJob(kind: "test.count", params: ["to": 100_000, "stepMs": 1]) }
        async let end = jobs.ended(job.id)
        _ = try await jobs.cancel(job.id)
        let final = await end
        #expect(final?.state == .cancelled, "\(String(describing: final?.state))")
        #expect(await jobs.ended(job.id)?.state == .cancelled)
        #expect(await jobs.ended("20200101000000-nope-0000") == nil)
    }

    /// A killed agent can leave a record or checkpoint half-written (its temporary file): the next start
    /// removes it, and keeps the real ones.
    @Test func halfWrittenFilesAreGoneAtTheNextStart() async throws {
        let a = try await InProcessAgent(TestConfig()) { state in
            for dir in ["jobs", "checkpoints"] {
                try FileManager.default.createDirectory(atPath: "\(state)/\(dir)", withIntermediateDirectories: true)
                try Data("{".utf8).write(to: URL(fileURLWithPath: "\(state)/\(dir)/x.json.tmp-1-2"))
            }
            try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(state)/checkpoints/test.count-x.json"))
        }
        defer { Task { await a.stop() } }
        let state = a.dir.file("state")
        #expect(!FileManager.default.fileExists(atPath: "\(state)/jobs/x.json.tmp-1-2"))
        #expect(!FileManager.default.fileExists(atPath: "\(state)/checkpoints/x.json.tmp-1-2"))
        #expect(FileManager.default.fileExists(atPath: "\(state)/checkpoints/test.count-x.json"))
    }

    @Test func shutdownLetsJobsCheckpointWithinTheGrace() async throws {
        let a = try await agent()
        let job = try await a.call { try $0.startJob(kind: "test.count", params: ["to": 100_000, "stepMs": 1]) }
        let c = a.client
        #expect(await eventually(timeout: 30) { ((try? c.job(job.id))?.progress?.done ?? 0) > 30 })
        let started = Date()
        await a.stop()
        #expect(Date().timeIntervalSince(started) < 10)
        let info = try #require(await a.daemon.core.jobs.get(job.id))
        #expect(info.state == .cancelled || info.state == .interrupted)
        // Its checkpoint is on disk for the next start.
        #expect(FileManager.default.fileExists(atPath: a.dir.file("state/checkpoints/test.count-test_counter.json")))
    }
}

/// Roles, routes and errors, driven through the router with chosen peers.
@Suite struct RouterTests {
    func request(_ method: String, _ target: String, role: Role, body: String = "") -> AdminRequest {
        AdminRequest(
            method: method, target: target, body: Array(body.utf8), peer: Peer(pid: 1, uid: 4242, gid: 4242),
            role: role, userName: "someone")
    }

    func decodeError(_ r: AdminResponse) throws -> APIError {
        guard case .bytes(let b) = r.body else { throw TestFailure("streamed") }
        return try APICoding.decode(APIErrorBody.self, from: b).error
    }

    @Test func strangersGet403WithJSON() async throws {
        let a = try await InProcessAgent(TestConfig())
        defer { Task { await a.stop() } }
        let r = await a.daemon.router.handle(request("GET", "/v1/status", role: .none))
        #expect(r.status == 403)
        let e = try decodeError(r)
        #expect(e.code == .forbidden && (e.hint ?? "").contains("group"))
    }

    @Test func readersReadAndAdminsWrite() async throws {
        let a = try await InProcessAgent(TestConfig())
        defer { Task { await a.stop() } }
        let router = a.daemon.router
        #expect(await router.handle(request("GET", "/v1/status", role: .reader)).status == 200)
        #expect(await router.handle(request("GET", "/v1/jobs", role: .reader)).status == 200)
        #expect(await router.handle(request("GET", "/v1/config", role: .reader)).status == 200)
        let denied = await router.handle(request("POST", "/v1/jobs", role: .reader, body: #"{"kind":"test.count"}"#))
        let deniedError = try decodeError(denied)
        #expect(denied.status == 403 && deniedError.message.contains("admin"))
        #expect(await router.handle(request("POST", "/v1/config/reload", role: .reader)).status == 403)
        #expect(
            await router.handle(
                request("POST", "/v1/jobs", role: .admin, body: #"{"kind":"test.count","params":{"to":1}}"#)
            ).status == 202)
    }

    @Test func unknownPathsAndMethods() async throws {
        let a = try await InProcessAgent(TestConfig())
        defer { Task { await a.stop() } }
        let router = a.daemon.router
        #expect(await router.handle(request("GET", "/v2/status", role: .admin)).status == 404)
        let r = await router.handle(request("PUT", "/v1/status", role: .admin))
        #expect(r.status == 405 && r.headers.contains { $0.0 == "Allow" && $0.1 == "GET, HEAD" })
        #expect(await router.handle(request("GET", "/v1/jobs/kinds", role: .reader)).status == 200)
    }

    /// Bodies are read strictly: an unknown, misspelt or duplicate key, or a wrong type, is a 422 that
    /// names the key and the accepted keys, and no job starts; a route that takes no body refuses one.
    @Test func bodiesAreCheckedStrictly() async throws {
        let a = try await InProcessAgent(TestConfig())
        defer { Task { await a.stop() } }
        let router = a.daemon.router
        func refused(_ method: String, _ path: String, _ body: String) async throws -> (Int, APIError) {
            let r = await router.handle(request(method, path, role: .admin, body: body))
            return (r.status, try decodeError(r))
        }
        var (status, e) = try await refused("POST", "/v1/backups/verify", #"{"kind":5}"#)
        #expect(status == 422 && e.message.contains(#"unknown key "kind""#) && e.message.contains("ids"), "\(e)")
        (status, e) = try await refused("POST", "/v1/backups/verify", #"{"ids":[],"ids":["x"]}"#)
        #expect(status == 422 && e.message.contains("appears twice"), "\(e)")
        (status, e) = try await refused("POST", "/v1/backups/verify", #"{"ids":"all"}"#)
        #expect(status == 422 && e.message.contains("\"ids\""), "\(e)")
        (status, e) = try await refused("POST", "/v1/migrations/scenarios", #"{"from":"/x.bson","dryrun":true}"#)
        #expect(status == 422 && e.message.contains(#"did you mean "dryRun""#), "\(e)")
        (status, e) = try await refused("POST", "/v1/maintenance/windows/weekly/run", #"{"ignoreEstimate":true}"#)
        #expect(status == 422 && e.message.contains("ignoreEstimates"), "\(e)")
        (status, e) = try await refused("POST", "/v1/maintenance/windows/weekly/run", "garbage")
        #expect(status == 400, "\(e)")
        (status, e) = try await refused("POST", "/v1/jobs", #"{"kind":"test.count","parms":{"to":1}}"#)
        #expect(status == 422 && e.message.contains("parms") && e.message.contains("params"), "\(e)")
        (status, e) = try await refused("POST", "/v1/config/reload", #"{"now":true}"#)
        #expect(status == 422 && e.message.contains("takes no body"), "\(e)")
        (status, e) = try await refused("POST", "/v1/backups/b-1/pin", #"{"not":"x"}"#)
        #expect(status == 422, "\(e)")
        #expect(await a.daemon.core.jobs.list().isEmpty, "a refused request started a job")
        // `{}` and nothing are the same empty request.
        #expect(await router.handle(request("POST", "/v1/config/reload", role: .admin, body: "{}")).status == 200)
    }

    /// Job kinds, endpoints and parameters come from the protocol's tables: the agent runs exactly the
    /// declared kinds and serves exactly the declared endpoints; a kind that takes no parameters refuses
    /// any, started by name too; a query parameter an endpoint does not read is refused, naming it.
    @Test func theJobContractIsOneTable() async throws {
        let a = try await InProcessAgent(TestConfig())
        defer { Task { await a.stop() } }
        let router = a.daemon.router
        let declared = JobSpecs.all.map { $0.name }
        #expect(Set(declared).count == declared.count, "a kind is declared twice")
        let running = await a.daemon.core.jobs.kindList().map(\.kind).filter { !$0.hasPrefix("test.") }
        #expect(running.sorted() == declared.sorted())
        #expect(Set(router.endpoints) == Set(Endpoint.all) && router.endpoints.count == Endpoint.all.count)
        for spec in JobSpecs.all where spec.endpoint != .startJob {
            #expect(spec.endpoint.method == "POST" && spec.endpoint.takesBody, "\(spec.name): \(spec.endpoint)")
        }

        func refused(_ method: String, _ path: String, _ body: String = "") async throws -> (Int, APIError) {
            let r = await router.handle(request(method, path, role: .admin, body: body))
            return (r.status, try decodeError(r))
        }
        var (status, e) = try await refused("POST", "/v1/jobs", #"{"kind":"backup.prune","params":{"dryRun":true}}"#)
        #expect(status == 422 && e.message.contains(#""dryRun""#), "\(e)")
        (status, e) = try await refused("POST", "/v1/jobs", #"{"kind":"redis.expiry","params":{"enforce":"yes"}}"#)
        #expect(status == 422 && e.message.contains("enforce"), "\(e)")
        (status, e) = try await refused("GET", "/v1/backups?knd=postgres")
        #expect(status == 422 && e.message.contains("'knd'") && e.hint?.contains("kind") == true, "\(e)")
        (status, e) = try await refused("POST", "/v1/backups/prune?dryrun=1")
        #expect(status == 422 && e.message.contains("'dryrun'") && e.hint?.contains("dry_run") == true, "\(e)")
        (status, e) = try await refused("GET", "/v1/version?verbose=1")
        #expect(status == 422 && e.hint == "send it without a query", "\(e)")
        #expect(await a.daemon.core.jobs.list().isEmpty, "a refused request started a job")

        // A result decodes as its kind's type, and only as that.
        let info = try await a.call { try $0.startJob(kind: TestJobKinds.Count.name, params: ["to": 2, "stepMs": 1]) }
        let c = a.client
        #expect(await eventually(timeout: 30) { (try? c.job(info.id))?.state == .succeeded })
        let done = try await a.call { try $0.job(info.id) }
        #expect(try done.result(as: TestJobKinds.Count.self)?.counted == 2)
        #expect(throws: DecodingError.self) { try done.result(as: JobSpecs.Backup.self) }
    }

    @Test func configIsShownWithoutSecrets() async throws {
        let stack = try Stack.shared()
        let a = try await InProcessAgent(TestConfig.forStack(stack))
        defer { Task { await a.stop() } }
        let config = try await a.call { try $0.config() }
        let text = String(decoding: try APICoding.encode(config), as: UTF8.self)
        #expect(!text.contains(stack.pgPassword))
        #expect(!text.contains(stack.awsKeys.secret))
        #expect(config.settings["postgres"]?["password_file"]?.stringValue == stack.pgPasswordFile)
        #expect(config.settings["postgres"]?["password"] == nil)
    }
}

/// The harness refuses a blocking call to an in-process agent made on a Swift task: such a call holds one
/// of the pool's threads (two in CI) while the agent needs them to answer, and stalled this whole pass for
/// the client's 30 s timeout. Through `call` (a thread of its own) the same request is answered.
@Suite struct InProcessHarnessTests {
    @Test func aBlockingCallOnATaskIsRefusedAndOffThePoolIsAnswered() async throws {
        let a = try await InProcessAgent(TestConfig())
        defer { Task { await a.stop() } }
        #expect(CooperativePool.isCurrentThreadInATask)
        #expect(throws: TestFailure.self) { _ = try a.client.version() }
        let version = try await a.call { try $0.version() }
        #expect(!version.version.isEmpty)
    }
}

/// The role of a peer the cache does not know is looked up off the event loop: `cached` never does a
/// lookup (nil instead), `resolve` does it on a thread of its own and fills the cache.
@Suite struct AuthorizerTests {
    @Test func theEventLoopAsksTheCacheOnly() async throws {
        let config = try ConfigLoader.parse(text: "environment: development\n", path: "/tmp/x.yaml", environment: [:])
            .get()
        // Trusted for an hour: on a busy host the task may resume from the lookup after the usual 5 s.
        let auth = Authorizer(settings: config.socket, agentUID: 4_000_000, cacheFor: .seconds(3600))
        let root = Peer(pid: 1, uid: 0, gid: 0)
        #expect(auth.cached(root)?.role == .admin, "root needs no lookup")
        let stranger = Peer(pid: 2, uid: 3_999_999, gid: 3_999_999)
        #expect(auth.cached(stranger) == nil)
        let resolved = await auth.resolve(stranger)
        #expect(resolved.role == .none && resolved.name == nil)
        #expect(auth.cached(stranger)?.role == Role.none, "the lookup filled the cache")
    }
}
