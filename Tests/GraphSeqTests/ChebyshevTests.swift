import CGraphSeq
import Foundation
import GraphSeq
import TestSupport
import XCTest

final class ChebyshevTests: XCTestCase {
    /// Scaled Laplacians (spectrum in [-1, 1]) of one random graph: SYM is
    /// symmetric, RW is not (so backward uses the cached transpose).
    private func operators(n: Int) throws -> [(String, Graph, DenseMatrix)] {
        let r = RandomCSR(rows: n, columns: n, meanDegree: 3, symmetricPattern: true, seed: 51)
        let a = try Graph(rowCount: n, columnCount: n, rowOffsets: r.rowOffsets,
                          columnIndices: r.columnIndices, values: r.values)
        return try [LaplacianNormalization.symmetric, .randomWalk].map { norm in
            let l = try a.scaledLaplacian(norm, lambdaMax: 2)
            let (rp, ci, v) = l.csr
            return ("\(norm)", l, denseFromCSR(n, n, rp, ci, v))
        }
    }

    /// basis with explicit leading dimensions through the C API.
    private func basis(_ l: Graph, _ x: [Float], ldx: Int, n: Int, nfeat: Int, K: Int, ldb: Int) throws -> [Float] {
        var b = [Float](repeating: -7, count: n * ldb)
        try withHandle(l) { h in
            XCTAssertEqual(gsq_cheb_basis(h, Int64(K), Int64(nfeat), x, Int64(ldx), &b, Int64(ldb)), GSQ_SUCCESS,
                           String(cString: gsq_last_error()))
        }
        return b
    }

    func testBasisMatchesDenseRecursion() throws {
        let n = 37
        var rng = TestRNG(seed: 52)
        for (name, l, ld) in try operators(n: n) {
            for (K, nfeat) in [(1, 7), (2, 1), (3, 17), (5, 7), (25, 3)] {
                let ldx = nfeat + 2, ldb = K * nfeat + 5
                let x = rng.floats(n * ldx)
                var ref = chebyshevBasisReference(ld, DenseMatrix(x, rows: n, columns: nfeat, ld: ldx), order: K).a
                // Padding columns of the basis must stay untouched.
                ref = (0..<n * ldb).map { k in k % ldb < K * nfeat ? ref[k / ldb * K * nfeat + k % ldb] : -7 }
                var first: [ISA: [Float]] = [:]
                try forEachConfiguration { isa, threads in
                    let b = try basis(l, x, ldx: ldx, n: n, nfeat: nfeat, K: K, ldb: ldb)
                    let what = "\(name) K=\(K) nfeat=\(nfeat) \(isa) x\(threads)"
                    XCTAssertLessThanOrEqual(toleranceRatio(b, ref, rtol: 1e-4, atol: 1e-4), 1, what)
                    if let base = first[isa] { XCTAssertNil(firstBitwiseDifference(base, b), what) } else { first[isa] = b }
                }
            }
        }
    }

