import GraphSeq
import TestSupport
import XCTest

/// GCRN model 1 against a double reference composed of the independent
/// ChebConv and LSTM references (ReLU between them), and its finite differences.
final class GCRNModel1Tests: XCTestCase {
    let (T, N, B, F, C, H, K) = (3, 5, 2, 2, 3, 4, 3)

    /// A ring with one chord, weighted.
    func graph() throws -> (Graph, [Double]) {
        let rows: [Int32] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 0, 0, 2]
        let cols: [Int32] = [1, 0, 2, 1, 3, 2, 4, 3, 0, 4, 2, 0]
        let w: [Float] = [1, 1, 0.5, 0.5, 2, 2, 1, 1, 0.7, 0.7, 1.5, 1.5]
        return (try Graph(nodeCount: N, rows: rows, columns: cols, weights: w),
                scaledLaplacianReference(denseMatrix(n: N, rows: rows, columns: cols, weights: w), n: N,
                                         .symmetric, lambdaMax: 2)!)
    }

    /// Output [T, N, B, H], final h and c [N, B, H] from torch-named parameters.
    func reference(_ p: [String: [Double]], x: [Double], h0: [Double], c0: [Double], lhat: [Double])
        -> RecurrentReference.Result {
        var sequence: [Double] = []
        for t in 0..<T {
            let frame = Array(x[(t * N * B * F)..<((t + 1) * N * B * F)])
            let conv = chebConvReference(frame, lins: (0..<K).map { p["conv.lins.\($0).weight"]! },
                                         bias: p["conv.bias"]!, lhat: lhat, n: N, batch: B,
                                         inputSize: F, outputSize: C)
            sequence += conv.map { max($0, 0) }
        }
        let lstm = RecurrentReference(cell: .lstm(peephole: false, coupled: false, projectionSize: 0),
                                      inputSize: C, hiddenSize: H)
        let weights = Dictionary(uniqueKeysWithValues: p.compactMap { name, v in
            name.hasPrefix("lstm.") ? (String(name.dropFirst(5)), v) : nil })
        return lstm.forward(weights, x: sequence, steps: T, batch: N * B, lengths: Array(repeating: T, count: N * B),
                            h0: h0, c0: c0)
    }

    func testForwardAndGradientsMatchReference() throws {
        var rng = TestRNG(seed: 41)
        let (graph, lhat) = try graph()
        let model = try GCRNModel1(inputSize: F, convolutionSize: C, hiddenSize: H, order: K, lambdaMax: 2, seed: 5)
        let x = try Tensor(shape: [T, N, B, F], values: rng.floats(T * N * B * F))
        let h0 = try Tensor(shape: [N, B, H], values: rng.floats(N * B * H))
        let c0 = try Tensor(shape: [N, B, H], values: rng.floats(N * B * H))
        let dy = try Tensor(shape: [T, N, B, H], values: rng.floats(T * N * B * H))
        let dh = try Tensor(shape: [N, B, H], values: rng.floats(N * B * H))
        let dc = try Tensor(shape: [N, B, H], values: rng.floats(N * B * H))
        let params = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, doubles($0.tensor.values)) })
        let (xd, hd, cd) = (doubles(x.values), doubles(h0.values), doubles(c0.values))
        let expected = reference(params, x: xd, h0: hd, c0: cd, lhat: lhat)
        func loss(_ r: RecurrentReference.Result) -> Double {
            projection(r.output, dy.values) + projection(r.h, dh.values) + projection(r.c, dc.values)
        }
        // Finite differences of the reference, once; then every configuration.
        let numeric: [String: [Double]] = [
            "x": numericalGradient(at: xd) { loss(reference(params, x: $0, h0: hd, c0: cd, lhat: lhat)) },
            "h0": numericalGradient(at: hd) { loss(reference(params, x: xd, h0: $0, c0: cd, lhat: lhat)) },
            "c0": numericalGradient(at: cd) { loss(reference(params, x: xd, h0: hd, c0: $0, lhat: lhat)) },
        ].merging(params.map { name, value in
            (name, numericalGradient(at: value) { v in
                var q = params
                q[name] = v
                return loss(reference(q, x: xd, h0: hd, c0: cd, lhat: lhat))
            })
        }) { a, _ in a }
        var first: [Float]?
        try forEachConfiguration { isa, threads in
            guard threads <= 3 else { return }
            model.zeroGradients()
            let (y, state) = try model.forward(x, graph: graph, initialState: RecurrentState(h: h0, c: c0))
            let forwardRatio = toleranceRatio(y.values + state.h.values + state.c!.values,
                                              expected.output + expected.h + expected.c, rtol: 1e-5, atol: 1e-5)
            XCTAssertLessThanOrEqual(forwardRatio, 1, "forward \(isa) \(threads)")
            let (dx, d0) = try model.backward(dy, stateGradient: RecurrentState(h: dh, c: dc))
            var analytic = ["x": dx.values, "h0": d0.h.values, "c0": d0.c!.values]
            for (name, p) in model.lstm.namedParameters { analytic["lstm.\(name)"] = p.gradient.values }
            analytic["conv.bias"] = model.conv.bias!.gradient.values
            let fused = model.conv.weight.gradient.values   // [K * F, C]
            for k in 0..<K {
                analytic["conv.lins.\(k).weight"] = (0..<(C * F)).map { j in fused[(k * F + j % F) * C + j / F] }
            }
            XCTAssertEqual(Set(analytic.keys), Set(numeric.keys))
            for (name, values) in analytic {
                XCTAssertLessThanOrEqual(toleranceRatio(values, numeric[name]!, rtol: 1e-3, atol: 1e-4), 1,
                                         "d\(name) \(isa) \(threads)")
            }
            let all = y.values + dx.values + analytic.keys.sorted().flatMap { analytic[$0]! }
            if threads == 1 { first = all } else {
                XCTAssertNil(firstBitwiseDifference(all, first!), "\(isa) threads \(threads) vs 1")
            }
        }
    }

    func testStateDictNamesAndBadInput() throws {
        let model = try GCRNModel1(inputSize: F, convolutionSize: C, hiddenSize: H, order: K, seed: 5)
        XCTAssertEqual(model.stateDict().map(\.name),
                       (0..<K).map { "conv.lins.\($0).weight" } + ["conv.bias", "lstm.weight_ih_l0",
                        "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0"])
        let copy = try GCRNModel1(inputSize: F, convolutionSize: C, hiddenSize: H, order: K, seed: 9)
        try copy.loadStateDict(Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor) }))
        XCTAssertEqual(copy.stateDict().map(\.tensor.values), model.stateDict().map(\.tensor.values))
        let (graph, _) = try graph()
        XCTAssertThrowsError(try model.backward(Tensor.zeros([T, N, B, H]), stateGradient: nil))
        XCTAssertThrowsError(try model.forward(Tensor.zeros([T, N, F]), graph: graph, initialState: nil))
        XCTAssertThrowsError(try model.forward(Tensor.zeros([T, N + 1, B, F]), graph: graph, initialState: nil))
        XCTAssertThrowsError(try model.forward(Tensor.zeros([T, N, B, F]), graph: graph,
                                               initialState: RecurrentState(h: Tensor.zeros([N, B, H + 1]))))
        _ = try model.forward(Tensor.zeros([T, N, B, F]), graph: graph, initialState: nil)
        XCTAssertThrowsError(try model.backward(Tensor.zeros([T, N, B, H + 1]), stateGradient: nil))
    }
}
