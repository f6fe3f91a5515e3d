internal import CGraphSeq

// The machinery GConvLSTM and GConvGRU share: their fused parameters and
// the PyTorch Geometric Temporal names they convert to, the Chebyshev bases
// in the row layout the gate GEMMs need, and the record of one forward.
//
// Layout. A step's signal is node-major, [N][B][C], which read as [N*B][C]
// is one row per (node, batch). A step's gate GEMM multiplies the rows
// [basis(x_t) T_0 T_1 ... T_{K-1}], the input basis and the K terms of the
// hidden one ([N*B][K*F + K*H]), by the stacked weights [weight_x; weight_h]:
// one GEMM per step covers both products. It reads that operand as parts
// (gsq_sgemm_packed_parts): T_0 is h_{t-1} itself and gsq_cheb_terms writes
// T_1.. straight into the tape, so the basis is never assembled.
// The inputs of all T steps form a single basis call, over the [N][T*B*F]
// transpose of x. Backward, the GEMM's adjoint gives both basis gradients
// in the assembled layout, which gsq_cheb_basis_batched_backward reads.

/// The Chebyshev basis of one recurrent signal over all steps: T_0 of step
/// t is slot t of `first` (rows*H floats a slot), T_1 ... T_{K-1} are in
/// `terms`, [K-1, T, N*B, H] (steps of one term adjacent, so each term over
/// all steps is one matrix for the weight gradient).
struct RecurrentBasis {
    let first: Tensor, terms: Tensor

    /// Step t's GEMM operand: [basis(x_t) T_0 T_1 ... T_{K-1}]. `inputBasis`,
    /// `first` and `terms` are the addresses of the tape's tensors.
    static func operand(step t: Int, of tape: GCRNTape, inputBasis: UnsafePointer<Float>,
                        first: UnsafePointer<Float>, terms: UnsafePointer<Float>) -> [MatrixPart] {
        [tape.inputParts(from: t, inputBasis)] + hiddenParts(from: t, of: tape, first: first, terms: terms)
    }

    /// T_0 ... T_{K-1} from step t on (one step's rows, or those of steps
    /// t..<T stacked: each term's steps are adjacent).
    static func hiddenParts(from t: Int, of tape: GCRNTape, first: UnsafePointer<Float>,
                            terms: UnsafePointer<Float>) -> [MatrixPart] {
        let (T, rows, H) = (tape.steps, tape.nodes * tape.batch, tape.hidden)
        return [MatrixPart(base: first + t * rows * H, ld: H, columns: H)]
            + (0..<(tape.order - 1)).map { MatrixPart(base: terms + ($0 * T + t) * rows * H, ld: H, columns: H) }
    }
}

/// What one forward of a GCRN layer keeps for its backward.
final class GCRNTape {
    let steps: Int, nodes: Int, batch: Int, hidden: Int, order: Int
    let lhat: Graph
    /// [T*N*B, K*F]: the basis of each step's input.
    let inputBasis: Tensor
    /// Of h_{t-1}; GConvGRU's candidate also has that of r_t * h_{t-1}.
    let recurrent: [RecurrentBasis]
    /// [T+1, N*B, gates*H]: slot t holds step t's activations; backward
    /// writes step t's pre-activation gradients into slot t+1 (already used).
    let gates: Tensor
    /// GConvLSTM: [T+1, N*B, H], c_0 ... c_T.
    let cells: Tensor?
    /// [T+1, N, B, H]: h_0 (only when given), h_1 ... h_T; slots 1...T are
    /// the output.
    let states: Tensor
    /// Whether h_0 was given (else zeros: step 0 skips its recurrent products).
    let hasInitialHidden: Bool
    /// The summed biases and the peepholes the cell kernels were given.
    let bias: Tensor?, peephole: Tensor?