    func testBackwardMatchesAdjointAndDotProductIdentity() throws {
        let n = 37
        var rng = TestRNG(seed: 53)
        for (name, l, ld) in try operators(n: n) {
            for (K, nfeat) in [(1, 3), (2, 7), (3, 17), (5, 1), (25, 3)] {
                let ldb = K * nfeat + 3, lddx = nfeat + 4
                let g = rng.floats(n * ldb)
                let dx0 = rng.floats(n * lddx)
                let gDense = DenseMatrix(g, rows: n, columns: K * nfeat, ld: ldb)
                let adj = chebyshevBackwardReference(ld, gDense, order: K)
                for beta in [Float(0), 0.5] {
                    var start = dx0
                    if beta == 0 { for i in 0..<n { start[i * lddx] = .nan } }   // not read
                    var ref = start.map(Double.init)
                    for i in 0..<n {
                        for f in 0..<nfeat { ref[i * lddx + f] = adj[i, f] + Double(beta) * (beta == 0 ? 0 : Double(start[i * lddx + f])) }
                    }
                    var first: [ISA: [Float]] = [:]
                    try forEachConfiguration { isa, threads in
                        var scratch = g, dx = start
                        try withHandle(l) { h in
                            XCTAssertEqual(gsq_cheb_basis_backward(h, Int64(K), Int64(nfeat), &scratch, Int64(ldb), beta,
                                                                   &dx, Int64(lddx)), GSQ_SUCCESS)
                        }
                        let what = "\(name) K=\(K) nfeat=\(nfeat) beta=\(beta) \(isa) x\(threads)"
                        XCTAssertLessThanOrEqual(toleranceRatio(dx, ref, rtol: 1e-4, atol: 1e-4), 1, what)
                        if let base = first[isa] { XCTAssertNil(firstBitwiseDifference(base, dx), what) } else { first[isa] = dx }
                    }
                }
                // <basis(X), G> == <X, backward(G)>, both sides from the library.
                let x = Tensor.uniform([n, nfeat], seed: UInt64(K))
                let gt = try Tensor(shape: [n, K * nfeat], values: (0..<n).flatMap { i in g[i * ldb..<i * ldb + K * nfeat] })
                let bx = try chebyshevBasis(of: x, operator: l, order: K)
                let dx = try chebyshevBasisBackward(gt, operator: l, order: K)
                XCTAssertEqual(gt.values, (0..<n).flatMap { i in g[i * ldb..<i * ldb + K * nfeat] }, "gradient kept")
                let lhs = zip(bx.values, gt.values).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let rhs = zip(x.values, dx.values).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let scale = zip(bx.values, gt.values).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
                XCTAssertEqual(lhs, rhs, accuracy: 1e-5 * scale, "\(name) K=\(K) dot-product identity")
            }
        }
    }

    func testBadArgumentsAreRejectedWithoutWriting() throws {
        let (_, l, _) = try operators(n: 5)[1]
        let x = [Float](repeating: 1, count: 10)
        try withHandle(l) { h in
            func expectFailure(_ what: String, count: Int = 40, _ call: (UnsafeMutablePointer<Float>) -> gsq_status_t) {
                var out = [Float](repeating: 42, count: count)
                XCTAssertEqual(out.withUnsafeMutableBufferPointer { call($0.baseAddress!) }, GSQ_ERR_INVALID_ARGUMENT, what)
                XCTAssertFalse(String(cString: gsq_last_error()).isEmpty, what)
                XCTAssertEqual(out, [Float](repeating: 42, count: count), "\(what): output written on error")
            }
            expectFailure("K = 0") { gsq_cheb_basis(h, 0, 2, x, 2, $0, 8) }
            expectFailure("K = 65") { gsq_cheb_basis(h, 65, 2, x, 2, $0, 130) }
            expectFailure("NULL lhat") { gsq_cheb_basis(nil, 2, 2, x, 2, $0, 4) }
            expectFailure("NULL x") { gsq_cheb_basis(h, 2, 2, nil, 2, $0, 4) }
            expectFailure("negative nfeat") { gsq_cheb_basis(h, 2, -2, x, 2, $0, 4) }
            expectFailure("ldx < nfeat") { gsq_cheb_basis(h, 2, 2, x, 1, $0, 4) }
            expectFailure("ldb < K * nfeat") { gsq_cheb_basis(h, 2, 2, x, 2, $0, 3) }
            expectFailure("basis overlaps x") { b in gsq_cheb_basis(h, 2, 2, b + 10, 2, b, 4) }
            var dx = [Float](repeating: 42, count: 10)
            expectFailure("backward K = 0") { gsq_cheb_basis_backward(h, 0, 2, $0, 8, 0, &dx, 2) }
            expectFailure("backward NULL dx") { gsq_cheb_basis_backward(h, 2, 2, $0, 4, 0, nil, 2) }
            expectFailure("backward lddx < nfeat") { gsq_cheb_basis_backward(h, 2, 2, $0, 4, 0, &dx, 1) }
            expectFailure("backward ldb < K * nfeat") { gsq_cheb_basis_backward(h, 2, 2, $0, 3, 0, &dx, 2) }
            expectFailure("backward dx overlaps dbasis") { g in gsq_cheb_basis_backward(h, 2, 2, g, 4, 0, g + 2, 2) }
            XCTAssertEqual(dx, [Float](repeating: 42, count: 10))
        }
        let rect = try Graph(nodeCount: 5, columnCount: 4, rows: [0], columns: [1])
        XCTAssertThrowsError(try chebyshevBasis(of: Tensor.zeros([5, 2]), operator: rect, order: 2))
        XCTAssertThrowsError(try chebyshevBasis(of: Tensor.zeros([4, 2]), operator: l, order: 2))
        XCTAssertThrowsError(try chebyshevBasis(of: Tensor.zeros([5, 2]), operator: l, order: 0))
        XCTAssertThrowsError(try chebyshevBasis(of: Tensor.zeros([5, 2]), operator: l, order: 2, into: Tensor.zeros([5, 3])))
        XCTAssertThrowsError(try chebyshevBasisBackward(Tensor.zeros([5, 5]), operator: l, order: 2))
        XCTAssertThrowsError(try chebyshevBasisBackward(overwriting: Tensor.zeros([5, 4]), operator: l, order: 2,
                                                        into: Tensor.zeros([5, 3])))
    }

