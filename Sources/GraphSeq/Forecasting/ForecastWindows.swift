/// Batches of forecasting windows in the layout the recurrent graph layers
/// take: for windows whose first target steps are t_0 ... t_{B-1},
///
///     x[w, n, b, f] = inputs[t_b - window + w, n, f]      [window, N, B, F]
///     y[k, n, b, 0] = targets[t_b + k, n]                 [horizon, N, B, 1]
///
/// `inputs` [T, N, F] holds every input channel of every step (the
/// normalised series first, then any extra features); `targets` [T, N] the
/// normalised series to predict.
///
/// ```swift
/// let windows = try ForecastWindows(inputs: x, targets: z, window: 8, horizon: 1)
/// let (x, y) = try windows.batch(split.targetStarts(.validation))
/// ```
public struct ForecastWindows: Sendable {
    public let inputs: Tensor
    public let targets: Tensor
    public let window: Int, horizon: Int

    public init(inputs: Tensor, targets: Tensor, window: Int, horizon: Int) throws(GraphSeqError) {
        try require(inputs.rank == 3 && targets.rank == 2 && Array(inputs.shape.prefix(2)) == targets.shape,
                    "ForecastWindows: inputs \(inputs.shape) must be [T, N, F] and targets \(targets.shape) [T, N]")
        try require(window >= 1 && horizon >= 1, "ForecastWindows: window \(window) and horizon \(horizon) must be >= 1")
        (self.inputs, self.targets, self.window, self.horizon) = (inputs, targets, window, horizon)
    }

    public var stepCount: Int { targets.shape[0] }
    public var nodeCount: Int { targets.shape[1] }
    public var featureCount: Int { inputs.shape[2] }

    /// The inputs and targets of the windows with first target steps `starts`.
    public func batch(_ starts: [Int]) throws(GraphSeqError) -> (x: Tensor, y: Tensor) {
        try require(!starts.isEmpty, "ForecastWindows.batch: no windows")
        for t in starts {
            try require(t >= window && t + horizon <= stepCount,
                        "ForecastWindows.batch: a window with targets from step \(t) needs steps \(t - window)..<\(t + horizon) of \(stepCount)")
        }
        return (try inputBatch(starts), try targetBatch(starts))
    }

    /// x alone, for windows whose targets may lie beyond the data (forecasting
    /// the future): needs only t - window >= 0 and t <= T.
    public func inputBatch(_ starts: [Int]) throws(GraphSeqError) -> Tensor {
        let (N, F, B) = (nodeCount, featureCount, starts.count)
        for t in starts {
            try require(t >= window && t <= stepCount,
                        "ForecastWindows: inputs of a window ending before step \(t) need steps \(t - window)..<\(t) of \(stepCount)")
        }
        let x = Tensor(shape: [window, N, B, F])
        withPointers([x, inputs]) { p in
            for w in 0..<window {
                for n in 0..<N {
                    for (b, t) in starts.enumerated() {
                        (p[0] + ((w * N + n) * B + b) * F).update(from: p[1] + ((t - window + w) * N + n) * F, count: F)
                    }
                }
            }
        }
        return x
    }

    private func targetBatch(_ starts: [Int]) throws(GraphSeqError) -> Tensor {
        let (N, B) = (nodeCount, starts.count)
        let y = Tensor(shape: [horizon, N, B, 1])
        withPointers([y, targets]) { p in
            for k in 0..<horizon {
                for n in 0..<N {
                    for (b, t) in starts.enumerated() { p[0][(k * N + n) * B + b] = p[1][(t + k) * N + n] }
                }
            }
        }
        return y
    }
}
