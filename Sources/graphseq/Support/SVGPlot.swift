import Foundation

/// Line charts as a standalone SVG file, written by hand (no dependency): a
/// title, a legend row, and a grid of panels, each with its axes, ticks at
/// round values, axis labels, a title and one polyline per series. The
/// panels show the same series in the same order (the legend is the first
/// panel's); colours follow that order unless a series sets its own.
///
/// ```swift
/// let panel = SVGPlot.Panel(title: "learning curve", xLabel: "epoch", yLabel: "loss",
///                           series: [.init(name: "train", points: [(1, 0.9), (2, 0.5)])])
/// try SVGPlot(title: "run 1", panels: [panel]).write(to: "curve.svg")
/// ```
struct SVGPlot {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        /// nil: the next colour of the palette.
        var color: String? = nil
        var dashed = false
    }

    struct Panel {
        var title: String
        var xLabel: String
        var yLabel: String
        var series: [Series]
    }

    var title: String
    var panels: [Panel]
    var columns = 2
    var panelWidth = 460.0, panelHeight = 280.0

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
    private static let margin = (left: 64.0, right: 16.0, top: 34.0, bottom: 46.0)

    /// The SVG document.
    var document: String {
        let columns = max(1, min(self.columns, panels.count))
        let rows = (panels.count + columns - 1) / columns
        let header = 56.0   // title and legend
        let (width, height) = (Double(columns) * panelWidth, header + Double(rows) * panelHeight)
        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" \
            viewBox="0 0 \(f(width)) \(f(height))" font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(width / 2))" y="22" text-anchor="middle" font-size="15">\(escaped(title))</text>

            """
        svg += legend(width: width, y: 42)
        for (i, panel) in panels.enumerated() {
            let x = Double(i % columns) * panelWidth, y = header + Double(i / columns) * panelHeight
            svg += "<g transform=\"translate(\(f(x)),\(f(y)))\">\n" + draw(panel) + "</g>\n"
        }
        return svg + "</svg>\n"
    }

    func write(to path: String) throws {
        try Data(document.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    private func draw(_ panel: Panel) -> String {
        let m = SVGPlot.margin
        let (left, top) = (m.left, m.top)
        let (w, h) = (panelWidth - m.left - m.right, panelHeight - m.top - m.bottom)
        let points = panel.series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let xTicks = SVGPlot.ticks(points.map(\.x)), yTicks = SVGPlot.ticks(points.map(\.y))
        let (x0, x1) = (xTicks.first!, xTicks.last!), (y0, y1) = (yTicks.first!, yTicks.last!)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * w }
        func py(_ y: Double) -> Double { top + h - (y - y0) / (y1 - y0) * h }

        var out = "<text x=\"\(f(left + w / 2))\" y=\"\(f(top - 12))\" text-anchor=\"middle\" font-size=\"13\">\(escaped(panel.title))</text>\n"
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(w))\" height=\"\(f(h))\" fill=\"none\" stroke=\"#444\"/>\n"
        for t in xTicks {
            out += "<line x1=\"\(f(px(t)))\" y1=\"\(f(top + h))\" x2=\"\(f(px(t)))\" y2=\"\(f(top + h + 4))\" stroke=\"#444\"/>"
            out += "<text x=\"\(f(px(t)))\" y=\"\(f(top + h + 16))\" text-anchor=\"middle\">\(SVGPlot.label(t))</text>\n"
        }
        for t in yTicks {
            out += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(left + w))\" y2=\"\(f(py(t)))\" stroke=\"#ddd\"/>"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(SVGPlot.label(t))</text>\n"
        }
        out += "<text x=\"\(f(left + w / 2))\" y=\"\(f(top + h + 36))\" text-anchor=\"middle\">\(escaped(panel.xLabel))</text>\n"
        out += "<text transform=\"translate(\(f(left - 48)),\(f(top + h / 2))) rotate(-90)\" text-anchor=\"middle\">\(escaped(panel.yLabel))</text>\n"
        for (i, s) in panel.series.enumerated() {
            let coordinates = s.points.filter { $0.x.isFinite && $0.y.isFinite }
                .map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            out += "<polyline points=\"\(coordinates)\" \(stroke(s, i, width: 1.5))/>\n"
        }
        return out
    }

    /// One row of line samples and names, centred.
    private func legend(width: Double, y: Double) -> String {
        let series = panels.first?.series ?? []
        let widths = series.map { 34 + 6.5 * Double($0.name.count) }
        var x = (width - widths.reduce(0, +)) / 2
        var out = ""
        for (i, s) in series.enumerated() {
            out += "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 22))\" y2=\"\(f(y - 4))\" \(stroke(s, i, width: 2))/>"
            out += "<text x=\"\(f(x + 27))\" y=\"\(f(y))\">\(escaped(s.name))</text>\n"
            x += widths[i]
        }
        return out
    }

    private func stroke(_ s: Series, _ index: Int, width: Double) -> String {
        "fill=\"none\" stroke=\"\(s.color ?? SVGPlot.palette[index % SVGPlot.palette.count])\" stroke-width=\"\(f(width))\""
            + (s.dashed ? " stroke-dasharray=\"5,3\"" : "")
    }

    /// About five round tick values (1, 2 or 5 times a power of ten, whole
    /// numbers for whole-number data) whose first and last enclose `values`.
    static func ticks(_ values: [Double]) -> [Double] {
        var (low, high) = (values.min() ?? 0, values.max() ?? 1)
        if high - low < 1e-12 { (low, high) = (low - 0.5, high + 0.5) }
        let whole = !values.isEmpty && values.allSatisfy { $0 == $0.rounded() }
        let raw = whole ? max((high - low) / 5, 1) : (high - low) / 5
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw }!
        let first = floor(low / step) * step
        let count = Int(ceil((high - first) / step - 1e-9))
        return (0...max(count, 1)).map { first + Double($0) * step }
    }

    /// A tick value without float noise: 0.30000000000000004 -> "0.3".
    static func label(_ v: Double) -> String {
        String(format: "%.6g", abs(v) < 1e-12 ? 0 : v)
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    private func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
