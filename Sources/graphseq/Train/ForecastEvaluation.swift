import GraphSeq

/// The model's forecasts for the windows `starts` (first target steps) in
/// original units, [horizon, N, B, 1], computed `chunk` windows at a time.
/// Windows may end at the last step T: their inputs are all that is needed.
func forecast(_ model: any Forecaster, _ problem: ForecastProblem, starts: [Int], chunk: Int = 64) throws -> Tensor {
    let (h, N, B) = (problem.split.horizon, problem.data.nodeCount, starts.count)
    let out = Tensor(shape: [h, N, B, 1])
    var offset = 0
    for piece in starts.chunked(chunk) {
        let x = try problem.windows.inputBatch(Array(piece))
        let y = problem.scaler.original(try model.forward(x, graph: problem.data.graph))
        let b = piece.count
        out.withUnsafeMutableBufferPointer { o in
            y.withUnsafeBufferPointer { p in
                for row in 0..<(h * N) {   // [h, N] rows of B windows each
                    for i in 0..<b { o[row * B + offset + i] = p[row * b + i] }
                }
            }
        }
        offset += b
    }
    return out
}

/// The model's errors in original units on every window of `part`.
func evaluate(_ model: any Forecaster, _ problem: ForecastProblem, _ part: ForecastSplit.Part) throws -> ForecastErrors {
    let starts = problem.split.targetStarts(part)
    return try ForecastErrors(prediction: forecast(model, problem, starts: starts), truth: problem.truth(starts))
}

/// The test errors of the baselines: the historical average per node and
/// phase of the season over every step before the test period (training
/// and validation: all the history known at forecast time, the stronger
/// baseline), and the last observed value.
struct BaselineErrors {
    let historicalAverage: ForecastErrors
    let lastValue: ForecastErrors
    /// The historical-average forecast of the test windows (for the plots).
    let historicalForecast: Tensor

    init(_ problem: ForecastProblem, period: Int) throws {
        let (split, series) = (problem.split, problem.data.series)
        let starts = split.targetStarts(.test)
        let truth = try problem.truth(starts)
        historicalForecast = try ForecastBaseline.historicalAverage(series, trainingSteps: 0..<split.test.lowerBound, period: period,
                                                                    starts: starts, horizon: split.horizon)
        historicalAverage = try ForecastErrors(prediction: historicalForecast, truth: truth)
        lastValue = try ForecastErrors(prediction: ForecastBaseline.lastValue(series, starts: starts, horizon: split.horizon),
                                       truth: truth)
    }
}
