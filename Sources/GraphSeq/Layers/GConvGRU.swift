internal import CGraphSeq

/// The Chebyshev graph convolutional GRU, with PyTorch Geometric Temporal's
/// `GConvGRU` semantics and checkpoint:
///
///     Z = σ(ChebX_z(X) + ChebH_z(H))
///     R = σ(ChebX_r(X) + ChebH_r(H))
///     H~ = tanh(ChebX_h(X) + ChebH_h(H ⊙ R))
///     H = Z ⊙ H + (1 - Z) ⊙ H~
///
/// Layout as `GConvLSTM`: x [T, N, B, inputSize], output [T, N, B,
/// hiddenSize], state h [N, B, hiddenSize] (no c).
///
/// Fused: one basis call and one GEMM for the inputs of all steps and all
/// gates; per step one basis of h and one GEMM for Z and R, the fused gate
/// pass (which also forms R ⊙ H), one basis of R ⊙ H and its GEMM for the
/// candidate, and the fused output pass. Internally `weight_x` [K*F, 3H] and
/// `weight_h` [K*H, 3H] hold the six ChebConvs' weights in gate slots r, z, h;
/// `stateDict()` gives PyG's `conv_{x,h}_{z,r,h}.lins.{k}.weight` [H, in] and
/// `conv_{x,h}_{z,r,h}.bias` [H] (absent with `bias: false`).
///
/// ```swift
/// let gru = try GConvGRU(inputSize: 2, hiddenSize: 64, order: 3, seed: 1)
/// let (y, state) = try gru.forward(x, graph: adjacency, initialState: nil)  // state.c == nil
/// let (dx, dState0) = try gru.backward(dy, stateGradient: nil)
/// ```
public final class GConvGRU: GCRNRecurrence {
    public let inputSize: Int, hiddenSize: Int, order: Int
    public let bias: Bool
    let core: GCRNParameters
    private var tape: GCRNTape?
    private static let name = "GConvGRU"

    public init(inputSize: Int, hiddenSize: Int, order: Int,
                normalization: LaplacianNormalization = .symmetric, lambdaMax: Float? = nil,
                bias: Bool = true, seed: UInt64) throws(GraphSeqError) {
        var rng = SplitMix64(seed: seed)
        // PyG-Temporal's gate order z, r, h; the kernels' slots are r, z, n.
        core = try GCRNParameters(inputSize: inputSize, hiddenSize: hiddenSize, order: order,
                                  gates: [("z", 1), ("r", 0), ("h", 2)], bias: bias,
                                  normalization: normalization, lambdaMax: lambdaMax,
                                  owner: GConvGRU.name, rng: &rng)
        (self.inputSize, self.hiddenSize, self.order, self.bias) = (inputSize, hiddenSize, order, bias)
    }

    /// The fused weights `weight_x`, `weight_h`, then the ChebConv biases.
    public var namedParameters: [(name: String, parameter: Parameter)] { core.namedParameters }

    private var checkpoint: [CheckpointEntry] { (0..<3).flatMap { core.checkpointEntries(gate: $0) } }

    /// PyG-Temporal's state dict: names, order and shapes of `GConvGRU.state_dict()`.
    public func stateDict() -> [(name: String, tensor: Tensor)] { GraphSeq.stateDict(checkpoint) }

    public func loadStateDict(_ tensors: [String: Tensor]) throws(GraphSeqError) {
        try GraphSeq.loadStateDict(tensors, checkpoint, owner: GConvGRU.name)
    }

    public func forward(_ x: Tensor, graph: Graph, initialState: RecurrentState?)
        throws(GraphSeqError) -> (output: Tensor, state: RecurrentState) {
        let spare = tape
        tape = nil
        let result = try run(x, operator: core.operatorFor(graph, owner: GConvGRU.name),
                             initialState: initialState, recycling: spare)
        tape = result.tape
        return (result.output, result.state)
    }

    public func backward(_ outputGradient: Tensor, stateGradient: RecurrentState?)
        throws(GraphSeqError) -> (input: Tensor, initialState: RecurrentState) {
        guard let tape else { throw .invalidArgument("GConvGRU.backward: called before forward") }
        return try backprop(tape, outputGradient, stateGradient: stateGradient)
    }

    /// conv_x bias + conv_h bias in slots r, z, n; nil without biases.
    private func summedBias() -> Tensor? {
        guard bias else { return nil }
        let H = hiddenSize, b = Tensor(shape: [3 * H])
        withPointers([b] + core.inputBiases.map(\.value) + core.hiddenBiases.map(\.value)) { p in
            for (g, gate) in core.gates.enumerated() {
                for j in 0..<H { p[0][gate.slot * H + j] = p[1 + g][j] + p[4 + g][j] }
            }
        }
        return b
    }

