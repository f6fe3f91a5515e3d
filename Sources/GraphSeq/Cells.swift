internal import CGraphSeq

// Fused recurrent cells: the element-wise part of one LSTM, GRU or RNN step
// (bias, activations, state update) and its backward, in one pass over
// memory. The matrix products that feed them (x W^T, h U^T) are the caller's.
// State tensors are [batch, hidden]; gate tensors [batch, k * hidden] with
// the gates side by side; biases and peepholes hold k * hidden elements.

/// One fused LSTM step (gate order i, f, g, o):
///
///     i = σ(a_i + b_i + w_ci c_prev)      (i = 1 - f with `.coupled`)
///     f = σ(a_f + b_f + w_cf c_prev)
///     g = tanh(a_g + b_g)
///     c = f c_prev + i g
///     o = σ(a_o + b_o + w_co c)
///     h = o tanh(c)
///
/// ```swift
/// // gates = x W_ih^T + h_prev W_hh^T, [batch, 4 * hidden]
/// let c = Tensor.zeros([batch, hidden]), h = Tensor.zeros([batch, hidden])
/// try LSTMCell.forward(gates: gates, bias: b, cPrev: cPrev, c: c, h: h)
/// // gates now holds i, f, g, o; after dh (and dc) arrive:
/// try LSTMCell.backward(gates: gates, cPrev: cPrev, c: c, dh: dh, dc: dc,
///                       dgates: dgates, dcPrev: dcPrev, dbias: db)
/// ```
public enum LSTMCell {
    /// Variants of the cell.
    public struct Options: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Diagonal peepholes w_ci, w_cf, w_co: a `peephole` tensor of
        /// 3 * hidden elements is required.
        public static let peephole = Options(rawValue: GSQ_LSTM_PEEPHOLE)
        /// Coupled input and forget gates, i = 1 - f: the i pre-activations
        /// (and w_ci) are ignored.
        public static let coupled = Options(rawValue: GSQ_LSTM_COUPLED)
    }

    /// The forward step. `gates` ([batch, 4 * hidden]) holds the summed
    /// pre-activations and is overwritten with the activations i, f, g, o,
    /// which `backward` needs. `bias` (4 * hidden elements) and `cPrev`
    /// ([batch, hidden]) may be nil, meaning zeros. Writes `c` and `h`.
    public static func forward(gates: Tensor, bias: Tensor? = nil, peephole: Tensor? = nil,
                               cPrev: Tensor? = nil, c: Tensor, h: Tensor,
                               options: Options = []) throws(GraphSeqError) {
        let fn = "LSTMCell.forward"
        let (batch, hidden) = try stateShape(fn, "c", c)
        try requireShape(fn, "gates", gates, [batch, 4 * hidden])
        try requireShape(fn, "h", h, [batch, hidden])
        try requireShape(fn, "cPrev", cPrev, [batch, hidden])
        try requireCount(fn, "bias", bias, 4 * hidden)
        try requirePeephole(fn, peephole, hidden, options)
        try requireDistinct(fn, outputs: [("gates", gates), ("c", c), ("h", h)],
                            inputs: [("bias", bias), ("peephole", peephole), ("cPrev", cPrev)])
        try check(withBaseAddresses([gates, bias, peephole, cPrev, c, h]) { p in
            gsq_lstm_cell_forward(Int64(batch), Int64(hidden), options.rawValue,
                                  p[0], p[1], p[2], p[3], p[4], p[5])
        })
    }

    /// The backward step. From the activations `gates` that `forward`
    /// returned, `cPrev` (nil: zeros), `c`, `dh` = dLoss/dh and `dc` =
    /// dLoss/dc from later steps (nil: zeros), writes `dgates` (dLoss/d
    /// pre-activations, [batch, 4 * hidden]; the i slot is 0 with `.coupled`)
    /// and `dcPrev` if given. `dpeephole` (with `.peephole`) and `dbias`, if
    /// given, are accumulated into (+=), summed over the batch.
    public static func backward(gates: Tensor, peephole: Tensor? = nil, cPrev: Tensor? = nil,
                                c: Tensor, dh: Tensor, dc: Tensor? = nil, dgates: Tensor,
                                dcPrev: Tensor? = nil, dpeephole: Tensor? = nil,
                                dbias: Tensor? = nil, options: Options = []) throws(GraphSeqError) {
        let fn = "LSTMCell.backward"
        let (batch, hidden) = try stateShape(fn, "c", c)
        try requireShape(fn, "gates", gates, [batch, 4 * hidden])
        try requireShape(fn, "dgates", dgates, [batch, 4 * hidden])
        for (name, t) in [("cPrev", cPrev), ("dh", dh), ("dc", dc), ("dcPrev", dcPrev)] {
            try requireShape(fn, name, t, [batch, hidden])
        }
        try requireCount(fn, "dpeephole", dpeephole, 3 * hidden)
        try requireCount(fn, "dbias", dbias, 4 * hidden)
        try requirePeephole(fn, peephole, hidden, options)
        try requireDistinct(fn, outputs: [("dgates", dgates), ("dcPrev", dcPrev),
                                          ("dpeephole", dpeephole), ("dbias", dbias)],
                            inputs: [("gates", gates), ("peephole", peephole), ("cPrev", cPrev),
                                     ("c", c), ("dh", dh), ("dc", dc)])
        try check(withBaseAddresses([gates, peephole, cPrev, c, dh, dc, dgates, dcPrev, dpeephole, dbias]) { p in
            gsq_lstm_cell_backward(Int64(batch), Int64(hidden), options.rawValue,
                                   p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9])
        })
    }
}

