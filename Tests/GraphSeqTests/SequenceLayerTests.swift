import GraphSeq
import TestSupport
import XCTest

/// RNN, LSTM and GRU layers against the double reference: forward, final
/// states and every gradient (x, h0, c0, each parameter) against central
/// finite differences of the reference, under every ISA cap and thread
/// count, bitwise identical across thread counts.
final class SequenceLayerTests: XCTestCase {
    /// One configuration to check.
    struct Case {
        var cell: RecurrentReference.Cell
        var inputSize = 3
        var hiddenSize = 4
        var options = RecurrentOptions()
        var steps = 4
        var lengths = [4, 1, 3]
        var initialState = true
        var seed: UInt64 = 1

        var batch: Int { lengths.count }
        var reference: RecurrentReference {
            RecurrentReference(cell: cell, inputSize: inputSize, hiddenSize: hiddenSize,
                               numLayers: options.numLayers, bidirectional: options.bidirectional,
                               bias: options.bias, batchFirst: options.batchFirst)
        }

        func makeLayer() throws -> any SequenceLayer {
            switch cell {
            case .rnn(let relu):
                try RNN(inputSize: inputSize, hiddenSize: hiddenSize, activation: relu ? .relu : .tanh,
                        options: options, seed: seed)
            case .lstm(let peephole, let coupled, let projection):
                try LSTM(inputSize: inputSize, hiddenSize: hiddenSize, options: options, peephole: peephole,
                         coupledInputForget: coupled, projectionSize: projection, seed: seed)
            case .gru(let resetBeforeProduct):
                try GRU(inputSize: inputSize, hiddenSize: hiddenSize, options: options,
                        form: resetBeforeProduct ? .resetBeforeProduct : .linearBeforeReset, seed: seed)
            }
        }
    }

    private static let allCells: [(String, RecurrentReference.Cell)] = [
        ("rnn_tanh", .rnn(relu: false)), ("rnn_relu", .rnn(relu: true)),
        ("lstm", .lstm(peephole: false, coupled: false, projectionSize: 0)),
        ("lstm_peephole", .lstm(peephole: true, coupled: false, projectionSize: 0)),
        ("lstm_coupled_peephole", .lstm(peephole: true, coupled: true, projectionSize: 0)),
        ("lstm_projection", .lstm(peephole: false, coupled: false, projectionSize: 2)),
        ("gru", .gru(resetBeforeProduct: false)), ("gru_reset_before_product", .gru(resetBeforeProduct: true)),
    ]

    func testEachCellMatchesReference() throws {
        for (name, cell) in Self.allCells {
            try verify(Case(cell: cell), name)
            // Every step with the whole batch: states chained in place.
            try verify(Case(cell: cell, lengths: [4, 4, 4]), name + "_full_length")
        }
    }

    func testStackedBidirectionalWithUnsortedLengths() throws {
        let options = RecurrentOptions(numLayers: 2, bidirectional: true)
        for (name, cell) in [("rnn", RecurrentReference.Cell.rnn(relu: false)),
                             ("lstm_peephole_projection", .lstm(peephole: true, coupled: false, projectionSize: 2)),
                             ("gru", .gru(resetBeforeProduct: false)),
                             ("gru_reset_before_product", .gru(resetBeforeProduct: true))] {
            try verify(Case(cell: cell, hiddenSize: 3, options: options, steps: 4, lengths: [2, 4, 1]), name)
            try verify(Case(cell: cell, hiddenSize: 3, options: options, steps: 3, lengths: [3, 3]),
                       name + "_full_length")
        }
        // Zero initial state and equal lengths: the plain batch.
        try verify(Case(cell: .lstm(peephole: false, coupled: true, projectionSize: 0), options: options,
                        steps: 3, lengths: [3, 3], initialState: false), "lstm_coupled_full_length")
    }

    func testBatchFirstAndNoBias() throws {
        try verify(Case(cell: .gru(resetBeforeProduct: false),
                        options: RecurrentOptions(bidirectional: true, batchFirst: true), lengths: [3, 4, 1, 2]),
                   "gru_batch_first")
        try verify(Case(cell: .lstm(peephole: true, coupled: false, projectionSize: 3),
                        options: RecurrentOptions(bias: false, batchFirst: true), lengths: [1, 4]), "lstm_no_bias")
    }