    func run(_ x: Tensor, operator lhat: Graph, initialState: RecurrentState?, recycling old: GCRNTape?)
        throws(GraphSeqError) -> (output: Tensor, state: RecurrentState, tape: GCRNTape) {
        let (T, N, B) = try core.inputShape(x, lhat, owner: GConvGRU.name)
        let (H, K) = (hiddenSize, order)
        let rows = N * B
        if let s = initialState {
            try require(s.h.shape == [N, B, H] && s.c == nil,
                        "GConvGRU.forward: initial state h \(s.h.shape), expected [\(N), \(B), \(H)] and no c")
        }
        let (KF, KC) = (K * inputSize, core.rowWidth)
        let inputBasis = try core.inputBasis(x, lhat)
        let terms = buffer([K - 1, T, rows, H], reusing: old?.recurrent[0].terms)
        let resetHidden = buffer([T, rows, H], reusing: old?.recurrent[1].first)
        let resetTerms = buffer([K - 1, T, rows, H], reusing: old?.recurrent[1].terms)
        let gates = buffer([T + 1, rows, 3 * H], reusing: old?.gates)
        let states = GCRNTape.states(steps: T, nodes: N, batch: B, hidden: H, initial: initialState?.h)
        let h0 = initialState?.h, bias = summedBias()
        let tape = GCRNTape(nodes: N, batch: B, order: K, lhat: lhat, inputBasis: inputBasis,
                            recurrent: [RecurrentBasis(first: states, terms: terms),
                                        RecurrentBasis(first: resetHidden, terms: resetTerms)],
                            gates: gates, cells: nil, states: states, hasInitialHidden: h0 != nil, bias: bias,
                            peephole: nil)
        let hidden = HiddenBasis(lhat: lhat, batch: B, channels: H, order: K)
        let stacked = core.stackedWeight()
        try withPointers([inputBasis, core.inputWeight.value, gates, stacked, states, terms, resetHidden,
                          resetTerms, bias ?? states]) { (p) throws(GraphSeqError) in
            let (x, g, w, h, rh, b) = (p[0], p[2], p[3], p[4], p[6], bias == nil ? nil : p[8])
            // [W_x; W_h] split by gate slots: r z, then the candidate n.
            let wrz = try PackedMatrix(transposed: false, k: KC, n: 2 * H, w, ldb: 3 * H)
            let wn = try PackedMatrix(transposed: false, k: KC, n: H, w + 2 * H, ldb: 3 * H)
            for t in 0..<T {
                let gt = g + t * rows * 3 * H, rht = rh + t * rows * H
                let hPrev: UnsafeMutablePointer<Float>? = t > 0 || h0 != nil ? h + t * rows * H : nil
                let ht = h + (t + 1) * rows * H
                if let hPrev {   // r, z = [basis(x_t) basis(h)] [W_x; W_h][:, r z], then the gate phase
                    try hidden.forward(hPrev, step: t, steps: T, into: p[5])
                    try withProduct(RecurrentBasis.operand(step: t, of: tape, inputBasis: x, first: h, terms: p[5]),
                                    wrz) { gsq_gru_rb_gates_forward_parts(Int64(rows), Int64(H), $0, $1, $2, gt, b,
                                                                          hPrev, rht) }
                    // n = [basis(x_t) basis(r h)] [W_x; W_h][:, n], then the output phase
                    try hidden.forward(rht, step: t, steps: T, into: p[7])
                    try withProduct(RecurrentBasis.operand(step: t, of: tape, inputBasis: x, first: rh, terms: p[7]),
                                    wn) { gsq_gru_rb_output_forward_parts(Int64(rows), Int64(H), $0, $1, $2, gt, b,
                                                                          hPrev, ht) }
                } else {   // h = 0: the input products alone
                    try sgemm(m: rows, n: 2 * H, k: KF, x, lda: KF, p[1], ldb: 3 * H, gt, ldc: 3 * H)
                    try check(gsq_gru_rb_gates_forward(Int64(rows), Int64(H), gt, b, nil, rht))
                    try sgemm(m: rows, n: H, k: KF, x, lda: KF, p[1] + 2 * H, ldb: 3 * H, gt + 2 * H, ldc: 3 * H)
                    try check(gsq_gru_rb_output_forward(Int64(rows), Int64(H), gt, b, nil, ht))
                }
            }
        }
        return (tape.output, RecurrentState(h: states.slice(T).copy()), tape)
    }

