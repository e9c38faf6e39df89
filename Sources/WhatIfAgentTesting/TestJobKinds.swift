import Foundation
import WhatIfAgent
import WhatIfProtocol
import WhatIfTesting

/// Job kinds for exercising the job system itself (the agent's real kinds come with its capabilities).
package enum TestJobKinds {
    package static var all: [JobKind] { [count, fail] }

    /// `test.count`: counts to `to` (default 100) in steps of `stepMs` ms.
    package enum Count: JobSpec {
        package struct Params: Codable, Sendable, Equatable {
            package var to: Int?
            package var stepMs: Int?
            /// The resource to lock (default `test:counter`).
            package var resource: String?
        }
        package struct Result: Codable, Sendable, Equatable {
            package var counted: Int
        }
        package static let name = "test.count"
        package static let summary = "count slowly (tests of the job system)"
        package static let example = #"{"to": 100, "stepMs": 10}"#
    }

    /// `test.fail`: fails on purpose.
    package enum Fail: JobSpec {
        package typealias Params = NoParams
        package typealias Result = NoParams
        package static let name = "test.fail"
        package static let summary = "fail on purpose (tests of the job system)"
        package static let example = "{}"
    }

    private struct Checkpoint: Codable {
        var next: Int
    }

    /// Counts, reporting progress and logging every 25, checkpointing as it goes and resuming from its
    /// checkpoint; honours cancellation.
    package static let count = JobKind(
        Count.self,
        resource: { p, _ in .other(p.resource ?? "test:counter") },
        run: { ctx, p in
            let to = p.to ?? 100
            let step = p.stepMs ?? 10
            var i =
                ctx.loadCheckpoint().flatMap { try? APICoding.decode(Checkpoint.self, from: APICoding.encode($0)) }?
                .next ?? 0
            if i > 0 { ctx.log(.notice, "resuming at \(i)") }
            while i < to {
                try ctx.checkCancellation()
                try await Task.sleep(for: .milliseconds(step))
                i += 1
                ctx.progress(done: Double(i), total: Double(to), unit: "steps", phase: "counting")
                if i % 25 == 0 {
                    ctx.log(.info, "reached \(i)")
                    try ctx.saveCheckpoint(["next": .number(Double(i))])
                }
            }
            ctx.clearCheckpoint()
            return Count.Result(counted: to)
        })

    /// Fails after a few steps with an operator-facing error.
    package static let fail = JobKind(
        Fail.self,
        resource: { _, _ in .other("test:failer") },
        run: { ctx, _ in
            ctx.progress(done: 1, total: 3, unit: "steps", phase: nil)
            try await Task.sleep(for: .milliseconds(20))
            throw APIError(.unprocessable, "the test job failed as asked", hint: "nothing to fix")
        })
}