    /// A second forward with the same packed size but other lengths reuses
    /// the workspace and must still be right.
    func testWorkspaceReuseAcrossLengths() throws {
        let c = Case(cell: .lstm(peephole: false, coupled: false, projectionSize: 0),
                     options: RecurrentOptions(bidirectional: true))
        let layer = try c.makeLayer()
        var rng = TestRNG(seed: 5)
        let x = try Tensor(shape: [c.steps, c.batch, c.inputSize], values: rng.floats(c.steps * c.batch * c.inputSize))
        let params = parameterValues(layer)
        for lengths in [[4, 1, 3], [3, 4, 1], [1, 3, 4]] {
            let y = try layer.forward(x, lengths: lengths, initialState: nil).output
            let expected = c.reference.forward(params, x: doubles(x.values), steps: c.steps, batch: c.batch,
                                               lengths: lengths)
            XCTAssertLessThanOrEqual(toleranceRatio(y.values, expected.output, rtol: 1e-5, atol: 1e-5), 1, "\(lengths)")
        }
        // The same packed size with and without an idle last step: states
        // chained in place, then copied per step, then chained again.
        let short = try Tensor(shape: [c.steps - 1, c.batch, c.inputSize],
                               values: Array(x.values.prefix((c.steps - 1) * c.batch * c.inputSize)))
        let full = Array(repeating: c.steps - 1, count: c.batch)
        for (input, steps, lengths) in [(short, c.steps - 1, nil), (x, c.steps, full), (short, c.steps - 1, nil)] {
            let y = try layer.forward(input, lengths: lengths, initialState: nil).output
            let expected = c.reference.forward(params, x: doubles(input.values), steps: steps, batch: c.batch,
                                               lengths: full)
            let valid = (c.steps - 1) * c.batch * 2 * c.hiddenSize
            XCTAssertLessThanOrEqual(toleranceRatio(Array(y.values.prefix(valid)), Array(expected.output.prefix(valid)),
                                                    rtol: 1e-5, atol: 1e-5), 1, "steps \(steps)")
        }
    }

    /// Dropout between layers: the masks the layer drew (read through the
    /// underscore accessor) fed to the reference give the same output, and
    /// the gradients equal finite differences of the reference with those
    /// masks held fixed. The masks advance with every forward and vanish in
    /// evaluation mode.
    func testDropoutInTrainingMode() throws {
        let c = Case(cell: .lstm(peephole: false, coupled: false, projectionSize: 0), hiddenSize: 3,
                     options: RecurrentOptions(numLayers: 2, bidirectional: true, dropout: 0.5))
        let layer = try XCTUnwrap(try c.makeLayer() as? LSTM)
        layer.setTraining(true)
        let data = CaseData(c, seed: 9)
        _ = try layer.forward(data.x, lengths: c.lengths, initialState: data.initial)
        let masks = layer._dropoutMasks
        XCTAssertEqual(masks.map(\.shape), [[c.steps, c.batch, 6]])
        let values = masks[0].values
        XCTAssertTrue(values.allSatisfy { $0 == 0 || $0 == 2 })
        XCTAssertTrue(values.contains(0) && values.contains(2))
        for t in 0..<c.steps { for b in 0..<c.batch where t >= c.lengths[b] {
            for k in 0..<6 { XCTAssertEqual(masks[0][t, b, k], 0) }
        } }
        try verify(c, "lstm_dropout", layer: layer, masks: masks.map { doubles($0.values) },
                   redrawsMasks: true)

        _ = try layer.forward(data.x, lengths: c.lengths, initialState: data.initial)
        XCTAssertNotEqual(layer._dropoutMasks[0].values, values, "the mask advances with every forward")

        layer.setTraining(false)
        let y = try layer.forward(data.x, lengths: c.lengths, initialState: data.initial).output
        XCTAssertTrue(layer._dropoutMasks.isEmpty)
        let expected = c.reference.forward(parameterValues(layer), x: doubles(data.x.values), steps: c.steps,
                                           batch: c.batch, lengths: c.lengths, h0: data.h0, c0: data.c0)
        XCTAssertLessThanOrEqual(toleranceRatio(y.values, expected.output, rtol: 1e-5, atol: 1e-5), 1)
    }

