/// What `RNN`, `LSTM` and `GRU` share: their sizes and options, and the
/// parameters, forward and backward of the `RecurrentEngine` that runs them.
public class RecurrentLayer: SequenceLayer {
    public let inputSize: Int
    public let hiddenSize: Int
    public let options: RecurrentOptions
    let engine: RecurrentEngine

    init(_ engine: RecurrentEngine) {
        self.engine = engine
        inputSize = engine.inputSize
        hiddenSize = engine.hiddenSize
        options = engine.options
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { engine.namedParameters }
    public func setTraining(_ training: Bool) { engine.training = training }

    public func forward(_ x: Tensor, lengths: [Int]? = nil, initialState: RecurrentState? = nil)
        throws(GraphSeqError) -> (output: Tensor, state: RecurrentState) {
        try engine.forward(x, lengths: lengths, initialState: initialState)
    }

    public func backward(_ outputGradient: Tensor, stateGradient: RecurrentState? = nil)
        throws(GraphSeqError) -> (input: Tensor, initialState: RecurrentState) {
        let (dx, d0) = try engine.backward(outputGradient, stateGradient: stateGradient, inputGradient: true)
        return (dx!, d0)
    }

    @discardableResult
    public func backwardParameters(_ outputGradient: Tensor, stateGradient: RecurrentState? = nil)
        throws(GraphSeqError) -> RecurrentState {
        try engine.backward(outputGradient, stateGradient: stateGradient, inputGradient: false).initialState
    }

    /// Not API (for tests): the dropout masks of the last forward, one per
    /// layer but the last, in the output's layout; each element 0 or
    /// 1 / (1 - dropout), 0 past a sequence's end. Empty without dropout.
    public var _dropoutMasks: [Tensor] { engine.dropoutMasks }
}