    /// n = 140000, 64 features: two column windows, a streamed basis (108 MB)
    /// and contiguous gather copies. The basis is checked on every 50th row
    /// against the sparse recursion in double; backward by the dot-product
    /// identity. (Loops over raw buffers keep the debug build fast.)
    func testLargeOperatorMatchesSparseRecursion() throws {
        let (n, nfeat, K) = (140_000, 64, 3)
        var rng = TestRNG(seed: 71)
        var rows: [Int32] = [], cols: [Int32] = [], w: [Float] = []
        for i in 0..<n where i % 5 != 0 {
            for _ in 0..<2 { rows.append(Int32(i)); cols.append(Int32(rng.int(n))); w.append(rng.float(-0.3, 0.3)) }
        }
        let l = try Graph(nodeCount: n, rows: rows, columns: cols, weights: w)
        let (rp, ci, v) = l.csr
        let x = Tensor.uniform([n, nfeat], seed: 72), g = Tensor.uniform([n, K * nfeat], seed: 73)
        let sample = Array(stride(from: 0, to: n, by: 50))
        let ref = x.withUnsafeBufferPointer { xp -> [Double] in   // T_0, T_1, T_2 of the sampled rows
            func product(_ i: Int, _ src: (Int, Int) -> Double, _ f: Int) -> Double {
                var s = 0.0
                for k in Int(rp[i])..<Int(rp[i + 1]) { s += Double(v[k]) * src(Int(ci[k]), f) }
                return s
            }
            var t1 = [Double](repeating: 0, count: n * nfeat)   // only where T_2 of a sample needs it
            let needed = Set(sample.flatMap { i in [i] + (Int(rp[i])..<Int(rp[i + 1])).map { Int(ci[$0]) } })
            for i in needed { for f in 0..<nfeat { t1[i * nfeat + f] = product(i, { Double(xp[$0 * nfeat + $1]) }, f) } }
            var out: [Double] = []
            for i in sample {
                for f in 0..<nfeat { out.append(Double(xp[i * nfeat + f])) }
                out += t1[i * nfeat..<(i + 1) * nfeat]
                for f in 0..<nfeat {
                    let lt1 = product(i, { t1[$0 * nfeat + $1] }, f)
                    out.append(2 * lt1 - Double(xp[i * nfeat + f]))
                }
            }
            return out
        }
        func dot(_ a: Tensor, _ b: Tensor) -> Double {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                var s = 0.0
                for k in 0..<ap.count { s += Double(ap[k]) * Double(bp[k]) }
                return s
            } }
        }
        // Every ISA on 3 threads; the best one also on 1 thread, bit for bit.
        var previous: (Tensor, Tensor)?
        for (isa, threads) in testISAs.map({ ($0, 3) }) + [(testISAs.last!, 1)] {
            let (b, dx) = try withEveryThread(threads, maxISA: isa) {
                (try chebyshevBasis(of: x, operator: l, order: K), try chebyshevBasisBackward(g, operator: l, order: K))
            }
            let got = b.withUnsafeBufferPointer { bp in sample.flatMap { bp[$0 * K * nfeat..<($0 + 1) * K * nfeat] } }
            XCTAssertLessThanOrEqual(toleranceRatio(got, ref, rtol: 1e-5, atol: 1e-5), 1, "\(isa) x\(threads)")
            if threads == 1, let (b3, dx3) = previous {
                XCTAssertTrue(bitwiseEqual(b3, b) && bitwiseEqual(dx3, dx), "\(isa): 1 vs 3 threads")
            } else {
                let (lhs, rhs) = (dot(b, g), dot(x, dx))
                XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * abs(lhs), "\(isa) dot-product identity")
            }
            previous = (b, dx)
        }
    }
}

