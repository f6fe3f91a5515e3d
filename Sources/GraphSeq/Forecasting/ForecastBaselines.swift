/// Forecasts that need no training, in original units, in the layout of a
/// model's forecast: [horizon, N, B, 1] for the windows with first target
/// steps `starts` (see `ForecastWindows`).
public enum ForecastBaseline {
    /// The historical average: for each node and each phase of the season
    /// (step mod `period`, e.g. the week of the year with period 52), the
    /// mean of the node's training values at that phase. A phase the
    /// training steps never reach falls back to the node's training mean;
    /// period 1 is the plain training mean per node.
    ///
    /// ```swift
    /// let ha = try ForecastBaseline.historicalAverage(counts, trainingSteps: split.train, period: 52,
    ///                                                 starts: split.targetStarts(.test), horizon: 1)
    /// ```
    public static func historicalAverage(_ series: Tensor, trainingSteps: Range<Int>, period: Int,
                                         starts: [Int], horizon: Int) throws(GraphSeqError) -> Tensor {
        try require(series.rank == 2 && !trainingSteps.isEmpty && trainingSteps.lowerBound >= 0
                        && trainingSteps.upperBound <= series.shape[0],
                    "historicalAverage: series \(series.shape) and training steps \(trainingSteps) do not fit")
        try require(period >= 1, "historicalAverage: period \(period) must be >= 1")
        let N = series.shape[1]
        let values = series.values
        var sums = [Double](repeating: 0, count: (period + 1) * N)   // row `period`: all phases
        var counts = [Int](repeating: 0, count: period + 1)
        for t in trainingSteps {
            for phase in [t % period, period] {
                counts[phase] += 1
                for n in 0..<N { sums[phase * N + n] += Double(values[t * N + n]) }
            }
        }
        return try forecast(nodes: N, starts: starts, horizon: horizon) { _, t, n in
            let phase = counts[t % period] > 0 ? t % period : period
            return Float(sums[phase * N + n] / Double(counts[phase]))
        }
    }

    /// Persistence: every target step of a window gets the last observed
    /// value before it, series[t - 1, n].
    public static func lastValue(_ series: Tensor, starts: [Int], horizon: Int) throws(GraphSeqError) -> Tensor {
        try require(series.rank == 2, "lastValue: series \(series.shape) must be [T, N]")
        try require(starts.allSatisfy { $0 >= 1 && $0 <= series.shape[0] },
                    "lastValue: every window needs a step before it within the \(series.shape[0]) steps")
        let (N, values) = (series.shape[1], series.values)
        return try forecast(nodes: N, starts: starts, horizon: horizon) { start, _, n in values[(start - 1) * N + n] }
    }

    /// [horizon, N, B, 1] with element (k, n, b) = value(starts[b], starts[b] + k, n).
    private static func forecast(nodes N: Int, starts: [Int], horizon: Int,
                                 _ value: (_ start: Int, _ step: Int, _ node: Int) -> Float) throws(GraphSeqError) -> Tensor {
        try require(horizon >= 1 && !starts.isEmpty, "ForecastBaseline: horizon \(horizon) and \(starts.count) windows")
        let B = starts.count
        var out = [Float](repeating: 0, count: horizon * N * B)
        for k in 0..<horizon {
            for n in 0..<N {
                for (b, t) in starts.enumerated() { out[(k * N + n) * B + b] = value(t, t + k, n) }
            }
        }
        return try Tensor(shape: [horizon, N, B, 1], values: out)
    }
}
