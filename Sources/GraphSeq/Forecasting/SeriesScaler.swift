#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The normalisation of a node series [T, N] for training, fitted on the
/// training steps only so that nothing of the validation or test period
/// leaks into the model's inputs:
///
///     log1p:  z = (log(1 + x) - mean) / std      (counts: tames the winter peaks)
///     zscore: z = (x - mean) / std
///     none:   z = x
///
/// mean and std are over all nodes and training steps of the transformed
/// values (one pair for the whole series, so the relative size of districts
/// stays visible to the model). `original(_:)` inverts it; with log1p the
/// result is clamped at 0, as a count cannot be negative.
///
/// ```swift
/// let scaler = try SeriesScaler(fitting: counts, steps: split.train, method: .log1p)
/// let z = scaler.normalized(counts)           // model space
/// let back = scaler.original(z[0, 3])         // counts again
/// ```
public struct SeriesScaler: Sendable, Equatable, Codable {
    public enum Method: String, Sendable, CaseIterable, Codable {
        case log1p, zscore, none
    }

    public let method: Method
    public let mean: Double
    public let standardDeviation: Double

    /// A scaler with given statistics (as read back from a run's sidecar).
    public init(method: Method, mean: Double, standardDeviation: Double) throws(GraphSeqError) {
        try require(mean.isFinite && standardDeviation.isFinite && standardDeviation > 0,
                    "SeriesScaler: mean \(mean) and standard deviation \(standardDeviation) must be finite, the deviation positive")
        (self.method, self.mean, self.standardDeviation) = (method, mean, standardDeviation)
    }

    /// Fits mean and deviation on rows `steps` of `series` [T, N]. A constant
    /// training series gets deviation 1. log1p needs values > -1.
    public init(fitting series: Tensor, steps: Range<Int>, method: Method) throws(GraphSeqError) {
        try require(series.rank == 2 && steps.lowerBound >= 0 && steps.upperBound <= series.shape[0] && !steps.isEmpty,
                    "SeriesScaler: series \(series.shape) and training steps \(steps) do not fit")
        guard method != .none else {
            try self.init(method: .none, mean: 0, standardDeviation: 1)
            return
        }
        let n = series.shape[1]
        let values = series.values[(steps.lowerBound * n)..<(steps.upperBound * n)]
        if method == .log1p, let bad = values.first(where: { $0 <= -1 }) {
            throw .invalidArgument("SeriesScaler: log1p needs values > -1, the training series holds \(bad)")
        }
        let transformed = values.map { SeriesScaler.forward(Double($0), method) }
        let mean = transformed.reduce(0, +) / Double(transformed.count)
        let variance = transformed.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(transformed.count)
        try self.init(method: method, mean: mean, standardDeviation: variance > 0 ? variance.squareRoot() : 1)
    }

    private static func forward(_ x: Double, _ method: Method) -> Double {
        method == .log1p ? log1p(x) : x
    }

    /// x in model space.
    public func normalized(_ x: Float) -> Float {
        method == .none ? x : Float((SeriesScaler.forward(Double(x), method) - mean) / standardDeviation)
    }

    /// z back in original units.
    public func original(_ z: Float) -> Float {
        switch method {
        case .none: z
        case .zscore: Float(Double(z) * standardDeviation + mean)
        case .log1p: Float(max(0, expm1(Double(z) * standardDeviation + mean)))
        }
    }

    /// Every element of `series` in model space (a new tensor).
    public func normalized(_ series: Tensor) -> Tensor { map(series, normalized) }

    /// Every element of `z` in original units (a new tensor).
    public func original(_ z: Tensor) -> Tensor { map(z, original) }

    private func map(_ t: Tensor, _ f: (Float) -> Float) -> Tensor {
        let out = Tensor(shape: t.shape)
        out.withUnsafeMutableBufferPointer { o in
            t.withUnsafeBufferPointer { for i in $0.indices { o[i] = f($0[i]) } }
        }
        return out
    }
}
