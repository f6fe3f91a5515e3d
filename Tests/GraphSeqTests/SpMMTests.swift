import CGraphSeq
import Foundation
import GraphSeq
import TestSupport
import XCTest

final class SpMMTests: XCTestCase {
    static let featureCounts = [0, 1, 7, 17, 33, 100, 257]

    /// Reference Y = alpha * A X + beta * Y0 for X with ldx, Y with ldy.
    private func reference(_ a: DenseMatrix, _ x: [Float], ldx: Int, _ nfeat: Int, alpha: Float,
                           beta: Float, _ y0: [Float], ldy: Int) -> [Double] {
        let ax = a * DenseMatrix(x, rows: a.columns, columns: nfeat, ld: ldx)
        var out = y0.map(Double.init)   // padding columns must stay untouched
        for i in 0..<a.rows {
            for f in 0..<nfeat {
                out[i * ldy + f] = Double(alpha) * ax[i, f] + (beta == 0 ? 0 : Double(beta) * Double(y0[i * ldy + f]))
            }
        }
        return out
    }

    func testRawSpMMMatchesReferenceAndIsThreadCountInvariant() throws {
        let r = RandomCSR(rows: 61, columns: 45, meanDegree: 4, seed: 21)
        let a = r.dense
        var rng = TestRNG(seed: 22)
        for nfeat in Self.featureCounts {
            let ldx = nfeat + 3, ldy = nfeat + 5
            let x = rng.floats(r.columnCount * ldx)
            for (alpha, beta, unitValues) in [(Float(1), Float(0), false), (0.5, -2, false), (-1.5, 1, true)] {
                var y0 = rng.floats(r.rowCount * ldy)
                if beta == 0 && nfeat > 0 { for i in 0..<r.rowCount { y0[i * ldy] = .nan } }  // not read
                let ref = reference(unitValues ? denseFromCSR(r.rowCount, r.columnCount, r.rowOffsets, r.columnIndices, nil) : a,
                                    x, ldx: ldx, nfeat, alpha: alpha, beta: beta, y0, ldy: ldy)
                var first: [ISA: [Float]] = [:]
                try forEachConfiguration { isa, threads in
                    var y = y0
                    let status = r.values.withUnsafeBufferPointer { v in
                        gsq_spmm_csr_f32(Int64(r.rowCount), Int64(r.columnCount), r.rowOffsets, r.columnIndices,
                                         unitValues ? nil : v.baseAddress, Int64(nfeat), alpha, x, Int64(ldx),
                                         beta, &y, Int64(ldy))
                    }
                    XCTAssertEqual(status, GSQ_SUCCESS, String(cString: gsq_last_error()))
                    let what = "nfeat=\(nfeat) alpha=\(alpha) beta=\(beta) \(isa) x\(threads)"
                    XCTAssertLessThanOrEqual(toleranceRatio(y, ref, rtol: 1e-5, atol: 1e-5), 1, what)
                    if let base = first[isa] {
                        XCTAssertNil(firstBitwiseDifference(base, y), what)
                    } else {
                        first[isa] = y
                    }
                }
            }
        }
    }

