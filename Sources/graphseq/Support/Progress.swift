import Foundation

/// Progress of long work on stderr, e.g.
/// `train  [=========>          ]  45/100  12.3 s  ETA 15.0 s  loss 0.1234`.
/// On a terminal the line is redrawn in place; otherwise (logs, CI) a line is
/// printed at most every five seconds, and always at the end.
final class ProgressBar {
    private let label: String
    private let total: Int
    private let start = ContinuousClock.now
    private var lastPrinted: ContinuousClock.Instant? = nil
    private let interactive = isatty(STDERR_FILENO) != 0

    init(_ label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
    }

    /// Seconds since the bar was created.
    var elapsed: Double { (ContinuousClock.now - start).seconds }

    /// Reports `done` of `total` units finished, with a short status text;
    /// `final` ends the bar early (work stopped before `total`).
    func update(_ done: Int, status: String = "", final: Bool = false) {
        let now = ContinuousClock.now
        let final = final || done >= total
        if !interactive, !final, let last = lastPrinted, (now - last).seconds < 5 { return }
        lastPrinted = now
        let fraction = Double(min(done, total)) / Double(total)
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
            + String(repeating: " ", count: max(0, width - filled - 1))
        let eta = done > 0 ? elapsed / Double(done) * Double(total - min(done, total)) : .nan
        var line = "\(label) [\(bar)] \(done)/\(total)  \(format(elapsed)) s"
        if !final, eta.isFinite { line += "  ETA \(format(eta)) s" }
        if !status.isEmpty { line += "  \(status)" }
        let text = interactive ? "\r\u{1B}[K" + line + (final ? "\n" : "") : line + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    private func format(_ seconds: Double) -> String { String(format: "%.1f", seconds) }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