/// Whether two tensors hold the same bits (a fast check for large tensors).
func bitwiseEqual(_ a: Tensor, _ b: Tensor) -> Bool {
    a.count == b.count && a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in memcmp(ap.baseAddress!, bp.baseAddress!, 4 * a.count) == 0 }
    }
}

final class BatchedChebyshevTests: XCTestCase {
    /// The batched layout ((n * batch) rows ldb apart) from a node-major
    /// basis ([n][K][batch * nfeat]).
    private func batchedLayout(_ nodeMajor: [Double], n: Int, K: Int, batch: Int, nfeat: Int, ldb: Int,
                               pad: Double) -> [Double] {
        var out = [Double](repeating: pad, count: n * batch * ldb)
        for i in 0..<n {
            for b in 0..<batch {
                for k in 0..<K {
                    for f in 0..<nfeat {
                        out[(i * batch + b) * ldb + k * nfeat + f] = nodeMajor[i * K * batch * nfeat + k * batch * nfeat + b * nfeat + f]
                    }
                }
            }
        }
        return out
    }

    private func laplacian(n: Int, seed: UInt64, symmetric: Bool) throws -> (Graph, DenseMatrix) {
        let r = RandomCSR(rows: n, columns: n, meanDegree: 4, symmetricPattern: true, seed: seed)
        let a = try Graph(rowCount: n, columnCount: n, rowOffsets: r.rowOffsets,
                          columnIndices: r.columnIndices, values: r.values)
        let l = try a.scaledLaplacian(symmetric ? .symmetric : .randomWalk, lambdaMax: 2)
        let (rp, ci, v) = l.csr
        return (l, denseFromCSR(n, n, rp, ci, v))
    }

