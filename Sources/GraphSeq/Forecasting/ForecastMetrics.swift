/// Mean absolute and root mean squared error of a forecast against the
/// truth, over every element, summed in double precision in element order.
///
/// ```swift
/// let errors = try ForecastErrors(prediction: counts, truth: observed)
/// print(errors.meanAbsoluteError, errors.rootMeanSquaredError)
/// ```
public struct ForecastErrors: Sendable, Equatable {
    public let meanAbsoluteError: Double
    public let rootMeanSquaredError: Double
    /// The number of (step, node, window) entries compared.
    public let count: Int

    public init(prediction: Tensor, truth: Tensor) throws(GraphSeqError) {
        try require(prediction.shape == truth.shape && prediction.count > 0,
                    "ForecastErrors: prediction \(prediction.shape) and truth \(truth.shape) must have the same non-empty shape")
        var absolute = 0.0, squared = 0.0
        withPointers([prediction, truth]) { p in
            for i in 0..<prediction.count {
                let d = Double(p[0][i]) - Double(p[1][i])
                absolute += abs(d)
                squared += d * d
            }
        }
        count = prediction.count
        meanAbsoluteError = absolute / Double(count)
        rootMeanSquaredError = (squared / Double(count)).squareRoot()
    }
}
