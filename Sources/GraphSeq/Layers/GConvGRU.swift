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
        let (H, K, F) = (hiddenSize, order, inputSize)
        let rows = N * B
        if let s = initialState {
            try require(s.h.shape == [N, B, H] && s.c == nil,
                        "GConvGRU.forward: initial state h \(s.h.shape), expected [\(N), \(B), \(H)] and no c")
        }
        let bx = try core.inputBasis(x, lhat, reusing: old?.inputBasis)
        let gates = buffer([T + 1, rows, 3 * H], reusing: old?.gates)
        let bh = buffer([T, rows, K * H], reusing: old?.hiddenBasis)
        let brh = buffer([T, rows, K * H], reusing: old?.resetBasis)
        let rh = Tensor(shape: [rows, H])
        let output = Tensor(shape: [T, N, B, H])
        let h0 = initialState?.h, bias = summedBias()
        let basis = HiddenBasis(lhat: lhat, batch: B, channels: H, order: K)
        try withPointers([bx, core.inputWeight.value, gates, bh, brh, core.hiddenWeight.value, rh, output,
                          bias ?? rh, h0 ?? rh]) { (p) throws(GraphSeqError) in
            let (g, wh, out, b) = (p[2], p[5], p[7], bias == nil ? nil : p[8])
            try sgemm(m: T * rows, n: 3 * H, k: K * F, p[0], lda: K * F, p[1], ldb: 3 * H, g, ldc: 3 * H)
            for t in 0..<T {
                let gt = g + t * rows * 3 * H
                let hPrev: UnsafeMutablePointer<Float>? = t > 0 ? out + (t - 1) * rows * H : (h0 == nil ? nil : p[9])
                if let hPrev {   // r, z slots += basis(h) W_h[:, r z]
                    let bt = p[3] + t * rows * K * H
                    try basis.forward(hPrev, into: bt)
                    try sgemm(m: rows, n: 2 * H, k: K * H, bt, lda: K * H, wh, ldb: 3 * H, beta: 1, gt, ldc: 3 * H)
                }
                try check(gsq_gru_rb_gates_forward(Int64(rows), Int64(H), gt, b, hPrev, p[6]))
                if hPrev != nil {   // n slot += basis(r h) W_h[:, n]
                    let bt = p[4] + t * rows * K * H
                    try basis.forward(p[6], into: bt)
                    try sgemm(m: rows, n: H, k: K * H, bt, lda: K * H, wh + 2 * H, ldb: 3 * H, beta: 1,
                              gt + 2 * H, ldc: 3 * H)
                }
                try check(gsq_gru_rb_output_forward(Int64(rows), Int64(H), gt, b, hPrev, out + t * rows * H))
            }
        }
        let tape = GCRNTape(steps: T, nodes: N, batch: B, lhat: lhat, inputBasis: bx, gates: gates,
                            hiddenBasis: bh, resetBasis: brh, cells: nil, output: output,
                            initialHidden: h0, bias: bias, peephole: nil)
        return (output, RecurrentState(h: output.slice(T - 1).copy()), tape)
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
        let dh = [Tensor(shape: shape), Tensor(shape: shape)]
        let dbasis = Tensor(shape: [rows, K * H]), drh = Tensor(shape: [rows, H])
        let dbias = Tensor(shape: [3 * H])
        let basis = HiddenBasis(lhat: tape.lhat, batch: B, channels: H, order: K)
        let zero = Tensor(shape: [1])
        try withPointers([dy, stateGradient?.h ?? zero, tape.gates, tape.output, tape.initialHidden ?? zero,
                          dh[0], dh[1], dbasis, drh, core.hiddenWeight.value, dbias]) { (p) throws(GraphSeqError) in
            let (g, out, wh, db) = (p[2], p[3], p[9], bias ? p[10] : nil)
            sum(p[0] + (T - 1) * rows * H, stateGradient == nil ? nil : p[1], into: p[5], count: rows * H)
            for t in stride(from: T - 1, through: 0, by: -1) {
                let (dhIn, dhOut) = (p[5 + (T - 1 - t) % 2], p[5 + (T - t) % 2])
                let gt = g + t * rows * 3 * H, dg = g + (t + 1) * rows * 3 * H
                let hPrev: UnsafeMutablePointer<Float>? = t > 0 ? out + (t - 1) * rows * H
                    : (tape.initialHidden == nil ? nil : p[4])
                try check(gsq_gru_rb_output_backward(Int64(rows), Int64(H), gt, hPrev, dhIn, dg, dhOut, db))
                // d(r h) = adjoint basis of (dn W_h[:, n]^T)
                try sgemm(transposeB: true, m: rows, n: K * H, k: H, dg + 2 * H, lda: 3 * H, wh + 2 * H, ldb: 3 * H,
                          p[7], ldc: K * H)
                try basis.backward(p[7], into: p[8], beta: 0)
                try check(gsq_gru_rb_gates_backward(Int64(rows), Int64(H), gt, hPrev, p[8], dg, dhOut, db))
                // dh_{t-1} += adjoint basis of (d[r z] W_h[:, r z]^T), plus dy_{t-1}.
                try sgemm(transposeB: true, m: rows, n: K * H, k: 2 * H, dg, lda: 3 * H, wh, ldb: 3 * H,
                          p[7], ldc: K * H)
                try basis.backward(p[7], into: dhOut, beta: 1)
                if t > 0 { for i in 0..<(rows * H) { dhOut[i] += p[0][(t - 1) * rows * H + i] } }
            }
        }
        try accumulateWeightGradients(tape, recurrent: [(tape.hiddenBasis, 0..<2), (tape.resetBasis!, 2..<3)])
        if bias {
            for (g, gate) in core.gates.enumerated() {
                addSlot(dbias, offset: gate.slot * H, into: core.inputBiases[g])
                addSlot(dbias, offset: gate.slot * H, into: core.hiddenBiases[g])
            }
        }
        let dx = try inputGradient(tape)
        return (dx, RecurrentState(h: dh[T % 2]))
    }
}
