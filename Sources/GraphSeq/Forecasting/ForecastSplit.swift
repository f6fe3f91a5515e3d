/// A chronological train / validation / test split of T time steps, and the
/// forecasting windows of each part.
///
/// The steps are cut in order: test is the last `testFraction` of the steps
/// (rounded to whole steps), validation the `validationFraction` before it,
/// training the rest. A window ending at step t reads the `window` steps
/// t - window ..< t and predicts the `horizon` steps t ..< t + horizon; it
/// belongs to the part that holds all its target steps. Its inputs may
/// reach back into an earlier part: that is data known at forecast time.
///
/// ```swift
/// let split = try ForecastSplit(stepCount: 416, window: 8, horizon: 1)
/// split.test                    // 333..<416: the last 20% of the weeks
/// split.targetStarts(.train)    // [8, 9, ..., 290]: first target step of each window
/// ```
public struct ForecastSplit: Sendable, Equatable {
    /// One of the three parts.
    public enum Part: String, Sendable, CaseIterable {
        case train, validation, test
    }

    public let stepCount: Int, window: Int, horizon: Int
    public let train: Range<Int>, validation: Range<Int>, test: Range<Int>

    /// Throws unless every part holds at least one window.
    public init(stepCount: Int, window: Int, horizon: Int,
                testFraction: Double = 0.2, validationFraction: Double = 0.1) throws(GraphSeqError) {
        try require(window >= 1 && horizon >= 1, "ForecastSplit: window \(window) and horizon \(horizon) must be >= 1")
        try require(testFraction > 0 && validationFraction > 0 && testFraction + validationFraction < 1,
                    "ForecastSplit: test fraction \(testFraction) and validation fraction \(validationFraction) must be positive with a sum below 1")
        let testSteps = Int((Double(stepCount) * testFraction).rounded())
        let validationSteps = Int((Double(stepCount) * validationFraction).rounded())
        let trainEnd = stepCount - testSteps - validationSteps
        (self.stepCount, self.window, self.horizon) = (stepCount, window, horizon)
        train = 0..<max(trainEnd, 0)
        validation = train.upperBound..<(stepCount - testSteps)
        test = validation.upperBound..<stepCount
        for part in Part.allCases {
            try require(!targetStarts(part).isEmpty,
                        "ForecastSplit: \(stepCount) steps leave no \(part.rawValue) window of \(window) input and \(horizon) target steps (\(self.steps(part)) steps)")
        }
    }

    /// The steps of `part`.
    public func steps(_ part: Part) -> Range<Int> {
        switch part {
        case .train: train
        case .validation: validation
        case .test: test
        }
    }

    /// The first target step of every window of `part`, in time order.
    public func targetStarts(_ part: Part) -> [Int] {
        let steps = self.steps(part)
        let first = max(steps.lowerBound, window), last = steps.upperBound - horizon
        return first <= last ? Array(first...last) : []
    }
}