    func testBadInputThrows() throws {
        for options in [RecurrentOptions(numLayers: 0), RecurrentOptions(dropout: 1), RecurrentOptions(dropout: -0.1)] {
            XCTAssertThrowsError(try LSTM(inputSize: 2, hiddenSize: 3, options: options, seed: 1), "\(options)")
        }
        XCTAssertThrowsError(try LSTM(inputSize: 2, hiddenSize: 3, projectionSize: 3, seed: 1))
        XCTAssertThrowsError(try LSTM(inputSize: 2, hiddenSize: 3, projectionSize: -1, seed: 1))
        XCTAssertThrowsError(try GRU(inputSize: 0, hiddenSize: 3, seed: 1))
        XCTAssertThrowsError(try RNN(inputSize: 2, hiddenSize: 0, seed: 1))

        let lstm = try LSTM(inputSize: 2, hiddenSize: 3, options: RecurrentOptions(numLayers: 2), seed: 1)
        XCTAssertThrowsError(try lstm.backward(Tensor.zeros([4, 2, 3])))           // before forward
        XCTAssertThrowsError(try lstm.backwardParameters(Tensor.zeros([4, 2, 3]))) { error in
            XCTAssertTrue("\(error)".contains("backwardParameters: called before forward"), "\(error)")
        }
        XCTAssertThrowsError(try lstm.forward(Tensor.zeros([4, 2, 5])))            // wrong input size
        XCTAssertThrowsError(try lstm.forward(Tensor.zeros([4, 2])))               // wrong rank
        XCTAssertThrowsError(try lstm.forward(Tensor.zeros([0, 2, 2])))            // no steps
        let x = Tensor.zeros([4, 2, 2])
        for lengths in [[4], [4, 0], [5, 1], [4, 2, 1]] {
            XCTAssertThrowsError(try lstm.forward(x, lengths: lengths), "\(lengths)")
        }
        XCTAssertThrowsError(try lstm.forward(x, initialState: RecurrentState(h: Tensor.zeros([1, 2, 3]))))
        XCTAssertThrowsError(try lstm.forward(x, initialState: RecurrentState(h: Tensor.zeros([2, 2, 3]),
                                                                             c: Tensor.zeros([2, 3, 3]))))
        let gru = try GRU(inputSize: 2, hiddenSize: 3, seed: 1)
        XCTAssertThrowsError(try gru.forward(x, initialState: RecurrentState(h: Tensor.zeros([1, 2, 3]),
                                                                            c: Tensor.zeros([1, 2, 3]))))
        _ = try lstm.forward(x, lengths: [2, 4])
        XCTAssertThrowsError(try lstm.backward(Tensor.zeros([4, 2, 2])))           // wrong dy shape
        XCTAssertThrowsError(try lstm.backward(Tensor.zeros([4, 2, 3]),
                                               stateGradient: RecurrentState(h: Tensor.zeros([2, 1, 3]))))
        XCTAssertNoThrow(try lstm.backward(Tensor.zeros([4, 2, 3])))
    }

