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
        return parameters.reduce(0.0) { $0 + squaredSum($1.gradient) }.squareRoot()
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

/// The sum of squares in double, eight lanes at a time then the tail. Each
/// float square is exact in double; a plain multiply and add (not
/// `addProduct`, a libm fma call without FMA in the baseline ISA) keeps this
/// at memory speed, ten times faster than Tensor.squaredNorm here.
private func squaredSum(_ t: Tensor) -> Double {
    t.withUnsafeBufferPointer { g in
        var low = SIMD4<Double>(), high = SIMD4<Double>()
        let raw = UnsafeRawPointer(g.baseAddress!)
        let blocks = g.count / 8
        for i in 0..<blocks {
            let v = raw.loadUnaligned(fromByteOffset: 32 * i, as: SIMD8<Float>.self)
            let (a, b) = (SIMD4<Double>(v.lowHalf), SIMD4<Double>(v.highHalf))
            low += a * a
            high += b * b
        }
        var sum = (low + high).sum()
        for x in g[(8 * blocks)...] { sum += Double(x) * Double(x) }
        return sum
    }
}
