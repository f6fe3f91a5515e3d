import CGraphSeq
import GraphSeq
import TestSupport
import XCTest

final class GraphTests: XCTestCase {
    /// The dense matrix a graph holds, read back through the C accessors.
    private func dense(_ g: Graph) -> DenseMatrix {
        let (rp, ci, v) = g.csr
        return denseFromCSR(g.rowCount, g.columnCount, rp, ci, v)
    }

    private func assertClose(_ a: DenseMatrix, _ b: DenseMatrix, tol: Double = 1e-5,
                             _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.rows, b.rows, message, file: file, line: line)
        XCTAssertEqual(a.columns, b.columns, message, file: file, line: line)
        let worst = zip(a.a, b.a).map { abs($0 - $1) / (tol + tol * abs($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1, "\(message): worst error \(worst) tolerances", file: file, line: line)
    }

    /// Tries a C constructor that must fail: checks the status, the message and
    /// that the output handle was not written.
    private func assertFails(_ expected: gsq_status_t, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line,
                             _ body: (UnsafeMutablePointer<OpaquePointer?>) -> gsq_status_t) {
        let sentinel = OpaquePointer(bitPattern: 0x1234)
        var out: OpaquePointer? = sentinel
        XCTAssertEqual(body(&out), expected, what, file: file, line: line)
        XCTAssertFalse(String(cString: gsq_last_error()).isEmpty, what, file: file, line: line)
        XCTAssertEqual(out, sentinel, "\(what): output written on error", file: file, line: line)
    }

    // MARK: - Construction

    func testCreateFromCSRRoundTrips() throws {
        let r = RandomCSR(rows: 33, columns: 17, meanDegree: 3, seed: 1)
        let g = try Graph(rowCount: 33, columnCount: 17, rowOffsets: r.rowOffsets,
                          columnIndices: r.columnIndices, values: r.values)
        XCTAssertEqual([g.rowCount, g.columnCount, g.nonzeroCount], [33, 17, r.values.count])
        let (rp, ci, v) = g.csr
        XCTAssertEqual(rp, r.rowOffsets)
        XCTAssertEqual(ci, r.columnIndices)
        XCTAssertEqual(v, r.values)
        XCTAssertFalse(g.isSymmetric)

        let ones = try Graph(rowCount: 33, columnCount: 17, rowOffsets: r.rowOffsets,
                             columnIndices: r.columnIndices)
        XCTAssertEqual(ones.csr.values, [Float](repeating: 1, count: r.values.count))
        let empty = try Graph(rowCount: 0, columnCount: 0, rowOffsets: [0], columnIndices: [])
        XCTAssertEqual([empty.rowCount, empty.nonzeroCount], [0, 0])
    }

    func testInvalidCSRIsRejected() {
        let cases: [(String, Int64, Int64, [Int64], [Int32], [Float]?, gsq_status_t)] = [
            ("unsorted columns", 2, 3, [0, 2, 3], [2, 0, 1], nil, GSQ_ERR_INVALID_GRAPH),
            ("duplicate column", 2, 3, [0, 2, 3], [1, 1, 0], nil, GSQ_ERR_INVALID_GRAPH),
            ("column == ncols", 2, 3, [0, 1, 2], [0, 3], nil, GSQ_ERR_INVALID_GRAPH),
            ("negative column", 2, 3, [0, 1, 2], [0, -1], nil, GSQ_ERR_INVALID_GRAPH),
            ("row_ptr[0] != 0", 2, 3, [1, 1, 2], [0, 1], nil, GSQ_ERR_INVALID_GRAPH),
            ("negative offset", 2, 3, [0, -1, 2], [0, 1], nil, GSQ_ERR_INVALID_GRAPH),
            ("decreasing offsets", 2, 3, [0, 2, 1], [0, 1], nil, GSQ_ERR_INVALID_GRAPH),
            ("NaN value", 2, 3, [0, 1, 2], [0, 1], [1, .nan], GSQ_ERR_INVALID_GRAPH),
            ("infinite value", 2, 3, [0, 1, 2], [0, 1], [.infinity, 1], GSQ_ERR_INVALID_GRAPH),
            ("negative nrows", -1, 3, [0], [], nil, GSQ_ERR_INVALID_ARGUMENT),
            ("nrows = 2^31", 1 << 31, 3, [0], [], nil, GSQ_ERR_INVALID_ARGUMENT),
            ("ncols = 2^31", 1, 1 << 31, [0, 0], [], nil, GSQ_ERR_INVALID_ARGUMENT),
        ]
        for (what, nrows, ncols, rp, ci, v, status) in cases {
            assertFails(status, what) { out in
                rp.withUnsafeBufferPointer { rpp in
                    ci.withUnsafeBufferPointer { cip in
                        withOptionalPointer(v) { vp in
                            gsq_graph_create_csr(out, nrows, ncols, rpp.baseAddress, cip.baseAddress, vp)
                        }
                    }
                }
            }
        }
        let rp: [Int64] = [0, 1], ci: [Int32] = [0]
        assertFails(GSQ_ERR_INVALID_ARGUMENT, "NULL row_ptr") { gsq_graph_create_csr($0, 1, 1, nil, ci, nil) }
        assertFails(GSQ_ERR_INVALID_ARGUMENT, "NULL col_idx") { gsq_graph_create_csr($0, 1, 1, rp, nil, nil) }
        XCTAssertEqual(gsq_graph_create_csr(nil, 1, 1, rp, ci, nil), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertThrowsError(try Graph(rowCount: 2, columnCount: 2, rowOffsets: [0, 1], columnIndices: [0]))
        XCTAssertThrowsError(try Graph(rowCount: 1, columnCount: 2, rowOffsets: [0, 2], columnIndices: [1, 0]))
    }

    func testCOOSumsDuplicatesInAnyOrder() throws {
        var rng = TestRNG(seed: 7)
        let n = 23, m = 300
        var rows: [Int32] = [], cols: [Int32] = [], w: [Float] = []
        var expected = DenseMatrix(rows: n, columns: 19)
        for _ in 0..<m {
            let (i, j, v) = (rng.int(n), rng.int(19), rng.float())
            rows.append(Int32(i)); cols.append(Int32(j)); w.append(v)
            expected[i, j] += Double(v)
        }
        let g = try Graph(nodeCount: n, columnCount: 19, rows: rows, columns: cols, weights: w)
        assertClose(dense(g), expected, "COO with duplicates")
        let (rp, ci, _) = g.csr
        for i in 0..<n {   // sorted, unique columns per row
            let row = ci[Int(rp[i])..<Int(rp[i + 1])]
            XCTAssertEqual(Array(row), Array(Set(row)).sorted())
        }
        let unit = try Graph(nodeCount: 3, rows: [2, 0, 2, 2], columns: [1, 0, 1, 0])
        XCTAssertEqual(unit.csr.rowOffsets, [0, 1, 1, 3])
        XCTAssertEqual(unit.csr.columnIndices, [0, 0, 1])
        XCTAssertEqual(unit.csr.values, [1, 1, 2])

        let r: [Int32] = [0, 1], c: [Int32] = [1, 2]
        assertFails(GSQ_ERR_INVALID_GRAPH, "COO column out of range") { gsq_graph_create_coo($0, 2, 2, 2, r, c, nil) }
        assertFails(GSQ_ERR_INVALID_GRAPH, "COO negative row") {
            gsq_graph_create_coo($0, 3, 3, 2, [0, -1], c, nil)
        }
        assertFails(GSQ_ERR_INVALID_GRAPH, "COO NaN weight") { gsq_graph_create_coo($0, 3, 3, 2, r, c, [1, .nan]) }
        assertFails(GSQ_ERR_INVALID_GRAPH, "COO overflowing duplicate sum") {
            gsq_graph_create_coo($0, 3, 3, 2, [0, 0], [1, 1], [3e38, 3e38])
        }
        assertFails(GSQ_ERR_INVALID_ARGUMENT, "COO negative nnz") { gsq_graph_create_coo($0, 3, 3, -1, r, c, nil) }
        assertFails(GSQ_ERR_INVALID_ARGUMENT, "COO NULL rows") { gsq_graph_create_coo($0, 3, 3, 2, nil, c, nil) }
        XCTAssertThrowsError(try Graph(nodeCount: 3, rows: [0], columns: [0, 1]))
    }

    func testTransposeAndSymmetryDetection() throws {
        let r = RandomCSR(rows: 17, columns: 29, meanDegree: 4, seed: 3)
        let g = try Graph(rowCount: 17, columnCount: 29, rowOffsets: r.rowOffsets,
                          columnIndices: r.columnIndices, values: r.values)
        let t = try g.transposed()
        XCTAssertEqual(dense(t), r.dense.transposed)
        XCTAssertEqual(dense(try t.transposed()), r.dense)

        let s = RandomCSR(rows: 20, columns: 20, meanDegree: 3, symmetricPattern: true, seed: 4)
        let sym = try Graph(rowCount: 20, columnCount: 20, rowOffsets: s.rowOffsets,
                            columnIndices: s.columnIndices, values: s.values)
        XCTAssertTrue(sym.isSymmetric)
        XCTAssertTrue(try sym.transposed().isSymmetric)
        var v = s.values
        let k = s.columnIndices.indices.first { k in   // an off-diagonal entry
            let row = s.rowOffsets.lastIndex { $0 <= Int64(k) }!
            return Int(s.columnIndices[k]) != row
        }!
        v[k] += 0.5
        let asym = try Graph(rowCount: 20, columnCount: 20, rowOffsets: s.rowOffsets,
                             columnIndices: s.columnIndices, values: v)
        XCTAssertFalse(asym.isSymmetric)
        XCTAssertFalse(try Graph(nodeCount: 2, rows: [0], columns: [1]).isSymmetric)
        XCTAssertTrue(try Graph(nodeCount: 2, rows: [0, 1, 1], columns: [1, 0, 1]).isSymmetric)
    }

    // MARK: - Normalised operators

    /// A symmetric graph with self loops on some nodes, isolated nodes (3 and
    /// one with only a self loop, 5), and an asymmetric variant.
    private func loopyGraph(symmetric: Bool) throws -> (Graph, DenseMatrix, [Bool]) {
        var rng = TestRNG(seed: 11)
        let n = 12
        var d = [[Float]](repeating: [Float](repeating: 0, count: n), count: n)
        for _ in 0..<30 {
            let i = rng.int(n), j = rng.int(n)
            if [3, 5].contains(i) || [3, 5].contains(j) { continue }
            let v = rng.float(0.2, 2)
            d[i][j] = v
            if symmetric { d[j][i] = v }
        }
        d[0][0] = 2.5; d[5][5] = 0.75; d[7][7] = 1
        let r = RandomCSR(dense: d, columns: n)
        let g = try Graph(rowCount: n, columnCount: n, rowOffsets: r.rowOffsets,
                          columnIndices: r.columnIndices, values: r.values)
        return (g, r.dense, (0..<n).map { d[$0][$0] != 0 })
    }

    func testGCNNormMatchesReference() throws {
        for symmetric in [true, false] {
            let (g, a, loops) = try loopyGraph(symmetric: symmetric)
            let norm = try g.gcnNormalized()
            assertClose(dense(norm), gcnNormReference(a, hasSelfLoop: loops), "gcn_norm symmetric=\(symmetric)")
            XCTAssertEqual(norm.isSymmetric, symmetric)
            XCTAssertEqual(norm.nonzeroCount, g.nonzeroCount + loops.filter { !$0 }.count)
        }
    }

    func testLaplaciansMatchReference() throws {
        for symmetric in [true, false] {
            let (g, a, _) = try loopyGraph(symmetric: symmetric)
            for (norm, name) in [(LaplacianNormalization.none, "none"), (.symmetric, "sym"), (.randomWalk, "rw")] {
                let l = try g.laplacian(norm)
                let ref = laplacianReference(a, name)
                assertClose(dense(l), ref, "laplacian \(name) symmetric=\(symmetric)")
                XCTAssertEqual(l.isSymmetric, symmetric && norm != .randomWalk, "\(name)")
                // Isolated nodes: zero row for none, identity row otherwise.
                XCTAssertEqual(ref[3, 3], name == "none" ? 0 : 1)
            }
        }
    }

    func testLambdaMaxMatchesDenseEigenvalues() throws {
        // n = 104 needs more than the 100 Lanczos steps to be exact.
        for (n, seed) in [(9, UInt64(1)), (50, 2), (104, 3)] {
            let r = RandomCSR(rows: n, columns: n, meanDegree: 3, heavyRow: false,
                              symmetricPattern: true, seed: seed)
            let a = try Graph(rowCount: n, columnCount: n, rowOffsets: r.rowOffsets,
                              columnIndices: r.columnIndices, values: r.values)
            for (norm, name) in [(LaplacianNormalization.none, "none"), (.symmetric, "sym")] {
                let l = try a.laplacian(norm)
                XCTAssertTrue(l.isSymmetric)
                let expected = symmetricEigenvalues(laplacianReference(r.dense, name)).last!
                XCTAssertEqual(Double(try l.lambdaMax()), expected, accuracy: 1e-3 * expected, "n=\(n) \(name)")
                if norm == .symmetric {   // RW (power iteration) has SYM's eigenvalues
                    let rw = try a.laplacian(.randomWalk)
                    XCTAssertFalse(rw.isSymmetric)
                    XCTAssertEqual(Double(try rw.lambdaMax()), expected, accuracy: 1e-3 * expected, "n=\(n) rw")
                }
            }
        }
        XCTAssertEqual(try Graph(nodeCount: 0, rows: [], columns: []).lambdaMax(), 0)
    }

    func testScaledLaplacian() throws {
        let n = 40
        let r = RandomCSR(rows: n, columns: n, meanDegree: 3, symmetricPattern: true, seed: 5)
        let a = try Graph(rowCount: n, columnCount: n, rowOffsets: r.rowOffsets,
                          columnIndices: r.columnIndices, values: r.values)
        for (norm, name) in [(LaplacianNormalization.none, "none"), (.symmetric, "sym"), (.randomWalk, "rw")] {
            let l = laplacianReference(r.dense, name)
            let given = try a.scaledLaplacian(norm, lambdaMax: 2)
            assertClose(dense(given), l - DenseMatrix.identity(n), "scaled \(name), lambda 2")
            let lmax = symmetricEigenvalues(laplacianReference(r.dense, name == "none" ? "none" : "sym")).last!
            let estimated = try a.scaledLaplacian(norm)
            assertClose(dense(estimated), (2 / lmax) * l - DenseMatrix.identity(n), tol: 2e-3,
                        "scaled \(name), estimated lambda")
        }
        // A graph without edges has L = 0 for "none": nothing to scale by.
        let empty = try Graph(nodeCount: 3, rows: [], columns: [])
        XCTAssertThrowsError(try empty.scaledLaplacian(.none))
        XCTAssertThrowsError(try a.scaledLaplacian(.symmetric, lambdaMax: -1))
    }

    func testGraphOperationsRejectBadArguments() throws {
        let rect = try Graph(nodeCount: 2, columnCount: 3, rows: [0], columns: [2])
        XCTAssertThrowsError(try rect.laplacian())
        XCTAssertThrowsError(try rect.gcnNormalized())
        XCTAssertThrowsError(try rect.lambdaMax())
        let sq = try Graph(nodeCount: 2, rows: [0, 1], columns: [1, 0])
        assertFails(GSQ_ERR_INVALID_ARGUMENT, "NULL graph") { gsq_graph_gcn_norm($0, nil) }
        assertFails(GSQ_ERR_INVALID_ARGUMENT, "NULL graph transpose") { gsq_graph_transpose($0, nil) }
        var nrows: Int64 = -7
        XCTAssertEqual(gsq_graph_shape(nil, &nrows, nil, nil), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(nrows, -7)
        XCTAssertEqual(gsq_graph_is_symmetric(nil, nil), GSQ_ERR_INVALID_ARGUMENT)
        var rowPtr: UnsafePointer<Int64>? = nil
        XCTAssertEqual(gsq_graph_csr(nil, &rowPtr, nil, nil), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertNil(rowPtr)
        var l: Float = -3
        XCTAssertEqual(gsq_graph_lambda_max(nil, &l), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(l, -3)
        gsq_graph_destroy(nil)
        try withHandle(sq) { h in
            assertFails(GSQ_ERR_INVALID_ARGUMENT, "bad norm") { gsq_graph_laplacian($0, h, gsq_laplacian_t(7)) }
            assertFails(GSQ_ERR_INVALID_ARGUMENT, "NaN lambda") {
                gsq_graph_scaled_laplacian($0, h, GSQ_LAPLACIAN_SYM, .nan)
            }
            XCTAssertEqual(gsq_graph_lambda_max(h, nil), GSQ_ERR_INVALID_ARGUMENT)
            XCTAssertEqual(gsq_graph_laplacian(nil, h, GSQ_LAPLACIAN_SYM), GSQ_ERR_INVALID_ARGUMENT)
        }
    }
}

/// Calls `body` with the array's base address, or NULL for nil.
func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// A C handle for `g`, made with the C API from g's CSR arrays (Graph keeps
/// its handle internal), destroyed after `body`.
func withHandle<R>(_ g: Graph, _ body: (OpaquePointer) throws -> R) throws -> R {
    let (rp, ci, v) = g.csr
    var h: OpaquePointer?
    XCTAssertEqual(gsq_graph_create_csr(&h, Int64(g.rowCount), Int64(g.columnCount), rp, ci, v), GSQ_SUCCESS)
    defer { gsq_graph_destroy(h) }
    return try body(h!)
}
