internal import CGraphSeq

/// The machinery behind `RNN`, `LSTM` and `GRU`: a stack of layers, each with
/// one or two directions ("units"), over packed variable-length batches.
///
/// Per unit, as oneDNN and cuDNN do it: one GEMM projects the inputs of all
/// steps (x W_ih^T over every packed row); then per step one recurrent GEMM
/// (h_prev W_hh^T) into that step's gate rows and one fused cell call.
/// Backward mirrors it: per step the fused cell backward and one GEMM for
/// dL/dh_prev; dW_ih, dW_hh (and dW_hr) are one GEMM each over all steps at
/// the end, from the gate gradients of every step kept side by side.
///
/// Every state a step reads (h_prev, c_prev) is saved contiguously at that
/// step's packed rows (copied from the previous step, or from the initial
/// state where a sequence starts), so the cells and GEMMs see dense blocks.
final class RecurrentEngine {
    enum Cell: Hashable {
        case rnn(RNNActivation)
        case lstm(LSTMCell.Options)
        case gru(GRUForm)

        /// Gate blocks per unit: the row count of W_ih is gates * hidden.
        var gates: Int {
            switch self {
            case .rnn: 1
            case .lstm: 4
            case .gru: 3
            }
        }

        var isLSTM: Bool { if case .lstm = self { true } else { false } }
    }

    /// The parameters of one layer and direction, torch.nn's layout.
    struct Unit {
        /// [gates * hidden, inputWidth].
        let inputWeight: Parameter
        /// [gates * hidden, outSize].
        let hiddenWeight: Parameter
        /// [gates * hidden] each, or nil without bias.
        let inputBias: Parameter?
        let hiddenBias: Parameter?
        /// [projectionSize, hidden] (LSTM with projection).
        let projectionWeight: Parameter?
        /// [3 * hidden]: w_ci, w_cf, w_co (LSTM with peepholes).
        let peephole: Parameter?
        let inputWidth: Int
        let reverse: Bool
    }

    /// The layer's name in error messages, e.g. "LSTM".
    let name: String
    let cell: Cell
    let inputSize: Int
    let hiddenSize: Int
    /// The width of h: the projection size, or the hidden size.
    let outSize: Int
    let options: RecurrentOptions
    /// Index layer * directions + direction.
    let units: [Unit]
    let namedParameters: [(name: String, parameter: Parameter)]
    var training = false
    private var dropoutGenerator: SplitMix64
    private var workspace: Workspace?
    private var saved: Saved?

    /// What backward needs to know about the last forward (its activations
    /// are in `workspace`).
    private struct Saved {
        let layout: PackedLayout
        let outputShape: [Int]
        let dropout: Bool
    }

    init(name: String, cell: Cell, inputSize: Int, hiddenSize: Int, projectionSize: Int = 0,
         options: RecurrentOptions, seed: UInt64) throws(GraphSeqError) {
        try require(inputSize >= 1 && hiddenSize >= 1,
                    "\(name): inputSize and hiddenSize must be positive, got \(inputSize) and \(hiddenSize)")
        try require(options.numLayers >= 1, "\(name): numLayers must be at least 1, got \(options.numLayers)")
        try require(options.dropout >= 0 && options.dropout < 1,
                    "\(name): dropout must be in [0, 1), got \(options.dropout)")
        try require(projectionSize >= 0 && projectionSize < hiddenSize,
                    "\(name): projectionSize must be in 0..<hiddenSize (\(hiddenSize)), got \(projectionSize)")
        self.name = name
        self.cell = cell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        outSize = projectionSize > 0 ? projectionSize : hiddenSize
        self.options = options
        dropoutGenerator = SplitMix64(seed: seed ^ 0xD1B5_4A32_D192_ED03)

        // Parameters in torch.nn's order (layer, direction, then w_ih, w_hh,
        // b_ih, b_hh, w_hr), then GraphSeq's peephole extension, all uniform
        // in +-1/sqrt(hidden) in that order.
        var rng = SplitMix64(seed: seed)
        let bound = 1 / Float(hiddenSize).squareRoot()
        let rows = cell.gates * hiddenSize
        var units: [Unit] = [], named: [(name: String, parameter: Parameter)] = []
        func make(_ shape: [Int], _ label: String) -> Parameter {
            let p = Parameter(Tensor(shape: shape))
            Initialization.uniform(p.value, bound: bound, using: &rng)
            named.append((label, p))
            return p
        }
        for layer in 0..<options.numLayers {
            for direction in 0..<options.directions {
                let suffix = "_l\(layer)" + (direction == 1 ? "_reverse" : "")
                let width = layer == 0 ? inputSize : options.directions * outSize
                let wih = make([rows, width], "weight_ih" + suffix)
                let whh = make([rows, outSize], "weight_hh" + suffix)
                let bih = options.bias ? make([rows], "bias_ih" + suffix) : nil
                let bhh = options.bias ? make([rows], "bias_hh" + suffix) : nil
                let whr = projectionSize > 0 ? make([projectionSize, hiddenSize], "weight_hr" + suffix) : nil
                var peephole: Parameter?
                if case .lstm(let o) = cell, o.contains(.peephole) {
                    peephole = make([3 * hiddenSize], "weight_ch" + suffix)
                }
                units.append(Unit(inputWeight: wih, hiddenWeight: whh, inputBias: bih, hiddenBias: bhh,
                                  projectionWeight: whr, peephole: peephole, inputWidth: width,
                                  reverse: direction == 1))
            }
        }
        self.units = units
        namedParameters = named
    }

