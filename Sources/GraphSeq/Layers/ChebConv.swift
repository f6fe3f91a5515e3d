internal import CGraphSeq

/// The Chebyshev spectral graph convolution of Defferrard et al.,
/// y = sum_{k<K} T_k(L̂) x W_k + b, with L̂ = 2 L / lambdaMax - I the scaled
/// Laplacian of the graph (PyTorch Geometric's `ChebConv`): x is
/// [N, inputSize] or [N, B, inputSize]; the graph's values are its edge
/// weights and its self loops are ignored.
///
/// Internally the K filters are one weight [K * inputSize, outputSize]
/// applied by one GEMM to the node-major basis [T_0 x | ... | T_{K-1} x],
/// one row per (node, signal).
/// Checkpoints use PyG's names: `lins.{k}.weight` [outputSize, inputSize]
/// (Glorot uniform each) and `bias` [outputSize] (zero).
///
/// ```swift
/// let conv = try ChebConv(inputSize: 64, outputSize: 64, order: 3, seed: 1)
/// let y = try conv.forward(x, graph: adjacency)   // L̂ built once per graph
/// let dx = try conv.backward(dLoss_dy)
/// ```
public final class ChebConv: GraphLayer {
    public let inputSize: Int
    public let outputSize: Int
    /// K, the number of Chebyshev terms (1...64).
    public let order: Int
    public let normalization: LaplacianNormalization
    /// The largest Laplacian eigenvalue used for scaling; nil: estimated per graph.
    public let lambdaMax: Float?
    /// [order * inputSize, outputSize]: rows k * inputSize ..< (k + 1) *
    /// inputSize hold `lins.k.weight` transposed.
    public let weight: Parameter
    /// [outputSize], or nil without bias.
    public let bias: Parameter?
    private let laplacian: OperatorCache
    /// L̂ and the basis [N * B, K * inputSize] of the last forward.
    private var saved: (lhat: Graph, basis: Tensor, xShape: [Int])?
    /// Work buffers kept from call to call while shapes stay the same (fresh
    /// ones cost page faults and zeroing every time): the basis and its gradient.
    private var buffers = [Tensor?](repeating: nil, count: 2)

    /// `lambdaMax` nil estimates the largest eigenvalue of each graph's
    /// Laplacian (PyG requires it for `.none` and `.randomWalk` and takes 2
    /// for `.symmetric`; pass 2 to match PyG's default).
    public init(inputSize: Int, outputSize: Int, order K: Int,
                normalization: LaplacianNormalization = .symmetric, lambdaMax: Float? = nil,
                bias: Bool = true, seed: UInt64) throws(GraphSeqError) {
        try require(inputSize >= 1 && outputSize >= 1,
                    "ChebConv: sizes must be positive, got \(inputSize) -> \(outputSize)")
        try require(K >= 1 && K <= 64, "ChebConv: order \(K) is not in 1...64")
        if let lambdaMax {
            try require(lambdaMax > 0 && lambdaMax.isFinite, "ChebConv: lambdaMax = \(lambdaMax) must be positive")
        }
        (self.inputSize, self.outputSize, order) = (inputSize, outputSize, K)
        (self.normalization, self.lambdaMax) = (normalization, lambdaMax)
        laplacian = OperatorCache.scaledLaplacian(normalization, lambdaMax: lambdaMax)
        var rng = SplitMix64(seed: seed)
        let lin = Tensor(shape: [outputSize, inputSize])
        weight = Parameter(Tensor(shape: [K * inputSize, outputSize]))
        self.bias = bias ? Parameter(Tensor(shape: [outputSize])) : nil
        for k in 0..<K {
            Initialization.glorotUniform(lin, fanIn: inputSize, fanOut: outputSize, using: &rng)
            copyTransposed(lin, intoBlock: k)
        }
    }