/// Fused GRU steps in the two forms of the candidate state n (gate order
/// r, z, n; h = (1 - z) n + z h_prev in both):
/// - linear before reset, n = tanh(W_in x + b_in + r (W_hn h_prev + b_hn)):
///   PyTorch's `nn.GRU` and cuDNN. One recurrent product gives all three
///   gates, so a step is one call: `forward` / `backward`.
/// - reset before product, n = tanh(W_n x + U_n (r h_prev) + b_n): Cho et al.
///   (2014) and PyTorch Geometric Temporal's GConvGRU. The candidate's
///   recurrent product needs r first, so a step is two phases around it:
///   `gatesForward`, the caller's product, `outputForward`; backward in reverse.
///
/// ```swift
/// // linear before reset: gx = x W_ih^T, gh = h_prev W_hh^T, [batch, 3 * hidden]
/// try GRUCell.forward(gx: gx, gh: gh, inputBias: bih, hiddenBias: bhh, hPrev: hPrev, h: h)
///
/// // reset before product: gates = [W_r x + U_r h_prev | W_z x + U_z h_prev | W_n x]
/// try GRUCell.gatesForward(gates: gates, bias: b, hPrev: hPrev, rh: rh)
/// // ... add rh U_n to the n slot of gates ...
/// try GRUCell.outputForward(gates: gates, bias: b, hPrev: hPrev, h: h)
/// ```
public enum GRUCell {
    /// Linear-before-reset forward:
    ///
    ///     r = σ(gx_r + b_ir + gh_r + b_hr)
    ///     z = σ(gx_z + b_iz + gh_z + b_hz)
    ///     n = tanh(gx_n + b_in + r (gh_n + b_hn))
    ///     h = (1 - z) n + z h_prev
    ///
    /// `gx` and `gh` are [batch, 3 * hidden] without biases; biases (3 *
    /// hidden elements) and `hPrev` may be nil (zeros). On return `gx` holds
    /// r, z, n and the n slot of `gh` holds gh_n + b_hn, what `backward` needs.
    public static func forward(gx: Tensor, gh: Tensor, inputBias: Tensor? = nil,
                               hiddenBias: Tensor? = nil, hPrev: Tensor? = nil,
                               h: Tensor) throws(GraphSeqError) {
        let fn = "GRUCell.forward"
        let (batch, hidden) = try stateShape(fn, "h", h)
        try requireShape(fn, "gx", gx, [batch, 3 * hidden])
        try requireShape(fn, "gh", gh, [batch, 3 * hidden])
        try requireShape(fn, "hPrev", hPrev, [batch, hidden])
        try requireCount(fn, "inputBias", inputBias, 3 * hidden)
        try requireCount(fn, "hiddenBias", hiddenBias, 3 * hidden)
        try requireDistinct(fn, outputs: [("gx", gx), ("gh", gh), ("h", h)],
                            inputs: [("inputBias", inputBias), ("hiddenBias", hiddenBias), ("hPrev", hPrev)])
        try check(withBaseAddresses([gx, gh, inputBias, hiddenBias, hPrev, h]) { p in
            gsq_gru_cell_forward(Int64(batch), Int64(hidden), p[0], p[1], p[2], p[3], p[4], p[5])
        })
    }

