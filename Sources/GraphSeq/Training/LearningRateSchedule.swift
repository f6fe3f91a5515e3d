#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A learning rate as a closed-form function of the epoch, as the
/// `get_closed_form_lr` of PyTorch's schedulers. Set it on the optimiser at
/// the start of each epoch:
///
/// ```swift
/// let schedule = try CosineAnnealingLR(baseLearningRate: 1e-3, totalEpochs: 50)
/// for epoch in 0..<50 {
///     optimizer.learningRate = schedule.learningRate(atEpoch: epoch)
///     ... train one epoch ...
/// }
/// ```
public protocol LearningRateSchedule {
    /// The learning rate for epoch `epoch` (0 is the first).
    func learningRate(atEpoch epoch: Int) -> Float
}

/// base * gamma^floor(epoch / stepSize), as `torch.optim.lr_scheduler.StepLR`.
///
/// ```swift
/// let schedule = try StepLR(baseLearningRate: 0.1, stepSize: 30, gamma: 0.1)   // 0.1, then 0.01 from epoch 30...
/// ```
public struct StepLR: LearningRateSchedule, Sendable {
    public let baseLearningRate: Float
    public let stepSize: Int
    public let gamma: Float

    /// Throws unless stepSize >= 1 and the rate and gamma are finite and >= 0.
    public init(baseLearningRate: Float, stepSize: Int, gamma: Float = 0.1) throws(GraphSeqError) {
        try require(stepSize >= 1, "StepLR: stepSize \(stepSize) must be >= 1")
        try require(baseLearningRate.isFinite && baseLearningRate >= 0 && gamma.isFinite && gamma >= 0,
                    "StepLR: baseLearningRate \(baseLearningRate) and gamma \(gamma) must be finite and >= 0")
        (self.baseLearningRate, self.stepSize, self.gamma) = (baseLearningRate, stepSize, gamma)
    }

    public func learningRate(atEpoch epoch: Int) -> Float {
        Float(Double(baseLearningRate) * pow(Double(gamma), Double(max(epoch, 0) / stepSize)))
    }
}

/// eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2, as
/// `torch.optim.lr_scheduler.CosineAnnealingLR` (without restarts: past
/// T_max the cosine continues, as torch's closed form does).
///
/// ```swift
/// let schedule = try CosineAnnealingLR(baseLearningRate: 1e-3, totalEpochs: 100, minimumLearningRate: 1e-5)
/// ```
public struct CosineAnnealingLR: LearningRateSchedule, Sendable {
    public let baseLearningRate: Float
    /// T_max: the epoch at which the rate reaches its minimum.
    public let totalEpochs: Int
    /// eta_min.
    public let minimumLearningRate: Float

    /// Throws unless totalEpochs >= 1 and both rates are finite and >= 0.
    public init(baseLearningRate: Float, totalEpochs: Int, minimumLearningRate: Float = 0) throws(GraphSeqError) {
        try require(totalEpochs >= 1, "CosineAnnealingLR: totalEpochs \(totalEpochs) must be >= 1")
        try require(baseLearningRate.isFinite && baseLearningRate >= 0
                        && minimumLearningRate.isFinite && minimumLearningRate >= 0,
                    "CosineAnnealingLR: learning rates \(baseLearningRate), \(minimumLearningRate) must be finite and >= 0")
        (self.baseLearningRate, self.totalEpochs, self.minimumLearningRate)
            = (baseLearningRate, totalEpochs, minimumLearningRate)
    }

    public func learningRate(atEpoch epoch: Int) -> Float {
        let (base, low) = (Double(baseLearningRate), Double(minimumLearningRate))
        let phase = Double.pi * Double(max(epoch, 0)) / Double(totalEpochs)
        return Float(low + (base - low) * (1 + cos(phase)) / 2)
    }
}
