/// Double-precision optimiser updates written from the torch.optim formulas
/// (SGD, RMSprop, Adam, AdamW), independent of the library's code.
public enum OptimizerSpec {
    case sgd(lr: Double, momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false, weightDecay: Double = 0)
    case rmsprop(lr: Double = 0.01, alpha: Double = 0.99, eps: Double = 1e-8, momentum: Double = 0,
                 centered: Bool = false, weightDecay: Double = 0)
    case adam(lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
              weightDecay: Double = 0, amsgrad: Bool = false, decoupled: Bool = false)
}

/// The state of one parameter under a reference optimiser.
public struct ReferenceOptimizer {
    public let spec: OptimizerSpec
    private var t = 0
    private var buffer: [Double], squareAverage: [Double], gradientAverage: [Double]
    private var firstMoment: [Double], secondMoment: [Double], maxSecondMoment: [Double]

    public init(_ spec: OptimizerSpec, count: Int) {
        self.spec = spec
        let zeros = [Double](repeating: 0, count: count)
        (buffer, squareAverage, gradientAverage) = (zeros, zeros, zeros)
        (firstMoment, secondMoment, maxSecondMoment) = (zeros, zeros, zeros)
    }

    /// One step of `p` given its gradient `grad`.
    public mutating func step(_ p: inout [Double], _ grad: [Double]) {
        t += 1
        for i in p.indices {
            switch spec {
            case let .sgd(lr, mu, dampening, nesterov, wd):
                var g = grad[i] + wd * p[i]
                if mu != 0 {
                    buffer[i] = t == 1 ? g : mu * buffer[i] + (1 - dampening) * g
                    g = nesterov ? g + mu * buffer[i] : buffer[i]
                }
                p[i] -= lr * g
            case let .rmsprop(lr, alpha, eps, mu, centered, wd):
                let g = grad[i] + wd * p[i]
                squareAverage[i] = alpha * squareAverage[i] + (1 - alpha) * g * g
                var v = squareAverage[i]
                if centered {
                    gradientAverage[i] = alpha * gradientAverage[i] + (1 - alpha) * g
                    v -= gradientAverage[i] * gradientAverage[i]
                }
                if mu > 0 {
                    buffer[i] = mu * buffer[i] + g / (v.squareRoot() + eps)
                    p[i] -= lr * buffer[i]
                } else {
                    p[i] -= lr * g / (v.squareRoot() + eps)
                }
            case let .adam(lr, beta1, beta2, eps, wd, amsgrad, decoupled):
                var g = grad[i]
                if decoupled { p[i] *= 1 - lr * wd } else { g += wd * p[i] }
                firstMoment[i] = beta1 * firstMoment[i] + (1 - beta1) * g
                secondMoment[i] = beta2 * secondMoment[i] + (1 - beta2) * g * g
                maxSecondMoment[i] = max(maxSecondMoment[i], secondMoment[i])
                let mHat = firstMoment[i] / (1 - power(beta1, t))
                let vHat = (amsgrad ? maxSecondMoment[i] : secondMoment[i]) / (1 - power(beta2, t))
                p[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
        }
    }
}

private func power(_ x: Double, _ n: Int) -> Double { (0..<n).reduce(1) { r, _ in r * x } }