    /// Linear-before-reset backward. From `gx`, `gh` as `forward` left them,
    /// `hPrev` (nil: zeros) and `dh`, writes `dgx` and `dgh` (dLoss/dgx and
    /// dLoss/dgh, [batch, 3 * hidden]) and `dhPrev` = z dh (the direct path
    /// only; the caller adds dgh U). Bias gradients, if given, are
    /// accumulated into (+=).
    public static func backward(gx: Tensor, gh: Tensor, hPrev: Tensor? = nil, dh: Tensor,
                                dgx: Tensor, dgh: Tensor, dhPrev: Tensor? = nil,
                                dInputBias: Tensor? = nil,
                                dHiddenBias: Tensor? = nil) throws(GraphSeqError) {
        let fn = "GRUCell.backward"
        let (batch, hidden) = try stateShape(fn, "dh", dh)
        for (name, t) in [("gx", gx), ("gh", gh), ("dgx", dgx), ("dgh", dgh)] {
            try requireShape(fn, name, t, [batch, 3 * hidden])
        }
        try requireShape(fn, "hPrev", hPrev, [batch, hidden])
        try requireShape(fn, "dhPrev", dhPrev, [batch, hidden])
        try requireCount(fn, "dInputBias", dInputBias, 3 * hidden)
        try requireCount(fn, "dHiddenBias", dHiddenBias, 3 * hidden)
        try requireDistinct(fn, outputs: [("dgx", dgx), ("dgh", dgh), ("dhPrev", dhPrev),
                                          ("dInputBias", dInputBias), ("dHiddenBias", dHiddenBias)],
                            inputs: [("gx", gx), ("gh", gh), ("hPrev", hPrev), ("dh", dh)])
        try check(withBaseAddresses([gx, gh, hPrev, dh, dgx, dgh, dhPrev, dInputBias, dHiddenBias]) { p in
            gsq_gru_cell_backward(Int64(batch), Int64(hidden), p[0], p[1], p[2], p[3],
                                  p[4], p[5], p[6], p[7], p[8])
        })
    }

    /// Reset-before-product, phase 1. The r and z slots of `gates` ([batch,
    /// 3 * hidden]) hold the summed pre-activations; computes r = σ(. + b_r)
    /// and z = σ(. + b_z) in place and `rh` = r h_prev ([batch, hidden]), the
    /// input of the candidate's recurrent product U_n.
    public static func gatesForward(gates: Tensor, bias: Tensor? = nil, hPrev: Tensor? = nil,
                                    rh: Tensor) throws(GraphSeqError) {
        try resetBeforeProductForward("GRUCell.gatesForward", gsq_gru_rb_gates_forward,
                                      gates: gates, bias: bias, hPrev: hPrev, output: ("rh", rh))
    }

    /// Reset-before-product, phase 2. The n slot of `gates` holds
    /// W_n x + U_n (r h_prev); computes n = tanh(. + b_n) in place and
    /// h = (1 - z) n + z h_prev.
    public static func outputForward(gates: Tensor, bias: Tensor? = nil, hPrev: Tensor? = nil,
                                     h: Tensor) throws(GraphSeqError) {
        try resetBeforeProductForward("GRUCell.outputForward", gsq_gru_rb_output_forward,
                                      gates: gates, bias: bias, hPrev: hPrev, output: ("h", h))
    }

    /// Backward of phase 2, first: from `dh`, writes the z and n slots of
    /// `dgates` (dLoss/d pre-activations) and `dhPrev` = z dh. The caller
    /// then back-propagates the n slot through U_n to get drh.
    public static func outputBackward(gates: Tensor, hPrev: Tensor? = nil, dh: Tensor,
                                      dgates: Tensor, dhPrev: Tensor? = nil,
                                      dbias: Tensor? = nil) throws(GraphSeqError) {
        try resetBeforeProductBackward("GRUCell.outputBackward", gsq_gru_rb_output_backward,
                                       gates: gates, hPrev: hPrev, dout: ("dh", dh), dgates: dgates,
                                       dhPrev: dhPrev, dbias: dbias)
    }

