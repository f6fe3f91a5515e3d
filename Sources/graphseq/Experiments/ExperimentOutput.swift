import Foundation
import GraphSeq

// What every experiment reports with: accuracy, the results table, the JSON line.

/// The fraction of `rows` (default: every row) of [rows, classes] logits
/// whose largest logit is at the row's label.
func accuracy(_ logits: Tensor, _ labels: [Int32], _ rows: [Int]? = nil) -> Double {
    let classes = logits.shape[1], values = logits.values
    let rows = rows ?? Array(labels.indices)
    let correct = rows.filter { r in
        let row = values[(r * classes)..<((r + 1) * classes)]
        return row.firstIndex(of: row.max()!)! - r * classes == Int(labels[r])
    }
    return Double(correct.count) / Double(max(rows.count, 1))
}

/// Prints a Markdown table (as pasted into docs/experiments-sequences.md).
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max()! }
    func line(_ cells: [String]) -> String {
        "| " + zip(cells, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: " | ") + " |"
    }
    print(line(header))
    print("|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|")
    rows.forEach { print(line($0)) }
}

/// Prints `object` as one JSON line, keys sorted.
func printJSONLine(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// A number with `digits` decimals, for tables.
func fixed(_ value: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", value) }
