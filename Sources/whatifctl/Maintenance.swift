import ArgumentParser
import WhatIfClient
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Maintenance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Maintenance windows: when they open and what they run.",
        subcommands: [List.self, Next.self], defaultSubcommand: List.self)

    static func utc(_ d: Date) -> String { Timestamp.format(d) }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every window (UTC) with its jobs and its next (or current) occurrence.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let l = try perform { try global.client.maintenanceWindows() }
            if global.json {
                try Out.json(l)
                return
            }
            Out.table(
                ["WINDOW", "WHEN (UTC)", "NEXT", "JOBS"],
                l.windows.map {
                    [$0.name, $0.when, $0.openNow ? "open now" : utc($0.start), $0.jobs.joined(separator: ", ")]
                })
            Out.line("missed windows on start: \(l.catchUp)")
        }
    }

    struct Next: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The next window to open (or the named one).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A window's name.") var window: String?

        func run() throws {
            let l = try perform { try global.client.maintenanceWindows() }
            let candidates = l.windows.filter { window == nil || $0.name == window }
            guard let w = candidates.min(by: { $0.start < $1.start }) else {
                Out.err("no window named \(window ?? "?"); `whatifctl maintenance list` shows them")
                throw ExitCode(ExitStatus.notFound.rawValue)
            }
            if global.json {
                try Out.json(w)
                return
            }
            Out.line(
                "\(w.name): \(w.openNow ? "open now, until" : "opens \(utc(w.start)), closes") \(utc(w.end)); runs \(w.jobs.joined(separator: ", "))"
            )
        }
    }
}
