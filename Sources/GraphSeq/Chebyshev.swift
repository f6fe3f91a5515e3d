internal import CGraphSeq

/// The Chebyshev basis of `x` ([n, c]) for a square operator `lhat` (usually
/// a scaled Laplacian): T_0 = x, T_1 = L x, T_k = 2 L T_{k-1} - T_{k-2}, for
/// k < `order`. The result is node-major, [n, order * c], with T_k in columns
/// k*c ..< (k+1)*c, so one GEMM with weights [order * c, out] applies every
/// filter of a ChebConv.
///
/// ```swift
/// let lhat = try adjacency.scaledLaplacian(.symmetric, lambdaMax: 2)
/// let basis = try chebyshevBasis(of: x, operator: lhat, order: 3)   // [n, 3c]
/// ```
public func chebyshevBasis(of x: Tensor, operator lhat: Graph, order K: Int) throws(GraphSeqError) -> Tensor {
    try validateChebyshev(lhat, order: K, x, "x", "chebyshevBasis")
    let basis = Tensor(shape: [x.shape[0], K * x.shape[1]])
    try chebyshevBasis(of: x, operator: lhat, order: K, into: basis)
    return basis
}

/// `chebyshevBasis(of:operator:order:)` into an existing [n, K * c] tensor,
/// for loops that reuse one buffer.
public func chebyshevBasis(of x: Tensor, operator lhat: Graph, order K: Int, into basis: Tensor) throws(GraphSeqError) {
    try validateChebyshev(lhat, order: K, x, "x", "chebyshevBasis")
    let (n, c) = (x.shape[0], x.shape[1])
    try require(basis.shape == [n, K * c], "chebyshevBasis: basis has shape \(basis.shape), expected [\(n), \(K * c)]")
    try require(basis !== x, "chebyshevBasis: basis and x must be different tensors")
    let status = x.withUnsafeBufferPointer { xp in
        basis.withUnsafeMutableBufferPointer { bp in
            gsq_cheb_basis(lhat.handle, Int64(K), Int64(c), xp.baseAddress, Int64(max(c, 1)),
                           bp.baseAddress, Int64(max(K * c, 1)))
        }
    }
    try check(status)
}

/// The gradient with respect to `x` of `chebyshevBasis(of: x, operator: lhat,
/// order: K)`, given `gradient` = dLoss/dbasis ([n, K * c]); `gradient` is
/// left unchanged.
///
/// ```swift
/// let dx = try chebyshevBasisBackward(dbasis, operator: lhat, order: 3)  // [n, c]
/// ```
public func chebyshevBasisBackward(_ gradient: Tensor, operator lhat: Graph, order K: Int) throws(GraphSeqError) -> Tensor {
    try validateChebyshev(lhat, order: K, gradient, "gradient", "chebyshevBasisBackward")
    let dx = Tensor(shape: [gradient.shape[0], gradient.shape[1] / K])
    try chebyshevBasisBackward(overwriting: gradient.copy(), operator: lhat, order: K, into: dx)
    return dx
}

/// `dx = (adjoint of the basis)(gradient) + beta * dx` without copying:
/// `gradient` ([n, K * c]) is used as scratch and overwritten. With
/// `beta == 0`, `dx` ([n, c]) is not read.
public func chebyshevBasisBackward(overwriting gradient: Tensor, operator lhat: Graph, order K: Int,
                                   into dx: Tensor, beta: Float = 0) throws(GraphSeqError) {
    try validateChebyshev(lhat, order: K, gradient, "gradient", "chebyshevBasisBackward")
    let (n, c) = (gradient.shape[0], gradient.shape[1] / K)
    try require(dx.shape == [n, c], "chebyshevBasisBackward: dx has shape \(dx.shape), expected [\(n), \(c)]")
    try require(dx !== gradient, "chebyshevBasisBackward: dx and gradient must be different tensors")
    let status = gradient.withUnsafeMutableBufferPointer { gp in
        dx.withUnsafeMutableBufferPointer { dp in
            gsq_cheb_basis_backward(lhat.handle, Int64(K), Int64(c), gp.baseAddress, Int64(max(K * c, 1)),
                                    beta, dp.baseAddress, Int64(max(c, 1)))
        }
    }
    try check(status)
}

/// Checks the operator, the order and a rank-2 tensor with one row per node
/// (and, for a gradient, a multiple of K columns).
private func validateChebyshev(_ lhat: Graph, order K: Int, _ t: Tensor, _ name: String,
                               _ fn: String) throws(GraphSeqError) {
    let n = lhat.rowCount
    try require(lhat.columnCount == n, "\(fn): the operator is \(n) x \(lhat.columnCount), not square")
    try require(K >= 1 && K <= 64, "\(fn): order \(K) is not in 1...64")
    try require(t.rank == 2 && t.shape[0] == n, "\(fn): \(name) has shape \(t.shape), expected [\(n), features]")
    if name == "gradient" {
        try require(t.shape[1] % K == 0, "\(fn): gradient has \(t.shape[1]) columns, not a multiple of order \(K)")
    }
}