    init(nodes: Int, batch: Int, order: Int, lhat: Graph, inputBasis: Tensor, recurrent: [RecurrentBasis],
         gates: Tensor, cells: Tensor?, states: Tensor, hasInitialHidden: Bool, bias: Tensor?,
         peephole: Tensor?) {
        (steps, hidden) = (states.shape[0] - 1, states.shape[3])
        (self.nodes, self.batch, self.order, self.lhat) = (nodes, batch, order, lhat)
        (self.inputBasis, self.recurrent, self.gates) = (inputBasis, recurrent, gates)
        (self.cells, self.states, self.hasInitialHidden) = (cells, states, hasInitialHidden)
        (self.bias, self.peephole) = (bias, peephole)
    }

    /// The first step whose recurrent products ran (and enter weight gradients).
    var firstRecurrentStep: Int { hasInitialHidden ? 0 : 1 }
    /// Columns of the input basis, K*F.
    var inputWidth: Int { inputBasis.shape[1] }
    /// h_1 ... h_T, [T, N, B, H].
    var output: Tensor { states.slices(1..<(steps + 1)) }

    /// The input basis from step t on (`inputBasis`: its address).
    func inputParts(from t: Int, _ inputBasis: UnsafePointer<Float>) -> MatrixPart {
        MatrixPart(base: inputBasis + t * nodes * batch * inputWidth, ld: inputWidth, columns: inputWidth)
    }

    /// A new state track [T+1, N, B, H] for `steps`, with `h0` (when given)
    /// in slot 0. Fresh each forward: the output the caller keeps is a view.
    static func states(steps T: Int, nodes N: Int, batch B: Int, hidden H: Int, initial h0: Tensor?) -> Tensor {
        let states = Tensor(shape: [T + 1, N, B, H], zeroed: false)
        if let h0 { withPointers([states, h0]) { p in p[0].update(from: p[1], count: N * B * H) } }
        return states
    }
}

/// A buffer of `shape` for a forward: `spare` (a replaced tape's, which
/// nothing else references) when it has that shape, else a new tensor. Every
/// forward overwrites what it reads, so reuse only saves the first-touch
/// zeroing of hundreds of MB per call.
func buffer(_ shape: [Int], reusing spare: Tensor?) -> Tensor {
    if let spare, spare.shape == shape { return spare }
    return Tensor(shape: shape)
}

/// A GCRN layer that can run on a given operator and keep several forwards
/// in flight (the encoder-decoder runs its decoder one step at a time).
protocol GCRNRecurrence: GraphSequenceLayer {
    var inputSize: Int { get }
    var hiddenSize: Int { get }
    var core: GCRNParameters { get }
    /// One forward on a given operator; `recycling` is a tape whose buffers
    /// may be reused (nil: fresh ones).
    func run(_ x: Tensor, operator lhat: Graph, initialState: RecurrentState?, recycling: GCRNTape?)
        throws(GraphSeqError) -> (output: Tensor, state: RecurrentState, tape: GCRNTape)
    func backprop(_ tape: GCRNTape, _ outputGradient: Tensor, stateGradient: RecurrentState?)
        throws(GraphSeqError) -> (input: Tensor, initialState: RecurrentState)
}

/// A tensor of a checkpoint: how to read it from, and write it into, the
/// internal parameters.
struct CheckpointEntry {
    let name: String
    let read: () -> Tensor
    let write: (Tensor) -> Void
}

/// The fused Chebyshev weights of all gates, each gate's two ChebConv
/// biases, and the operator cache.
final class GCRNParameters {
    let inputSize: Int, hiddenSize: Int, order: Int
    /// The PyTorch Geometric Temporal gate names in checkpoint order, each
    /// with its column slot in the fused weights (slot g: columns g*H ..< (g+1)*H).
    let gates: [(name: String, slot: Int)]
    /// [K*F, gates*H]: row k*F + f, column slot*H + j is conv_x_<gate>.lins.k.weight[j, f].
    let inputWeight: Parameter
    /// [K*H, gates*H], likewise for conv_h_<gate>.
    let hiddenWeight: Parameter
    /// conv_x_<gate>.bias and conv_h_<gate>.bias ([H]) in `gates` order, or empty without bias.
    let inputBiases: [Parameter], hiddenBiases: [Parameter]
    let laplacian: OperatorCache

