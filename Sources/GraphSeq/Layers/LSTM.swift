/// A stack of LSTM layers, as `torch.nn.LSTM` (gate order i, f, g, o):
///
///     [i f g o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh   (then σ, σ, tanh, σ)
///     c_t = f c_{t-1} + i g,   h_t = o tanh(c_t)               (h_t = (o tanh(c_t)) W_hr^T with projection)
///
/// Options beyond PyTorch: `peephole` adds diagonal peepholes (i and f see
/// c_{t-1}, o sees c_t) held in `weight_ch_l{k}` [3 * hidden] (w_ci, w_cf,
/// w_co); `coupledInputForget` sets i = 1 - f (the i rows of the weights and
/// biases are then unused, and w_ci too). `projectionSize` > 0 projects h
/// as torch's `proj_size`: h is [projectionSize], `weight_hr_l{k}`
/// [projectionSize, hidden], and `weight_hh_l{k}` [4 * hidden, projectionSize].
///
/// Parameters `weight_ih_l{k}` [4 * hidden, in], `weight_hh_l{k}`,
/// `bias_ih_l{k}`, `bias_hh_l{k}` [4 * hidden], `weight_hr_l{k}`, suffix
/// `_reverse` for the second direction; all uniform in +-1/sqrt(hidden).
///
/// ```swift
/// let lstm = try LSTM(inputSize: 16, hiddenSize: 32, options: RecurrentOptions(bidirectional: true),
///                     projectionSize: 8, seed: 1)
/// let (y, state) = try lstm.forward(x, lengths: [4, 2], initialState: nil)  // x [4, 2, 16] -> y [4, 2, 16]
/// let (dx, dState) = try lstm.backward(dy, stateGradient: nil)              // dState.h [2, 2, 8], .c [2, 2, 32]
/// ```
public final class LSTM: RecurrentLayer {
    /// 0, or the width of h after projection.
    public let projectionSize: Int
    public let peephole: Bool
    public let coupledInputForget: Bool

    public init(inputSize: Int, hiddenSize: Int, options: RecurrentOptions = RecurrentOptions(),
                peephole: Bool = false, coupledInputForget: Bool = false, projectionSize: Int = 0,
                seed: UInt64) throws(GraphSeqError) {
        var cellOptions: LSTMCell.Options = []
        if peephole { cellOptions.insert(.peephole) }
        if coupledInputForget { cellOptions.insert(.coupled) }
        self.projectionSize = projectionSize
        self.peephole = peephole
        self.coupledInputForget = coupledInputForget
        super.init(try RecurrentEngine(name: "LSTM", cell: .lstm(cellOptions), inputSize: inputSize,
                                       hiddenSize: hiddenSize, projectionSize: projectionSize,
                                       options: options, seed: seed))
    }
}
