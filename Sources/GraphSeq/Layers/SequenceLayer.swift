/// A recurrent layer over whole sequences: RNN, LSTM, GRU.
///
/// Layout: x is time-major [T, batch, inputSize] (with `batchFirst`,
/// [batch, T, inputSize]); the output is [T, batch, directions * outSize]
/// likewise. `lengths` (one per batch entry, each in 1...T, any order) makes
/// a variable-length batch as PyTorch's packed sequences do: outputs past a
/// sequence's end are zero, its final state is the state at its length, and
/// the reverse direction starts at its own last valid step. nil means every
/// sequence has length T. A nil `initialState` (or a nil `c` in it) means
/// zeros.
///
/// ```swift
/// let lstm = try LSTM(inputSize: 16, hiddenSize: 32,
///                     options: RecurrentOptions(numLayers: 2, bidirectional: true), seed: 7)
/// let (y, state) = try lstm.forward(x, lengths: [5, 3, 4], initialState: nil)
/// // y: [5, 3, 64]; state.h, state.c: [4, 3, 32]
/// let (dx, dState) = try lstm.backward(dy, stateGradient: nil)
/// ```
public protocol SequenceLayer: Layer {
    /// Runs the layer over `x`; keeps what `backward` needs.
    func forward(_ x: Tensor, lengths: [Int]?, initialState: RecurrentState?)
        throws(GraphSeqError) -> (output: Tensor, state: RecurrentState)
    /// From dLoss/d(output) and dLoss/d(final state) (nil: zeros), returns
    /// dLoss/dx and dLoss/d(initial state), and accumulates the parameter
    /// gradients.
    func backward(_ outputGradient: Tensor, stateGradient: RecurrentState?)
        throws(GraphSeqError) -> (input: Tensor, initialState: RecurrentState)
    /// As `backward`, with bitwise the same parameter gradients and initial
    /// state gradient, but without computing dLoss/dx: for a first layer,
    /// whose input (data) needs no gradient.
    @discardableResult
    func backwardParameters(_ outputGradient: Tensor, stateGradient: RecurrentState?)
        throws(GraphSeqError) -> RecurrentState
}

extension SequenceLayer {
    @discardableResult
    public func backwardParameters(_ outputGradient: Tensor, stateGradient: RecurrentState?)
        throws(GraphSeqError) -> RecurrentState {
        try backward(outputGradient, stateGradient: stateGradient).initialState
    }
}

/// The stacking and layout options of a sequence layer; defaults as PyTorch.
///
/// ```swift
/// let options = RecurrentOptions(numLayers: 2, bidirectional: true, dropout: 0.1)
/// ```
public struct RecurrentOptions: Sendable, Hashable {
    /// Stacked layers; layer k > 0 reads the output of layer k - 1.
    public var numLayers = 1
    /// A second direction per layer reading the sequence backwards; the
    /// output concatenates both directions' states.
    public var bidirectional = false
    /// Inverted-dropout probability in [0, 1) applied to the output of every
    /// layer but the last, in training mode only (`setTraining(true)`).
    public var dropout: Float = 0
    /// Input and hidden biases.
    public var bias = true
    /// x and the output are [batch, T, features] instead of [T, batch, features].
    public var batchFirst = false

    public init(numLayers: Int = 1, bidirectional: Bool = false, dropout: Float = 0,
                bias: Bool = true, batchFirst: Bool = false) {
        self.numLayers = numLayers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.bias = bias
        self.batchFirst = batchFirst
    }

    /// 2 when bidirectional, else 1.
    public var directions: Int { bidirectional ? 2 : 1 }
}
