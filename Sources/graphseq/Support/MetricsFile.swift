import Foundation
import GraphSeq

/// Per-epoch metrics as a table file, its format chosen by the extension:
/// `.csv` (a header line, then one line per row) or `.jsonl` / `.ndjson` /
/// `.json` (one JSON object per line). The whole file is rewritten each time,
/// so it always matches the run's history, resumed runs included.
enum MetricsFile {
    enum Value {
        case number(Double)
        case text(String)
    }
    typealias Row = [(key: String, value: Value)]

    /// Throws for an extension that names no supported format.
    static func validate(_ path: String) throws {
        _ = try isCSV(path)
    }

    static func write(_ rows: [Row], to path: String) throws {
        let text: String
        if try isCSV(path) {
            let header = rows.first?.map(\.key).joined(separator: ",") ?? ""
            text = ([header] + rows.map { $0.map { csv($0.value) }.joined(separator: ",") }).joined(separator: "\n") + "\n"
        } else {
            text = rows.map { "{" + $0.map { "\"\($0.key)\":\(json($0.value))" }.joined(separator: ",") + "}\n" }.joined()
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    private static func isCSV(_ path: String) throws -> Bool {
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": return true
        case "jsonl", "ndjson", "json": return false
        default: throw GraphSeqError.invalidArgument("--metrics \(path): the extension must be .csv, .jsonl, .ndjson or .json")
        }
    }

    private static func csv(_ v: Value) -> String {
        switch v {
        case .number(let x): x.isFinite ? number(x) : ""
        case .text(let s): s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
    }

    /// `v` as a JSON value (non-finite numbers as null).
    static func json(_ v: Value) -> String {
        switch v {
        case .number(let x): x.isFinite ? number(x) : "null"
        case .text(let s): jsonString(s)
        }
    }

    /// Shortest round-trip decimal form.
    static func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)" }
}

/// A JSON string literal.
func jsonString(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case _ where c.value < 0x20: out += String(format: "\\u%04x", c.value)
        default: out.unicodeScalars.append(c)
        }
    }
    return out + "\""
}