    /// The fused weight (see `weight`) and the bias; checkpoints convert it
    /// to PyG's `lins.{k}.weight`.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func stateDict() -> [(name: String, tensor: Tensor)] {
        (0..<order).map { k in
            let lin = Tensor(shape: [outputSize, inputSize])
            withPointers([weight.value, lin]) { p in
                for i in 0..<inputSize {
                    for o in 0..<outputSize { p[1][o * inputSize + i] = p[0][(k * inputSize + i) * outputSize + o] }
                }
            }
            return ("lins.\(k).weight", lin)
        } + (bias.map { [("bias", $0.value)] } ?? [])
    }

    public func loadStateDict(_ tensors: [String: Tensor]) throws(GraphSeqError) {
        try validateStateDict(tensors, expected: stateDict(), owner: "ChebConv")
        for k in 0..<order { copyTransposed(tensors["lins.\(k).weight"]!, intoBlock: k) }
        if let b = bias { b.value.withUnsafeMutableBufferPointer { dst in
            tensors["bias"]!.withUnsafeBufferPointer { dst.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        } }
    }

    /// Writes `lin` ([outputSize, inputSize]) transposed into block k of the fused weight.
    private func copyTransposed(_ lin: Tensor, intoBlock k: Int) {
        withPointers([lin, weight.value]) { p in
            for i in 0..<inputSize {
                for o in 0..<outputSize { p[1][(k * inputSize + i) * outputSize + o] = p[0][o * inputSize + i] }
            }
        }
    }

    /// Work buffer `slot` with `shape`: the last one when its shape matches.
    private func buffer(_ slot: Int, _ shape: [Int]) -> Tensor {
        if let t = buffers[slot], t.shape == shape { return t }
        let t = Tensor(shape: shape)
        buffers[slot] = t
        return t
    }

    /// L̂ for `graph`: built on first use, then the same object until another
    /// graph is passed.
    public func graphOperator(for graph: Graph) throws(GraphSeqError) -> Graph {
        try laplacian(graph)
    }

    /// y = [T_0 x | ... | T_{K-1} x] W + b.
    public func forward(_ x: Tensor, graph: Graph) throws(GraphSeqError) -> Tensor {
        let (n, batch) = try nodeFeatureShape(x, graph: graph, inputSize: inputSize, "ChebConv.forward")
        let lhat = try laplacian(graph)
        let (rows, width) = (n * batch, order * inputSize)
        let basis = buffer(0, [rows, width])
        try withPointers([x, basis]) { (p) throws(GraphSeqError) in
            // Signal b's terms go straight into its GEMM rows by a strided
            // basis call. One wide call over B * F features plus a reorder
            // pass into these rows measured 10-30% slower once a term outgrows
            // the cache (N = 2000..100000), 11% faster only at N = 207, B = 64.
            for b in 0..<batch {
                try check(gsq_cheb_basis(lhat.handle, Int64(order), Int64(inputSize), p[0] + b * inputSize,
                                         Int64(batch * inputSize), p[1] + b * width, Int64(batch * width)))
            }
        }
        let y = Tensor(shape: x.shape.dropLast() + [outputSize])
        if let b = bias { fillRows(y, with: b.value) }
        try withPointers([basis, weight.value, y]) { (p) throws(GraphSeqError) in
            try sgemm(m: rows, n: outputSize, k: width, p[0], lda: width, p[1], ldb: outputSize,
                      beta: bias == nil ? 0 : 1, p[2], ldc: outputSize)
        }
        saved = (lhat, basis, x.shape)
        return y
    }

    /// dW += basis^T dy, db += the column sums of dy; dx is the basis adjoint
    /// of dy W^T.
    public func backward(_ dy: Tensor) throws(GraphSeqError) -> Tensor {
        try backward(dy, inputGradient: true)!
    }

    public func backwardParameters(_ dy: Tensor) throws(GraphSeqError) {
        _ = try backward(dy, inputGradient: false)
    }

    private func backward(_ dy: Tensor, inputGradient: Bool) throws(GraphSeqError) -> Tensor? {
        let fn = inputGradient ? "ChebConv.backward" : "ChebConv.backwardParameters"
        guard let (lhat, basis, xShape) = saved else { throw .invalidArgument("\(fn): called before forward") }
        let expected = Array(xShape.dropLast()) + [outputSize]
        try require(dy.shape == expected, "\(fn): dy has shape \(dy.shape), expected \(expected)")
        let (n, batch) = (xShape[0], xShape.count == 3 ? xShape[1] : 1)
        let (rows, width) = (n * batch, order * inputSize)
        try withPointers([basis, dy, weight.gradient]) { (p) throws(GraphSeqError) in
            try sgemm(transposeA: true, m: width, n: outputSize, k: rows, p[0], lda: width,
                      p[1], ldb: outputSize, beta: 1, p[2], ldc: outputSize)
        }
        if let b = bias { addColumnSums(of: dy, rows: rows, columns: outputSize, into: b.gradient) }
        guard inputGradient else { return nil }
        let dbasis = buffer(1, [rows, width])
        let dx = Tensor(shape: xShape)
        try withPointers([dy, weight.value, dbasis, dx]) { (p) throws(GraphSeqError) in
            try sgemm(transposeB: true, m: rows, n: width, k: outputSize, p[0], lda: outputSize,
                      p[1], ldb: outputSize, p[2], ldc: width)
            for b in 0..<batch {   // the adjoint per signal, overwriting its dbasis rows
                try check(gsq_cheb_basis_backward(lhat.handle, Int64(order), Int64(inputSize), p[2] + b * width,
                                                  Int64(batch * width), 0, p[3] + b * inputSize, Int64(batch * inputSize)))
            }
        }
        return dx
    }
}