    func testStateDictMatchesTorchNamesAndRoundTrips() throws {
        let options = RecurrentOptions(numLayers: 2, bidirectional: true)
        let a = try LSTM(inputSize: 5, hiddenSize: 4, options: options, projectionSize: 3, seed: 1)
        // torch.nn.LSTM(5, 4, num_layers=2, bidirectional=True, proj_size=3).state_dict()
        var expected: [(String, [Int])] = []
        for layer in 0..<2 {
            for suffix in ["", "_reverse"] {
                let l = "_l\(layer)\(suffix)"
                expected += [("weight_ih" + l, [16, layer == 0 ? 5 : 6]), ("weight_hh" + l, [16, 3]),
                             ("bias_ih" + l, [16]), ("bias_hh" + l, [16]), ("weight_hr" + l, [3, 4])]
            }
        }
        XCTAssertEqual(a.stateDict().map(\.name), expected.map(\.0))
        XCTAssertEqual(a.stateDict().map(\.tensor.shape), expected.map(\.1))
        XCTAssertTrue(a.parameters.allSatisfy { $0.value.values.allSatisfy { abs($0) <= 0.5 } }, "init +-1/sqrt(4)")
        let peephole = try LSTM(inputSize: 2, hiddenSize: 4, peephole: true, seed: 1)
        XCTAssertEqual(peephole.stateDict().map(\.name).last, "weight_ch_l0")
        XCTAssertEqual(peephole.stateDict().last?.tensor.shape, [12])

        let b = try LSTM(inputSize: 5, hiddenSize: 4, options: options, projectionSize: 3, seed: 2)
        let x = Tensor.uniform([3, 2, 5], seed: 4)
        XCTAssertNotEqual(try a.forward(x).output.values, try b.forward(x).output.values)
        try b.loadStateDict(Dictionary(uniqueKeysWithValues: a.stateDict().map { ($0.name, $0.tensor) }))
        XCTAssertEqual(try a.forward(x).output.values, try b.forward(x).output.values)
        var wrong = Dictionary(uniqueKeysWithValues: a.stateDict().map { ($0.name, $0.tensor) })
        wrong["weight_hr_l1"] = Tensor.zeros([4, 3])
        XCTAssertThrowsError(try b.loadStateDict(wrong))
    }

    // MARK: - Driver

    /// Random inputs, initial states and upstream gradients for a case.
    struct CaseData {
        let x: Tensor, dy: Tensor
        let initial: RecurrentState?, stateGradient: RecurrentState
        var h0: [Double]? { initial.map { doubles($0.h.values) } }
        var c0: [Double]? { initial?.c.map { doubles($0.values) } }

        init(_ c: Case, seed: UInt64) {
            var rng = TestRNG(seed: seed)
            let ref = c.reference, units = c.options.numLayers * ref.directions
            func tensor(_ shape: [Int]) -> Tensor { try! Tensor(shape: shape, values: rng.floats(shape.reduce(1, *))) }
            let (T, B) = (c.steps, c.batch)
            x = tensor(c.options.batchFirst ? [B, T, c.inputSize] : [T, B, c.inputSize])
            dy = tensor(c.options.batchFirst ? [B, T, ref.directions * ref.outSize] : [T, B, ref.directions * ref.outSize])
            let cShape = [units, B, c.hiddenSize]
            initial = c.initialState
                ? RecurrentState(h: tensor([units, B, ref.outSize]), c: ref.isLSTM ? tensor(cShape) : nil) : nil
            stateGradient = RecurrentState(h: tensor([units, B, ref.outSize]), c: ref.isLSTM ? tensor(cShape) : nil)
        }
    }

