/// A layer on node features over a graph: x is [N, F] or, for B signals on the
/// same graph, node-major [N, B, F]; the output is [N, out] or [N, B, out].
///
/// `graph` is the (weighted) adjacency as the user has it, row i holding the
/// weights with which node i aggregates its neighbours. The layer derives its
/// operator from it (normalisation, Laplacian) once and reuses it for as long
/// as the same `Graph` object (`===`) is passed.
///
/// ```swift
/// let conv = try GCNConv(inputSize: 16, outputSize: 8, seed: 1)
/// let y = try conv.forward(x, graph: adjacency)   // [N, 16] -> [N, 8]
/// let dx = try conv.backward(dLoss_dy)            // accumulates weight and bias gradients
/// ```
public protocol GraphLayer: Layer {
    /// The layer's output for node features `x` on `graph`.
    func forward(_ x: Tensor, graph: Graph) throws(GraphSeqError) -> Tensor
    /// dLoss/dx of the last forward given dLoss/dy; accumulates parameter gradients.
    func backward(_ outputGradient: Tensor) throws(GraphSeqError) -> Tensor
    /// Accumulates the parameter gradients as `backward` does, bitwise, without
    /// computing dLoss/dx: for a first layer, whose input (data) needs no
    /// gradient, as PyTorch skips it for inputs that do not require grad.
    func backwardParameters(_ outputGradient: Tensor) throws(GraphSeqError)
}

extension GraphLayer {
    public func backwardParameters(_ outputGradient: Tensor) throws(GraphSeqError) {
        _ = try backward(outputGradient)
    }
}

/// Checks that `x` is [N, inputSize] or [N, B, inputSize] for the N nodes of
/// a square `graph`; returns N and B (1 for rank 2).
func nodeFeatureShape(_ x: Tensor, graph: Graph, inputSize: Int,
                      _ fn: String) throws(GraphSeqError) -> (nodes: Int, batch: Int) {
    let n = graph.rowCount
    try require(graph.columnCount == n, "\(fn): graph is \(n) x \(graph.columnCount), not square")
    try require((x.rank == 2 || x.rank == 3) && x.shape[0] == n && x.shape.last == inputSize,
                "\(fn): x has shape \(x.shape), expected [\(n), \(inputSize)] or [\(n), batch, \(inputSize)]")
    return (n, x.rank == 3 ? x.shape[1] : 1)
}

/// Sets every row of `y` (viewed as [count / b.count, b.count]) to `b`.
func fillRows(_ y: Tensor, with b: Tensor) {
    withPointers([y, b]) { p in
        for r in 0..<(y.count / max(b.count, 1)) { (p[0] + r * b.count).update(from: p[1], count: b.count) }
    }
}
