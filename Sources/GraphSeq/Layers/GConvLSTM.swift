internal import CGraphSeq

/// The Chebyshev graph convolutional LSTM (GCRN model 2, Seo et al. 2016),
/// with PyTorch Geometric Temporal's `GConvLSTM` semantics and checkpoint:
///
///     I = σ(ChebX_i(X) + ChebH_i(H) + w_c_i ⊙ C + b_i)
///     F = σ(ChebX_f(X) + ChebH_f(H) + w_c_f ⊙ C + b_f)
///     T = tanh(ChebX_c(X) + ChebH_c(H) + b_c)
///     C = F ⊙ C + I ⊙ T
///     O = σ(ChebX_o(X) + ChebH_o(H) + w_c_o ⊙ C + b_o)
///     H = O ⊙ tanh(C)
///
/// where each Cheb is a ChebConv of order K over the scaled Laplacian of the
/// graph. x is [T, N, B, inputSize] (B signals on one graph), the output
/// [T, N, B, hiddenSize], states h and c [N, B, hiddenSize].
///
/// Fused: the Chebyshev basis of all T inputs is one kernel call and one
/// GEMM projects it onto all four gates; each step then takes one basis of
/// h, one GEMM for all gates and one fused cell pass. Internally the eight
/// ChebConvs' weights are two matrices, `weight_x` [K*F, 4H] and `weight_h`
/// [K*H, 4H] (gate slots i, f, c, o); `stateDict()` converts them to PyG's
/// `conv_{x,h}_{i,f,c,o}.lins.{k}.weight` [H, in]. Every bias stays its own
/// parameter (`conv_*.bias` [H], `b_*` [1, H]), as PyTorch trains them.
///
/// Options: `bias: false` drops the ChebConv biases (PyG-Temporal's `bias`
/// flag; `b_*` remain, as there). `peephole: false` drops `w_c_*` (a
/// GraphSeq extension; PyG-Temporal always has them). `lambdaMax` nil
/// estimates the largest eigenvalue of the Laplacian once per graph.
///
/// ```swift
/// let lstm = try GConvLSTM(inputSize: 2, hiddenSize: 64, order: 3, seed: 1)
/// let (y, state) = try lstm.forward(x, graph: adjacency, initialState: nil)  // y [T, N, B, 64]
/// let (dx, dState0) = try lstm.backward(dy, stateGradient: nil)
/// ```
public final class GConvLSTM: GCRNRecurrence {
    public let inputSize: Int, hiddenSize: Int, order: Int
    public let peephole: Bool, bias: Bool
    let core: GCRNParameters
    /// w_c_i, w_c_f, w_c_o ([1, H]), or empty without peepholes.
    let peepholes: [Parameter]
    /// b_i, b_f, b_c, b_o ([1, H]).
    let gateBiases: [Parameter]
    private var tape: GCRNTape?
    private static let name = "GConvLSTM"

    public init(inputSize: Int, hiddenSize: Int, order: Int,
                normalization: LaplacianNormalization = .symmetric, lambdaMax: Float? = nil,
                peephole: Bool = true, bias: Bool = true, seed: UInt64) throws(GraphSeqError) {
        var rng = SplitMix64(seed: seed)
        core = try GCRNParameters(inputSize: inputSize, hiddenSize: hiddenSize, order: order,
                                  gates: [("i", 0), ("f", 1), ("c", 2), ("o", 3)], bias: bias,
                                  normalization: normalization, lambdaMax: lambdaMax,
                                  owner: GConvLSTM.name, rng: &rng)
        (self.inputSize, self.hiddenSize, self.order, self.peephole, self.bias) =
            (inputSize, hiddenSize, order, peephole, bias)
        peepholes = peephole ? (0..<3).map { _ in
            let p = Parameter(Tensor(shape: [1, hiddenSize]))
            Initialization.glorotUniform(p.value, fanIn: 1, fanOut: hiddenSize, using: &rng)
            return p
        } : []
        gateBiases = (0..<4).map { _ in Parameter(Tensor(shape: [1, hiddenSize])) }
    }

    /// PyG-Temporal's own parameters in its order: w_c_i, b_i, w_c_f, b_f, b_c, w_c_o, b_o.
    private var ownParameters: [(name: String, parameter: Parameter)] {
        let w = peephole ? peepholes : [], b = gateBiases
        return (peephole ? [("w_c_i", w[0])] : []) + [("b_i", b[0])]
            + (peephole ? [("w_c_f", w[1])] : []) + [("b_f", b[1]), ("b_c", b[2])]
            + (peephole ? [("w_c_o", w[2])] : []) + [("b_o", b[3])]
    }

