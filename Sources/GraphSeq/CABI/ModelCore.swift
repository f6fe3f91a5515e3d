/// The initial or final state of a model: h and, for LSTM-like cells, c.
/// nil where the kind has no such state.
struct ModelState {
    var h: Tensor?
    var c: Tensor?
}

/// What the C ABI needs from a model, whatever the Swift protocol of its
/// layer: one adapter per protocol (Linear, SequenceLayer, GraphLayer,
/// GraphSequenceLayer, the encoder-decoder), chosen in `makeModelCore`.
protocol ModelCore {
    /// The wrapped layer (parameters, state dict, training mode).
    var layer: any Layer { get }
    /// The ranks `src` may have.
    var inputRanks: ClosedRange<Int> { get }
    /// Whether forward needs a graph (else the graph must be NULL).
    var needsGraph: Bool { get }
    /// How many per-sequence lengths an input of `shape` takes (nil: lengths
    /// are not accepted). `shape` has a rank in `inputRanks`.
    func lengthCount(input shape: [Int]) -> Int?
    /// The shapes of h and c (initial and final) for an input of `shape`; nil
    /// for a state the kind does not have. `shape` has a rank in `inputRanks`.
    func stateShapes(input shape: [Int]) -> (h: [Int]?, c: [Int]?)
    func forward(_ x: Tensor, graph: Graph?, lengths: [Int]?, initialState: ModelState)
        throws(GraphSeqError) -> (output: Tensor, state: ModelState)
    /// Returns dLoss/dx and dLoss/d(initial state).
    func backward(_ outputGradient: Tensor, stateGradient: ModelState)
        throws(GraphSeqError) -> (input: Tensor, initialState: ModelState)
}

extension ModelCore {
    var needsGraph: Bool { false }
    func lengthCount(input shape: [Int]) -> Int? { nil }
    func stateShapes(input shape: [Int]) -> (h: [Int]?, c: [Int]?) { (nil, nil) }
}

/// GSQ_MODEL_LINEAR.
struct LinearModel: ModelCore {
    let linear: Linear
    var layer: any Layer { linear }
    var inputRanks: ClosedRange<Int> { 1...4 }

    func forward(_ x: Tensor, graph: Graph?, lengths: [Int]?, initialState: ModelState)
        throws(GraphSeqError) -> (output: Tensor, state: ModelState) {
        (try linear.forward(x), ModelState())
    }

    func backward(_ outputGradient: Tensor, stateGradient: ModelState)
        throws(GraphSeqError) -> (input: Tensor, initialState: ModelState) {
        (try linear.backward(outputGradient), ModelState())
    }
}
