import WhatIfClient
import WhatIfProtocol
import WhatIfUnits

#if canImport(Glibc)
    import Glibc
#endif

enum Out {
    static func line(_ s: String = "") { print(s) }

    /// Text to stdout without a newline.
    static func raw(_ s: String) { print(s, terminator: "") }

    static func err(_ s: String) {
        // What stdout holds goes first, so a pipe or a log keeps the order the lines were written in.
        fflush(nil)
        var t = s + "\n"
        t.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    static var stdoutIsTTY: Bool { isatty(1) == 1 }

    /// Set once from --color while the arguments are parsed, before any output.
    nonisolated(unsafe) static var colorize = false

    /// A state word in its colour: bad red, good green, in between yellow; anything else as is.
    static func colored(_ cell: String) -> String {
        guard colorize else { return cell }
        let code: String
        switch cell {
        case "ALARM", "FAIL", "failed", "interrupted", "down", "FAILED", "differs": code = "31"
        case "OK", "PASS", "succeeded", "ok", "verified", "matches": code = "32"
        case "INSUFFICIENT_DATA", "SKIP", "cancelled", "running", "queued", "timeout", "partial": code = "33"
        default: return cell
        }
        return "\u{1B}[\(code)m\(cell)\u{1B}[0m"
    }
    static var stderrIsTTY: Bool { isatty(2) == 1 }

    /// Prints the value as pretty JSON.
    static func json(_ value: some Encodable) throws {
        print(String(decoding: try APICoding.encode(value, pretty: true), as: UTF8.self))
    }

    /// Left-aligned columns, two spaces apart, header in capitals. With `maxWidth`, the last column is cut
    /// (with "…") so that no line is wider.
    static func table(_ header: [String], _ rows: [[String]], maxWidth: Int? = nil) {
        var widths = header.map(\.count)
        var rows = rows
        for r in rows {
            for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) }
        }
        if let maxWidth, let last = widths.indices.last {
            let room = max(10, maxWidth - widths.dropLast().reduce(0, +) - 2 * last)
            for i in rows.indices where rows[i].count > last && rows[i][last].count > room {
                rows[i][last] = String(rows[i][last].prefix(room - 1)) + "…"
            }
        }
        func render(_ cells: [String]) -> String {
            var out = ""
            for (i, c) in cells.enumerated() {
                // Padding from the plain text: colour codes take no columns.
                if i == cells.count - 1 {
                    out += colored(c)
                } else {
                    out += colored(c) + String(repeating: " ", count: widths[i] - c.count + 2)
                }
            }
            return out
        }
        print(render(header))
        for r in rows { print(render(r)) }
    }

    static func amount(_ v: Double, unit: String) -> String {
        unit == "bytes" ? Units.bytes(Int64(v)) : "\(Int64(v)) \(unit)"
    }
}