    /// The fused weights `weight_x`, `weight_h`, then every bias and peephole
    /// under its PyG-Temporal name.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        core.namedParameters + ownParameters
    }

    private var checkpoint: [CheckpointEntry] {
        ownParameters.map { .parameter($0.name, $0.parameter) }
            + (0..<4).flatMap { core.checkpointEntries(gate: $0) }
    }

    /// PyG-Temporal's state dict: names, order and shapes of `GConvLSTM.state_dict()`.
    public func stateDict() -> [(name: String, tensor: Tensor)] { GraphSeq.stateDict(checkpoint) }

    public func loadStateDict(_ tensors: [String: Tensor]) throws(GraphSeqError) {
        try GraphSeq.loadStateDict(tensors, checkpoint, owner: GConvLSTM.name)
    }

    public func forward(_ x: Tensor, graph: Graph, initialState: RecurrentState?)
        throws(GraphSeqError) -> (output: Tensor, state: RecurrentState) {
        let spare = tape
        tape = nil
        let result = try run(x, operator: core.operatorFor(graph, owner: GConvLSTM.name),
                             initialState: initialState, recycling: spare)
        tape = result.tape
        return (result.output, result.state)
    }

    public func backward(_ outputGradient: Tensor, stateGradient: RecurrentState?)
        throws(GraphSeqError) -> (input: Tensor, initialState: RecurrentState) {
        guard let tape else { throw .invalidArgument("GConvLSTM.backward: called before forward") }
        return try backprop(tape, outputGradient, stateGradient: stateGradient)
    }

    /// The bias of each gate slot: conv_x bias + conv_h bias + b.
    private func summedBias() -> Tensor {
        let H = hiddenSize, b = Tensor(shape: [4 * H])
        withPointers([b] + gateBiases.map(\.value) + core.inputBiases.map(\.value) + core.hiddenBiases.map(\.value)) { p in
            for g in 0..<4 {
                for j in 0..<H { p[0][g * H + j] = bias ? p[1 + g][j] + p[5 + g][j] + p[9 + g][j] : p[1 + g][j] }
            }
        }
        return b
    }

    func run(_ x: Tensor, operator lhat: Graph, initialState: RecurrentState?, recycling old: GCRNTape?)
        throws(GraphSeqError) -> (output: Tensor, state: RecurrentState, tape: GCRNTape) {
        let (T, N, B) = try core.inputShape(x, lhat, owner: GConvLSTM.name)
        let (H, K) = (hiddenSize, order)
        let rows = N * B
        if let s = initialState {
            try require(s.h.shape == [N, B, H] && (s.c == nil || s.c!.shape == [N, B, H]),
                        "GConvLSTM.forward: initial state h \(s.h.shape), c \(s.c?.shape ?? []), expected [\(N), \(B), \(H)]")
        }
        let (KF, KC) = (K * inputSize, core.rowWidth)
        let inputBasis = try core.inputBasis(x, lhat)
        let terms = buffer([K - 1, T, rows, H], reusing: old?.recurrent[0].terms)
        let gates = buffer([T + 1, rows, 4 * H], reusing: old?.gates)
        let cells = buffer([T + 1, rows, H], reusing: old?.cells)
        let states = GCRNTape.states(steps: T, nodes: N, batch: B, hidden: H, initial: initialState?.h)
        let h0 = initialState?.h
        let c0 = cells.slice(0)
        c0.fill(0)
        if let c = initialState?.c { c0.add(c) }
        let bias = summedBias()
        let peep: Tensor? = peephole ? Tensor(shape: [3 * H]) : nil
        if let peep { for (i, p) in peepholes.enumerated() { for j in 0..<H { peep[i * H + j] = p.value[0, j] } } }
        let tape = GCRNTape(nodes: N, batch: B, order: K, lhat: lhat, inputBasis: inputBasis,
                            recurrent: [RecurrentBasis(first: states, terms: terms)], gates: gates, cells: cells,
                            states: states, hasInitialHidden: h0 != nil, bias: bias, peephole: peep)
        let hidden = HiddenBasis(lhat: lhat, batch: B, channels: H, order: K)
        let flags: UInt32 = peephole ? GSQ_LSTM_PEEPHOLE : 0
        let stacked = core.stackedWeight()
        try withPointers([inputBasis, core.inputWeight.value, gates, stacked, cells, states, terms,
                          bias, peep ?? bias]) { (p) throws(GraphSeqError) in
            let (g, c, h) = (p[2], p[4], p[5])
            let w = try PackedMatrix(transposed: false, k: KC, n: 4 * H, p[3], ldb: 4 * H)
            for t in 0..<T {
                let gt = g + t * rows * 4 * H
                if t > 0 || h0 != nil {   // gates = [basis(x_t) basis(h_{t-1})] [W_x; W_h]
                    try hidden.forward(h + t * rows * H, step: t, steps: T, into: p[6])
                    try sgemm(m: rows, parts: RecurrentBasis.operand(step: t, of: tape, inputBasis: p[0], first: h,
                                                                      terms: p[6]), w, gt, ldc: 4 * H)
                } else {
                    try sgemm(m: rows, n: 4 * H, k: KF, p[0], lda: KF, p[1], ldb: 4 * H, gt, ldc: 4 * H)
                }
                try check(gsq_lstm_cell_forward(Int64(rows), Int64(H), flags, gt, p[7], peep == nil ? nil : p[8],
                                                c + t * rows * H, c + (t + 1) * rows * H, h + (t + 1) * rows * H))
            }
        }
        let hT = states.slice(T).copy()
        let cT = try cells.slice(T).copy().reshaped([N, B, H])
        return (tape.output, RecurrentState(h: hT, c: cT), tape)
    }

    func backprop(_ tape: GCRNTape, _ dy: Tensor, stateGradient: RecurrentState?)
        throws(GraphSeqError) -> (input: Tensor, initialState: RecurrentState) {
        let (T, N, B, H, K) = (tape.steps, tape.nodes, tape.batch, hiddenSize, order)
        let rows = N * B, shape = [N, B, H]
        try require(dy.shape == [T, N, B, H],
                    "GConvLSTM.backward: output gradient has shape \(dy.shape), expected \([T, N, B, H])")
        if let s = stateGradient {
            try require(s.h.shape == shape && (s.c == nil || s.c!.shape == shape),
                        "GConvLSTM.backward: state gradient h \(s.h.shape), c \(s.c?.shape ?? []), expected \(shape)")
        }
        let (KF, KC) = (K * core.inputSize, core.rowWidth)
        let dh = Tensor(shape: shape), dc = [Tensor(shape: shape), Tensor(shape: shape)]
        // Every step overwrites these whole.
        let drow = Tensor(shape: [rows, KC], zeroed: false), dbx = Tensor(shape: [T * rows, KF], zeroed: false)
        let dbias = Tensor(shape: [4 * H]), dpeep = Tensor(shape: [3 * H])
        let hidden = HiddenBasis(lhat: tape.lhat, batch: B, channels: H, order: K)
        let flags: UInt32 = peephole ? GSQ_LSTM_PEEPHOLE : 0
        let zero = Tensor(shape: [1])
        if let c = stateGradient?.c { dc[0].add(c) }
        let gates = tape.gates, cells = tape.cells!
        try withPointers([dy, stateGradient?.h ?? zero, gates, cells, dh, dc[0], dc[1], drow,
                          core.stackedWeight(), tape.peephole ?? zero, dpeep, dbias, dbx]) { (p) throws(GraphSeqError) in
            let (g, c, dhp, dr) = (p[2], p[3], p[4], p[7])
            let wT = try PackedMatrix(transposed: true, k: 4 * H, n: KC, p[8], ldb: 4 * H)
            sum(p[0] + (T - 1) * rows * H, stateGradient == nil ? nil : p[1], into: dhp, count: rows * H)
            for t in stride(from: T - 1, through: 0, by: -1) {
                let (dcIn, dcOut) = (p[5 + (T - 1 - t) % 2], p[5 + (T - t) % 2])
                let dg = g + (t + 1) * rows * 4 * H
                try check(gsq_lstm_cell_backward(Int64(rows), Int64(H), flags, g + t * rows * 4 * H,
                                                 peephole ? p[9] : nil, c + t * rows * H, c + (t + 1) * rows * H,
                                                 dhp, dcIn, dg, dcOut, peephole ? p[10] : nil, p[11]))
                // [d basis(x_t), d basis(h_{t-1})] = dgates [W_x; W_h]^T; dh_{t-1} is the
                // hidden part's adjoint, plus dy_{t-1}.
                try sgemm(m: rows, dg, lda: 4 * H, wT, dr, ldc: KC)
                for r in 0..<rows { (p[12] + (t * rows + r) * KF).update(from: dr + r * KC, count: KF) }
                try hidden.backward(dr + KF, ld: KC, into: dhp, beta: 0)
                if t > 0 { axpy(1, p[0] + (t - 1) * rows * H, dhp, count: rows * H) }
            }
        }
        try accumulateWeightGradients(tape, bases: [(tape.recurrent[0], 0..<4)])
        for g in 0..<4 {
            addSlot(dbias, offset: g * H, into: gateBiases[g])
            if bias {
                addSlot(dbias, offset: g * H, into: core.inputBiases[g])
                addSlot(dbias, offset: g * H, into: core.hiddenBiases[g])
            }
        }
        for (i, p) in peepholes.enumerated() { addSlot(dpeep, offset: i * H, into: p) }
        let dx = try core.inputBasisBackward(dbx, steps: T, nodes: N, batch: B, tape.lhat)
        return (dx, RecurrentState(h: dh, c: dc[T % 2]))
    }
}

