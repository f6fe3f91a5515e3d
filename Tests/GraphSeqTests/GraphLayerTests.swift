import GraphSeq
import TestSupport
import XCTest

/// GCNConv and ChebConv against dense double references (and finite
/// differences of them) on small random graphs.
final class GraphLayerTests: XCTestCase {
    /// A random graph as an edge list and its dense matrix.
    struct TestGraph {
        let name: String, n: Int, graph: Graph, dense: [Double], symmetric: Bool
    }

    /// Random graphs: undirected unless `directed`; the last node isolated
    /// (n > 1); weighted ones in [0.5, 1.5) with a self loop on node 0.
    static func makeGraph(n: Int, weighted: Bool, directed: Bool = false, seed: UInt64) throws -> TestGraph {
        var rng = TestRNG(seed: seed)
        var rows: [Int32] = [], columns: [Int32] = [], weights: [Float] = []
        func edge(_ i: Int, _ j: Int, _ w: Float) { rows.append(Int32(i)); columns.append(Int32(j)); weights.append(w) }
        for i in 0..<max(n - 1, 0) {
            for j in 0..<(n - 1) where i < j || (directed && i != j) {
                guard rng.float(0, 1) < 0.35 else { continue }
                let w = weighted ? rng.float(0.5, 1.5) : 1
                edge(i, j, w)
                if !directed { edge(j, i, w) }
            }
        }
        if weighted { edge(0, 0, 0.8) }
        let w: [Float]? = weighted ? weights : nil
        let graph = try Graph(nodeCount: n, rows: rows, columns: columns, weights: w)
        return TestGraph(name: "n\(n)\(weighted ? "w" : "")\(directed ? "d" : "")", n: n, graph: graph,
                         dense: denseMatrix(n: n, rows: rows, columns: columns, weights: w), symmetric: !directed)
    }

    static let graphs: [TestGraph] = {
        var seed: UInt64 = 100
        var all = [TestGraph]()
        for n in [1, 7, 17] {
            for weighted in [false, true] {
                seed += 1
                all.append(try! makeGraph(n: n, weighted: weighted, seed: seed))
            }
        }
        all.append(try! makeGraph(n: 7, weighted: true, directed: true, seed: 99))
        return all
    }()

    /// A given lambda_max: PyG's 2 for the normalised Laplacians, a
    /// Gershgorin bound (twice the largest degree) for .none.
    static func givenLambda(_ g: TestGraph, _ norm: LaplacianNormalization) -> Float {
        guard norm == .none else { return 2 }
        let degrees = (0..<g.n).map { i in (0..<g.n).reduce(0.0) { $0 + (i == $1 ? 0 : g.dense[i * g.n + $1]) } }
        return Float(2 * (degrees.max() ?? 0) + 1)
    }

    /// PyG's lins.k.weight from a ChebConv's state dict.
    static func lins(_ layer: ChebConv) -> [[Double]] {
        let state = Dictionary(uniqueKeysWithValues: layer.stateDict().map { ($0.name, $0.tensor) })
        return (0..<layer.order).map { doubles(state["lins.\($0).weight"]!.values) }
    }

    /// The fused [K * in, out] layout of per-term [out, in] matrices.
    static func fused(_ lins: [Double], order: Int, inputSize: Int, outputSize: Int) -> [Double] {
        var w = [Double](repeating: 0, count: lins.count)
        for k in 0..<order {
            for o in 0..<outputSize {
                for i in 0..<inputSize {
                    w[(k * inputSize + i) * outputSize + o] = lins[(k * outputSize + o) * inputSize + i]
                }
            }
        }
        return w
    }

    static func features(_ n: Int, _ batch: Int?, _ f: Int, _ rng: inout TestRNG) throws -> Tensor {
        let shape = batch.map { [n, $0, f] } ?? [n, f]
        return try Tensor(shape: shape, values: rng.floats(shape.reduce(1, *)))
    }

    // MARK: - ChebConv

