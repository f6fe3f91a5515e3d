import Foundation
import GraphSeq

/// What the graph experiments (polblogs, mutag, moving-mnist) share: the
/// results table, the JSON line, summary statistics, and the two
/// parameter-free pieces of their models (ReLU, dropout).
enum GraphExperiments {
    /// Mean and sample standard deviation (n - 1; 0 for a single value).
    static func meanAndStd(_ values: [Double]) -> (mean: Double, std: Double) {
        let mean = values.reduce(0, +) / Double(max(values.count, 1))
        guard values.count > 1 else { return (mean, 0) }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        return (mean, variance.squareRoot())
    }

    /// "0.951 ± 0.006".
    static func format(_ values: [Double], digits: Int = 3) -> String {
        let (mean, std) = meanAndStd(values)
        return String(format: "%.\(digits)f ± %.\(digits)f", mean, std)
    }

    /// A Markdown table on stdout, columns padded to their widest cell.
    static func printTable(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max()! }
        func line(_ cells: [String]) -> String {
            "| " + zip(cells, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }
                .joined(separator: " | ") + " |"
        }
        print(line(header))
        print(line(widths.map { String(repeating: "-", count: $0) }))
        for row in rows { print(line(row)) }
    }

    /// One JSON object on one line of stdout (keys sorted).
    static func printJSON(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// The index of the largest entry of each row of [rows, columns] logits.
    static func argmax(_ logits: Tensor) -> [Int] {
        let (rows, columns) = (logits.shape[0], logits.shape[1])
        return logits.withUnsafeBufferPointer { p in
            (0..<rows).map { r in (0..<columns).max { p[r * columns + $0] < p[r * columns + $1] }! }
        }
    }

    /// The fraction of `indices` whose predicted class equals their label.
    static func accuracy(_ logits: Tensor, _ labels: [Int32], _ indices: [Int]) -> Double {
        let predicted = argmax(logits)
        return Double(indices.filter { predicted[$0] == Int(labels[$0]) }.count) / Double(max(indices.count, 1))
    }

    /// y = max(x, 0), remembering y for the backward pass.
    final class ReLU {
        private var output: Tensor?

        func forward(_ x: Tensor) -> Tensor {
            let y = x.copy()
            y.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = max(p[i], 0) } }
            output = y
            return y
        }

        /// dx = dy where the output was positive, else 0.
        func backward(_ dy: Tensor) -> Tensor {
            let dx = dy.copy()
            dx.withUnsafeMutableBufferPointer { d in
                output!.withUnsafeBufferPointer { y in for i in d.indices where !(y[i] > 0) { d[i] = 0 } }
            }
            return dx
        }
    }

    /// Inverted dropout: in training each element is zeroed with probability
    /// `rate` and the rest scaled by 1 / (1 - rate); otherwise the identity.
    /// The masks come from a seeded generator.
    final class Dropout {
        let rate: Float
        private var rng: SplitMix64
        private var mask: Tensor?

        init(rate: Float, seed: UInt64) {
            self.rate = rate
            rng = SplitMix64(seed: seed)
        }

        func forward(_ x: Tensor, training: Bool) -> Tensor {
            guard training, rate > 0 else { mask = nil; return x }
            let m = Tensor(shape: x.shape), keep = 1 / (1 - rate)
            let threshold = UInt64(Double(rate) * 0x1p32)   // two 32-bit draws per generator step
            m.withUnsafeMutableBufferPointer { p in
                for i in stride(from: 0, to: p.count, by: 2) {
                    let bits = rng.next()
                    if bits & 0xFFFF_FFFF >= threshold { p[i] = keep }
                    if i + 1 < p.count, bits >> 32 >= threshold { p[i + 1] = keep }
                }
            }
            mask = m
            return multiply(x, m)
        }

        func backward(_ dy: Tensor) -> Tensor { mask.map { multiply(dy, $0) } ?? dy }

        private func multiply(_ x: Tensor, _ m: Tensor) -> Tensor {
            let y = x.copy()
            y.withUnsafeMutableBufferPointer { p in
                m.withUnsafeBufferPointer { m in for i in p.indices { p[i] *= m[i] } }
            }
            return y
        }
    }
}