    /// Backward of phase 1, second: from `drh` = dLoss/d(r h_prev), writes
    /// the r slot of `dgates` and adds r drh to `dhPrev`. Both backward
    /// phases accumulate their slots of `dbias` (+=) when it is given.
    public static func gatesBackward(gates: Tensor, hPrev: Tensor? = nil, drh: Tensor,
                                     dgates: Tensor, dhPrev: Tensor? = nil,
                                     dbias: Tensor? = nil) throws(GraphSeqError) {
        try resetBeforeProductBackward("GRUCell.gatesBackward", gsq_gru_rb_gates_backward,
                                       gates: gates, hPrev: hPrev, dout: ("drh", drh), dgates: dgates,
                                       dhPrev: dhPrev, dbias: dbias)
    }

    private typealias PhaseForward = (Int64, Int64, UnsafeMutablePointer<Float>?, UnsafePointer<Float>?,
                                      UnsafePointer<Float>?, UnsafeMutablePointer<Float>?) -> gsq_status_t
    private typealias PhaseBackward = (Int64, Int64, UnsafePointer<Float>?, UnsafePointer<Float>?,
                                       UnsafePointer<Float>?, UnsafeMutablePointer<Float>?,
                                       UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> gsq_status_t

    private static func resetBeforeProductForward(_ fn: String, _ phase: PhaseForward, gates: Tensor,
                                                  bias: Tensor?, hPrev: Tensor?,
                                                  output: (String, Tensor)) throws(GraphSeqError) {
        let (batch, hidden) = try stateShape(fn, output.0, output.1)
        try requireShape(fn, "gates", gates, [batch, 3 * hidden])
        try requireShape(fn, "hPrev", hPrev, [batch, hidden])
        try requireCount(fn, "bias", bias, 3 * hidden)
        try requireDistinct(fn, outputs: [("gates", gates), output],
                            inputs: [("bias", bias), ("hPrev", hPrev)])
        try check(withBaseAddresses([gates, bias, hPrev, output.1]) { p in
            phase(Int64(batch), Int64(hidden), p[0], p[1], p[2], p[3])
        })
    }

    private static func resetBeforeProductBackward(_ fn: String, _ phase: PhaseBackward, gates: Tensor,
                                                   hPrev: Tensor?, dout: (String, Tensor), dgates: Tensor,
                                                   dhPrev: Tensor?, dbias: Tensor?) throws(GraphSeqError) {
        let (batch, hidden) = try stateShape(fn, dout.0, dout.1)
        try requireShape(fn, "gates", gates, [batch, 3 * hidden])
        try requireShape(fn, "dgates", dgates, [batch, 3 * hidden])
        try requireShape(fn, "hPrev", hPrev, [batch, hidden])
        try requireShape(fn, "dhPrev", dhPrev, [batch, hidden])
        try requireCount(fn, "dbias", dbias, 3 * hidden)
        try requireDistinct(fn, outputs: [("dgates", dgates), ("dhPrev", dhPrev), ("dbias", dbias)],
                            inputs: [("gates", gates), ("hPrev", hPrev), dout])
        try check(withBaseAddresses([gates, hPrev, dout.1, dgates, dhPrev, dbias]) { p in
            phase(Int64(batch), Int64(hidden), p[0], p[1], p[2], p[3], p[4], p[5])
        })
    }
}

/// The vanilla RNN step h = act(pre + bias), and its backward.
///
/// ```swift
/// // pre = x W_ih^T + h_prev W_hh^T, [batch, hidden]
/// try RNNCell.forward(pre: pre, bias: b, h: pre)       // in place
/// try RNNCell.backward(h: pre, dh: dh, dpre: dh)       // in place too
/// ```
public enum RNNCell {
    /// The cell's nonlinearity.
    public enum Activation: Sendable, Hashable {
        case tanh
        /// max(0, x); its derivative at 0 is taken as 0.
        case relu

        var c: gsq_activation_t { self == .tanh ? GSQ_ACTIVATION_TANH : GSQ_ACTIVATION_RELU }
    }