    func testTransposedProductOnNonSymmetricGraph() throws {
        let r = RandomCSR(rows: 50, columns: 37, meanDegree: 5, seed: 31)
        let g = try Graph(rowCount: 50, columnCount: 37, rowOffsets: r.rowOffsets,
                          columnIndices: r.columnIndices, values: r.values)
        let at = r.dense.transposed
        for nfeat in [1, 17, 100] {
            let x = Tensor.uniform([50, nfeat], seed: UInt64(nfeat))
            let y0 = Tensor.uniform([37, nfeat], seed: 99)
            let ref = reference(at, x.values, ldx: nfeat, nfeat, alpha: 2, beta: 0.5, y0.values, ldy: nfeat)
            var first: [ISA: [Float]] = [:]
            try forEachConfiguration { isa, threads in
                let y = y0.copy()
                try g.spmm(x, into: y, transpose: true, alpha: 2, beta: 0.5)
                XCTAssertLessThanOrEqual(toleranceRatio(y.values, ref, rtol: 1e-5, atol: 1e-5), 1,
                                         "T nfeat=\(nfeat) \(isa) x\(threads)")
                if let base = first[isa] {
                    XCTAssertNil(firstBitwiseDifference(base, y.values), "T \(isa) x\(threads)")
                } else {
                    first[isa] = y.values
                }
            }
        }
        // Node-major [N, B, F] tensors are one product over B*F features.
        let x3 = Tensor.uniform([37, 2, 3], seed: 5), y3 = Tensor.zeros([50, 2, 3])
        try g.spmm(x3, into: y3)
        let ref3 = reference(r.dense, x3.values, ldx: 6, 6, alpha: 1, beta: 0, y3.values, ldy: 6)
        XCTAssertLessThanOrEqual(toleranceRatio(y3.values, ref3, rtol: 1e-5, atol: 1e-5), 1)
    }

    func testConcurrentTransposedProductsAgree() throws {
        let r = RandomCSR(rows: 300, columns: 300, meanDegree: 6, seed: 41)
        let g = try Graph(rowCount: 300, columnCount: 300, rowOffsets: r.rowOffsets,
                          columnIndices: r.columnIndices, values: r.values)
        let x = Tensor.uniform([300, 8], seed: 1)
        let outputs = (0..<8).map { _ in Tensor.zeros([300, 8]) }
        try Runtime.with(threads: 1) {
            DispatchQueue.concurrentPerform(iterations: outputs.count) { k in
                do { try g.spmm(x, into: outputs[k], transpose: true) }   // first use builds A^T
                catch { XCTFail("\(error)") }
            }
        }
        for y in outputs.dropFirst() { XCTAssertNil(firstBitwiseDifference(outputs[0].values, y.values)) }
        let ref = reference(r.dense.transposed, x.values, ldx: 8, 8, alpha: 1, beta: 0, outputs[0].values, ldy: 8)
        XCTAssertLessThanOrEqual(toleranceRatio(outputs[0].values, ref, rtol: 1e-5, atol: 1e-5), 1)
    }