    func testChebConvForwardMatchesReference() throws {
        var rng = TestRNG(seed: 1)
        let (inSize, outSize) = (3, 2)
        for g in Self.graphs {
            for norm in LaplacianNormalization.allCases {
                for given in [true, false] where given || g.symmetric {
                    let lambda = given ? Self.givenLambda(g, norm) : nil
                    let lhat = scaledLaplacianReference(g.dense, n: g.n, norm, lambdaMax: lambda.map(Double.init))
                    for order in [1, 2, 3, 5] {
                        for batch in [nil, 3] {
                            let layer = try ChebConv(inputSize: inSize, outputSize: outSize, order: order,
                                                     normalization: norm, lambdaMax: lambda, bias: order != 2, seed: 5)
                            layer.bias?.value.withUnsafeMutableBufferPointer { p in
                                for i in p.indices { p[i] = Float(i) - 0.5 }   // a bias that shows
                            }
                            let x = try Self.features(g.n, batch, inSize, &rng)
                            let context = "\(g.name) \(norm) lambda \(lambda.map { "\($0)" } ?? "estimated") K \(order) batch \(batch ?? 0)"
                            guard let lhat else {   // .none without edges: no positive lambda_max
                                XCTAssertThrowsError(try layer.forward(x, graph: g.graph), context)
                                continue
                            }
                            let expected = chebConvReference(doubles(x.values), lins: Self.lins(layer),
                                                             bias: doubles(layer.bias?.value.values ?? []), lhat: lhat,
                                                             n: g.n, batch: batch ?? 1, inputSize: inSize, outputSize: outSize)
                            try forEachConfiguration { isa, threads in
                                let y = try layer.forward(x, graph: g.graph)
                                XCTAssertEqual(y.shape, x.shape.dropLast() + [outSize])
                                XCTAssertLessThanOrEqual(toleranceRatio(y.values, expected, rtol: 1e-4, atol: 1e-5), 1,
                                                         "\(context) \(isa) \(threads)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Every gradient against finite differences of the reference, for each
    /// order and normalisation (graph, lambda and rank vary along).
    /// Estimated lambda: the reference uses its own Jacobi eigenvalue of the
    /// dense Laplacian, independent of the library's Lanczos estimate; the
    /// two agree to ~1e-6 relative, far inside the tolerance.
    func testChebConvGradientsMatchFiniteDifferences() throws {
        var rng = TestRNG(seed: 2)
        let (inSize, outSize) = (3, 4)
        var index = 0
        for order in [1, 2, 3, 5] {
            for norm in LaplacianNormalization.allCases {
                index += 1
                let g = Self.graphs[2 + index % (Self.graphs.count - 2)]   // n = 7 and 17
                let lambda = index % 2 == 0 || !g.symmetric ? Self.givenLambda(g, norm) : nil
                let batch = index % 3 == 0 ? nil : 3
                let bias = index % 4 != 1
                let lhat = scaledLaplacianReference(g.dense, n: g.n, norm, lambdaMax: lambda.map(Double.init))!
                let layer = try ChebConv(inputSize: inSize, outputSize: outSize, order: order, normalization: norm,
                                         lambdaMax: lambda, bias: bias, seed: UInt64(index))
                let x = try Self.features(g.n, batch, inSize, &rng)
                let dy = try Tensor(shape: x.shape.dropLast() + [outSize], values: rng.floats(x.count / inSize * outSize))
                let (xd, w) = (doubles(x.values), Self.lins(layer).flatMap { $0 })
                let b = doubles(layer.bias?.value.values ?? [])
                let loss = { (x: [Double], w: [Double], b: [Double]) in
                    let lins = (0..<order).map { Array(w[($0 * outSize * inSize)..<(($0 + 1) * outSize * inSize)]) }
                    return projection(chebConvReference(x, lins: lins, bias: b, lhat: lhat, n: g.n, batch: batch ?? 1,
                                                        inputSize: inSize, outputSize: outSize), dy.values)
                }
                let numeric = [
                    numericalGradient(at: xd) { loss($0, w, b) },
                    Self.fused(numericalGradient(at: w) { loss(xd, $0, b) }, order: order, inputSize: inSize, outputSize: outSize),
                    numericalGradient(at: b) { loss(xd, w, $0) },
                ]
                let context = "\(g.name) \(norm) K \(order) lambda \(lambda.map { "\($0)" } ?? "estimated") batch \(batch ?? 0)"
                try forEachConfiguration { isa, threads in
                    layer.zeroGradients()
                    _ = try layer.forward(x, graph: g.graph)
                    let dx = try layer.backward(dy)
                    let analytic = [dx.values, layer.weight.gradient.values, layer.bias?.gradient.values ?? []]
                    for (name, (a, e)) in zip(["x", "weight", "bias"], zip(analytic, numeric)) {
                        XCTAssertLessThanOrEqual(toleranceRatio(a, e, rtol: 1e-4, atol: 1e-4), 1,
                                                 "d\(name) \(context) \(isa) \(threads)")
                    }
                }
            }
        }
    }

    // MARK: - GCNConv

    func testGCNConvForwardAndGradientsMatchReference() throws {
        var rng = TestRNG(seed: 3)
        var index = 0
        for g in Self.graphs {
            let ahat = gcnNormalizedReference(g.dense, n: g.n)
            // 5 -> 2 multiplies by W first, 2 -> 4 aggregates first.
            for (inSize, outSize) in [(5, 2), (2, 4)] {
                for batch in [nil, 3] {
                    index += 1
                    let layer = try GCNConv(inputSize: inSize, outputSize: outSize, bias: index % 3 != 0, seed: UInt64(index))
                    layer.bias?.value.withUnsafeMutableBufferPointer { p in
                        for i in p.indices { p[i] = 0.25 * Float(i + 1) }
                    }
                    let x = try Self.features(g.n, batch, inSize, &rng)
                    let dy = try Tensor(shape: x.shape.dropLast() + [outSize], values: rng.floats(x.count / inSize * outSize))
                    let (xd, w, b) = (doubles(x.values), doubles(layer.weight.value.values), doubles(layer.bias?.value.values ?? []))
                    let ref = { (x: [Double], w: [Double], b: [Double]) in
                        gcnConvReference(x, weight: w, bias: b, ahat: ahat, n: g.n, batch: batch ?? 1,
                                         inputSize: inSize, outputSize: outSize)
                    }
                    let loss = { projection(ref($0, $1, $2), dy.values) }
                    let numeric = [numericalGradient(at: xd) { loss($0, w, b) },
                                   numericalGradient(at: w) { loss(xd, $0, b) },
                                   numericalGradient(at: b) { loss(xd, w, $0) }]
                    let expected = ref(xd, w, b)
                    let context = "\(g.name) \(inSize)->\(outSize) batch \(batch ?? 0)"
                    try forEachConfiguration { isa, threads in
                        layer.zeroGradients()
                        let y = try layer.forward(x, graph: g.graph)
                        XCTAssertLessThanOrEqual(toleranceRatio(y.values, expected, rtol: 1e-4, atol: 1e-5), 1,
                                                 "\(context) \(isa) \(threads)")
                        let dx = try layer.backward(dy)
                        let analytic = [dx.values, layer.weight.gradient.values, layer.bias?.gradient.values ?? []]
                        for (name, (a, e)) in zip(["x", "weight", "bias"], zip(analytic, numeric)) {
                            XCTAssertLessThanOrEqual(toleranceRatio(a, e, rtol: 1e-4, atol: 1e-4), 1,
                                                     "d\(name) \(context) \(isa) \(threads)")
                        }
                    }
                }
            }
        }
    }

    // MARK: - Determinism, cache, errors, checkpoints

    /// A directed random graph (backward needs the transposes), 6 edges a node.
    static func directedGraph(_ n: Int, _ rng: inout TestRNG) throws -> Graph {
        var rows: [Int32] = [], columns: [Int32] = [], weights: [Float] = []
        for i in 0..<n {
            for _ in 0..<6 {
                rows.append(Int32(i)); columns.append(Int32(rng.int(n))); weights.append(rng.float(0.1, 1))
            }
        }
        return try Graph(nodeCount: n, rows: rows, columns: columns, weights: weights)
    }

    /// ChebConv, GCNConv multiplying by W first, GCNConv aggregating first.
    static func layersOf8Inputs() throws -> [any GraphLayer] {
        [try ChebConv(inputSize: 8, outputSize: 5, order: 3, normalization: .randomWalk, lambdaMax: 2, seed: 1),
         try GCNConv(inputSize: 8, outputSize: 5, seed: 2),
         try GCNConv(inputSize: 8, outputSize: 12, seed: 3)]
    }

    func testBitwiseIdenticalAcrossThreadCounts() throws {
        var rng = TestRNG(seed: 4)
        let n = 257
        let graph = try Self.directedGraph(n, &rng)
        let x = try Self.features(n, 3, 8, &rng)
        for layer in try Self.layersOf8Inputs() {
            var first = [ISA: [[Float]]]()
            try forEachConfiguration { isa, threads in
                layer.zeroGradients()
                let y = try layer.forward(x, graph: graph)
                let dy = try Tensor(shape: y.shape, values: y.values.map { $0 * 0.5 - 0.1 })
                let results = [y.values, try layer.backward(dy).values] + layer.parameters.map(\.gradient.values)
                guard let reference = first[isa] else { first[isa] = results; return }
                for (r, e) in zip(results, reference) {
                    XCTAssertNil(firstBitwiseDifference(r, e), "\(type(of: layer)) \(isa) \(threads) threads")
                }
            }
        }
    }

    func testBackwardParametersGivesBackwardsParameterGradients() throws {
        var rng = TestRNG(seed: 6)
        let graph = try Self.directedGraph(33, &rng)
        for batch in [nil, 3] {
            let x = try Self.features(33, batch, 8, &rng)
            for layer in try Self.layersOf8Inputs() {
                XCTAssertThrowsError(try layer.backwardParameters(Tensor.zeros([33, 5]))) { error in
                    XCTAssertTrue("\(error)".contains("backwardParameters: called before forward"), "\(error)")
                }
                let y = try layer.forward(x, graph: graph)
                let dy = try Tensor(shape: y.shape, values: rng.floats(y.count))
                layer.zeroGradients()
                _ = try layer.backward(dy)
                let expected = layer.parameters.map(\.gradient.values)
                layer.zeroGradients()
                try layer.backwardParameters(dy)
                for (g, e) in zip(layer.parameters.map(\.gradient.values), expected) {
                    XCTAssertNil(firstBitwiseDifference(g, e), "\(type(of: layer)) batch \(batch ?? 0)")
                }
                XCTAssertThrowsError(try layer.backwardParameters(Tensor.zeros([33, 7])))   // dy width
            }
        }
    }

    func testOperatorIsCachedPerGraph() throws {
        let (g1, g2) = (Self.graphs[4], Self.graphs[5])   // both n = 17
        let cheb = try ChebConv(inputSize: 2, outputSize: 2, order: 3, seed: 1)
        let gcn = try GCNConv(inputSize: 2, outputSize: 2, seed: 1)
        let x = Tensor.uniform([17, 2], seed: 9)
        for layer in [cheb, gcn] as [any GraphLayer] {
            let op = { (g: Graph) throws in
                try (layer as? ChebConv)?.graphOperator(for: g) ?? (layer as! GCNConv).graphOperator(for: g)
            }
            _ = try layer.forward(x, graph: g1.graph)
            let first = try op(g1.graph)
            _ = try layer.forward(x, graph: g1.graph)
            XCTAssertTrue(try op(g1.graph) === first, "same graph, same operator")
            let y2 = try layer.forward(x, graph: g2.graph)
            XCTAssertFalse(try op(g2.graph) === first, "a new graph rebuilds")
            XCTAssertNotEqual(y2.values, try layer.forward(x, graph: g1.graph).values, "the new graph is used")
        }
        // The rebuilt operator is the new graph's, not a stale one.
        let lhat = scaledLaplacianReference(g2.dense, n: 17, .symmetric, lambdaMax: nil)!
        let expected = chebConvReference(doubles(x.values), lins: Self.lins(cheb), bias: doubles(cheb.bias!.value.values),
                                         lhat: lhat, n: 17, batch: 1, inputSize: 2, outputSize: 2)
        XCTAssertLessThanOrEqual(toleranceRatio(try cheb.forward(x, graph: g2.graph).values, expected,
                                                rtol: 1e-4, atol: 1e-5), 1)
    }

    func testBadInputThrows() throws {
        let g = Self.graphs[2].graph   // n = 7
        let cheb = try ChebConv(inputSize: 3, outputSize: 2, order: 2, seed: 1)
        let gcn = try GCNConv(inputSize: 3, outputSize: 2, seed: 1)
        for layer in [cheb, gcn] as [any GraphLayer] {
            XCTAssertThrowsError(try layer.backward(Tensor.zeros([7, 2])))               // before forward
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([6, 3]), graph: g))     // wrong N
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([7, 4]), graph: g))     // wrong F
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([7, 1, 1, 3]), graph: g))  // rank 4
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([7]), graph: g))        // rank 1
            let rect = try Graph(nodeCount: 3, columnCount: 4, rows: [0, 1], columns: [1, 3])
            XCTAssertThrowsError(try layer.forward(Tensor.zeros([3, 3]), graph: rect))  // not square
            _ = try layer.forward(Tensor.zeros([7, 2, 3]), graph: g)
            XCTAssertThrowsError(try layer.backward(Tensor.zeros([7, 2])))              // dy rank
            XCTAssertThrowsError(try layer.backward(Tensor.zeros([7, 2, 3])))           // dy width
        }
        for order in [0, 65] {
            XCTAssertThrowsError(try ChebConv(inputSize: 3, outputSize: 2, order: order, seed: 1))
        }
        for lambda: Float in [0, -1, .nan, .infinity] {
            XCTAssertThrowsError(try ChebConv(inputSize: 3, outputSize: 2, order: 2, lambdaMax: lambda, seed: 1))
        }
        XCTAssertThrowsError(try GCNConv(inputSize: 0, outputSize: 2, seed: 1))
        XCTAssertThrowsError(try ChebConv(inputSize: 3, outputSize: 0, order: 2, seed: 1))
    }