    init(inputSize F: Int, hiddenSize H: Int, order K: Int, gates: [(String, Int)], bias: Bool,
         normalization: LaplacianNormalization, lambdaMax: Float?, owner: String,
         rng: inout SplitMix64) throws(GraphSeqError) {
        try require(F >= 1 && H >= 1, "\(owner): sizes must be positive, got \(F) -> \(H)")
        try require(K >= 1 && K <= 64, "\(owner): order \(K) is not in 1...64")
        if let lambdaMax {
            try require(lambdaMax > 0 && lambdaMax.isFinite, "\(owner): lambdaMax = \(lambdaMax) must be positive")
        }
        (inputSize, hiddenSize, order) = (F, H, K)
        self.gates = gates.map { (name: $0.0, slot: $0.1) }
        let width = gates.count * H
        inputWeight = Parameter(Tensor(shape: [K * F, width]))
        hiddenWeight = Parameter(Tensor(shape: [K * H, width]))
        // Glorot per lins.k weight ([H, in]: fanIn in, fanOut H), drawn in
        // checkpoint order: conv_x_<gate> then conv_h_<gate>, k ascending.
        for (_, slot) in self.gates {
            for (weight, rows) in [(inputWeight.value, F), (hiddenWeight.value, H)] {
                for k in 0..<K {
                    let lin = Tensor(shape: [H, rows])
                    Initialization.glorotUniform(lin, fanIn: rows, fanOut: H, using: &rng)
                    GCRNParameters.scatter(lin, into: weight, term: k, rows: rows, slot: slot, hidden: H)
                }
            }
        }
        inputBiases = bias ? gates.map { _ in Parameter(Tensor(shape: [H])) } : []
        hiddenBiases = bias ? gates.map { _ in Parameter(Tensor(shape: [H])) } : []
        laplacian = .scaledLaplacian(normalization, lambdaMax: lambdaMax)
    }

    /// The internal parameters: the fused weights, then the ChebConv biases.
    var namedParameters: [(name: String, parameter: Parameter)] {
        var list: [(name: String, parameter: Parameter)] = [("weight_x", inputWeight), ("weight_h", hiddenWeight)]
        for (g, gate) in gates.enumerated() where !inputBiases.isEmpty {
            list += [("conv_x_\(gate.name).bias", inputBiases[g]), ("conv_h_\(gate.name).bias", hiddenBiases[g])]
        }
        return list
    }

    /// Gate `g`'s two ChebConvs under PyG names: bias, then lins.k.weight.
    func checkpointEntries(gate g: Int) -> [CheckpointEntry] {
        let (name, slot) = gates[g]
        var entries: [CheckpointEntry] = []
        for (side, weight, rows, biases) in [("x", inputWeight.value, inputSize, inputBiases),
                                             ("h", hiddenWeight.value, hiddenSize, hiddenBiases)] {
            if !biases.isEmpty { entries.append(.parameter("conv_\(side)_\(name).bias", biases[g])) }
            for k in 0..<order {
                let H = hiddenSize
                entries.append(CheckpointEntry(
                    name: "conv_\(side)_\(name).lins.\(k).weight",
                    read: { GCRNParameters.gather(weight, term: k, rows: rows, slot: slot, hidden: H) },
                    write: { GCRNParameters.scatter($0, into: weight, term: k, rows: rows, slot: slot, hidden: H) }))
            }
        }
        return entries
    }