    /// Forward and adjoint against the dense recursion (the sparse one in
    /// double for n > 1100, symmetric L), over awkward shapes, all three paths
    /// (n = 2100 with K = 64 exceeds the in-cache block budget; n = 1100 and
    /// 3000 run on the relabelled graph), every ISA and thread count, bitwise
    /// identical across thread counts; forward and adjoint also bitwise equal
    /// to gsq_cheb_basis and gsq_cheb_basis_backward in node order (the
    /// adjoint with beta = 0 also into a wider ld, its padding untouched).
    func testBatchedBasisAndAdjointMatchReference() throws {
        var rng = TestRNG(seed: 61)
        let cases: [(n: Int, K: Int, batch: Int, nfeat: Int, sym: Bool)] = [
            (1, 1, 1, 1, true), (37, 3, 5, 7, true), (37, 4, 3, 17, false), (23, 2, 64, 5, true),
            (50, 3, 2, 100, false), (1100, 3, 2, 9, false), (3000, 5, 3, 6, true), (2100, 64, 2, 1, true),
        ]
        for (n, K, batch, nfeat, sym) in cases {
            let (l, dense) = try laplacian(n: n, seed: UInt64(n + K), symmetric: sym)
            let width = batch * nfeat, ldx = width + 3, ldb = K * nfeat + 5
            let x = rng.floats(n * ldx)
            let g = rng.floats(n * batch * ldb)
            // G in node-major layout, for the reference adjoint.
            var gNodeMajor = [Float](repeating: 0, count: n * K * width)
            for i in 0..<n { for b in 0..<batch { for k in 0..<K { for f in 0..<nfeat {
                gNodeMajor[i * K * width + k * width + b * nfeat + f] = g[(i * batch + b) * ldb + k * nfeat + f]
            } } } }
            // The basis (node-major) and the adjoint (n x width).
            let (ref, adj): ([Double], [Double])
            if n <= 1100 {
                ref = chebyshevBasisReference(dense, DenseMatrix(x, rows: n, columns: width, ld: ldx), order: K).a
                adj = chebyshevBackwardReference(dense, DenseMatrix(gNodeMajor, rows: n, columns: K * width,
                                                                    ld: K * width), order: K).a
            } else {   // symmetric L: the adjoint is sum_k T_k(L) G_k
                XCTAssertTrue(sym)
                let (rp, ci, v) = l.csr
                func column(_ a: [Float], ld: Int, from: Int) -> [Double] {
                    (0..<n).flatMap { i in (0..<width).map { Double(a[i * ld + from + $0]) } }
                }
                let terms = sparseChebyshevTerms(rp, ci, v, column(x, ld: ldx, from: 0), nfeat: width, order: K)
                ref = (0..<n).flatMap { i in (0..<K).flatMap { k in terms[k][(i * width)..<((i + 1) * width)] } }
                var sum = [Double](repeating: 0, count: n * width)
                for k in 0..<K {
                    let gk = column(gNodeMajor, ld: K * width, from: k * width)
                    let tk = sparseChebyshevTerms(rp, ci, v, gk, nfeat: width, order: k + 1)[k]
                    for e in 0..<sum.count { sum[e] += tk[e] }
                }
                adj = sum
            }
            let expected = batchedLayout(ref, n: n, K: K, batch: batch, nfeat: nfeat, ldb: ldb, pad: -7)
            let lddx = width + 2, dx0 = rng.floats(n * lddx)
            var expectedDx = dx0.map(Double.init)
            for i in 0..<n {
                for f in 0..<width { expectedDx[i * lddx + f] = adj[i * width + f] + 0.5 * Double(dx0[i * lddx + f]) }
            }
            let what = "n=\(n) K=\(K) batch=\(batch) nfeat=\(nfeat) sym=\(sym)"
            var first: [ISA: ([Float], [Float])] = [:]
            try forEachConfiguration { isa, threads in
                var basis = [Float](repeating: -7, count: n * batch * ldb)
                var nodeMajor = [Float](repeating: 0, count: n * K * width)
                var dx = dx0, gCopy = g
                var adjoint = [Float](repeating: 0, count: n * width), nodeAdjoint = adjoint, gTerms = gNodeMajor
                var padded = [Float](repeating: -7, count: n * (width + 1))   // beta = 0 into a wider ld
                try withHandle(l) { h in
                    XCTAssertEqual(gsq_cheb_basis_batched(h, Int64(K), Int64(batch), Int64(nfeat), x, Int64(ldx),
                                                          &basis, Int64(ldb)), GSQ_SUCCESS, String(cString: gsq_last_error()))
                    XCTAssertEqual(gsq_cheb_basis(h, Int64(K), Int64(width), x, Int64(ldx), &nodeMajor, Int64(K * width)),
                                   GSQ_SUCCESS)
                    XCTAssertEqual(gsq_cheb_basis_batched_backward(h, Int64(K), Int64(batch), Int64(nfeat), g, Int64(ldb),
                                                                   0.5, &dx, Int64(lddx)), GSQ_SUCCESS)
                    XCTAssertEqual(gsq_cheb_basis_batched_backward(h, Int64(K), Int64(batch), Int64(nfeat), g, Int64(ldb),
                                                                   0, &adjoint, Int64(width)), GSQ_SUCCESS)
                    XCTAssertEqual(gsq_cheb_basis_batched_backward(h, Int64(K), Int64(batch), Int64(nfeat), g, Int64(ldb),
                                                                   0, &padded, Int64(width + 1)), GSQ_SUCCESS)
                    XCTAssertEqual(gsq_cheb_basis_backward(h, Int64(K), Int64(width), &gTerms, Int64(K * width), 0,
                                                           &nodeAdjoint, Int64(width)), GSQ_SUCCESS)
                }
                XCTAssertEqual(g, gCopy, "the gradient is left unchanged")
                gCopy = []
                let at = "\(what) \(isa) x\(threads)"
                XCTAssertLessThanOrEqual(toleranceRatio(basis, expected, rtol: 1e-4, atol: 1e-4), 1, at)
                let reordered = batchedLayout(nodeMajor.map(Double.init), n: n, K: K, batch: batch, nfeat: nfeat,
                                              ldb: ldb, pad: -7).map(Float.init)
                XCTAssertNil(firstBitwiseDifference(basis, reordered), "same sums as gsq_cheb_basis: \(at)")
                XCTAssertNil(firstBitwiseDifference(adjoint, nodeAdjoint), "same sums as gsq_cheb_basis_backward: \(at)")
                XCTAssertNil(firstBitwiseDifference((0..<n).flatMap { padded[$0 * (width + 1)..<$0 * (width + 1) + width] },
                                                    adjoint), at)
                XCTAssertTrue((0..<n).allSatisfy { padded[$0 * (width + 1) + width] == -7 }, "padding untouched: \(at)")
                XCTAssertLessThanOrEqual(toleranceRatio(dx, expectedDx, rtol: 1e-4, atol: 1e-4), 1, at)
                if let base = first[isa] {
                    XCTAssertNil(firstBitwiseDifference(base.0, basis), at)
                    XCTAssertNil(firstBitwiseDifference(base.1, dx), at)
                } else {
                    first[isa] = (basis, dx)
                }
            }
        }
    }

