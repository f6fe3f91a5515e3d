/// The graph convolution of Kipf & Welling, y = Â x W^T + b with the
/// renormalised adjacency Â = D^-1/2 (A + I) D^-1/2 (PyTorch Geometric's
/// `GCNConv` with its defaults): x is [N, inputSize] or [N, B, inputSize].
/// Parameters as PyG: `lin.weight` [outputSize, inputSize] (Glorot uniform)
/// and `bias` [outputSize] (zero).
///
/// ```swift
/// let conv = try GCNConv(inputSize: 64, outputSize: 16, seed: 1)
/// let y = try conv.forward(x, graph: adjacency)   // [N, 64] -> [N, 16]; Â built once per graph
/// let dx = try conv.backward(dLoss_dy)
/// ```
public final class GCNConv: GraphLayer {
    public let inputSize: Int
    public let outputSize: Int
    /// [outputSize, inputSize].
    public let weight: Parameter
    /// [outputSize], or nil without bias.
    public let bias: Parameter?
    private let normalized = OperatorCache.gcnNormalized()
    /// Â and the GEMM's input of the last forward: x when the product with W
    /// came first, Â x otherwise.
    private var saved: (ahat: Graph, gemmInput: Tensor)?

    public init(inputSize: Int, outputSize: Int, bias: Bool = true, seed: UInt64) throws(GraphSeqError) {
        try require(inputSize >= 1 && outputSize >= 1,
                    "GCNConv: sizes must be positive, got \(inputSize) -> \(outputSize)")
        self.inputSize = inputSize
        self.outputSize = outputSize
        var rng = SplitMix64(seed: seed)
        weight = Parameter(Tensor(shape: [outputSize, inputSize]))
        Initialization.glorotUniform(weight.value, fanIn: inputSize, fanOut: outputSize, using: &rng)
        self.bias = bias ? Parameter(Tensor(shape: [outputSize])) : nil
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        [("lin.weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// Â for `graph`: built on first use, then the same object until another
    /// graph is passed.
    public func graphOperator(for graph: Graph) throws(GraphSeqError) -> Graph {
        try normalized(graph)
    }

    /// Whether W goes first: Â (x W^T) then sparse-multiplies the narrower
    /// matrix (PyG's order when the output is smaller). Both orders are the
    /// same product.
    private var transformFirst: Bool { outputSize < inputSize }

    /// y = Â x W^T + b.
    public func forward(_ x: Tensor, graph: Graph) throws(GraphSeqError) -> Tensor {
        let (n, batch) = try nodeFeatureShape(x, graph: graph, inputSize: inputSize, "GCNConv.forward")
        let ahat = try normalized(graph)
        let rows = n * batch
        let y = Tensor(shape: x.shape.dropLast() + [outputSize])
        if let b = bias { fillRows(y, with: b.value) }
        let beta: Float = bias == nil ? 0 : 1
        if transformFirst {
            let h = Tensor(shape: y.shape)
            try withPointers([x, weight.value, h]) { (p) throws(GraphSeqError) in
                try sgemm(transposeB: true, m: rows, n: outputSize, k: inputSize, p[0], lda: inputSize,
                          p[1], ldb: inputSize, p[2], ldc: outputSize)
            }
            try ahat.spmm(h, into: y, beta: beta)
            saved = (ahat, x)
        } else {
            let ax = Tensor(shape: x.shape)
            try ahat.spmm(x, into: ax)
            try withPointers([ax, weight.value, y]) { (p) throws(GraphSeqError) in
                try sgemm(transposeB: true, m: rows, n: outputSize, k: inputSize, p[0], lda: inputSize,
                          p[1], ldb: inputSize, beta: beta, p[2], ldc: outputSize)
            }
            saved = (ahat, ax)
        }
        return y
    }

    /// dx = Â^T dy W; accumulates dW += (Â^T dy)^T x = dy^T (Â x) and db += the
    /// column sums of dy.
    public func backward(_ dy: Tensor) throws(GraphSeqError) -> Tensor {
        try backward(dy, inputGradient: true)!
    }

    public func backwardParameters(_ dy: Tensor) throws(GraphSeqError) {
        _ = try backward(dy, inputGradient: false)
    }

    private func backward(_ dy: Tensor, inputGradient: Bool) throws(GraphSeqError) -> Tensor? {
        let fn = inputGradient ? "GCNConv.backward" : "GCNConv.backwardParameters"
        guard let (ahat, input) = saved else { throw .invalidArgument("\(fn): called before forward") }
        let expected = Array(input.shape.dropLast()) + [outputSize]
        try require(dy.shape == expected, "\(fn): dy has shape \(dy.shape), expected \(expected)")
        let rows = input.count / inputSize
        // The GEMM's output gradient: Â^T dy when W went first, else dy.
        let dz = transformFirst ? Tensor(shape: dy.shape) : dy
        if transformFirst { try ahat.spmm(dy, into: dz, transpose: true) }
        try withPointers([dz, input, weight.gradient]) { (p) throws(GraphSeqError) in
            try sgemm(transposeA: true, m: outputSize, n: inputSize, k: rows, p[0], lda: outputSize,
                      p[1], ldb: inputSize, beta: 1, p[2], ldc: inputSize)
        }
        if let b = bias { addColumnSums(of: dy, rows: rows, columns: outputSize, into: b.gradient) }
        guard inputGradient else { return nil }
        let dinput = Tensor(shape: input.shape)
        try withPointers([dz, weight.value, dinput]) { (p) throws(GraphSeqError) in
            try sgemm(m: rows, n: inputSize, k: outputSize, p[0], lda: outputSize,
                      p[1], ldb: inputSize, p[2], ldc: inputSize)
        }
        if transformFirst { return dinput }
        let dx = Tensor(shape: input.shape)
        try ahat.spmm(dinput, into: dx, transpose: true)
        return dx
    }
}
