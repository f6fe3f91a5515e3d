import Foundation
import GraphSeq

/// What the graph experiments (polblogs, mutag, moving-mnist) share: summary
/// statistics and dropout on dense features.
enum GraphExperiments {
    /// Mean and sample standard deviation (n - 1; 0 for a single value).
    static func meanAndStd(_ values: [Double]) -> (mean: Double, std: Double) {
        let mean = values.reduce(0, +) / Double(max(values.count, 1))
        guard values.count > 1 else { return (mean, 0) }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        return (mean, variance.squareRoot())
    }

    /// "0.951 ± 0.006".
    static func format(_ values: [Double]) -> String {
        let (mean, std) = meanAndStd(values)
        return String(format: "%.3f ± %.3f", mean, std)
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
