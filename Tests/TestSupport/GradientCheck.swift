/// Central finite differences, (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),
/// of a double-precision function: what every layer's backward is checked
/// against (the function is a double reference of the layer's forward,
/// reduced to a scalar by `projection`).
public func numericalGradient(at x: [Double], eps: Double = 1e-6,
                              _ f: ([Double]) -> Double) -> [Double] {
    var probe = x
    return x.indices.map { i in
        probe[i] = x[i] + eps
        let up = f(probe)
        probe[i] = x[i] - eps
        let down = f(probe)
        probe[i] = x[i]
        return (up - down) / (2 * eps)
    }
}

/// sum_i weights[i] * y[i]: reduces a layer's output to a scalar loss whose
/// gradient with respect to y is `weights` (the upstream gradient fed to
/// backward).
public func projection(_ y: [Double], _ weights: [Float]) -> Double {
    precondition(y.count == weights.count, "projection: \(y.count) outputs vs \(weights.count) weights")
    return zip(y, weights).reduce(0) { $0 + $1.0 * Double($1.1) }
}

/// Float values widened to double, for references.
public func doubles(_ x: [Float]) -> [Double] { x.map(Double.init) }
