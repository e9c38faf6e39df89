import Foundation
import WhatIfAgent
import WhatIfProtocol

/// Job kinds for exercising the job system itself (the agent's real kinds come with its capabilities).
public enum TestJobKinds {
    public static var all: [JobKind] { [count, fail] }

    /// Counts to `to` (default 100) in steps of `step` ms, reporting progress and logging every 25,
    /// checkpointing as it goes and resuming from its checkpoint; honours cancellation.
    public static let count = JobKind(
        name: "test.count", summary: "count slowly (tests of the job system)",
        resource: { params, _ in params?["resource"]?.stringValue ?? "test:counter" },
        run: { ctx in
            let to = ctx.params?["to"]?.intValue ?? 100
            let step = ctx.params?["stepMs"]?.intValue ?? 10
            var i = ctx.loadCheckpoint()?["next"]?.intValue ?? 0
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
            return ["counted": .number(Double(to))]
        })

    /// Fails after a few steps with an operator-facing error.
    public static let fail = JobKind(
        name: "test.fail", summary: "fail on purpose (tests of the job system)",
        resource: { _, _ in "test:failer" },
        run: { ctx in
            ctx.progress(done: 1, total: 3, unit: "steps", phase: nil)
            try await Task.sleep(for: .milliseconds(20))
            throw APIError(.unprocessable, "the test job failed as asked", hint: "nothing to fix")
        })
}