    /// h = act(pre + bias). `pre` and `h` are [batch, hidden] and may be the
    /// same tensor; `bias` (hidden elements) may be nil.
    public static func forward(pre: Tensor, bias: Tensor? = nil, h: Tensor,
                               activation: Activation = .tanh) throws(GraphSeqError) {
        let fn = "RNNCell.forward"
        let (batch, hidden) = try stateShape(fn, "h", h)
        try requireShape(fn, "pre", pre, [batch, hidden])
        try requireCount(fn, "bias", bias, hidden)
        try requireDistinct(fn, outputs: [("h", h)], inputs: [("bias", bias)])
        try check(withBaseAddresses([pre, bias, h]) { p in
            gsq_rnn_cell_forward(Int64(batch), Int64(hidden), activation.c, p[0], p[1], p[2])
        })
    }

    /// dpre = dh act'(pre + bias), computed from the output `h`. `dpre` may be
    /// the same tensor as `dh`; `dbias` (hidden elements), if given, is
    /// accumulated into (+=), summed over the batch.
    public static func backward(h: Tensor, dh: Tensor, dpre: Tensor, dbias: Tensor? = nil,
                                activation: Activation = .tanh) throws(GraphSeqError) {
        let fn = "RNNCell.backward"
        let (batch, hidden) = try stateShape(fn, "h", h)
        try requireShape(fn, "dh", dh, [batch, hidden])
        try requireShape(fn, "dpre", dpre, [batch, hidden])
        try requireCount(fn, "dbias", dbias, hidden)
        try requireDistinct(fn, outputs: [("dpre", dpre), ("dbias", dbias)], inputs: [("h", h)])
        try requireDistinct(fn, outputs: [("dbias", dbias)], inputs: [("dh", dh)])
        try check(withBaseAddresses([h, dh, dpre, dbias]) { p in
            gsq_rnn_cell_backward(Int64(batch), Int64(hidden), activation.c, p[0], p[1], p[2], p[3])
        })
    }
}

// MARK: - Validation and pointer plumbing

/// The (batch, hidden) of a rank-2 state tensor.
private func stateShape(_ fn: String, _ name: String, _ t: Tensor) throws(GraphSeqError) -> (Int, Int) {
    try require(t.rank == 2, "\(fn): \(name) has shape \(t.shape), expected [batch, hidden]")
    return (t.shape[0], t.shape[1])
}

/// Throws unless `t` is nil or has exactly `shape`.
private func requireShape(_ fn: String, _ name: String, _ t: Tensor?, _ shape: [Int]) throws(GraphSeqError) {
    guard let t else { return }
    try require(t.shape == shape, "\(fn): \(name) has shape \(t.shape), expected \(shape)")
}

/// Throws unless `t` is nil or has `count` elements (a bias or peephole vector).
private func requireCount(_ fn: String, _ name: String, _ t: Tensor?, _ count: Int) throws(GraphSeqError) {
    guard let t else { return }
    try require(t.count == count, "\(fn): \(name) has \(t.count) elements, expected \(count)")
}

private func requirePeephole(_ fn: String, _ peephole: Tensor?, _ hidden: Int,
                             _ options: LSTMCell.Options) throws(GraphSeqError) {
    try require(peephole != nil || !options.contains(.peephole),
                "\(fn): the .peephole option needs a peephole tensor")
    try requireCount(fn, "peephole", peephole, 3 * hidden)
}

/// Throws if an output is the same tensor as another output or an input: the
/// kernels' only allowed overlaps (in-place RNN) are checked by the callers.
private func requireDistinct(_ fn: String, outputs: [(String, Tensor?)],
                             inputs: [(String, Tensor?)]) throws(GraphSeqError) {
    let all = outputs + inputs
    for (i, (name, t)) in outputs.enumerated() {
        guard let t else { continue }
        for (other, u) in all[(i + 1)...] where u === t {
            throw .invalidArgument("\(fn): \(name) and \(other) must be different tensors")
        }
    }
}

/// Calls `body` with the base address of each tensor (nil for nil), in order.
private func withBaseAddresses<R>(_ tensors: [Tensor?], _ body: ([UnsafeMutablePointer<Float>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<Float>?] = []
    pointers.reserveCapacity(tensors.count)
    func bind(_ i: Int) -> R {
        guard i < tensors.count else { return body(pointers) }
        guard let t = tensors[i] else {
            pointers.append(nil)
            return bind(i + 1)
        }
        return t.withUnsafeMutableBufferPointer { buffer in
            pointers.append(buffer.baseAddress)
            return bind(i + 1)
        }
    }
    return bind(0)
}
