import GraphSeq
import TestSupport
import XCTest

/// GConvLSTM, GConvGRU and the GCRN encoder-decoder against GCRNReference
/// (PyTorch Geometric Temporal written out in double precision) and its
/// finite differences.
final class GCRNTests: XCTestCase {
    /// A random symmetric weighted graph without self loops, as an edge list.
    struct TestGraph {
        let nodes: Int, rows: [Int32], columns: [Int32], weights: [Float]

        init(nodes n: Int, seed: UInt64) {
            var rng = TestRNG(seed: seed)
            var (r, c, w) = ([Int32](), [Int32](), [Float]())
            for i in 0..<n {
                for j in (i + 1)..<max(n, i + 1) where rng.float(0, 1) < 0.5 {
                    let v = rng.float(0.2, 1)
                    r += [Int32(i), Int32(j)]
                    c += [Int32(j), Int32(i)]
                    w += [v, v]
                }
            }
            (nodes, rows, columns, weights) = (n, r, c, w)
        }

        func graph() throws -> Graph { try Graph(nodeCount: nodes, rows: rows, columns: columns, weights: weights) }

        func reference(_ normalization: LaplacianNormalization, _ lambdaMax: Double) -> GCRNReference {
            GCRNReference(nodes: nodes, rows: rows, columns: columns, weights: weights,
                          normalization: normalization, lambdaMax: lambdaMax)
        }
    }

    struct Case {
        var lstm = true, peephole = true, bias = true, initialState = true
        var order = 3, normalization = LaplacianNormalization.symmetric, lambdaMax: Float = 2
        var nodes = 5, batch = 3, steps = 3
        let inputSize = 2, hiddenSize = 3
    }

    static func makeLayer(_ c: Case, seed: UInt64 = 7) throws -> any GraphSequenceLayer {
        c.lstm ? try GConvLSTM(inputSize: c.inputSize, hiddenSize: c.hiddenSize, order: c.order,
                               normalization: c.normalization, lambdaMax: c.lambdaMax,
                               peephole: c.peephole, bias: c.bias, seed: seed)
            : try GConvGRU(inputSize: c.inputSize, hiddenSize: c.hiddenSize, order: c.order,
                           normalization: c.normalization, lambdaMax: c.lambdaMax, bias: c.bias, seed: seed)
    }