    /// gsq_cheb_terms against gsq_cheb_basis (checked against the dense
    /// recursion above): bitwise the same terms on all three paths (blocked;
    /// relabelled at n = 1100, rows stored back at their nodes; n = 2100 with
    /// K = 64 through the node-major basis) under every ISA cap and thread
    /// count, padding left untouched.
    func testTermsAreBitwiseTheBasisTerms() throws {
        var rng = TestRNG(seed: 62)
        for (n, K, nfeat, sym) in [(1, 2, 1, true), (37, 3, 35, true), (50, 5, 200, false), (1100, 3, 18, false),
                                   (1100, 2, 130, true), (2100, 64, 2, true)] {
            let (l, _) = try laplacian(n: n, seed: UInt64(n * K), symmetric: sym)
            let ldx = nfeat + 1, ldt = nfeat + 3, stride = n * ldt + 5
            let x = rng.floats(n * ldx)
            try forEachConfiguration { isa, threads in
                var basis = [Float](repeating: 0, count: n * K * nfeat)
                var terms = [Float](repeating: -7, count: (K - 1) * stride)
                try withHandle(l) { h in
                    XCTAssertEqual(gsq_cheb_basis(h, Int64(K), Int64(nfeat), x, Int64(ldx), &basis,
                                                  Int64(K * nfeat)), GSQ_SUCCESS)
                    XCTAssertEqual(gsq_cheb_terms(h, Int64(K), Int64(nfeat), x, Int64(ldx), &terms, Int64(ldt),
                                                  Int64(stride)), GSQ_SUCCESS)
                }
                var expected = [Float](repeating: -7, count: (K - 1) * stride)
                for k in 1..<K { for i in 0..<n { for f in 0..<nfeat {
                    expected[(k - 1) * stride + i * ldt + f] = basis[(i * K + k) * nfeat + f]
                } } }
                XCTAssertNil(firstBitwiseDifference(terms, expected), "n=\(n) K=\(K) nfeat=\(nfeat) \(isa) x\(threads)")
            }
        }
    }