    /// lins.k.weight [H, rows] from the fused [K*rows, gates*H] layout.
    private static func gather(_ fused: Tensor, term k: Int, rows: Int, slot: Int, hidden H: Int) -> Tensor {
        let lin = Tensor(shape: [H, rows])
        let width = fused.shape[1]
        withPointers([fused, lin]) { p in
            for r in 0..<rows { for j in 0..<H { p[1][j * rows + r] = p[0][(k * rows + r) * width + slot * H + j] } }
        }
        return lin
    }

    private static func scatter(_ lin: Tensor, into fused: Tensor, term k: Int, rows: Int, slot: Int, hidden H: Int) {
        let width = fused.shape[1]
        withPointers([fused, lin]) { p in
            for r in 0..<rows { for j in 0..<H { p[0][(k * rows + r) * width + slot * H + j] = p[1][j * rows + r] } }
        }
    }

    /// The operator for `graph`, checking that it fits `nodes`.
    func operatorFor(_ graph: Graph, owner: String) throws(GraphSeqError) -> Graph {
        try require(graph.rowCount == graph.columnCount,
                    "\(owner).forward: graph is \(graph.rowCount) x \(graph.columnCount), not square")
        return try laplacian(graph)
    }

    /// Checks x [T, N, B, F] against the operator and returns (T, N, B).
    func inputShape(_ x: Tensor, _ lhat: Graph, owner: String) throws(GraphSeqError) -> (Int, Int, Int) {
        let n = lhat.rowCount
        try require(x.rank == 4 && x.shape[0] >= 1 && x.shape[1] == n && x.shape[2] >= 1 && x.shape[3] == inputSize,
                    "\(owner).forward: x has shape \(x.shape), expected [T >= 1, \(n), batch >= 1, \(inputSize)]")
        return (x.shape[0], n, x.shape[2])
    }

    // MARK: Bases in GEMM row layout

    /// Row width of the step bases: the input terms, then the hidden terms.
    var rowWidth: Int { order * (inputSize + hiddenSize) }

    /// The basis of every step of x ([T, N, B, F]): [T*N*B, K*F], step t's
    /// rows from t*N*B on.
    func inputBasis(_ x: Tensor, _ lhat: Graph) throws(GraphSeqError) -> Tensor {
        let (T, N, B, F, K) = (x.shape[0], x.shape[1], x.shape[2], inputSize, order)
        // Each is overwritten whole by the permutation or basis writing it.
        let nodeMajor = Tensor(shape: [N, T * B * F], zeroed: false)
        let terms = Tensor(shape: [N, K * T * B * F], zeroed: false)
        let rows = Tensor(shape: [T * N * B, K * F], zeroed: false)
        try withPointers([x, nodeMajor, terms, rows]) { (p) throws(GraphSeqError) in
            permuteBlocks(p[0], p[1], sizes: [T, N], order: [1, 0], block: B * F)
            try check(gsq_cheb_basis(lhat.handle, Int64(K), Int64(T * B * F), p[1], Int64(T * B * F),
                                     p[2], Int64(K * T * B * F)))
            permuteBlocks(p[2], p[3], sizes: [N, K, T, B], order: [2, 0, 3, 1], block: F)
        }
        return rows
    }

    /// [weight_x; weight_h]: [K*F + K*H, gates*H], the B of the step GEMMs.
    func stackedWeight() -> Tensor {
        let w = Tensor(shape: [rowWidth, inputWeight.value.shape[1]])
        withPointers([w, inputWeight.value, hiddenWeight.value]) { p in
            p[0].update(from: p[1], count: inputWeight.value.count)
            (p[0] + inputWeight.value.count).update(from: p[2], count: hiddenWeight.value.count)
        }
        return w
    }