    /// Randomises every parameter (biases and peepholes start at zero).
    static func randomize(_ layer: any Layer, seed: UInt64) {
        var rng = TestRNG(seed: seed)
        for (_, p) in layer.namedParameters {
            p.value.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] = rng.float(-0.6, 0.6) } }
        }
    }

    static func doubleDict(_ entries: [(name: String, tensor: Tensor)]) -> [String: [Double]] {
        Dictionary(uniqueKeysWithValues: entries.map { ($0.name, doubles($0.tensor.values)) })
    }

    /// The parameter gradients of `layer` in checkpoint form: loaded as the
    /// values of `scratch` (same configuration), read back through stateDict.
    static func gradientDict(_ layer: any Layer, scratch: any Layer) -> [String: [Float]] {
        for ((_, p), (_, q)) in zip(layer.namedParameters, scratch.namedParameters) {
            q.value.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: p.gradient.values, count: p.gradient.count) }
        }
        return Dictionary(uniqueKeysWithValues: scratch.stateDict().map { ($0.name, $0.tensor.values) })
    }

    func testForwardAndGradientsMatchReference() throws {
        let cases: [Case] = [
            Case(),
            Case(peephole: false, order: 2, normalization: .randomWalk),
            Case(bias: false, initialState: false, order: 1, nodes: 1, batch: 1, steps: 1),
            Case(order: 5, normalization: .none, lambdaMax: 3.5, nodes: 9, batch: 1, steps: 1),
            Case(lstm: false),
            Case(lstm: false, bias: false, initialState: false, order: 2, normalization: .none, lambdaMax: 4),
            Case(lstm: false, order: 5, normalization: .randomWalk, nodes: 9, batch: 1, steps: 1),
            Case(lstm: false, order: 1, nodes: 1, batch: 3, steps: 3),
        ]
        for (n, c) in cases.enumerated() {
            try checkAgainstReference(c, seed: UInt64(100 + n))
        }
    }

    private func checkAgainstReference(_ c: Case, seed: UInt64) throws {
        let label = "\(c)"
        let (T, N, B, F, H, K) = (c.steps, c.nodes, c.batch, c.inputSize, c.hiddenSize, c.order)
        let testGraph = TestGraph(nodes: N, seed: seed)
        let graph = try testGraph.graph()
        let ref = testGraph.reference(c.normalization, Double(c.lambdaMax))
        let layer = try Self.makeLayer(c), scratch = try Self.makeLayer(c, seed: 1)
        Self.randomize(layer, seed: seed)
        var rng = TestRNG(seed: seed + 1)
        let state = [N, B, H]
        let x = try Tensor(shape: [T, N, B, F], values: rng.floats(T * N * B * F))
        let h0 = try Tensor(shape: state, values: rng.floats(N * B * H))
        let c0 = try Tensor(shape: state, values: rng.floats(N * B * H))
        let dy = try Tensor(shape: [T, N, B, H], values: rng.floats(T * N * B * H))
        let dhT = try Tensor(shape: state, values: rng.floats(N * B * H))
        let dcT = try Tensor(shape: state, values: rng.floats(N * B * H))
        let initial = c.initialState ? RecurrentState(h: h0, c: c.lstm ? c0 : nil) : nil

        let (y, final) = try layer.forward(x, graph: graph, initialState: initial)
        let params = Self.doubleDict(layer.stateDict())
        let zeros = [Double](repeating: 0, count: N * B * H)
        let run = { (x: [Double], h0: [Double], c0: [Double], p: [String: [Double]]) in
            ref.sequence(x, steps: T, batch: B, inputSize: F, hiddenSize: H, order: K, h0: h0,
                         c0: c.lstm ? c0 : nil, p)
        }
        let (xd, h0d, c0d) = (doubles(x.values), c.initialState ? doubles(h0.values) : zeros,
                              c.initialState ? doubles(c0.values) : zeros)
        let expected = run(xd, h0d, c0d, params)
        XCTAssertLessThanOrEqual(toleranceRatio(y.values, expected.output, rtol: 1e-5, atol: 1e-5), 1, "y \(label)")
        XCTAssertLessThanOrEqual(toleranceRatio(final.h.values, expected.h, rtol: 1e-5, atol: 1e-5), 1, "h \(label)")
        if c.lstm {
            XCTAssertLessThanOrEqual(toleranceRatio(final.c!.values, expected.c, rtol: 1e-5, atol: 1e-5), 1,
                                     "c \(label)")
        }

        let (dx, d0) = try layer.backward(dy, stateGradient: RecurrentState(h: dhT, c: c.lstm ? dcT : nil))
        let loss = { (r: (output: [Double], h: [Double], c: [Double])) in
            projection(r.output, dy.values) + projection(r.h, dhT.values)
                + (c.lstm ? projection(r.c, dcT.values) : 0)
        }
        var checks = [
            ("x", dx.values, numericalGradient(at: xd) { loss(run($0, h0d, c0d, params)) }),
            ("h0", d0.h.values, numericalGradient(at: h0d) { loss(run(xd, $0, c0d, params)) }),
        ]
        if c.lstm { checks.append(("c0", d0.c!.values, numericalGradient(at: c0d) { loss(run(xd, h0d, $0, params)) })) }
        let grads = Self.gradientDict(layer, scratch: scratch)
        for (name, values) in params.sorted(by: { $0.key < $1.key }) {
            checks.append((name, grads[name]!, numericalGradient(at: values) { v in
                var p = params
                p[name] = v
                return loss(run(xd, h0d, c0d, p))
            }))
        }
        for (name, analytic, numeric) in checks {
            XCTAssertLessThanOrEqual(toleranceRatio(analytic, numeric, rtol: 1e-3, atol: 1e-4), 1,
                                     "d\(name) \(label)")
        }
    }

    func testStateDictNamesAndShapesArePyGTemporal() throws {
        // As printed by PyG-Temporal 0.56: GConvLSTM(2, 3, K=2).state_dict(), GConvGRU likewise.
        func convs(_ gate: String, bias: Bool) -> [(String, [Int])] {
            ["x", "h"].flatMap { side in
                (bias ? [("conv_\(side)_\(gate).bias", [3])] : [])
                    + (0..<2).map { ("conv_\(side)_\(gate).lins.\($0).weight", [3, side == "x" ? 2 : 3]) }
            }
        }
        func names(_ l: any Layer) -> [String] { l.stateDict().map(\.name) }
        func shapes(_ l: any Layer) -> [[Int]] { l.stateDict().map(\.tensor.shape) }
        let own = ["w_c_i", "b_i", "w_c_f", "b_f", "b_c", "w_c_o", "b_o"].map { ($0, [1, 3]) }
        for bias in [true, false] {
            let lstm = ["i", "f", "c", "o"].flatMap { convs($0, bias: bias) }
            let a = try GConvLSTM(inputSize: 2, hiddenSize: 3, order: 2, bias: bias, seed: 1)
            XCTAssertEqual(names(a), (own + lstm).map(\.0))
            XCTAssertEqual(shapes(a), (own + lstm).map(\.1))
            let b = try GConvLSTM(inputSize: 2, hiddenSize: 3, order: 2, peephole: false, bias: bias, seed: 1)
            XCTAssertEqual(names(b), (own.filter { !$0.0.hasPrefix("w_c") } + lstm).map(\.0))
            let gru = ["z", "r", "h"].flatMap { convs($0, bias: bias) }
            let g = try GConvGRU(inputSize: 2, hiddenSize: 3, order: 2, bias: bias, seed: 1)
            XCTAssertEqual(names(g), gru.map(\.0))
            XCTAssertEqual(shapes(g), gru.map(\.1))
        }
        // PyG-Temporal's init: Glorot weights and peepholes, zero biases.
        let a = try GConvLSTM(inputSize: 2, hiddenSize: 3, order: 2, seed: 1)
        for (name, t) in a.stateDict() {
            let bound: Float = name.hasPrefix("w_c") ? (6.0 / 4).squareRoot()
                : name.hasSuffix("weight") ? (6.0 / Float(3 + t.shape[1])).squareRoot() : 0
            XCTAssertTrue(t.values.allSatisfy { abs($0) <= bound }, name)
            XCTAssertEqual(t.values.allSatisfy { $0 == 0 }, bound == 0, name)
        }
    }

    func testStateDictLoadRoundTrip() throws {
        let g = try TestGraph(nodes: 5, seed: 3).graph()
        let x = Tensor.uniform([2, 5, 2, 2], seed: 4)
        for lstm in [true, false] {
            let c = Case(lstm: lstm)
            let a = try Self.makeLayer(c, seed: 1), b = try Self.makeLayer(c, seed: 2)
            Self.randomize(a, seed: 5)
            let dict = Dictionary(uniqueKeysWithValues: a.stateDict().map { ($0.name, $0.tensor) })
            try b.loadStateDict(dict)
            XCTAssertEqual(try a.forward(x, graph: g, initialState: nil).output.values,
                           try b.forward(x, graph: g, initialState: nil).output.values)
            for ((_, p), (_, q)) in zip(a.namedParameters, b.namedParameters) {
                XCTAssertEqual(p.value.values, q.value.values)
            }
            let before = b.stateDict().map(\.tensor.values)
            var bad = dict
            bad.removeValue(forKey: "conv_x_r.bias")
            bad["conv_h_\(lstm ? "i" : "z").lins.1.weight"] = Tensor.zeros([3, 2])   // wrong shape
            XCTAssertThrowsError(try b.loadStateDict(bad))
            var extra = dict
            extra["conv_x_q.bias"] = Tensor.zeros([3])
            XCTAssertThrowsError(try b.loadStateDict(extra))
            XCTAssertEqual(b.stateDict().map(\.tensor.values), before, "a failed load changed nothing")
        }
    }

    func testBadInputThrows() throws {
        XCTAssertThrowsError(try GConvLSTM(inputSize: 2, hiddenSize: 3, order: 0, seed: 1))
        XCTAssertThrowsError(try GConvGRU(inputSize: 2, hiddenSize: 3, order: 65, seed: 1))
        XCTAssertThrowsError(try GConvLSTM(inputSize: 0, hiddenSize: 3, order: 2, seed: 1))
        XCTAssertThrowsError(try GConvLSTM(inputSize: 2, hiddenSize: 3, order: 2, lambdaMax: -1, seed: 1))
        let g = try TestGraph(nodes: 4, seed: 1).graph()
        let rect = try Graph(nodeCount: 4, columnCount: 5, rows: [0, 1], columns: [4, 2])
        for lstm in [true, false] {
            let layer = try Self.makeLayer(Case(lstm: lstm))
            XCTAssertThrowsError(try layer.backward(Tensor.zeros([1, 4, 1, 3]), stateGradient: nil))
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([1, 4, 1, 3]), graph: g, initialState: nil))  // F
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([1, 5, 1, 2]), graph: g, initialState: nil))  // N
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([4, 1, 2]), graph: g, initialState: nil))     // rank
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([0, 4, 1, 2]), graph: g, initialState: nil))  // T
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([1, 4, 1, 2]), graph: rect, initialState: nil))
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([1, 4, 1, 2]), graph: g,
                                                   initialState: RecurrentState(h: Tensor.zeros([4, 2, 3]))))
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([1, 4, 1, 2]), graph: g,
                                                   initialState: RecurrentState(h: Tensor.zeros([4, 1, 3]),
                                                                                c: Tensor.zeros([4, 1, lstm ? 2 : 3]))))
            _ = try layer.forward(Tensor.zeros([2, 4, 1, 2]), graph: g, initialState: nil)
            XCTAssertThrowsError(try layer.backward(Tensor.zeros([1, 4, 1, 3]), stateGradient: nil))
            XCTAssertThrowsError(try layer.backward(Tensor.zeros([2, 4, 1, 3]),
                                                    stateGradient: RecurrentState(h: Tensor.zeros([4, 3]))))
            XCTAssertNoThrow(try layer.backward(Tensor.zeros([2, 4, 1, 3]), stateGradient: nil))
        }
    }

    /// Forward and backward bitwise identical for 1, 2, 3 threads under each
    /// ISA, and close to the reference under each.
    func testDeterministicAcrossThreadsAndISAs() throws {
        let (T, N, B, F, H) = (3, 33, 3, 2, 8)
        let testGraph = TestGraph(nodes: N, seed: 9)
        let g = try testGraph.graph()
        let x = Tensor.uniform([T, N, B, F], seed: 10), dy = Tensor.uniform([T, N, B, H], seed: 11)
        let h0 = Tensor.uniform([N, B, H], seed: 12), c0 = Tensor.uniform([N, B, H], seed: 13)
        for lstm in [true, false] {
            let layer: any GraphSequenceLayer = lstm
                ? try GConvLSTM(inputSize: F, hiddenSize: H, order: 3, lambdaMax: 2, seed: 3)
                : try GConvGRU(inputSize: F, hiddenSize: H, order: 3, lambdaMax: 2, seed: 3)
            Self.randomize(layer, seed: 14)
            let ref = testGraph.reference(.symmetric, 2).sequence(
                doubles(x.values), steps: T, batch: B, inputSize: F, hiddenSize: H, order: 3,
                h0: doubles(h0.values), c0: lstm ? doubles(c0.values) : nil, Self.doubleDict(layer.stateDict()))
            for isa in testISAs {
                var first: [Float]?
                for threads in [1, 2, 3] {
                    let all: [Float] = try withEveryThread(threads, maxISA: isa) {
                        layer.zeroGradients()
                        let (y, _) = try layer.forward(x, graph: g, initialState: RecurrentState(h: h0, c: lstm ? c0 : nil))
                        XCTAssertLessThanOrEqual(toleranceRatio(y.values, ref.output, rtol: 1e-4, atol: 1e-5), 1,
                                                 "\(isa) \(threads)")
                        let (dx, d0) = try layer.backward(dy, stateGradient: nil)
                        return y.values + dx.values + d0.h.values + (d0.c?.values ?? [])
                            + layer.parameters.flatMap(\.gradient.values)
                    }
                    if let first {
                        XCTAssertNil(firstBitwiseDifference(first, all), "lstm \(lstm) \(isa) threads \(threads)")
                    } else {
                        first = all
                    }
                }
            }
        }
    }

    func testEncoderDecoderMatchesReference() throws {
        let (T, N, B, F, H, O, L, horizon, K) = (2, 3, 2, 2, 3, 2, 2, 2, 2)
        let testGraph = TestGraph(nodes: N, seed: 21)
        let g = try testGraph.graph(), ref = testGraph.reference(.symmetric, 2)
        var rng = TestRNG(seed: 22)
        let x = try Tensor(shape: [T, N, B, F], values: rng.floats(T * N * B * F))
        let dy = try Tensor(shape: [horizon, N, B, O], values: rng.floats(horizon * N * B * O))
        for cell in [GCRNCell.lstm, .gru] {
            let model = try GCRNEncoderDecoder(cell: cell, inputSize: F, hiddenSize: H, outputSize: O, numLayers: L,
                                               order: K, horizon: horizon, lambdaMax: 2, seed: 5)
            let scratch = try GCRNEncoderDecoder(cell: cell, inputSize: F, hiddenSize: H, outputSize: O,
                                                 numLayers: L, order: K, horizon: horizon, lambdaMax: 2, seed: 6)
            Self.randomize(model, seed: 23)
            let params = Self.doubleDict(model.stateDict())
            XCTAssertTrue(params.keys.contains("encoder.1.conv_h_\(cell == .lstm ? "o" : "r").lins.1.weight"))
            XCTAssertTrue(params.keys.contains("decoder.0.conv_x_\(cell == .lstm ? "i" : "h").bias"))
            XCTAssertTrue(params.keys.contains("projection.weight"))
            let run = { (x: [Double], p: [String: [Double]]) in
                ref.encoderDecoder(x, steps: T, batch: B, inputSize: F, hiddenSize: H, outputSize: O, layers: L,
                                   horizon: horizon, order: K, lstm: cell == .lstm, p)
            }
            let xd = doubles(x.values)
            let y = try model.forward(x, graph: g)
            XCTAssertLessThanOrEqual(toleranceRatio(y.values, run(xd, params), rtol: 1e-5, atol: 1e-5), 1, "\(cell)")
            let dx = try model.backward(dy)
            let loss = { projection($0, dy.values) }
            var checks = [("x", dx.values, numericalGradient(at: xd) { loss(run($0, params)) })]
            let grads = Self.gradientDict(model, scratch: scratch)
            for (name, values) in params.sorted(by: { $0.key < $1.key }) {
                checks.append((name, grads[name]!, numericalGradient(at: values) { v in
                    var p = params
                    p[name] = v
                    return loss(run(xd, p))
                }))
            }
            for (name, analytic, numeric) in checks {
                XCTAssertLessThanOrEqual(toleranceRatio(analytic, numeric, rtol: 1e-3, atol: 1e-4), 1,
                                         "d\(name) \(cell)")
            }
            // Round trip through the checkpoint.
            try scratch.loadStateDict(Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor) }))
            XCTAssertEqual(try scratch.forward(x, graph: g).values, y.values)
            XCTAssertThrowsError(try scratch.loadStateDict(["projection.weight": Tensor.zeros([O, H])]))
        }
        let model = try GCRNEncoderDecoder(cell: .gru, inputSize: F, hiddenSize: H, outputSize: O, numLayers: 1,
                                           order: K, horizon: 1, seed: 1)
        XCTAssertThrowsError(try model.backward(Tensor.zeros([1, N, B, O])))
        XCTAssertThrowsError(try model.forward(Tensor.zeros([T, N, B, F + 1]), graph: g))
        _ = try model.forward(x, graph: g)
        XCTAssertThrowsError(try model.backward(Tensor.zeros([2, N, B, O])))
        XCTAssertThrowsError(try GCRNEncoderDecoder(cell: .lstm, inputSize: F, hiddenSize: H, outputSize: O,
                                                    numLayers: 0, order: K, horizon: 1, seed: 1))
    }

    /// A GConvLSTM feeding a GConvGRU: outputs and dx against the composed reference.
    func testStackedLayersCompose() throws {
        let (T, N, B, F, H) = (3, 5, 2, 2, 3)
        let testGraph = TestGraph(nodes: N, seed: 31)
        let g = try testGraph.graph(), ref = testGraph.reference(.symmetric, 2)
        let first = try GConvLSTM(inputSize: F, hiddenSize: H, order: 3, lambdaMax: 2, seed: 1)
        let second = try GConvGRU(inputSize: H, hiddenSize: H, order: 2, lambdaMax: 2, seed: 2)
        Self.randomize(first, seed: 32)
        Self.randomize(second, seed: 33)
        let (p1, p2) = (Self.doubleDict(first.stateDict()), Self.doubleDict(second.stateDict()))
        let x = Tensor.uniform([T, N, B, F], seed: 34), dy = Tensor.uniform([T, N, B, H], seed: 35)
        let zeros = [Double](repeating: 0, count: N * B * H)
        let run = { (x: [Double]) in
            let y1 = ref.sequence(x, steps: T, batch: B, inputSize: F, hiddenSize: H, order: 3, h0: zeros,
                                  c0: zeros, p1).output
            return ref.sequence(y1, steps: T, batch: B, inputSize: H, hiddenSize: H, order: 2, h0: zeros,
                                c0: nil, p2).output
        }
        let y = try second.forward(try first.forward(x, graph: g, initialState: nil).output, graph: g,
                                   initialState: nil).output
        XCTAssertLessThanOrEqual(toleranceRatio(y.values, run(doubles(x.values)), rtol: 1e-5, atol: 1e-5), 1)
        let dx = try first.backward(try second.backward(dy, stateGradient: nil).input, stateGradient: nil).input
        let numeric = numericalGradient(at: doubles(x.values)) { projection(run($0), dy.values) }
        XCTAssertLessThanOrEqual(toleranceRatio(dx.values, numeric, rtol: 1e-3, atol: 1e-4), 1)
    }
}
