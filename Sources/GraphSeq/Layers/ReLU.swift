/// The rectifier y = max(x, 0), elementwise, as a parameter-free layer
/// (`torch.nn.ReLU`): forward keeps its output for backward.
///
/// ```swift
/// let relu = ReLU()
/// let h = relu.forward(try conv.forward(x, graph: g))
/// let dh = try relu.backward(dy)        // dy where h > 0, else 0
/// ```
public final class ReLU: Layer {
    private var output: Tensor?

    public init() {}

    public var namedParameters: [(name: String, parameter: Parameter)] { [] }

    /// max(x, 0) as a new tensor of x's shape.
    public func forward(_ x: Tensor) -> Tensor {
        let y = x.copy()
        relu(y)
        output = y
        return y
    }

    /// dx = dy where the last forward's output was positive, else 0.
    public func backward(_ dy: Tensor) throws(GraphSeqError) -> Tensor {
        guard let y = output else { throw .invalidArgument("ReLU.backward: called before forward") }
        try require(dy.shape == y.shape, "ReLU.backward: dy has shape \(dy.shape), expected \(y.shape)")
        let dx = dy.copy()
        reluBackward(dx, output: y)
        return dx
    }
}

/// x = max(x, 0) in place.
func relu(_ x: Tensor) {
    x.withUnsafeMutableBufferPointer { p in
        for i in p.indices { p[i] = max(p[i], 0) }
    }
}

/// dy *= (y > 0) in place: the ReLU's backward from its output y.
func reluBackward(_ dy: Tensor, output y: Tensor) {
    withPointers([dy, y]) { p in
        for i in 0..<dy.count where !(p[1][i] > 0) { p[0][i] = 0 }
    }
}