    /// dx [T, N, B, F] from the gradient of the input terms of every step's
    /// basis rows ([T*N*B, K*F]).
    func inputBasisBackward(_ dbasis: Tensor, steps T: Int, nodes N: Int, batch B: Int,
                            _ lhat: Graph) throws(GraphSeqError) -> Tensor {
        let (F, K) = (inputSize, order)
        // Each is overwritten whole by the permutation or adjoint writing it.
        let terms = Tensor(shape: [N, K * T * B * F], zeroed: false)
        let nodeMajor = Tensor(shape: [N, T * B * F], zeroed: false)
        let dx = Tensor(shape: [T, N, B, F], zeroed: false)
        try withPointers([dbasis, terms, nodeMajor, dx]) { (p) throws(GraphSeqError) in
            permuteBlocks(p[0], p[1], sizes: [T, N, B, K], order: [1, 3, 0, 2], block: F)
            try check(gsq_cheb_basis_backward(lhat.handle, Int64(K), Int64(T * B * F), p[1],
                                              Int64(K * T * B * F), 0, p[2], Int64(T * B * F)))
            permuteBlocks(p[2], p[3], sizes: [N, T], order: [1, 0], block: B * F)
        }
        return dx
    }
}

extension CheckpointEntry {
    /// A checkpoint tensor that is a parameter itself.
    static func parameter(_ name: String, _ p: Parameter) -> CheckpointEntry {
        CheckpointEntry(name: name, read: { p.value }, write: { src in
            withPointers([p.value, src]) { q in q[0].update(from: q[1], count: src.count) }
        })
    }
}

/// stateDict from checkpoint entries.
func stateDict(_ entries: [CheckpointEntry]) -> [(name: String, tensor: Tensor)] {
    entries.map { ($0.name, $0.read()) }
}

/// loadStateDict from checkpoint entries: validates everything, then writes.
func loadStateDict(_ tensors: [String: Tensor], _ entries: [CheckpointEntry],
                   owner: String) throws(GraphSeqError) {
    try validateStateDict(tensors, expected: stateDict(entries), owner: owner)
    for e in entries { e.write(tensors[e.name]!) }
}

/// A per-step hidden basis: the terms T_1.. of `h` ([N][B*C]) into a
/// recurrent basis in one kernel call; and the adjoint of the whole basis
/// from its gradient in GEMM row layout.
struct HiddenBasis {
    let lhat: Graph, batch: Int, channels: Int, order: Int

    /// T_1 ... T_{K-1} of step t's signal `h` into `terms` ([K-1, steps, N*B*C]).
    func forward(_ h: UnsafePointer<Float>, step t: Int, steps: Int, into terms: UnsafeMutablePointer<Float>)
        throws(GraphSeqError) {
        let (width, size) = (batch * channels, lhat.rowCount * batch * channels)
        try check(gsq_cheb_terms(lhat.handle, Int64(order), Int64(width), h, Int64(max(width, 1)),
                                 terms + t * size, Int64(max(width, 1)), Int64(max(steps * size, 1))))
    }

    /// dh = adjoint(dbasis) + beta * dh; `dbasis` is left unchanged.
    func backward(_ dbasis: UnsafePointer<Float>, ld: Int, into dh: UnsafeMutablePointer<Float>,
                  beta: Float) throws(GraphSeqError) {
        let (B, C, K) = (batch, channels, order)
        try check(gsq_cheb_basis_batched_backward(lhat.handle, Int64(K), Int64(B), Int64(C), dbasis,
                                                  Int64(ld), beta, dh, Int64(max(B * C, 1))))
    }
}