    func backprop(_ tape: GCRNTape, _ dy: Tensor, stateGradient: RecurrentState?)
        throws(GraphSeqError) -> (input: Tensor, initialState: RecurrentState) {
        let (T, N, B, H, K) = (tape.steps, tape.nodes, tape.batch, hiddenSize, order)
        let rows = N * B, shape = [N, B, H]
        try require(dy.shape == [T, N, B, H],
                    "GConvGRU.backward: output gradient has shape \(dy.shape), expected \([T, N, B, H])")
        if let s = stateGradient {
            try require(s.h.shape == shape && s.c == nil,
                        "GConvGRU.backward: state gradient h \(s.h.shape), expected \(shape) and no c")
        }
        let (KF, KC) = (K * core.inputSize, core.rowWidth)
        let dh = [Tensor(shape: shape), Tensor(shape: shape)]
        // Every step overwrites these whole.
        let drow = Tensor(shape: [rows, KC], zeroed: false), dreset = Tensor(shape: [rows, KC], zeroed: false)
        let drh = Tensor(shape: [rows, H], zeroed: false), dbx = Tensor(shape: [T * rows, KF], zeroed: false)
        let dbias = Tensor(shape: [3 * H])
        let hidden = HiddenBasis(lhat: tape.lhat, batch: B, channels: H, order: K)
        let zero = Tensor(shape: [1])
        try withPointers([dy, stateGradient?.h ?? zero, tape.gates, tape.states, dh[0], dh[1], drow, dreset, drh,
                          core.stackedWeight(), dbias, dbx]) { (p) throws(GraphSeqError) in
            let (g, states, w, db) = (p[2], p[3], p[9], bias ? p[10] : nil)
            let (drz, dn, drh, dbx) = (p[6], p[7], p[8], p[11])
            let wrzT = try PackedMatrix(transposed: true, k: 2 * H, n: KC, w, ldb: 3 * H)
            let wnT = try PackedMatrix(transposed: true, k: H, n: KC, w + 2 * H, ldb: 3 * H)
            sum(p[0] + (T - 1) * rows * H, stateGradient == nil ? nil : p[1], into: p[4], count: rows * H)
            for t in stride(from: T - 1, through: 0, by: -1) {
                let (dhIn, dhOut) = (p[4 + (T - 1 - t) % 2], p[4 + (T - t) % 2])
                let gt = g + t * rows * 3 * H, dg = g + (t + 1) * rows * 3 * H
                let hPrev: UnsafeMutablePointer<Float>? = t > 0 || tape.hasInitialHidden ? states + t * rows * H : nil
                try check(gsq_gru_rb_output_backward(Int64(rows), Int64(H), gt, hPrev, dhIn, dg, dhOut, db))
                // [d basis(x_t), d basis(r h)] from dn; d(r h) is the second part's adjoint.
                try sgemm(m: rows, dg + 2 * H, lda: 3 * H, wnT, dn, ldc: KC)
                try hidden.backward(dn + KF, ld: KC, into: drh, beta: 0)
                try check(gsq_gru_rb_gates_backward(Int64(rows), Int64(H), gt, hPrev, drh, dg, dhOut, db))
                // [d basis(x_t), d basis(h)] from d[r z]; dh_{t-1} += the second part's adjoint, plus dy_{t-1}.
                try sgemm(m: rows, dg, lda: 3 * H, wrzT, drz, ldc: KC)
                try hidden.backward(drz + KF, ld: KC, into: dhOut, beta: 1)
                for r in 0..<rows { sum(drz + r * KC, dn + r * KC, into: dbx + (t * rows + r) * KF, count: KF) }
                if t > 0 { axpy(1, p[0] + (t - 1) * rows * H, dhOut, count: rows * H) }
            }
        }
        try accumulateWeightGradients(tape, bases: [(tape.recurrent[0], 0..<2), (tape.recurrent[1], 2..<3)])
        if bias {
            for (g, gate) in core.gates.enumerated() {
                addSlot(dbias, offset: gate.slot * H, into: core.inputBiases[g])
                addSlot(dbias, offset: gate.slot * H, into: core.hiddenBiases[g])
            }
        }
        let dx = try core.inputBasisBackward(dbx, steps: T, nodes: N, batch: B, tape.lhat)
        return (dx, RecurrentState(h: dh[T % 2]))
    }
}
