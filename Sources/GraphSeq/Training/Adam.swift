#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Adam with L2 weight decay added to the gradient: exactly `torch.optim.Adam`
/// (same defaults, including `amsgrad`).
///
/// Per element at step t (from 1), with g the gradient and m, v, vmax zero at first:
///
///     g = g + weightDecay * p
///     m = beta1 * m + (1 - beta1) * g
///     v = beta2 * v + (1 - beta2) * g^2
///     vmax = max(vmax, v), used in place of v below                  (amsgrad)
///     p = p - (learningRate / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
///
/// ```swift
/// let adam = try Adam(parameters: model.parameters, learningRate: 1e-3)
/// ```
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let amsgrad: Bool
    public var parameters: [Parameter] { state.parameters }
    private var state: AdamState
    public var stepCount: Int { get { state.steps } set { state.steps = newValue } }
    public var stateSlots: [(name: String, tensors: [Tensor?])] { state.slots }

    /// Throws for a negative or non-finite learning rate, epsilon or weight
    /// decay, betas outside [0, 1), or an empty or repeating parameter list.
    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, amsgrad: Bool = false) throws(GraphSeqError) {
        state = try AdamState(parameters, learningRate, beta1, beta2, epsilon, weightDecay, amsgrad, owner: "Adam")
        self.learningRate = learningRate
        (self.beta1, self.beta2, self.epsilon, self.weightDecay, self.amsgrad)
            = (beta1, beta2, epsilon, weightDecay, amsgrad)
    }

    public func step() throws(GraphSeqError) {
        try state.step(learningRate: learningRate, beta1, beta2, epsilon, weightDecay, decoupled: false,
                       owner: "Adam.step")
    }
}

/// Adam with decoupled weight decay: exactly `torch.optim.AdamW`. Before the
/// Adam update (computed without any L2 term) every parameter shrinks:
///
///     p = p * (1 - learningRate * weightDecay)
///
/// so decay is not rescaled by the adaptive denominator, unlike `Adam`'s.
///
/// ```swift
/// let adamw = try AdamW(parameters: model.parameters, learningRate: 1e-3, weightDecay: 0.01)
/// ```
public final class AdamW: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let amsgrad: Bool
    public var parameters: [Parameter] { state.parameters }
    private var state: AdamState
    public var stepCount: Int { get { state.steps } set { state.steps = newValue } }
    public var stateSlots: [(name: String, tensors: [Tensor?])] { state.slots }

    /// Throws as `Adam.init` does.
    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 1e-2, amsgrad: Bool = false) throws(GraphSeqError) {
        state = try AdamState(parameters, learningRate, beta1, beta2, epsilon, weightDecay, amsgrad, owner: "AdamW")
        self.learningRate = learningRate
        (self.beta1, self.beta2, self.epsilon, self.weightDecay, self.amsgrad)
            = (beta1, beta2, epsilon, weightDecay, amsgrad)
    }

    public func step() throws(GraphSeqError) {
        try state.step(learningRate: learningRate, beta1, beta2, epsilon, weightDecay, decoupled: true,
                       owner: "AdamW.step")
    }
}

/// The moments and step count Adam and AdamW share, and their update.
private struct AdamState {
    let parameters: [Parameter]
    let firstMoments: [Tensor?]
    let secondMoments: [Tensor?]
    let maxSecondMoments: [Tensor?]
    let amsgrad: Bool
    var steps = 0
    var slots: [(name: String, tensors: [Tensor?])] {
        [("exp_avg", firstMoments), ("exp_avg_sq", secondMoments), ("max_exp_avg_sq", maxSecondMoments)]
    }

    init(_ parameters: [Parameter], _ learningRate: Float, _ beta1: Float, _ beta2: Float, _ epsilon: Float,
         _ weightDecay: Float, _ amsgrad: Bool, owner: String) throws(GraphSeqError) {
        try validateParameters(parameters, owner: owner)
        let nonNegative: ClosedRange<Float> = 0...Float.greatestFiniteMagnitude
        try requireHyperParameter(learningRate, "learningRate", in: nonNegative, owner: owner)
        try requireHyperParameter(epsilon, "epsilon", in: nonNegative, owner: owner)
        try requireHyperParameter(weightDecay, "weightDecay", in: nonNegative, owner: owner)
        try requireHyperParameter(beta1, "beta1", in: 0...1, upperOpen: true, owner: owner)
        try requireHyperParameter(beta2, "beta2", in: 0...1, upperOpen: true, owner: owner)
        self.parameters = parameters
        firstMoments = stateTensors(like: parameters, if: true)
        secondMoments = stateTensors(like: parameters, if: true)
        maxSecondMoments = stateTensors(like: parameters, if: amsgrad)
        self.amsgrad = amsgrad
    }

    mutating func step(learningRate: Float, _ beta1: Float, _ beta2: Float, _ epsilon: Float,
                       _ weightDecay: Float, decoupled: Bool, owner: String) throws(GraphSeqError) {
        try requireHyperParameter(learningRate, "learningRate", in: 0...Float.greatestFiniteMagnitude, owner: owner)
        steps += 1
        // Bias corrections in double, then rounded once, as torch's Python scalars are.
        let t = Double(steps)
        let stepSize = SIMD16(repeating: Float(Double(learningRate) / (1 - pow(Double(beta1), t))))
        let correction2Root = SIMD16(repeating: Float((1 - pow(Double(beta2), t)).squareRoot()))
        let b1Complement = SIMD16(repeating: 1 - beta1)
        let b2 = SIMD16(repeating: beta2), b2Complement = SIMD16(repeating: 1 - beta2)
        let eps = SIMD16(repeating: epsilon)
        let l2 = SIMD16(repeating: decoupled ? 0 : weightDecay)
        let shrink = SIMD16(repeating: decoupled ? 1 - learningRate * weightDecay : 1)
        let (useL2, useShrink) = (!decoupled && weightDecay != 0, decoupled && weightDecay != 0)
        let amsgrad = self.amsgrad
        for i in parameters.indices {
            updateElementwise(parameters[i], firstMoments[i], secondMoments[i], maxSecondMoments[i]) { l in
                var g = l.gradient
                if useL2 { g += l2 * l.value }
                if useShrink { l.value *= shrink }
                l.s0 += b1Complement * (g - l.s0)          // torch: exp_avg.lerp_(grad, 1 - beta1)
                l.s1 = b2 * l.s1 + b2Complement * (g * g)
                var v = l.s1
                if amsgrad {
                    l.s2 = pointwiseMax(l.s2, l.s1)
                    v = l.s2
                }
                let denominator = v.squareRoot() / correction2Root + eps
                l.value -= stepSize * (l.s0 / denominator)
            }
        }
    }
}
