#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Rescales the gradients of `parameters` so that their global norm is at
/// most `maxNorm`, as `torch.nn.utils.clip_grad_norm_`, and returns the total
/// norm before clipping.
///
/// The norm is taken over all gradients together, as if concatenated:
/// (sum |g|^p)^(1/p) for `normType` p (2 by default), the largest |g| for
/// `.infinity`. It is accumulated in double precision in parameter order, so
/// it is the same for any thread count. When the clip coefficient
/// maxNorm / (norm + 1e-6) is below 1 every gradient is multiplied by it;
/// otherwise nothing changes. A non-finite norm (a NaN or infinite gradient)
/// is returned as is and, as in PyTorch, the scaling then spreads NaN or zero
/// through the gradients: check the returned value to skip such a step.
///
/// ```swift
/// _ = try model.backward(dy)
/// let norm = try clipGradientNorm(model.parameters, maxNorm: 1)
/// try optimizer.step()
/// ```
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float,
                             normType: Float = 2) throws(GraphSeqError) -> Float {
    try require(maxNorm.isFinite && maxNorm >= 0, "clipGradientNorm: maxNorm \(maxNorm) must be finite and >= 0")
    try require(normType == .infinity || (normType.isFinite && normType > 0),
                "clipGradientNorm: normType \(normType) must be positive (or infinity)")
    let norm = Float(globalNorm(parameters, normType: Double(normType)))
    let coefficient = maxNorm / (norm + 1e-6)
    if !(coefficient >= 1) {   // also for NaN, as torch's clamp keeps it
        for p in parameters { p.gradient.scale(by: coefficient) }
    }
    return norm
}

/// The p-norm of all gradients together, in double, in a fixed order.
private func globalNorm(_ parameters: [Parameter], normType p: Double) -> Double {
    if p == 2 {
        return parameters.reduce(0.0) { $0 + $1.gradient.squaredNorm() }.squareRoot()
    }
    var acc = 0.0
    for parameter in parameters {
        parameter.gradient.withUnsafeBufferPointer { g in
            for x in g {
                let a = Double(x.magnitude)
                if p == .infinity { acc = a.isNaN || acc.isNaN ? .nan : max(acc, a) } else { acc += pow(a, p) }
            }
        }
    }
    return p == .infinity ? acc : pow(acc, 1 / p)
}
