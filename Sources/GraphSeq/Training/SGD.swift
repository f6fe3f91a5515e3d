/// Stochastic gradient descent with optional momentum, dampening, Nesterov
/// momentum and L2 weight decay: exactly `torch.optim.SGD`.
///
/// Per element, with g the gradient and b the momentum buffer:
///
///     g = g + weightDecay * p
///     b = g on the first step, else momentum * b + (1 - dampening) * g   (if momentum != 0)
///     g = nesterov ? g + momentum * b : b                                (if momentum != 0)
///     p = p - learningRate * g
///
/// ```swift
/// let sgd = try SGD(parameters: model.parameters, learningRate: 0.1, momentum: 0.9, nesterov: true)
/// ```
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let dampening: Float
    public let nesterov: Bool
    public let weightDecay: Float
    public let parameters: [Parameter]
    private let buffers: [Tensor?]
    public var stepCount = 0
    public var stateSlots: [(name: String, tensors: [Tensor?])] { [("momentum_buffer", buffers)] }

    /// Throws for a negative or non-finite learning rate, momentum or weight
    /// decay, a non-finite dampening, an empty or repeating parameter list, and
    /// Nesterov without momentum > 0 and dampening 0 (as torch).
    public init(parameters: [Parameter], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                nesterov: Bool = false, weightDecay: Float = 0) throws(GraphSeqError) {
        let owner = "SGD"
        try validateParameters(parameters, owner: owner)
        try requireHyperParameter(learningRate, "learningRate", in: 0...Float.greatestFiniteMagnitude, owner: owner)
        try requireHyperParameter(momentum, "momentum", in: 0...Float.greatestFiniteMagnitude, owner: owner)
        try requireHyperParameter(weightDecay, "weightDecay", in: 0...Float.greatestFiniteMagnitude, owner: owner)
        try require(dampening.isFinite, "\(owner): dampening \(dampening) is not finite")
        try require(!nesterov || (momentum > 0 && dampening == 0),
                    "\(owner): Nesterov momentum requires momentum > 0 and dampening 0, got \(momentum) and \(dampening)")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        buffers = stateTensors(like: parameters, if: momentum != 0)
    }

    public func step() throws(GraphSeqError) {
        try requireHyperParameter(learningRate, "learningRate", in: 0...Float.greatestFiniteMagnitude, owner: "SGD.step")
        let lr = SIMD16(repeating: learningRate), wd = SIMD16(repeating: weightDecay)
        let mu = SIMD16(repeating: momentum), undamped = SIMD16(repeating: 1 - dampening)
        let (decay, useMomentum, first, nesterov) = (weightDecay != 0, momentum != 0, stepCount == 0, self.nesterov)
        for (p, buffer) in zip(parameters, buffers) {
            updateElementwise(p, buffer, nil, nil) { l in
                var g = l.gradient
                if decay { g += wd * l.value }
                if useMomentum {
                    l.s0 = first ? g : mu * l.s0 + undamped * g
                    g = nesterov ? g + mu * l.s0 : l.s0
                }
                l.value -= lr * g
            }
        }
        stepCount += 1
    }
}