    func testBadArgumentsAreRejectedWithoutWriting() throws {
        let rp: [Int64] = [0, 1, 2], ci: [Int32] = [1, 0], bad: [Int32] = [1, 2]
        let x = [Float](repeating: 1, count: 8)
        let sentinel = [Float](repeating: 42, count: 8)
        func expectFailure(_ what: String, _ expected: gsq_status_t = GSQ_ERR_INVALID_ARGUMENT,
                           _ call: (UnsafeMutablePointer<Float>) -> gsq_status_t) {
            var y = sentinel
            XCTAssertEqual(y.withUnsafeMutableBufferPointer { call($0.baseAddress!) }, expected, what)
            XCTAssertFalse(String(cString: gsq_last_error()).isEmpty, what)
            XCTAssertEqual(y, sentinel, "\(what): y written on error")
        }
        expectFailure("NULL row_ptr") { gsq_spmm_csr_f32(2, 2, nil, ci, nil, 2, 1, x, 2, 0, $0, 2) }
        expectFailure("negative nrows") { gsq_spmm_csr_f32(-1, 2, rp, ci, nil, 2, 1, x, 2, 0, $0, 2) }
        expectFailure("negative nfeat") { gsq_spmm_csr_f32(2, 2, rp, ci, nil, -2, 1, x, 2, 0, $0, 2) }
        expectFailure("ldx < nfeat") { gsq_spmm_csr_f32(2, 2, rp, ci, nil, 2, 1, x, 1, 0, $0, 2) }
        expectFailure("ldy < nfeat") { gsq_spmm_csr_f32(2, 2, rp, ci, nil, 2, 1, x, 2, 0, $0, 1) }
        expectFailure("NULL x") { gsq_spmm_csr_f32(2, 2, rp, ci, nil, 2, 1, nil, 2, 0, $0, 2) }
        expectFailure("column out of range", GSQ_ERR_INVALID_GRAPH) {
            gsq_spmm_csr_f32(2, 2, rp, bad, nil, 2, 1, x, 2, 0, $0, 2)
        }
        expectFailure("NaN value", GSQ_ERR_INVALID_GRAPH) {
            gsq_spmm_csr_f32(2, 2, rp, ci, [1, .nan], 2, 1, x, 2, 0, $0, 2)
        }
        expectFailure("y overlaps x") { y in gsq_spmm_csr_f32(2, 2, rp, ci, nil, 2, 1, y + 1, 2, 0, y, 2) }
        XCTAssertEqual(gsq_spmm_csr_f32(2, 2, rp, ci, nil, 2, 1, x, 2, 0, nil, 2), GSQ_ERR_INVALID_ARGUMENT)
        // Column blocks of one buffer do not overlap.
        var shared = [Float](repeating: 1, count: 8)
        XCTAssertEqual(shared.withUnsafeMutableBufferPointer { b in
            gsq_spmm_csr_f32(2, 2, rp, ci, nil, 2, 1, b.baseAddress!, 4, 0, b.baseAddress! + 2, 4)
        }, GSQ_SUCCESS)
        XCTAssertEqual(shared, [1, 1, 1, 1, 1, 1, 1, 1])

        let g = try Graph(rowCount: 2, columnCount: 2, rowOffsets: rp, columnIndices: ci)
        try withHandle(g) { h in
            expectFailure("NULL graph") { gsq_graph_spmm(nil, GSQ_NO_TRANS, 2, 1, x, 2, 0, $0, 2) }
            expectFailure("bad trans") { gsq_graph_spmm(h, gsq_transpose_t(2), 2, 1, x, 2, 0, $0, 2) }
            expectFailure("graph ldx < nfeat") { gsq_graph_spmm(h, GSQ_TRANS, 2, 1, x, 1, 0, $0, 2) }
            expectFailure("graph y overlaps x") { y in gsq_graph_spmm(h, GSQ_NO_TRANS, 2, 1, y, 2, 0, y, 2) }
        }
        let a = Tensor.zeros([2, 3])
        XCTAssertThrowsError(try g.spmm(Tensor.zeros([3, 3]), into: a))
        XCTAssertThrowsError(try g.spmm(Tensor.zeros([2, 4]), into: a))
        XCTAssertThrowsError(try g.spmm(a, into: a))
        XCTAssertThrowsError(try g.spmm(Tensor.zeros([2]), into: a))
    }

    /// x with 70000 rows of 64 features (18 MB) is gathered in two column
    /// windows (gsq__spmm_windows): each row is summed window by window.
    func testColumnWindowsOnLargeOperand() throws {
        let (rows, cols, nfeat) = (300, 70_000, 64)
        var rng = TestRNG(seed: 61)
        var offsets: [Int64] = [0], indices: [Int32] = [], values: [Float] = []
        for i in 0..<rows {
            let degree = i % 7 == 0 ? 0 : 1 + rng.int(40)
            indices += Set((0..<degree).map { _ in Int32(rng.int(cols)) }).sorted()
            while values.count < indices.count { values.append(rng.float()) }
            offsets.append(Int64(indices.count))
        }
        let x = Tensor.uniform([cols, nfeat], seed: 62)
        let ref = sparseProductReference(offsets, indices, values, x.values.map(Double.init), nfeat: nfeat)
        let g = try Graph(rowCount: rows, columnCount: cols, rowOffsets: offsets, columnIndices: indices, values: values)
        for isa in testISAs {
            var first: [Float]?
            for threads in [1, 3] {
                let y = Tensor.zeros([rows, nfeat])
                try withEveryThread(threads, maxISA: isa) { try g.spmm(x, into: y) }
                XCTAssertLessThanOrEqual(toleranceRatio(y.values, ref, rtol: 1e-5, atol: 1e-5), 1, "\(isa) x\(threads)")
                if let first { XCTAssertNil(firstBitwiseDifference(first, y.values), "\(isa) x\(threads)") }
                first = first ?? y.values
            }
        }
    }
}