    /// Checks `c` (or the given layer) in every configuration: output and
    /// final state against the reference, zeros past each length, every
    /// gradient against finite differences of the reference (computed once),
    /// and bitwise identity across thread counts. With `redrawsMasks` each
    /// configuration uses a fresh layer with the same seed, so the same masks.
    private func verify(_ c: Case, _ name: String, layer given: (any SequenceLayer)? = nil, masks: [[Double]] = [],
                        redrawsMasks: Bool = false) throws {
        let ref = c.reference, data = CaseData(c, seed: c.seed + 100)
        let (T, B) = (c.steps, c.batch)
        var layer = try given ?? c.makeLayer()
        let params = parameterValues(layer)
        let expected = ref.forward(params, x: doubles(data.x.values), steps: T, batch: B, lengths: c.lengths,
                                   h0: data.h0, c0: data.c0, masks: masks)

        // Finite differences of loss = <dy, y> + <dh_n, h_n> + <dc_n, c_n>.
        func loss(_ p: [String: [Double]], _ x: [Double], _ h0: [Double]?, _ c0: [Double]?) -> Double {
            let r = ref.forward(p, x: x, steps: T, batch: B, lengths: c.lengths, h0: h0, c0: c0, masks: masks)
            return projection(r.output, data.dy.values) + projection(r.h, data.stateGradient.h.values)
                + (ref.isLSTM ? projection(r.c, data.stateGradient.c!.values) : 0)
        }
        let x = doubles(data.x.values)
        var numeric: [(String, [Double])] = [("x", numericalGradient(at: x) { loss(params, $0, data.h0, data.c0) })]
        if let h0 = data.h0 {
            numeric.append(("h0", numericalGradient(at: h0) { loss(params, x, $0, data.c0) }))
        }
        if let c0 = data.c0 {
            numeric.append(("c0", numericalGradient(at: c0) { loss(params, x, data.h0, $0) }))
        }
        for (pname, _) in layer.namedParameters {
            numeric.append((pname, numericalGradient(at: params[pname]!) { v in
                var p = params
                p[pname] = v
                return loss(p, x, data.h0, data.c0)
            }))
        }

        var threadOneResults: [ISA: [Float]] = [:]
        try forEachConfiguration { isa, threads in
            let label = "\(name) \(isa) \(threads) threads"
            if redrawsMasks {
                layer = try c.makeLayer()
                layer.setTraining(true)
            }
            layer.zeroGradients()
            let (y, state) = try layer.forward(data.x, lengths: c.lengths, initialState: data.initial)
            XCTAssertLessThanOrEqual(toleranceRatio(y.values, expected.output, rtol: 1e-5, atol: 1e-5), 1, label)
            XCTAssertLessThanOrEqual(toleranceRatio(state.h.values, expected.h, rtol: 1e-5, atol: 1e-5), 1, label)
            XCTAssertLessThanOrEqual(toleranceRatio(state.c?.values ?? [], expected.c, rtol: 1e-5, atol: 1e-5), 1, label)
            let (dx, dState) = try layer.backward(data.dy, stateGradient: data.stateGradient)
            XCTAssertTrue(zeroPastLengths(y, c) && zeroPastLengths(dx, c), "\(label): nonzero past a length")

            var analytic: [String: [Float]] = ["x": dx.values, "h0": dState.h.values]
            analytic["c0"] = dState.c?.values
            for (pname, p) in layer.namedParameters { analytic[pname] = p.gradient.values }
            for (gname, expectedGradient) in numeric {
                XCTAssertLessThanOrEqual(toleranceRatio(analytic[gname] ?? [], expectedGradient, rtol: 1e-4, atol: 1e-4),
                                         1, "\(label): d\(gname)")
            }
            let all = y.values + state.h.values + (state.c?.values ?? []) + dx.values + dState.h.values
                + (dState.c?.values ?? []) + layer.parameters.flatMap(\.gradient.values)
            if let first = threadOneResults[isa] {
                XCTAssertNil(firstBitwiseDifference(all, first), "\(label) vs 1 thread")
            } else {
                threadOneResults[isa] = all
            }

            // Without dx: bitwise the same parameter and initial-state gradients.
            let withDX = layer.parameters.flatMap(\.gradient.values) + dState.h.values + (dState.c?.values ?? [])
            layer.zeroGradients()
            let d0 = try layer.backwardParameters(data.dy, stateGradient: data.stateGradient)
            XCTAssertNil(firstBitwiseDifference(layer.parameters.flatMap(\.gradient.values) + d0.h.values
                                                    + (d0.c?.values ?? []), withDX), "\(label): backwardParameters")
        }
    }

    /// Every element at a step past its sequence's length is exactly zero.
    private func zeroPastLengths(_ t: Tensor, _ c: Case) -> Bool {
        for b in 0..<c.batch {
            for s in c.lengths[b]..<c.steps {
                for k in 0..<t.shape[2] where (c.options.batchFirst ? t[b, s, k] : t[s, b, k]) != 0 { return false }
            }
        }
        return true
    }

    private func parameterValues(_ layer: any Layer) -> [String: [Double]] {
        Dictionary(uniqueKeysWithValues: layer.namedParameters.map { ($0.name, doubles($0.parameter.value.values)) })
    }
}
