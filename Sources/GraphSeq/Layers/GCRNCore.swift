internal import CGraphSeq

// The machinery GConvLSTM and GConvGRU share: their fused parameters and
// the PyTorch Geometric Temporal names they convert to, the Chebyshev bases
// in the row layout the gate GEMMs need, and the record of one forward.
//
// Layout. A step's signal is node-major, [N][B][C]. A step's gate GEMM takes
// one row per (node, batch) holding the K terms of the input basis and then
// the K terms of the hidden basis, [N*B][K*F + K*H], against the stacked
// weights [weight_x; weight_h]: one GEMM per step covers both products, and
// its adjoint gives both basis gradients. gsq_cheb_basis_batched writes the
// hidden part in place; the inputs of all T steps form a single basis call,
// over the [N][T*B*F] transpose of x, copied into the rows afterwards.

/// What one forward of a GCRN layer keeps for its backward.
final class GCRNTape {
    let steps: Int, nodes: Int, batch: Int
    let lhat: Graph
    /// [T, N*B, K*F + K*H]: per step the basis of x_t, then that of h_{t-1}
    /// (not written at step 0 without an initial state).
    let basis: Tensor
    /// [T+1, N*B, gates*H]: slot t holds step t's activations; backward
    /// writes step t's pre-activation gradients into slot t+1 (already used).
    let gates: Tensor
    /// GConvGRU: [T, N*B, K*F + K*H], the basis of x_t, then that of r_t * h_{t-1}.
    let resetBasis: Tensor?
    /// GConvLSTM: [T+1, N*B, H], c_0 ... c_T.
    let cells: Tensor?
    /// [T, N, B, H]: h_1 ... h_T.
    let output: Tensor
    /// h_0, or nil for zeros (then step 0 skips its recurrent products).
    let initialHidden: Tensor?
    /// The summed biases and the peepholes the cell kernels were given.
    let bias: Tensor?, peephole: Tensor?

    init(steps: Int, nodes: Int, batch: Int, lhat: Graph, basis: Tensor, gates: Tensor,
         resetBasis: Tensor?, cells: Tensor?, output: Tensor,
         initialHidden: Tensor?, bias: Tensor?, peephole: Tensor?) {
        (self.steps, self.nodes, self.batch, self.lhat) = (steps, nodes, batch, lhat)
        (self.basis, self.gates, self.resetBasis) = (basis, gates, resetBasis)
        (self.cells, self.output, self.initialHidden) = (cells, output, initialHidden)
        (self.bias, self.peephole) = (bias, peephole)
    }

    /// The first step whose recurrent products ran (and enter weight gradients).
    var firstRecurrentStep: Int { initialHidden == nil ? 1 : 0 }
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

    /// The basis of every step of x ([T, N, B, F]) into columns [0, K*F) of
    /// each row of `bases` ([T, N*B, rowWidth] each).
    func inputBasis(_ x: Tensor, _ lhat: Graph, into bases: [Tensor]) throws(GraphSeqError) {
        let (T, N, B, F, K) = (x.shape[0], x.shape[1], x.shape[2], inputSize, order)
        // Each is overwritten whole by the permutation or basis writing it.
        let nodeMajor = Tensor(shape: [N, T * B * F], zeroed: false)
        let terms = Tensor(shape: [N, K * T * B * F], zeroed: false)
        let rows = Tensor(shape: [T * N * B, K * F], zeroed: false)
        try withPointers([x, nodeMajor, terms, rows] + bases) { (p) throws(GraphSeqError) in
            permuteBlocks(p[0], p[1], sizes: [T, N], order: [1, 0], block: B * F)
            try check(gsq_cheb_basis(lhat.handle, Int64(K), Int64(T * B * F), p[1], Int64(T * B * F),
                                     p[2], Int64(K * T * B * F)))
            permuteBlocks(p[2], p[3], sizes: [N, K, T, B], order: [2, 0, 3, 1], block: F)
            for dst in p[4...] {
                for r in 0..<(T * N * B) { (dst + r * rowWidth).update(from: p[3] + r * K * F, count: K * F) }
            }
        }
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

/// A per-step hidden basis in GEMM row layout: `h` ([N][B*C]) to the
/// [N*B][K*C] rows of `basis` (`ld` apart) in one batched kernel call; and
/// its adjoint.
struct HiddenBasis {
    let lhat: Graph, batch: Int, channels: Int, order: Int

    func forward(_ h: UnsafePointer<Float>, into basis: UnsafeMutablePointer<Float>, ld: Int)
        throws(GraphSeqError) {
        let (B, C, K) = (batch, channels, order)
        try check(gsq_cheb_basis_batched(lhat.handle, Int64(K), Int64(B), Int64(C), h, Int64(max(B * C, 1)),
                                         basis, Int64(ld)))
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
        for j in 0..<p.gradient.count { q[1][j] += q[0][offset + j] }
    }
}

/// dst[0 ..< count] = src[0 ..< count] + (other[0 ..< count] if any).
func sum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, into dst: UnsafeMutablePointer<Float>, count: Int) {
    if let b { for i in 0..<count { dst[i] = a[i] + b[i] } } else { dst.update(from: a, count: count) }
}

extension GCRNRecurrence {
    /// The weight gradients from each step basis ([T, N*B, K*F + K*H]) and
    /// the gate slots it feeds (GConvGRU's candidate has its own): over the
    /// steps whose recurrent products ran, [weight_x; weight_h] += rows^T
    /// dgates in one product per basis; at step 0 without an initial state,
    /// weight_x alone.
    func accumulateWeightGradients(_ tape: GCRNTape, bases: [(basis: Tensor, slots: Range<Int>)])
        throws(GraphSeqError) {
        let (T, rows, H, KF, KC) = (tape.steps, tape.nodes * tape.batch, hiddenSize,
                                    core.order * inputSize, core.rowWidth)
        let width = tape.gates.shape[2], s0 = tape.firstRecurrentStep
        let stacked = Tensor(shape: [KC, width])
        try withPointers([tape.gates, stacked, core.inputWeight.gradient,
                          core.hiddenWeight.gradient]) { (p) throws(GraphSeqError) in
            let dg = p[0] + rows * width   // slots 1...T
            for (basis, slots) in bases {
                let (cols, n) = (slots.lowerBound * H, slots.count * H)
                try withPointers([basis]) { (b) throws(GraphSeqError) in
                    if s0 == 1 {
                        try sgemm(transposeA: true, m: KF, n: n, k: rows, b[0], lda: KC, dg + cols, ldb: width,
                                  beta: 1, p[2] + cols, ldc: width)
                    }
                    if T > s0 {
                        try sgemm(transposeA: true, m: KC, n: n, k: (T - s0) * rows, b[0] + s0 * rows * KC, lda: KC,
                                  dg + s0 * rows * width + cols, ldb: width, p[1] + cols, ldc: width)
                    }
                }
            }
            guard T > s0 else { return }
            for i in 0..<(KF * width) { p[2][i] += p[1][i] }
            for i in 0..<((KC - KF) * width) { p[3][i] += p[1][KF * width + i] }
        }
    }
}
