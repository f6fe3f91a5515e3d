/// GCRN model 1 (Seo et al. 2016): a Chebyshev graph CNN extracts features
/// from each frame, x^CNN_t = ReLU(ChebConv(x_t)), and an LSTM shared by all
/// nodes runs over time on them. Layout as the other graph sequence layers:
/// x [T, N, B, F], output [T, N, B, hidden], states h and c [N, B, hidden].
///
/// The paper feeds the whole graph signal to a fully connected LSTM; here,
/// as in GCRN model 2, the LSTM's weights are shared across nodes, so the
/// parameter count does not grow with the graph.
///
/// ```swift
/// let model = try GCRNModel1(inputSize: 2, convolutionSize: 16, hiddenSize: 64,
///                            order: 3, seed: 1)
/// let (y, state) = try model.forward(x, graph: adjacency, initialState: nil)
/// let (dx, _) = try model.backward(dy, stateGradient: nil)
/// ```
/// Checkpoint names: `conv.` + PyTorch Geometric ChebConv's, `lstm.` +
/// torch.nn.LSTM's.
public final class GCRNModel1: GraphSequenceLayer {
    /// The per-frame graph convolution, inputSize -> convolutionSize.
    public let conv: ChebConv
    /// The LSTM over time, convolutionSize -> hiddenSize, batch = nodes x signals.
    public let lstm: LSTM
    private var saved: (frames: Int, nodes: Int, batch: Int, features: Tensor)?

    public init(inputSize: Int, convolutionSize: Int, hiddenSize: Int, order K: Int,
                normalization: LaplacianNormalization = .symmetric, lambdaMax: Float? = nil,
                peephole: Bool = false, seed: UInt64) throws(GraphSeqError) {
        conv = try ChebConv(inputSize: inputSize, outputSize: convolutionSize, order: K,
                            normalization: normalization, lambdaMax: lambdaMax, seed: seed)
        lstm = try LSTM(inputSize: convolutionSize, hiddenSize: hiddenSize, peephole: peephole,
                        seed: seed &+ 1)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        prefixed("conv", conv.namedParameters) + prefixed("lstm", lstm.namedParameters)
    }

    public func stateDict() -> [(name: String, tensor: Tensor)] {
        prefixed("conv", conv.stateDict()) + prefixed("lstm", lstm.stateDict())
    }

    public func loadStateDict(_ tensors: [String: Tensor]) throws(GraphSeqError) {
        try validateStateDict(tensors, expected: stateDict(), owner: "GCRNModel1")
        func part(_ prefix: String) -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: tensors.compactMap { name, t in
                name.hasPrefix(prefix) ? (String(name.dropFirst(prefix.count)), t) : nil
            })
        }
        try conv.loadStateDict(part("conv."))
        try lstm.loadStateDict(part("lstm."))
    }

    public func setTraining(_ training: Bool) { lstm.setTraining(training) }

    public func forward(_ x: Tensor, graph: Graph, initialState: RecurrentState?)
        throws(GraphSeqError) -> (output: Tensor, state: RecurrentState) {
        try require(x.rank == 4, "GCRNModel1.forward: x has shape \(x.shape), expected [T, N, B, F]")
        let (t, n, b) = (x.shape[0], x.shape[1], x.shape[2])
        try require(t >= 1, "GCRNModel1.forward: x has no time steps")
        let hidden = lstm.hiddenSize
        for (name, s) in [("h", initialState?.h), ("c", initialState?.c)] {
            guard let s else { continue }
            try require(s.shape == [n, b, hidden],
                        "GCRNModel1.forward: initial \(name) has shape \(s.shape), expected \([n, b, hidden])")
        }
        // One convolution over all frames: node-major [N, T*B, F].
        let nodeMajor = try swapLeadingAxes(x).reshaped([n, t * b, x.shape[3]])
        let features = try conv.forward(nodeMajor, graph: graph)
        relu(features)
        let sequence = try swapLeadingAxes(features.reshaped([n, t, b * conv.outputSize]))
        let (y, state) = try lstm.forward(try sequence.reshaped([t, n * b, conv.outputSize]),
                                          lengths: nil, initialState: try initialState.map(stacked))
        saved = (t, n, b, features)
        return (try y.reshaped([t, n, b, hidden]), try unstacked(state, n, b))
    }

    public func backward(_ outputGradient: Tensor, stateGradient: RecurrentState?)
        throws(GraphSeqError) -> (input: Tensor, initialState: RecurrentState) {
        guard let (t, n, b, features) = saved else {
            throw .invalidArgument("GCRNModel1.backward: called before forward")
        }
        let hidden = lstm.hiddenSize
        try require(outputGradient.shape == [t, n, b, hidden],
                    "GCRNModel1.backward: outputGradient has shape \(outputGradient.shape), expected \([t, n, b, hidden])")
        let (dSequence, dInitial) = try lstm.backward(try outputGradient.reshaped([t, n * b, hidden]),
                                                      stateGradient: try stateGradient.map(stacked))
        let dFeatures = try swapLeadingAxes(dSequence.reshaped([t, n, b * conv.outputSize]))
            .reshaped(features.shape)
        reluBackward(dFeatures, output: features)
        let dNodeMajor = try conv.backward(dFeatures)
        let dx = try swapLeadingAxes(dNodeMajor.reshaped([n, t, b * conv.inputSize]))
        return (try dx.reshaped([t, n, b, conv.inputSize]), try unstacked(dInitial, n, b))
    }

    /// [N, B, H] states as the LSTM's [1, N*B, H].
    private func stacked(_ s: RecurrentState) throws(GraphSeqError) -> RecurrentState {
        RecurrentState(h: try s.h.reshaped([1] + [s.h.count / lstm.hiddenSize, lstm.hiddenSize]),
                       c: try s.c.map { (c) throws(GraphSeqError) in try c.reshaped([1, c.count / lstm.hiddenSize, lstm.hiddenSize]) })
    }

    private func unstacked(_ s: RecurrentState, _ n: Int, _ b: Int) throws(GraphSeqError) -> RecurrentState {
        RecurrentState(h: try s.h.reshaped([n, b, lstm.hiddenSize]),
                       c: try s.c.map { (c) throws(GraphSeqError) in try c.reshaped([n, b, lstm.hiddenSize]) })
    }
}

/// [A, B, ...] -> [B, A, ...]: the two leading axes swapped, inner rows copied whole.
func swapLeadingAxes(_ x: Tensor) -> Tensor {
    let (a, b) = (x.shape[0], x.shape[1])
    let y = Tensor(shape: [b, a] + x.shape.dropFirst(2))
    withPointers([x, y]) { p in
        permuteBlocks(p[0], p[1], sizes: [a, b], order: [1, 0], block: x.count / max(a * b, 1))
    }
    return y
}
