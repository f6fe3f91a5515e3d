/// A fully connected layer, y = x W^T + b, applied to the last dimension:
/// x is [..., inputSize], y is [..., outputSize]. Parameters as PyTorch's
/// `nn.Linear`: `weight` [outputSize, inputSize] and `bias` [outputSize],
/// both uniform in +-1/sqrt(inputSize).
///
/// ```swift
/// let linear = try Linear(inputSize: 64, outputSize: 10, seed: 1)
/// let y = try linear.forward(h)                 // [N, 64] -> [N, 10]
/// let dh = try linear.backward(dLoss_dy)        // accumulates weight and bias gradients
/// ```
public final class Linear: Layer {
    public let inputSize: Int
    public let outputSize: Int
    /// [outputSize, inputSize].
    public let weight: Parameter
    /// [outputSize], or nil without bias.
    public let bias: Parameter?
    private var savedInput: Tensor?

    public init(inputSize: Int, outputSize: Int, bias: Bool = true, seed: UInt64) throws(GraphSeqError) {
        try require(inputSize >= 1 && outputSize >= 1,
                    "Linear: sizes must be positive, got \(inputSize) -> \(outputSize)")
        self.inputSize = inputSize
        self.outputSize = outputSize
        var rng = SplitMix64(seed: seed)
        let bound = 1 / Float(inputSize).squareRoot()
        weight = Parameter(Tensor(shape: [outputSize, inputSize]))
        Initialization.uniform(weight.value, bound: bound, using: &rng)
        self.bias = bias ? Parameter(Tensor(shape: [outputSize])) : nil
        if let b = self.bias { Initialization.uniform(b.value, bound: bound, using: &rng) }
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// y = x W^T + b for x of shape [..., inputSize].
    public func forward(_ x: Tensor) throws(GraphSeqError) -> Tensor {
        try require(x.rank >= 1 && x.shape.last == inputSize,
                    "Linear.forward: x has shape \(x.shape), expected [..., \(inputSize)]")
        let rows = x.count / inputSize
        let y = Tensor(shape: x.shape.dropLast() + [outputSize])
        if let b = bias {
            y.withUnsafeMutableBufferPointer { yp in
                b.value.withUnsafeBufferPointer { bp in
                    for r in 0..<rows { (yp.baseAddress! + r * outputSize).update(from: bp.baseAddress!, count: outputSize) }
                }
            }
        }
        try withPointers([x, weight.value, y]) { (p) throws(GraphSeqError) in
            try sgemm(transposeB: true, m: rows, n: outputSize, k: inputSize, p[0], lda: inputSize,
                      p[1], ldb: inputSize, beta: bias == nil ? 0 : 1, p[2], ldc: outputSize)
        }
        savedInput = x
        return y
    }

    /// dx = dy W; accumulates dW += dy^T x and db += the column sums of dy.
    public func backward(_ dy: Tensor) throws(GraphSeqError) -> Tensor {
        try backward(dy, inputGradient: true)!
    }

    /// Accumulates the parameter gradients as `backward` does, bitwise, without
    /// computing dLoss/dx (for a first layer, whose input needs no gradient).
    public func backwardParameters(_ dy: Tensor) throws(GraphSeqError) {
        _ = try backward(dy, inputGradient: false)
    }

    private func backward(_ dy: Tensor, inputGradient: Bool) throws(GraphSeqError) -> Tensor? {
        let fn = inputGradient ? "Linear.backward" : "Linear.backwardParameters"
        guard let x = savedInput else { throw .invalidArgument("\(fn): called before forward") }
        try require(dy.shape == x.shape.dropLast() + [outputSize],
                    "\(fn): dy has shape \(dy.shape), expected \(x.shape.dropLast() + [outputSize])")
        let rows = x.count / inputSize
        try withPointers([dy, x, weight.gradient]) { (p) throws(GraphSeqError) in
            try sgemm(transposeA: true, m: outputSize, n: inputSize, k: rows, p[0], lda: outputSize,
                      p[1], ldb: inputSize, beta: 1, p[2], ldc: inputSize)
        }
        if let b = bias { addColumnSums(of: dy, rows: rows, columns: outputSize, into: b.gradient) }
        guard inputGradient else { return nil }
        let dx = Tensor(shape: x.shape)
        try withPointers([dy, weight.value, dx]) { (p) throws(GraphSeqError) in
            try sgemm(m: rows, n: inputSize, k: outputSize, p[0], lda: outputSize,
                      p[1], ldb: inputSize, p[2], ldc: inputSize)
        }
        return dx
    }
}

/// into[j] += sum_r m[r, j], summed in row order (deterministic).
func addColumnSums(of m: Tensor, rows: Int, columns: Int, into t: Tensor) {
    withPointers([m, t]) { p in
        for r in 0..<rows {
            for j in 0..<columns { p[1][j] += p[0][r * columns + j] }
        }
    }
}