/// Copies blocks of `block` floats from `src`, whose block axes have `sizes`
/// (outermost first), to `dst` with the axes reordered: dst axis j is src
/// axis `order[j]`. dst is written sequentially.
func permuteBlocks(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                   sizes: [Int], order: [Int], block: Int) {
    var srcStride = [Int](repeating: block, count: sizes.count)
    for a in stride(from: sizes.count - 2, through: 0, by: -1) { srcStride[a] = srcStride[a + 1] * sizes[a + 1] }
    let dims = order.map { sizes[$0] }, strides = order.map { srcStride[$0] }
    let total = dims.reduce(1, *)
    guard total > 0, block > 0 else { return }
    let inner = dims[dims.count - 1], innerStride = strides[dims.count - 1]
    var index = [Int](repeating: 0, count: dims.count)
    var offset = 0
    var out = dst
    for _ in 0..<(total / inner) {
        var s = src + offset
        if block == 1 {
            for _ in 0..<inner { out.pointee = s.pointee; out += 1; s += innerStride }
        } else {
            for _ in 0..<inner { out.update(from: s, count: block); out += block; s += innerStride }
        }
        var a = dims.count - 2
        while a >= 0 {
            index[a] += 1
            offset += strides[a]
            if index[a] < dims[a] { break }
            offset -= strides[a] * dims[a]
            index[a] = 0
            a -= 1
        }
    }
}

/// into[j] += sums[offset + j] for j < into.count: one gate slot of a
/// summed bias gradient added to a parameter's gradient.
func addSlot(_ sums: Tensor, offset: Int, into p: Parameter) {
    withPointers([sums, p.gradient]) { q in
        axpy(1, q[0] + offset, q[1], count: p.gradient.count)
    }
}

/// dst[0 ..< count] = src[0 ..< count] + (other[0 ..< count] if any).
func sum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, into dst: UnsafeMutablePointer<Float>, count: Int) {
    dst.update(from: a, count: count)
    if let b { axpy(1, b, dst, count: count) }
}

extension GCRNRecurrence {
    /// The weight gradients from each recurrent basis and the gate slots it
    /// feeds (GConvGRU's candidate has its own): per basis, one product
    /// dgates^T [T_0 ... T_{K-1} basis(x)] over the steps whose recurrent
    /// products ran (plus dgates^T basis(x) of step 0 without an initial
    /// state), added transposed to [weight_h; weight_x].
    func accumulateWeightGradients(_ tape: GCRNTape, bases: [(basis: RecurrentBasis, slots: Range<Int>)])
        throws(GraphSeqError) {
        let (T, rows, H, K, KF) = (tape.steps, tape.nodes * tape.batch, hiddenSize, core.order, tape.inputWidth)
        let (KH, width, s0) = (K * H, tape.gates.shape[2], tape.firstRecurrentStep)
        try withPointers([tape.gates, tape.inputBasis, core.inputWeight.gradient,
                          core.hiddenWeight.gradient]) { (p) throws(GraphSeqError) in
            let dg = p[0] + rows * width   // step t's gradients in slot t + 1
            for (basis, slots) in bases {
                let (cols, m) = (slots.lowerBound * H, slots.count * H)
                // The slots' gradient transposed: [m, K*H + K*F], hidden terms first
                // (aligned to the GEMM's tiles for the usual H).
                let transposed = Tensor(shape: [m, KH + KF], zeroed: false)
                try withPointers([basis.first, basis.terms, transposed]) { (b) throws(GraphSeqError) in
                    if T > s0 {
                        let parts = RecurrentBasis.hiddenParts(from: s0, of: tape, first: b[0], terms: b[1])
                            + [tape.inputParts(from: s0, p[1])]
                        try sgemm(transposeA: true, m: m, k: (T - s0) * rows, dg + s0 * rows * width + cols,
                                  lda: width, parts: parts, b[2], ldc: KH + KF)
                    }
                    if s0 == 1 {
                        try sgemm(transposeA: true, m: m, n: KF, k: rows, dg + cols, lda: width, p[1], ldb: KF,
                                  beta: T > s0 ? 1 : 0, b[2] + KH, ldc: KH + KF)
                    }
                    for g in 0..<m {
                        let row = b[2] + g * (KH + KF)
                        for r in 0..<KF { p[2][r * width + cols + g] += row[KH + r] }
                        if T > s0 { for r in 0..<KH { p[3][r * width + cols + g] += row[r] } }
                    }
                }
            }
        }
    }
}