    func testTermsRejectBadArguments() throws {
        let (l, _) = try laplacian(n: 5, seed: 3, symmetric: true)
        var out = [Float](repeating: 9, count: 200)
        let x = [Float](repeating: 1, count: 200)
        try withHandle(l) { h in
            XCTAssertEqual(gsq_cheb_terms(h, 3, 4, x, 4, &out, 4, 19), GSQ_ERR_INVALID_ARGUMENT, "term_stride < n * ldt")
            XCTAssertTrue(String(cString: gsq_last_error()).contains("term_stride"))
            XCTAssertEqual(gsq_cheb_terms(h, 3, 4, x, 4, &out, 3, 20), GSQ_ERR_INVALID_ARGUMENT, "ldt < nfeat")
            XCTAssertEqual(gsq_cheb_terms(h, 3, 4, x, 3, &out, 4, 20), GSQ_ERR_INVALID_ARGUMENT, "ldx < nfeat")
            XCTAssertEqual(gsq_cheb_terms(h, 0, 4, x, 4, &out, 4, 20), GSQ_ERR_INVALID_ARGUMENT, "K = 0")
            XCTAssertEqual(gsq_cheb_terms(h, 3, 4, x, 4, nil, 4, 20), GSQ_ERR_INVALID_ARGUMENT, "NULL terms")
            XCTAssertEqual(gsq_cheb_terms(h, 3, 4, x, 4, &out, 4, Int64.max / 2), GSQ_ERR_INVALID_ARGUMENT)
            out.withUnsafeMutableBufferPointer { p in
                XCTAssertEqual(gsq_cheb_terms(h, 3, 4, p.baseAddress!, 4, p.baseAddress! + 40, 4, 20), GSQ_SUCCESS)
                XCTAssertEqual(gsq_cheb_terms(h, 3, 4, p.baseAddress! + 40, 4, p.baseAddress!, 4, 40),
                               GSQ_ERR_INVALID_ARGUMENT, "the second term overlaps x")
            }
        }
        XCTAssertEqual(gsq_cheb_terms(nil, 3, 4, x, 4, &out, 4, 20), GSQ_ERR_INVALID_ARGUMENT)
    }

    func testBatchedBasisRejectsBadArguments() throws {
        let (l, _) = try laplacian(n: 5, seed: 3, symmetric: true)
        var out = [Float](repeating: 9, count: 200)
        let x = [Float](repeating: 1, count: 200)
        try withHandle(l) { h in
            XCTAssertEqual(gsq_cheb_basis_batched(h, 2, -1, 3, x, 3, &out, 6), GSQ_ERR_INVALID_ARGUMENT)
            XCTAssertTrue(String(cString: gsq_last_error()).contains("batch"))
            XCTAssertEqual(gsq_cheb_basis_batched(h, 2, 2, 3, x, 5, &out, 6), GSQ_ERR_INVALID_ARGUMENT, "ldx < batch * nfeat")
            XCTAssertEqual(gsq_cheb_basis_batched(h, 2, 2, 3, x, 6, &out, 5), GSQ_ERR_INVALID_ARGUMENT, "ldb < K * nfeat")
            XCTAssertEqual(gsq_cheb_basis_batched(h, 0, 2, 3, x, 6, &out, 6), GSQ_ERR_INVALID_ARGUMENT, "K = 0")
            XCTAssertEqual(gsq_cheb_basis_batched(h, 2, Int64.max / 2, 3, x, 6, &out, 6), GSQ_ERR_INVALID_ARGUMENT)
            XCTAssertEqual(gsq_cheb_basis_batched(h, 2, 2, 3, nil, 6, &out, 6), GSQ_ERR_INVALID_ARGUMENT)
            XCTAssertEqual(gsq_cheb_basis_batched_backward(h, 2, 2, 3, x, 5, 0, &out, 6), GSQ_ERR_INVALID_ARGUMENT)
            XCTAssertEqual(gsq_cheb_basis_batched_backward(h, 2, 2, 3, x, 6, 0, nil, 6), GSQ_ERR_INVALID_ARGUMENT)
            out.withUnsafeMutableBufferPointer { p in
                XCTAssertEqual(gsq_cheb_basis_batched(h, 2, 2, 3, p.baseAddress!, 6, p.baseAddress! + 10, 6),
                               GSQ_ERR_INVALID_ARGUMENT, "overlapping x and basis")
            }
        }
        XCTAssertTrue(out.allSatisfy { $0 == 9 }, "nothing written on error")
        XCTAssertEqual(gsq_cheb_basis_batched(nil, 2, 2, 3, x, 6, &out, 6), GSQ_ERR_INVALID_ARGUMENT)
    }
}