    private var directions: Int { options.directions }
    private var layerWidth: Int { directions * outSize }

    // MARK: - Forward

    func forward(_ x: Tensor, lengths: [Int]?, initialState: RecurrentState?)
        throws(GraphSeqError) -> (output: Tensor, state: RecurrentState) {
        let fn = "\(name).forward"
        let batchFirst = options.batchFirst
        try require(x.rank == 3 && x.shape[2] == inputSize,
                    "\(fn): x has shape \(x.shape), expected \(batchFirst ? "[batch, T" : "[T, batch"), \(inputSize)]")
        let (steps, batch) = batchFirst ? (x.shape[1], x.shape[0]) : (x.shape[0], x.shape[1])
        try require(steps >= 1 && batch >= 1, "\(fn): x has shape \(x.shape): T and batch must be positive")
        let lengths = lengths ?? Array(repeating: steps, count: batch)
        try require(lengths.count == batch, "\(fn): \(lengths.count) lengths for a batch of \(batch)")
        try require(lengths.allSatisfy { $0 >= 1 && $0 <= steps },
                    "\(fn): lengths \(lengths) must each be in 1...\(steps)")
        try validateState(initialState, batch: batch, fn: fn, argument: "initialState")

        let layout = PackedLayout(steps: steps, lengths: lengths)
        let ws = workspace(for: layout)
        let dropout = training && options.dropout > 0 && options.numLayers > 1
        withPointers([x]) { p in pack(p[0], into: ws.packedInput, width: inputSize, layout) }

        for layer in 0..<options.numLayers {
            let input = ws.input(of: layer, dropout: dropout)
            for direction in 0..<directions {
                let u = layer * directions + direction
                try forwardUnit(u, input: input, ws.units[u], layout, initialState: initialState)
                if ws.outputs[layer] !== ws.units[u].h {
                    copyRows(layout.rows, count: outSize, from: ws.units[u].h.base, stride: outSize,
                             to: ws.outputs[layer].base + direction * outSize, stride: layerWidth)
                }
            }
            if dropout && layer + 1 < options.numLayers {
                drawMask(ws.masks[layer])
                multiply(ws.outputs[layer].base, by: ws.masks[layer].base, into: ws.dropped[layer].base,
                         count: layout.rows * layerWidth)
            }
        }

        let output = unpack(ws.outputs[options.numLayers - 1], width: layerWidth, layout)
        let h = gatherStates(ws.units.map(\.h), width: outSize, layout)
        let c = cell.isLSTM ? gatherStates(ws.units.map { $0.c! }, width: hiddenSize, layout) : nil
        saved = Saved(layout: layout, outputShape: output.shape, dropout: dropout)
        return (output, RecurrentState(h: h, c: c))
    }

    /// One layer-direction over all steps: the input GEMM, then per step the
    /// recurrent GEMM and the fused cell.
    private func forwardUnit(_ u: Int, input: FloatBuffer, _ b: UnitBuffers, _ layout: PackedLayout,
                             initialState: RecurrentState?) throws(GraphSeqError) {
        let unit = units[u], H = hiddenSize, O = outSize, G = cell.gates * H, N = layout.rows
        try withParameters(unit, gradients: false) { (w) throws(GraphSeqError) in
            try sgemm(transposeB: true, m: N, n: G, k: unit.inputWidth, input.base, lda: unit.inputWidth,
                      w.inputWeight, ldb: unit.inputWidth, b.gates.base, ldc: G)
            if let bias = b.bias, let bih = w.inputBias, let bhh = w.hiddenBias {
                bias.base.update(from: bih, count: G)
                axpy(1, bhh, bias.base, count: G)
            }
            let recurrent = try packedRecurrentWeights(w, backward: false)
            scatterInitialState(initialState?.h, unit: u, width: O, into: b.hPrev, reverse: unit.reverse, layout)
            if let cPrev = b.cPrev {
                scatterInitialState(initialState?.c, unit: u, width: H, into: cPrev, reverse: unit.reverse, layout)
            }
            for t in layout.steps(reverse: unit.reverse) {
                let o = layout.offsets[t], rows = layout.batchSizes[t]
                if !b.chained, let p = layout.predecessor(of: t, reverse: unit.reverse) {
                    let carried = min(rows, layout.batchSizes[p]), from = layout.offsets[p]
                    (b.hPrev.base + o * O).update(from: b.h.base + from * O, count: carried * O)
                    if let cPrev = b.cPrev, let c = b.c {
                        (cPrev.base + o * H).update(from: c.base + from * H, count: carried * H)
                    }
                }
                try forwardStep(rows: rows, at: o, w, recurrent, b)
            }
        }
    }

    /// The recurrent products' B matrices, packed once per sequence: [0] the
    /// hidden weight (for GRU reset-before-product, its r z columns; [1] its
    /// n columns), [1] an LSTM's projection. Forward multiplies by their
    /// transposes, backward by the matrices themselves.
    private func packedRecurrentWeights(_ w: ParameterPointers, backward: Bool) throws(GraphSeqError)
        -> [PackedMatrix] {
        let H = hiddenSize, O = outSize, G = cell.gates * H
        // W is rows x cols; forward needs op(B) = W^T, backward W.
        func pack(_ p: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int) throws(GraphSeqError) -> PackedMatrix {
            backward ? try PackedMatrix(transposed: false, k: rows, n: cols, p, ldb: ld)
                : try PackedMatrix(transposed: true, k: cols, n: rows, p, ldb: ld)
        }
        switch cell {
        case .rnn:
            return [try pack(w.hiddenWeight, rows: H, cols: H, ld: H)]
        case .lstm:
            var list = [try pack(w.hiddenWeight, rows: G, cols: O, ld: O)]
            if let whr = w.projectionWeight { list.append(try pack(whr, rows: O, cols: H, ld: H)) }
            return list
        case .gru(.linearBeforeReset):
            return [try pack(w.hiddenWeight, rows: G, cols: H, ld: H)]
        case .gru(.resetBeforeProduct):
            return [try pack(w.hiddenWeight, rows: 2 * H, cols: H, ld: H),
                    try pack(w.hiddenWeight + 2 * H * H, rows: H, cols: H, ld: H)]
        }
    }

    /// One step's recurrent GEMM and cell on `rows` rows from packed row `o`.
    private func forwardStep(rows: Int, at o: Int, _ w: ParameterPointers, _ r: [PackedMatrix],
                             _ b: UnitBuffers) throws(GraphSeqError) {
        let H = hiddenSize, O = outSize, G = cell.gates * H
        let gates = b.gates.base + o * G, hPrev = b.hPrev.base + o * O, h = b.h.base + o * O
        let bias = b.bias?.base
        switch cell {
        case .rnn(let activation):
            try sgemm(m: rows, hPrev, lda: H, r[0], beta: 1, gates, ldc: H)
            try check(gsq_rnn_cell_forward(Int64(rows), Int64(H), activation.c, gates, bias, h))
        case .lstm(let flags):
            try sgemm(m: rows, hPrev, lda: O, r[0], beta: 1, gates, ldc: G)
            let cellOutput = b.hRaw.map { $0.base + o * H } ?? h
            try check(gsq_lstm_cell_forward(Int64(rows), Int64(H), flags.rawValue, gates, bias, w.peephole,
                                            b.cPrev!.base + o * H, b.c!.base + o * H, cellOutput))
            if w.projectionWeight != nil { try sgemm(m: rows, cellOutput, lda: H, r[1], h, ldc: O) }
        case .gru(.linearBeforeReset):
            let gh = b.hiddenGates!.base + o * G
            try sgemm(m: rows, hPrev, lda: H, r[0], gh, ldc: G)
            try check(gsq_gru_cell_forward(Int64(rows), Int64(H), gates, gh, w.inputBias, w.hiddenBias, hPrev, h))
        case .gru(.resetBeforeProduct):
            let rh = b.resetHidden!.base + o * H
            try sgemm(m: rows, hPrev, lda: H, r[0], beta: 1, gates, ldc: G)
            try check(gsq_gru_rb_gates_forward(Int64(rows), Int64(H), gates, bias, hPrev, rh))
            try sgemm(m: rows, rh, lda: H, r[1], beta: 1, gates + 2 * H, ldc: G)
            try check(gsq_gru_rb_output_forward(Int64(rows), Int64(H), gates, bias, hPrev, h))
        }
    }

    // MARK: - Backward

    /// Without `inputGradient`, dL/dx is not computed (nil): the first
    /// layer skips its dx GEMM.
    func backward(_ outputGradient: Tensor, stateGradient: RecurrentState?, inputGradient: Bool)
        throws(GraphSeqError) -> (input: Tensor?, initialState: RecurrentState) {
        let fn = "\(name).\(inputGradient ? "backward" : "backwardParameters")"
        guard let saved, let ws = workspace else { throw .invalidArgument("\(fn): called before forward") }
        let layout = saved.layout
        try require(outputGradient.shape == saved.outputShape,
                    "\(fn): outputGradient has shape \(outputGradient.shape), expected \(saved.outputShape)")
        try validateState(stateGradient, batch: layout.batch, fn: fn, argument: "stateGradient")
        let bw = ws.backwardBuffers()
        let dh0 = Tensor(shape: [units.count, layout.batch, outSize])
        let dc0 = cell.isLSTM ? Tensor(shape: [units.count, layout.batch, hiddenSize]) : nil

        withPointers([outputGradient]) { p in pack(p[0], into: bw.outputGradient, width: layerWidth, layout) }
        var dY = bw.outputGradient, dXUpper = bw.upperInputGradient
        for layer in (0..<options.numLayers).reversed() {
            let input = ws.input(of: layer, dropout: saved.dropout)
            let dX = layer > 0 ? dXUpper : inputGradient ? bw.inputGradient : nil
            for direction in 0..<directions {
                let u = layer * directions + direction
                try backwardUnit(u, dY: dY, column: direction * outSize, input: input, dX: dX,
                                 accumulate: direction > 0, ws.units[u], bw, layout,
                                 stateGradient: stateGradient, dh0: dh0, dc0: dc0)
            }
            if layer > 0, let dX {
                if saved.dropout {
                    multiply(dX.base, by: ws.masks[layer - 1].base, into: dX.base, count: layout.rows * layerWidth)
                }
                (dY, dXUpper) = (dX, dY)
            }
        }
        let dx = inputGradient ? unpack(bw.inputGradient, width: inputSize, layout) : nil
        return (dx, RecurrentState(h: dh0, c: dc0))
    }

    /// One layer-direction backward: per step (in reverse processing order)
    /// the fused cell backward and the GEMM for dL/dh_prev, then the weight
    /// gradients and dL/dx (unless `dX` is nil) as one GEMM each over all steps.
    private func backwardUnit(_ u: Int, dY: FloatBuffer, column: Int, input: FloatBuffer, dX: FloatBuffer?,
                              accumulate addToDX: Bool, _ b: UnitBuffers, _ bw: BackwardBuffers,
                              _ layout: PackedLayout, stateGradient: RecurrentState?,
                              dh0: Tensor, dc0: Tensor?) throws(GraphSeqError) {
        let unit = units[u], H = hiddenSize, O = outSize, G = cell.gates * H, N = layout.rows
        let width = unit.inputWidth, reverse = unit.reverse

        // dL/dh of every step: this direction's output gradient, plus the
        // final-state gradient at each sequence's last step; recurrent
        // contributions are added per step.
        copyRows(N, count: O, from: dY.base + column, stride: layerWidth, to: bw.dH.base, stride: O)
        addFinalStateGradient(stateGradient?.h, unit: u, width: O, into: bw.dH, reverse: reverse, layout)
        if let dC = bw.dC {
            dC.zero()
            addFinalStateGradient(stateGradient?.c, unit: u, width: H, into: dC, reverse: reverse, layout)
        }
        bw.dBias.zero()

        try withParameters(unit, gradients: false) { (w) throws(GraphSeqError) in
            let recurrent = try packedRecurrentWeights(w, backward: true)
            try withParameters(unit, gradients: true) { (g) throws(GraphSeqError) in
                for t in layout.steps(reverse: reverse).reversed() {
                    let o = layout.offsets[t], rows = layout.batchSizes[t]
                    if let s = layout.successor(of: t, reverse: reverse) {
                        let carried = min(rows, layout.batchSizes[s]), from = layout.offsets[s]
                        axpy(1, bw.dHPrev.base + from * O, bw.dH.base + o * O, count: carried * O)
                        if let dC = bw.dC, let dCPrev = bw.dCPrev {
                            axpy(1, dCPrev.base + from * H, dC.base + o * H, count: carried * H)
                        }
                    }
                    try backwardStep(rows: rows, at: o, w, recurrent, g, b, bw)
                }

                // Weight gradients and dL/dx over all steps at once.
                let dGates = bw.dGates.base
                try sgemm(transposeA: true, m: G, n: width, k: N, dGates, lda: G, input.base, ldb: width,
                          beta: 1, g.inputWeight, ldc: width)
                if let dX {
                    try sgemm(m: N, n: width, k: G, dGates, lda: G, w.inputWeight, ldb: width,
                              beta: addToDX ? 1 : 0, dX.base, ldc: width)
                }
                switch cell {
                case .gru(.linearBeforeReset):
                    try sgemm(transposeA: true, m: G, n: H, k: N, bw.dHiddenGates!.base, lda: G,
                              b.hPrev.base, ldb: H, beta: 1, g.hiddenWeight, ldc: H)
                case .gru(.resetBeforeProduct):
                    try sgemm(transposeA: true, m: 2 * H, n: H, k: N, dGates, lda: G, b.hPrev.base, ldb: H,
                              beta: 1, g.hiddenWeight, ldc: H)
                    try sgemm(transposeA: true, m: H, n: H, k: N, dGates + 2 * H, lda: G,
                              b.resetHidden!.base, ldb: H, beta: 1, g.hiddenWeight + 2 * H * H, ldc: H)
                default:
                    try sgemm(transposeA: true, m: G, n: O, k: N, dGates, lda: G, b.hPrev.base, ldb: O,
                              beta: 1, g.hiddenWeight, ldc: O)
                }
                if let dwhr = g.projectionWeight {
                    try sgemm(transposeA: true, m: O, n: H, k: N, bw.dH.base, lda: O, b.hRaw!.base, ldb: H,
                              beta: 1, dwhr, ldc: H)
                }
                // (The linear-before-reset GRU cell accumulated both biases itself.)
                if cell != .gru(.linearBeforeReset), let dbih = g.inputBias, let dbhh = g.hiddenBias {
                    axpy(1, bw.dBias.base, dbih, count: G)
                    axpy(1, bw.dBias.base, dbhh, count: G)
                }
            }
        }
        gatherInitialStateGradient(bw.dHPrev, width: O, unit: u, into: dh0, reverse: reverse, layout)
        if let dc0, let dCPrev = bw.dCPrev {
            gatherInitialStateGradient(dCPrev, width: H, unit: u, into: dc0, reverse: reverse, layout)
        }
    }

    /// One step backward on `rows` rows from packed row `o`: from dL/dh (and
    /// dL/dc) of the step, writes the gate gradients and dL/dh_prev (and
    /// dL/dc_prev) at the step's rows.
    private func backwardStep(rows: Int, at o: Int, _ w: ParameterPointers, _ r: [PackedMatrix],
                              _ g: ParameterPointers, _ b: UnitBuffers, _ bw: BackwardBuffers) throws(GraphSeqError) {
        let H = hiddenSize, O = outSize, G = cell.gates * H
        let gates = b.gates.base + o * G, hPrev = b.hPrev.base + o * O, dh = bw.dH.base + o * O
        let dGates = bw.dGates.base + o * G, dHPrev = bw.dHPrev.base + o * O
        let dBias = g.inputBias == nil ? nil : bw.dBias.base
        switch cell {
        case .rnn(let activation):
            try check(gsq_rnn_cell_backward(Int64(rows), Int64(H), activation.c, b.h.base + o * O, dh,
                                            dGates, dBias))
            try sgemm(m: rows, dGates, lda: H, r[0], dHPrev, ldc: H)
        case .lstm(let flags):
            var cellDh = dh
            if w.projectionWeight != nil {
                cellDh = bw.scratch!.base
                try sgemm(m: rows, dh, lda: O, r[1], cellDh, ldc: H)
            }
            try check(gsq_lstm_cell_backward(Int64(rows), Int64(H), flags.rawValue, gates, w.peephole,
                                             b.cPrev!.base + o * H, b.c!.base + o * H, cellDh,
                                             bw.dC!.base + o * H, dGates, bw.dCPrev!.base + o * H,
                                             g.peephole, dBias))
            try sgemm(m: rows, dGates, lda: G, r[0], dHPrev, ldc: O)
        case .gru(.linearBeforeReset):
            let dgh = bw.dHiddenGates!.base + o * G
            try check(gsq_gru_cell_backward(Int64(rows), Int64(H), gates, b.hiddenGates!.base + o * G, hPrev, dh,
                                            dGates, dgh, dHPrev, g.inputBias, g.hiddenBias))
            try sgemm(m: rows, dgh, lda: G, r[0], beta: 1, dHPrev, ldc: H)
        case .gru(.resetBeforeProduct):
            let drh = bw.scratch!.base
            try check(gsq_gru_rb_output_backward(Int64(rows), Int64(H), gates, hPrev, dh, dGates, dHPrev, dBias))
            try sgemm(m: rows, dGates + 2 * H, lda: G, r[1], drh, ldc: H)
            try check(gsq_gru_rb_gates_backward(Int64(rows), Int64(H), gates, hPrev, drh, dGates, dHPrev, dBias))
            try sgemm(m: rows, dGates, lda: G, r[0], beta: 1, dHPrev, ldc: H)
        }
    }

    // MARK: - Dropout

    /// The masks of the last forward, one per layer but the last, in the
    /// output's layout ([T, batch, directions * outSize], or batch-first):
    /// 0 or 1 / (1 - dropout) where a sequence is valid, 0 past its end.
    /// Empty when that forward ran without dropout.
    var dropoutMasks: [Tensor] {
        guard let saved, saved.dropout, let ws = workspace else { return [] }
        return ws.masks.map { unpack($0, width: layerWidth, saved.layout) }
    }

    /// Inverted dropout: each element is kept with probability 1 - p and
    /// scaled by 1 / (1 - p); the generator advances with every forward.
    private func drawMask(_ mask: FloatBuffer) {
        let p = options.dropout, scale = 1 / (1 - p)
        for i in 0..<mask.count { mask.base[i] = dropoutGenerator.nextUnitFloat() < p ? 0 : scale }
    }

    // MARK: - Validation

    /// Throws unless `state` is nil or has h [units, batch, outSize] and, for
    /// an LSTM, c nil or [units, batch, hidden]; other cells take no c.
    private func validateState(_ state: RecurrentState?, batch: Int, fn: String,
                               argument: String) throws(GraphSeqError) {
        guard let state else { return }
        let h = [units.count, batch, outSize], c = [units.count, batch, hiddenSize]
        try require(state.h.shape == h, "\(fn): \(argument).h has shape \(state.h.shape), expected \(h)")
        guard let cs = state.c else { return }
        try require(cell.isLSTM, "\(fn): \(argument).c must be nil for \(name), which has no cell state")
        try require(cs.shape == c, "\(fn): \(argument).c has shape \(cs.shape), expected \(c)")
    }

    // MARK: - Layout conversions

    /// packed[offsets[t] + i] = x[t, order[i]] (x in the user's layout).
    private func pack(_ x: UnsafePointer<Float>, into packed: FloatBuffer, width: Int, _ layout: PackedLayout) {
        for t in 0..<layout.steps {
            for i in 0..<layout.batchSizes[t] {
                let source = layout.unpackedOffset(t, layout.order[i], width: width, batchFirst: options.batchFirst)
                (packed.base + (layout.offsets[t] + i) * width).update(from: x + source, count: width)
            }
        }
    }

    /// The inverse of `pack`, zero past each sequence's end.
    private func unpack(_ packed: FloatBuffer, width: Int, _ layout: PackedLayout) -> Tensor {
        let shape = options.batchFirst ? [layout.batch, layout.steps, width] : [layout.steps, layout.batch, width]
        // Zeros are needed only past the ends of shorter sequences.
        let y = Tensor(shape: shape, zeroed: layout.rows < layout.steps * layout.batch)
        withPointers([y]) { p in
            for t in 0..<layout.steps {
                for i in 0..<layout.batchSizes[t] {
                    let target = layout.unpackedOffset(t, layout.order[i], width: width, batchFirst: options.batchFirst)
                    (p[0] + target).update(from: packed.base + (layout.offsets[t] + i) * width, count: width)
                }
            }
        }
        return y
    }

    /// Writes unit u's initial state (zeros for nil) at each sequence's first
    /// processed row of `buffer`.
    private func scatterInitialState(_ state: Tensor?, unit u: Int, width: Int, into buffer: FloatBuffer,
                                     reverse: Bool, _ layout: PackedLayout) {
        for i in 0..<layout.batch {
            let row = buffer.base + layout.initialRow(i, reverse: reverse) * width
            if let state {
                withPointers([state]) { p in
                    row.update(from: p[0] + (u * layout.batch + layout.order[i]) * width, count: width)
                }
            } else {
                row.update(repeating: 0, count: width)
            }
        }
    }

    /// Adds unit u's final-state gradient to each sequence's final row.
    private func addFinalStateGradient(_ gradient: Tensor?, unit u: Int, width: Int, into buffer: FloatBuffer,
                                       reverse: Bool, _ layout: PackedLayout) {
        guard let gradient else { return }
        withPointers([gradient]) { p in
            for i in 0..<layout.batch {
                axpy(1, p[0] + (u * layout.batch + layout.order[i]) * width,
                     buffer.base + layout.finalRow(i, reverse: reverse) * width, count: width)
            }
        }
    }

    /// dL/d(initial state) of unit u: the dL/dh_prev rows where sequences start.
    private func gatherInitialStateGradient(_ buffer: FloatBuffer, width: Int, unit u: Int, into t: Tensor,
                                            reverse: Bool, _ layout: PackedLayout) {
        withPointers([t]) { p in
            for i in 0..<layout.batch {
                (p[0] + (u * layout.batch + layout.order[i]) * width)
                    .update(from: buffer.base + layout.initialRow(i, reverse: reverse) * width, count: width)
            }
        }
    }

    /// The final states [units, batch, width] from each unit's saved states.
    private func gatherStates(_ buffers: [FloatBuffer], width: Int, _ layout: PackedLayout) -> Tensor {
        let s = Tensor(shape: [units.count, layout.batch, width])
        withPointers([s]) { p in
            for (u, buffer) in buffers.enumerated() {
                for i in 0..<layout.batch {
                    (p[0] + (u * layout.batch + layout.order[i]) * width)
                        .update(from: buffer.base + layout.finalRow(i, reverse: units[u].reverse) * width,
                                count: width)
                }
            }
        }
        return s
    }

    // MARK: - Buffers

    /// The workspace for `layout`: the last one when the packed shape is the
    /// same, so repeated calls allocate nothing.
    private func workspace(for layout: PackedLayout) -> Workspace {
        let chained = layout.batchSizes.allSatisfy { $0 == layout.batch }
        if let ws = workspace, ws.rows == layout.rows, ws.batch == layout.batch, ws.chained == chained {
            return ws
        }
        let ws = Workspace(self, rows: layout.rows, batch: layout.batch, chained: chained)
        workspace = ws
        return ws
    }

    /// Saved activations of one unit, at packed rows.
    fileprivate final class UnitBuffers {
        /// The gate pre-activations, then (after the cell) activations.
        let gates: FloatBuffer
        /// GRU (linear before reset): h_prev W_hh^T, its n slot plus b_hn.
        let hiddenGates: FloatBuffer?
        /// The state each step read, and the state it wrote.
        let hPrev: FloatBuffer, h: FloatBuffer
        let cPrev: FloatBuffer?, c: FloatBuffer?
        /// Whether every step has the whole batch, so that hPrev (cPrev) is a
        /// view of h (c) one step behind in processing order, with the
        /// initial state in the extra step: no per-step copies.
        let chained: Bool
        /// LSTM with projection: the cell's h before W_hr.
        let hRaw: FloatBuffer?
        /// GRU (reset before product): r * h_prev.
        let resetHidden: FloatBuffer?
        /// b_ih + b_hh, for the cells that take one bias.
        let bias: FloatBuffer?

        init(_ e: RecurrentEngine, rows n: Int, batch: Int, reverse: Bool, chained: Bool) {
            let H = e.hiddenSize, G = e.cell.gates * H
            /// [previous, current] states of `width` per row.
            func states(_ width: Int) -> (FloatBuffer, FloatBuffer) {
                guard chained else { return (FloatBuffer(n * width), FloatBuffer(n * width)) }
                let track = FloatBuffer((n + batch) * width), step = batch * width
                let early = FloatBuffer(viewing: track, offset: 0, count: n * width)
                let late = FloatBuffer(viewing: track, offset: step, count: n * width)
                return reverse ? (late, early) : (early, late)
            }
            self.chained = chained
            gates = FloatBuffer(n * G)
            (hPrev, h) = states(e.outSize)
            let lstm = e.cell.isLSTM
            (cPrev, c) = lstm ? states(H) : (nil, nil)
            hRaw = lstm && e.outSize != H ? FloatBuffer(n * H) : nil
            hiddenGates = e.cell == .gru(.linearBeforeReset) ? FloatBuffer(n * G) : nil
            resetHidden = e.cell == .gru(.resetBeforeProduct) ? FloatBuffer(n * H) : nil
            bias = e.options.bias && e.cell != .gru(.linearBeforeReset) ? FloatBuffer(G) : nil
        }
    }

    /// Gradient buffers shared by all units (they run one after the other).
    fileprivate final class BackwardBuffers {
        let dGates: FloatBuffer
        let dHiddenGates: FloatBuffer?
        /// dL/dh of each step, and dL/dh_prev (dL/dc, dL/dc_prev for LSTM).
        let dH: FloatBuffer, dHPrev: FloatBuffer
        let dC: FloatBuffer?, dCPrev: FloatBuffer?
        /// One step's dL/d(cell h) with projection, or dL/d(r h_prev) for GRU.
        let scratch: FloatBuffer?
        let dBias: FloatBuffer
        /// dL/dx of layer 0, of the upper layers, and the output gradient.
        let inputGradient: FloatBuffer, upperInputGradient: FloatBuffer?, outputGradient: FloatBuffer

        init(_ e: RecurrentEngine, rows n: Int, batch: Int) {
            let H = e.hiddenSize, G = e.cell.gates * H, O = e.outSize, lstm = e.cell.isLSTM
            dGates = FloatBuffer(n * G)
            dHiddenGates = e.cell == .gru(.linearBeforeReset) ? FloatBuffer(n * G) : nil
            dH = FloatBuffer(n * O)
            dHPrev = FloatBuffer(n * O)
            dC = lstm ? FloatBuffer(n * H) : nil
            dCPrev = lstm ? FloatBuffer(n * H) : nil
            scratch = (lstm && O != H) || e.cell == .gru(.resetBeforeProduct) ? FloatBuffer(batch * H) : nil
            dBias = FloatBuffer(G)
            inputGradient = FloatBuffer(n * e.inputSize)
            upperInputGradient = e.options.numLayers > 1 ? FloatBuffer(n * e.layerWidth) : nil
            outputGradient = FloatBuffer(n * e.layerWidth)
        }
    }

    /// Everything one forward shape needs, allocated once.
    fileprivate final class Workspace {
        let rows: Int, batch: Int, chained: Bool
        let packedInput: FloatBuffer
        let units: [UnitBuffers]
        /// Each layer's output (a single direction's unit h itself), and
        /// (between layers) its mask and masked copy.
        let outputs: [FloatBuffer]
        let masks: [FloatBuffer], dropped: [FloatBuffer]
        private unowned let engine: RecurrentEngine
        private var backward: BackwardBuffers?

        init(_ e: RecurrentEngine, rows: Int, batch: Int, chained: Bool) {
            (self.rows, self.batch, self.chained) = (rows, batch, chained)
            engine = e
            packedInput = FloatBuffer(rows * e.inputSize)
            units = e.units.map { UnitBuffers(e, rows: rows, batch: batch, reverse: $0.reverse, chained: chained) }
            outputs = e.options.directions == 1 ? units.map(\.h)
                : (0..<e.options.numLayers).map { _ in FloatBuffer(rows * e.layerWidth) }
            let between = e.options.dropout > 0 ? e.options.numLayers - 1 : 0
            masks = (0..<between).map { _ in FloatBuffer(rows * e.layerWidth) }
            dropped = (0..<between).map { _ in FloatBuffer(rows * e.layerWidth) }
        }

        /// What layer `layer` reads: x, or the previous layer's (masked) output.
        func input(of layer: Int, dropout: Bool) -> FloatBuffer {
            layer == 0 ? packedInput : dropout ? dropped[layer - 1] : outputs[layer - 1]
        }

        func backwardBuffers() -> BackwardBuffers {
            if let backward { return backward }
            let b = BackwardBuffers(engine, rows: rows, batch: batch)
            backward = b
            return b
        }
    }
}

// MARK: - Raw helpers

/// Addresses of a unit's parameters (values or gradients), valid inside
/// `withParameters`.
private struct ParameterPointers {
    let inputWeight: UnsafeMutablePointer<Float>
    let hiddenWeight: UnsafeMutablePointer<Float>
    let inputBias: UnsafeMutablePointer<Float>?
    let hiddenBias: UnsafeMutablePointer<Float>?
    let projectionWeight: UnsafeMutablePointer<Float>?
    let peephole: UnsafeMutablePointer<Float>?
}

private func withParameters<R>(_ unit: RecurrentEngine.Unit, gradients: Bool,
                               _ body: (ParameterPointers) throws(GraphSeqError) -> R) throws(GraphSeqError) -> R {
    let all = [unit.inputWeight, unit.hiddenWeight, unit.inputBias, unit.hiddenBias,
               unit.projectionWeight, unit.peephole]
    let present = all.compactMap { $0.map { gradients ? $0.gradient : $0.value } }
    return try withPointers(present) { (p) throws(GraphSeqError) in
        var next = p.makeIterator()
        let q = all.map { $0 == nil ? nil : next.next() }
        return try body(ParameterPointers(inputWeight: q[0]!, hiddenWeight: q[1]!, inputBias: q[2],
                                          hiddenBias: q[3], projectionWeight: q[4], peephole: q[5]))
    }
}

/// A float array owned by the engine (saved activations and gradients): its
/// address is stable for its lifetime, so the engine passes it to the kernels.
private final class FloatBuffer {
    let base: UnsafeMutablePointer<Float>
    let count: Int
    /// The buffer this one is a view of (nil: it owns its memory).
    private let owner: FloatBuffer?

    init(_ count: Int) {
        self.count = count
        owner = nil
        base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride,
                                                alignment: 64).bindMemory(to: Float.self, capacity: max(count, 1))
        base.initialize(repeating: 0, count: count)
    }

    /// Elements [offset, offset + count) of `owner`.
    init(viewing owner: FloatBuffer, offset: Int, count: Int) {
        precondition(offset >= 0 && offset + count <= owner.count, "FloatBuffer: view out of range")
        (self.owner, base, self.count) = (owner, owner.base + offset, count)
    }

    deinit { if owner == nil { base.deallocate() } }

    func zero() { base.update(repeating: 0, count: count) }
}

/// out[i] = a[i] * b[i] for i < count (out may be a).
private func multiply(_ a: UnsafePointer<Float>, by b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                      count: Int) {
    let n16 = count / 16
    let pa = UnsafeRawPointer(a), pb = UnsafeRawPointer(b), po = UnsafeMutableRawPointer(out)
    for i in 0..<n16 {
        let v = pa.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
            * pb.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
        po.storeBytes(of: v, toByteOffset: i * 64, as: SIMD16<Float>.self)
    }
    for i in (n16 * 16)..<count { out[i] = a[i] * b[i] }
}

/// Copies `rows` rows of `count` floats between row-major buffers whose
/// rows are `stride` floats apart.
private func copyRows(_ rows: Int, count: Int, from src: UnsafePointer<Float>, stride srcStride: Int,
                      to dst: UnsafeMutablePointer<Float>, stride dstStride: Int) {
    for r in 0..<rows { (dst + r * dstStride).update(from: src + r * srcStride, count: count) }
}
