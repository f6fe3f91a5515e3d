/// RMSProp with optional momentum, centring and L2 weight decay: exactly
/// `torch.optim.RMSprop` (same defaults).
///
/// Per element, with g the gradient, v the square average, m the gradient
/// average (centred only) and b the momentum buffer, all starting at zero:
///
///     g = g + weightDecay * p
///     v = alpha * v + (1 - alpha) * g^2
///     m = alpha * m + (1 - alpha) * g                                 (centered)
///     d = sqrt(centered ? v - m^2 : v) + epsilon
///     momentum > 0: b = momentum * b + g / d;  p = p - learningRate * b
///     otherwise:    p = p - learningRate * g / d
///
/// ```swift
/// let rmsprop = try RMSProp(parameters: model.parameters, learningRate: 1e-3, centered: true)
/// ```
public final class RMSProp: Optimizer {
    public var learningRate: Float
    public let alpha: Float
    public let epsilon: Float
    public let momentum: Float
    public let centered: Bool
    public let weightDecay: Float
    public let parameters: [Parameter]
    private let squareAverages: [Tensor?]
    private let gradientAverages: [Tensor?]
    private let buffers: [Tensor?]
    public var stepCount = 0
    public var stateSlots: [(name: String, tensors: [Tensor?])] {
        [("square_avg", squareAverages), ("grad_avg", gradientAverages), ("momentum_buffer", buffers)]
    }

    /// Throws for a negative or non-finite learning rate, alpha, epsilon,
    /// momentum or weight decay, or an empty or repeating parameter list.
    public init(parameters: [Parameter], learningRate: Float = 0.01, alpha: Float = 0.99, epsilon: Float = 1e-8,
                momentum: Float = 0, centered: Bool = false, weightDecay: Float = 0) throws(GraphSeqError) {
        let owner = "RMSProp"
        try validateParameters(parameters, owner: owner)
        for (value, name) in [(learningRate, "learningRate"), (alpha, "alpha"), (epsilon, "epsilon"),
                              (momentum, "momentum"), (weightDecay, "weightDecay")] {
            try requireHyperParameter(value, name, in: 0...Float.greatestFiniteMagnitude, owner: owner)
        }
        self.parameters = parameters
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        self.momentum = momentum
        self.centered = centered
        self.weightDecay = weightDecay
        squareAverages = stateTensors(like: parameters, if: true)
        gradientAverages = stateTensors(like: parameters, if: centered)
        buffers = stateTensors(like: parameters, if: momentum > 0)
    }

    public func step() throws(GraphSeqError) {
        try requireHyperParameter(learningRate, "learningRate", in: 0...Float.greatestFiniteMagnitude,
                                  owner: "RMSProp.step")
        let lr = SIMD16(repeating: learningRate), wd = SIMD16(repeating: weightDecay)
        let a = SIMD16(repeating: alpha), oneMinusA = SIMD16(repeating: 1 - alpha)
        let eps = SIMD16(repeating: epsilon), mu = SIMD16(repeating: momentum)
        let (decay, centered, useMomentum) = (weightDecay != 0, self.centered, momentum > 0)
        for i in parameters.indices {
            updateElementwise(parameters[i], squareAverages[i], gradientAverages[i], buffers[i]) { l in
                var g = l.gradient
                if decay { g += wd * l.value }
                l.s0 = a * l.s0 + oneMinusA * (g * g)
                var variance = l.s0
                if centered {
                    l.s1 = a * l.s1 + oneMinusA * g
                    variance -= l.s1 * l.s1
                }
                let d = variance.squareRoot() + eps
                if useMomentum {
                    l.s2 = mu * l.s2 + g / d
                    l.value -= lr * l.s2
                } else {
                    l.value -= lr * (g / d)
                }
            }
        }
        stepCount += 1
    }
}
