/// The two forms of the GRU candidate state n (gate order r, z, n; in both,
/// h_t = (1 - z) n + z h_{t-1}).
public enum GRUForm: Sendable, Hashable {
    /// n = tanh(W_in x + b_in + r (W_hn h + b_hn)): `torch.nn.GRU` and cuDNN.
    case linearBeforeReset
    /// n = tanh(W_in x + b_in + W_hn (r h) + b_hn): Cho et al. (2014) and
    /// PyTorch Geometric Temporal's GConvGRU. Same parameters as torch's,
    /// but a torch checkpoint computes a different function in this form.
    case resetBeforeProduct
}

/// A stack of GRU layers, as `torch.nn.GRU` (or, with `.resetBeforeProduct`,
/// Cho et al.'s form):
///
///     r = σ(x W_ir^T + b_ir + h W_hr^T + b_hr)
///     z = σ(x W_iz^T + b_iz + h W_hz^T + b_hz)
///     n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn))     (see GRUForm)
///     h' = (1 - z) n + z h
///
/// Parameters `weight_ih_l{k}` [3 * hidden, in], `weight_hh_l{k}` [3 * hidden,
/// hidden], `bias_ih_l{k}`, `bias_hh_l{k}` [3 * hidden], suffix `_reverse` for
/// the second direction; all uniform in +-1/sqrt(hidden).
///
/// ```swift
/// let gru = try GRU(inputSize: 8, hiddenSize: 16, options: RecurrentOptions(numLayers: 2), seed: 1)
/// let (y, state) = try gru.forward(x, lengths: nil, initialState: nil)   // [T, B, 8] -> [T, B, 16]
/// let (dx, dh0) = try gru.backward(dy, stateGradient: nil)
/// ```
public final class GRU: RecurrentLayer {
    public let form: GRUForm

    public init(inputSize: Int, hiddenSize: Int, options: RecurrentOptions = RecurrentOptions(),
                form: GRUForm = .linearBeforeReset, seed: UInt64) throws(GraphSeqError) {
        self.form = form
        super.init(try RecurrentEngine(name: "GRU", cell: .gru(form), inputSize: inputSize,
                                       hiddenSize: hiddenSize, options: options, seed: seed))
    }
}