    func testStateDictNamesShapesAndRoundTrip() throws {
        let gcn = try GCNConv(inputSize: 3, outputSize: 2, seed: 1)
        XCTAssertEqual(gcn.stateDict().map(\.name), ["lin.weight", "bias"])
        XCTAssertEqual(gcn.stateDict().map(\.tensor.shape), [[2, 3], [2]])
        XCTAssertEqual(try GCNConv(inputSize: 3, outputSize: 2, bias: false, seed: 1).stateDict().map(\.name), ["lin.weight"])

        let a = try ChebConv(inputSize: 3, outputSize: 2, order: 3, seed: 1)
        XCTAssertEqual(a.stateDict().map(\.name), ["lins.0.weight", "lins.1.weight", "lins.2.weight", "bias"])
        XCTAssertEqual(a.stateDict().map(\.tensor.shape), [[2, 3], [2, 3], [2, 3], [2]])
        // Glorot bound sqrt(6 / (3 + 2)) per term, bias zero, terms distinct.
        let lins = Self.lins(a)
        XCTAssertTrue(lins.joined().allSatisfy { abs($0) <= (6.0 / 5).squareRoot() })
        XCTAssertNotEqual(lins[0], lins[1])
        XCTAssertEqual(a.bias!.value.values, [0, 0])

        let b = try ChebConv(inputSize: 3, outputSize: 2, order: 3, seed: 2)
        var state = Dictionary(uniqueKeysWithValues: a.stateDict().map { ($0.name, $0.tensor) })
        state["bias"] = try Tensor(shape: [2], values: [0.5, -1])
        try b.loadStateDict(state)
        for (name, tensor) in b.stateDict() { XCTAssertEqual(tensor.values, state[name]!.values, name) }
        XCTAssertEqual(b.weight.value.values, a.weight.value.values)
        let before = b.weight.value.values
        state["lins.1.weight"] = Tensor.zeros([3, 2])
        XCTAssertThrowsError(try b.loadStateDict(state))                     // transposed shape
        state["lins.1.weight"] = nil
        XCTAssertThrowsError(try b.loadStateDict(state))                     // missing
        XCTAssertEqual(b.weight.value.values, before, "a failed load changed nothing")
    }
}
