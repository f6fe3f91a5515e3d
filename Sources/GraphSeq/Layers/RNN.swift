/// The nonlinearity of an `RNN` layer (tanh or ReLU).
public typealias RNNActivation = RNNCell.Activation

/// A stack of vanilla recurrent layers, as `torch.nn.RNN`:
///
///     h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
///
/// Layout, lengths and states as `SequenceLayer` describes; parameters
/// `weight_ih_l{k}` [hidden, in], `weight_hh_l{k}` [hidden, hidden],
/// `bias_ih_l{k}`, `bias_hh_l{k}` [hidden] (suffix `_reverse` for the second
/// direction), uniform in +-1/sqrt(hidden).
///
/// ```swift
/// let rnn = try RNN(inputSize: 8, hiddenSize: 16, activation: .relu, seed: 1)
/// let (y, state) = try rnn.forward(x, lengths: nil, initialState: nil)   // [T, B, 8] -> [T, B, 16]
/// let (dx, dh0) = try rnn.backward(dy, stateGradient: nil)
/// ```
public final class RNN: RecurrentLayer {
    public let activation: RNNActivation

    public init(inputSize: Int, hiddenSize: Int, activation: RNNActivation = .tanh,
                options: RecurrentOptions = RecurrentOptions(), seed: UInt64) throws(GraphSeqError) {
        self.activation = activation
        super.init(try RecurrentEngine(name: "RNN", cell: .rnn(activation), inputSize: inputSize,
                                       hiddenSize: hiddenSize, options: options, seed: seed))
    }
}
