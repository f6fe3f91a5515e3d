import CGraphSeq
import GraphSeq
import TestSupport
import XCTest

/// One SGEMM problem with its inputs and the Double reference result.
private struct GEMMCase {
    let transposeA, transposeB: Bool
    let m, n, k, lda, ldb, ldc: Int
    let alpha, beta: Float
    let a, b, c: [Float]
    let expected: [Double]

    /// Random data; NaN where BLAS says the values are not read (C when
    /// beta == 0, A when alpha == 0), so reading them shows up as NaN.
    init(_ ta: Bool, _ tb: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float,
         rng: inout TestRNG) {
        (transposeA, transposeB, self.m, self.n, self.k, self.alpha, self.beta) =
            (ta, tb, m, n, k, alpha, beta)
        let (aRows, aCols) = ta ? (k, m) : (m, k)
        let (bRows, bCols) = tb ? (n, k) : (k, n)
        lda = max(aCols, 1) + rng.int(3)
        ldb = max(bCols, 1) + rng.int(3)
        ldc = max(n, 1) + rng.int(3)
        a = rng.floats(aRows * lda).map { alpha == 0 ? .nan : $0 }
        b = rng.floats(bRows * ldb)
        var c = rng.floats(m * ldc)
        if beta == 0 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] = .nan } } }
        self.c = c
        expected = referenceGEMM(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: alpha,
                                 a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    var label: String {
        "\(transposeA ? "T" : "N")\(transposeB ? "T" : "N") m=\(m) n=\(n) k=\(k) "
            + "lda=\(lda) ldb=\(ldb) ldc=\(ldc) alpha=\(alpha) beta=\(beta)"
    }

    /// Runs gsq_sgemm on a copy of C and returns it with the status.
    func run() -> (gsq_status_t, [Float]) {
        var out = c
        let status = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    gsq_sgemm(transposeA ? GSQ_TRANS : GSQ_NO_TRANS,
                              transposeB ? GSQ_TRANS : GSQ_NO_TRANS,
                              Int64(m), Int64(n), Int64(k), alpha, pa.baseAddress, Int64(lda),
                              pb.baseAddress, Int64(ldb), beta, pc.baseAddress, Int64(ldc))
                }
            }
        }
        return (status, out)
    }

    /// fp32 summation error grows with k and the scale of the terms.
    var tolerance: (rtol: Double, atol: Double) {
        (1e-5, 2e-6 * (Double(abs(alpha)) * Double(k) + Double(abs(beta)) + 1))
    }
}

final class GEMMTests: XCTestCase {
    private static let scalars: [Float] = [0, 1, -0.5, 2]
    private static let ops = [(false, false), (false, true), (true, false), (true, true)]

    /// Every (m, n, k) in {0, 1, 7, 17}^3, plus random larger shapes from
    /// {1, 7, 17, 33, 100, 257} (at most about a million multiply-adds, to
    /// stay fast in debug builds), for all four op combinations, with padded
    /// leading dimensions and alpha, beta cycling through {0, 1, -0.5, 2}.
    private static func cases() -> [GEMMCase] {
        var rng = TestRNG(seed: 42)
        var shapes: [(Int, Int, Int)] = []
        let small = [0, 1, 7, 17]
        for m in small { for n in small { for k in small { shapes.append((m, n, k)) } } }
        let sizes = [1, 7, 17, 33, 100, 257]
        shapes += [(257, 100, 33), (100, 257, 17), (33, 33, 257), (100, 100, 100)]
        while shapes.count < small.count * small.count * small.count + 16 {
            let s = (sizes[rng.int(6)], sizes[rng.int(6)], sizes[rng.int(6)])
            if s.0 * s.1 * s.2 <= 1_100_000 { shapes.append(s) }
        }
        var out: [GEMMCase] = []
        for (index, (m, n, k)) in shapes.enumerated() {
            for (opIndex, (ta, tb)) in ops.enumerated() {
                let alpha = scalars[(index + opIndex) % 4], beta = scalars[(index / 4 + opIndex) % 4]
                out.append(GEMMCase(ta, tb, m: m, n: n, k: k, alpha: alpha, beta: beta, rng: &rng))
            }
        }
        return out
    }

    /// Closeness to the reference under every ISA and thread count, untouched
    /// padding columns, and bitwise identical results across thread counts.
    func testMatchesReferenceOnEveryISAAndThreadCount() throws {
        let cases = Self.cases()
        var firstRun: [ISA: [[Float]]] = [:]
        try forEachConfiguration { isa, threads in
            var results: [[Float]] = []
            for t in cases {
                let (status, c) = t.run()
                XCTAssertEqual(status, GSQ_SUCCESS, "\(isa) threads=\(threads) \(t.label)")
                let worst = toleranceRatio(c, t.expected, rtol: t.tolerance.rtol, atol: t.tolerance.atol)
                XCTAssertLessThanOrEqual(worst, 1, "\(isa) threads=\(threads) \(t.label)")
                for i in 0..<t.m {
                    for j in t.n..<t.ldc where c[i * t.ldc + j].bitPattern != t.c[i * t.ldc + j].bitPattern {
                        XCTFail("padding written at (\(i), \(j)): \(isa) threads=\(threads) \(t.label)")
                    }
                }
                results.append(c)
            }
            if let reference = firstRun[isa] {
                for (index, t) in cases.enumerated() {
                    if let diff = firstBitwiseDifference(results[index], reference[index]) {
                        XCTFail("\(isa) threads=\(threads) differs from threads=1: \(diff) \(t.label)")
                    }
                }
            } else {
                firstRun[isa] = results
            }
        }
    }

    /// A product one B panel wide (14 <= n <= 32 on AVX-512) reads an
    /// untransposed A in place: bitwise the same as the packed path, which
    /// A given transposed takes (edge rows, several kc and mc blocks).
    func testUnpackedNarrowProductIsBitwiseThePackedOne() throws {
        var rng = TestRNG(seed: 73)
        for (m, n, k) in [(1, 14, 1), (13, 16, 7), (15, 17, 300), (29, 32, 513), (230, 20, 257), (3, 31, 40)] {
            let lda = k + 1, ldc = n + 2
            let a = rng.floats(m * lda), b = rng.floats(k * n), c0 = rng.floats(m * ldc)
            var at = [Float](repeating: 0, count: k * m)   // A^T, k x m
            for i in 0..<m { for p in 0..<k { at[p * m + i] = a[i * lda + p] } }
            try forEachConfiguration { isa, threads in
                var direct = c0, packed = c0
                XCTAssertEqual(gsq_sgemm(GSQ_NO_TRANS, GSQ_NO_TRANS, Int64(m), Int64(n), Int64(k), 1.5, a, Int64(lda),
                                         b, Int64(n), 0.5, &direct, Int64(ldc)), GSQ_SUCCESS)
                XCTAssertEqual(gsq_sgemm(GSQ_TRANS, GSQ_NO_TRANS, Int64(m), Int64(n), Int64(k), 1.5, at, Int64(m),
                                         b, Int64(n), 0.5, &packed, Int64(ldc)), GSQ_SUCCESS)
                XCTAssertNil(firstBitwiseDifference(direct, packed), "\(m)x\(n)x\(k) \(isa) x\(threads)")
            }
        }
    }

    /// beta == 0 overwrites NaN in C; alpha == 0 ignores NaN in A and B; with
    /// k == 0, C := beta * C (and beta == 0 gives zeros over NaN).
    func testBLASSemanticsForSpecialScalars() throws {
        let nan = Float.nan
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [1, 0, 0, 1]
        func sgemm(_ k: Int, _ alpha: Float, _ a: [Float], _ b: [Float], _ beta: Float,
                   _ c: [Float]) -> [Float] {
            var c = c
            let s = gsq_sgemm(GSQ_NO_TRANS, GSQ_NO_TRANS, 2, 2, Int64(k), alpha, a, 2, b, 2, beta,
                              &c, 2)
            XCTAssertEqual(s, GSQ_SUCCESS)
            return c
        }
        try forEachConfiguration { isa, threads in
            let ctx = "\(isa) threads=\(threads)"
            XCTAssertEqual(sgemm(2, 1, a, b, 0, [nan, nan, nan, nan]), [1, 2, 3, 4], ctx)
            XCTAssertEqual(sgemm(2, 0, [nan, nan, nan, nan], [nan, 1, 1, 1], 2, [1, 2, 3, 4]),
                           [2, 4, 6, 8], ctx)
            XCTAssertEqual(sgemm(2, 0, a, b, 0, [nan, nan, nan, nan]), [0, 0, 0, 0], ctx)
            XCTAssertEqual(sgemm(0, 1, a, b, -0.5, [1, 2, 3, 4]), [-0.5, -1, -1.5, -2], ctx)
            XCTAssertEqual(sgemm(0, 1, a, b, 0, [nan, nan, nan, nan]), [0, 0, 0, 0], ctx)
            XCTAssertEqual(sgemm(2, 2, a, b, 1, [1, 1, 1, 1]), [3, 5, 7, 9], ctx)
        }
    }

    /// A product large enough for several mc, kc and nc blocks, checked in
    /// O(n^2): C v against alpha A (B v) + beta C0 v in Double. Smaller in
    /// debug builds, where the kernels run unoptimised.
    func testLargeProductAgainstRandomVector() throws {
        #if DEBUG
        let (m, n, k) = (240, 800, 300)
        #else
        let (m, n, k) = (1000, 900, 700)
        #endif
        var rng = TestRNG(seed: 7)
        let a = rng.floats(m * k), c0 = rng.floats(m * n), v = rng.floats(n).map(Double.init)
        let alpha: Float = -0.5, beta: Float = 2
        for (ta, tb) in [(false, false), (true, true)] {
            let b = rng.floats(k * n)  // k x n, or n x k when transposed
            // Row-major copies of op(A) and op(B) for the Double check.
            let opA = ta ? transpose(a, rows: k, cols: m) : a
            let opB = tb ? transpose(b, rows: n, cols: k) : b
            let bv = referenceMatVec(opB, rows: k, cols: n, v)
            let abv = referenceMatVec(opA, rows: m, cols: k, bv)
            let c0v = referenceMatVec(c0, rows: m, cols: n, v)
            let magnitude = referenceMatVec(opA.map { abs($0) }, rows: m, cols: k,
                                            referenceMatVec(opB.map { abs($0) }, rows: k, cols: n,
                                                            v.map { abs($0) }))
            for isa in testISAs {
                try withEveryThread(2, maxISA: isa) {
                    var c = c0
                    let s = gsq_sgemm(ta ? GSQ_TRANS : GSQ_NO_TRANS, tb ? GSQ_TRANS : GSQ_NO_TRANS,
                                      Int64(m), Int64(n), Int64(k), alpha, a, Int64(ta ? m : k),
                                      b, Int64(tb ? k : n), beta, &c, Int64(n))
                    XCTAssertEqual(s, GSQ_SUCCESS)
                    let cv = referenceMatVec(c, rows: m, cols: n, v)
                    var worst = 0.0
                    for i in 0..<m {
                        let expected = Double(alpha) * abv[i] + Double(beta) * c0v[i]
                        worst = max(worst, abs(cv[i] - expected) / (1e-6 * magnitude[i] + 1e-3))
                    }
                    XCTAssertLessThanOrEqual(worst, 1, "\(isa) ta=\(ta) tb=\(tb)")
                }
            }
        }
    }

    /// Every kind of bad argument fails with GSQ_ERR_INVALID_ARGUMENT, a
    /// message naming the function and argument, and C left as it was.
    func testRejectsBadArguments() {
        let a = [Float](repeating: 1, count: 64), b = a
        let original = [Float](repeating: 7, count: 64)
        let huge: Int64 = 1 << 40
        typealias Call = (ta: gsq_transpose_t, tb: gsq_transpose_t, m: Int64, n: Int64, k: Int64,
                          a: Bool, lda: Int64, b: Bool, ldb: Int64, c: Bool, ldc: Int64)
        let N = GSQ_NO_TRANS, T = GSQ_TRANS
        let bad: [(String, Call)] = [
            ("A is NULL", (N, N, 4, 4, 4, false, 4, true, 4, true, 4)),
            ("B is NULL", (N, N, 4, 4, 4, true, 4, false, 4, true, 4)),
            ("C is NULL", (N, N, 4, 4, 4, true, 4, true, 4, false, 4)),
            ("m = -1", (N, N, -1, 4, 4, true, 4, true, 4, true, 4)),
            ("n = -2", (N, N, 4, -2, 4, true, 4, true, 4, true, 4)),
            ("k = -3", (N, N, 4, 4, -3, true, 4, true, 4, true, 4)),
            ("k = 9223372036854775807", (N, N, 4, 4, .max, true, 4, true, 4, true, 4)),
            ("leading dimension of A is 3", (N, N, 4, 4, 4, true, 3, true, 4, true, 4)),
            ("leading dimension of A is 2", (T, N, 3, 4, 4, true, 2, true, 4, true, 4)),
            ("leading dimension of B is 3", (N, N, 4, 4, 4, true, 4, true, 3, true, 4)),
            ("leading dimension of B is 1", (N, T, 4, 4, 2, true, 4, true, 1, true, 4)),
            ("leading dimension of C is 3", (N, N, 4, 4, 4, true, 4, true, 4, true, 3)),
            ("leading dimension of C is 0", (N, N, 0, 0, 4, true, 4, true, 4, true, 0)),
            ("transa = 2", (gsq_transpose_t(2), N, 4, 4, 4, true, 4, true, 4, true, 4)),
            ("transb = -1", (N, gsq_transpose_t(UInt32(bitPattern: -1)), 4, 4, 4, true, 4, true, 4, true, 4)),
            ("A is too large", (N, N, huge, 4, 4, true, huge, true, 4, true, 4)),
            ("C is too large", (N, N, huge, 4, 0, true, 1, true, 4, true, huge)),
        ]
        for (expected, call) in bad {
            var c = original
            let status = a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        gsq_sgemm(call.ta, call.tb, call.m, call.n, call.k, 1,
                                  call.a ? pa.baseAddress : nil, call.lda,
                                  call.b ? pb.baseAddress : nil, call.ldb, 0,
                                  call.c ? pc.baseAddress : nil, call.ldc)
                    }
                }
            }
            let message = String(cString: gsq_last_error())
            XCTAssertEqual(status, GSQ_ERR_INVALID_ARGUMENT, expected)
            XCTAssertTrue(message.hasPrefix("gsq_sgemm: ") && message.contains(expected),
                          "expected '\(expected)' in '\(message)'")
            XCTAssertEqual(c, original, "C written on error: \(expected)")
        }
    }

    /// NULL pointers are fine for empty matrices.
    func testEmptyMatricesAcceptNull() {
        XCTAssertEqual(gsq_sgemm(GSQ_NO_TRANS, GSQ_NO_TRANS, 0, 0, 5, 1, nil, 5, nil, 1, 0, nil, 1),
                       GSQ_SUCCESS)
        var c: [Float] = [.nan, .nan]
        XCTAssertEqual(gsq_sgemm(GSQ_NO_TRANS, GSQ_NO_TRANS, 1, 2, 0, 1, nil, 1, nil, 2, 0, &c, 2),
                       GSQ_SUCCESS)
        XCTAssertEqual(c, [0, 0])
    }

    // MARK: - Swift API

    func testMatmulAndGemmWrapper() throws {
        let a = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = try Tensor(shape: [3, 2], values: [1, 0, 0, 1, -1, 2])
        XCTAssertEqual(try matmul(a, b).values, [-2, 8, -2, 17])
        XCTAssertEqual(try matmul(a, b).shape, [2, 2])

        let c = try Tensor(shape: [3, 3], values: [1, 1, 1, 1, 1, 1, 1, 1, 1])
        try gemm(a, a, into: c, transposeA: true, alpha: 2, beta: -1)  // 2 a^T a - 1
        XCTAssertEqual(c.values, [33, 43, 53, 43, 57, 71, 53, 71, 89])

        let d = Tensor.zeros([2, 2])
        try gemm(a, a, into: d, transposeB: true)  // a a^T
        XCTAssertEqual(d.values, [14, 32, 32, 77])
        XCTAssertEqual(try matmul(Tensor.zeros([0, 3]), Tensor.zeros([3, 4])).shape, [0, 4])
    }

    func testWrapperRejectsBadShapes() {
        let a = Tensor.zeros([2, 3]), b = Tensor.zeros([2, 3])
        func expectInvalid(_ body: () throws -> Void, _ what: String) {
            XCTAssertThrowsError(try body(), what) { error in
                guard case .invalidArgument? = error as? GraphSeqError else {
                    return XCTFail("\(what): \(error)")
                }
            }
        }
        expectInvalid({ _ = try matmul(a, b) }, "inner dimensions 3 vs 2")
        expectInvalid({ try gemm(a, b, into: Tensor.zeros([2, 2]), transposeA: true) }, "op(a) 3x2, b 2x3 into 2x2")
        expectInvalid({ try gemm(a, b, into: Tensor.zeros([3, 3])) }, "3 vs 2 inner")
        expectInvalid({ try gemm(a, b, into: Tensor.zeros([3, 2]), transposeB: true) }, "c shape")
        expectInvalid({ _ = try matmul(Tensor.zeros([6]), b) }, "rank 1")
        expectInvalid({ _ = try matmul(a, Tensor.zeros([3, 2, 1])) }, "rank 3")
        let square = Tensor.zeros([3, 3])
        expectInvalid({ try gemm(square, square, into: square) }, "c aliases a")
    }

    /// The quick SGEMM benchmarks run and report positive figures.
    func testQuickBenchmarks() throws {
        let ctx = try BenchmarkContext.measure(quick: true)
        var records: [BenchmarkRecord] = []
        try KernelBenchmarks.run(ctx) { if $0.name.hasPrefix("sgemm_") { records.append($0) } }
        XCTAssertEqual(records.map(\.name), ["sgemm_256x256x256", "sgemm_331x66x128"])
        for r in records { XCTAssertGreaterThan(r.gflops ?? 0, 0, r.name) }
    }
}

private func transpose(_ x: [Float], rows: Int, cols: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for i in 0..<rows { for j in 0..<cols { out[j * rows + i] = x[i * cols + j] } }
    return out
}

final class PackedGEMMTests: XCTestCase {
    /// gsq_sgemm_packed is bitwise gsq_sgemm on the unpacked B, for both
    /// op(B), awkward shapes (several kc and nc blocks, edge tiles), every ISA
    /// and thread count.
    func testPackedProductIsBitwiseTheUnpackedOne() throws {
        var rng = TestRNG(seed: 71)
        for (m, n, k) in [(1, 1, 1), (7, 33, 300), (32, 1024, 256), (45, 800, 513), (3, 1600, 17)] {
            for transposed in [false, true] {
                let ldb = (transposed ? k : n) + 3, lda = k + 1, ldc = n + 2
                let a = rng.floats(m * lda), b = rng.floats((transposed ? n : k) * ldb), c0 = rng.floats(m * ldc)
                try forEachConfiguration { isa, threads in
                    var expected = c0, actual = c0
                    let opB: gsq_transpose_t = transposed ? GSQ_TRANS : GSQ_NO_TRANS
                    XCTAssertEqual(gsq_sgemm(GSQ_NO_TRANS, opB, Int64(m), Int64(n), Int64(k), 1.5, a, Int64(lda), b,
                                             Int64(ldb), 0.5, &expected, Int64(ldc)), GSQ_SUCCESS)
                    var packed: OpaquePointer?
                    XCTAssertEqual(gsq_sgemm_pack_b(opB, Int64(k), Int64(n), b, Int64(ldb), &packed), GSQ_SUCCESS)
                    defer { gsq_sgemm_packed_b_destroy(packed) }
                    XCTAssertEqual(gsq_sgemm_packed(GSQ_NO_TRANS, Int64(m), 1.5, a, Int64(lda), packed, 0.5, &actual,
                                                    Int64(ldc)), GSQ_SUCCESS)
                    XCTAssertNil(firstBitwiseDifference(expected, actual),
                                 "\(m)x\(n)x\(k) transposed=\(transposed) \(isa) x\(threads)")
                }
            }
        }
    }

    func testPackedRejectsBadArguments() throws {
        let b = [Float](repeating: 1, count: 64)
        var packed: OpaquePointer?
        XCTAssertEqual(gsq_sgemm_pack_b(GSQ_NO_TRANS, 4, 8, b, 7, &packed), GSQ_ERR_INVALID_ARGUMENT, "ldb < n")
        XCTAssertNil(packed)
        XCTAssertEqual(gsq_sgemm_pack_b(GSQ_NO_TRANS, -1, 8, b, 8, &packed), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(gsq_sgemm_pack_b(gsq_transpose_t(rawValue: 9), 4, 8, b, 8, &packed), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(gsq_sgemm_pack_b(GSQ_NO_TRANS, 4, 8, nil, 8, &packed), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(gsq_sgemm_pack_b(GSQ_NO_TRANS, 4, 8, b, 8, nil), GSQ_ERR_INVALID_ARGUMENT)
        var c = [Float](repeating: 9, count: 64)
        XCTAssertEqual(gsq_sgemm_packed(GSQ_NO_TRANS, 2, 1, b, 4, nil, 0, &c, 8), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(gsq_sgemm_pack_b(GSQ_NO_TRANS, 4, 8, b, 8, &packed), GSQ_SUCCESS)
        defer { gsq_sgemm_packed_b_destroy(packed) }
        XCTAssertEqual(gsq_sgemm_packed(GSQ_NO_TRANS, 2, 1, b, 3, packed, 0, &c, 8), GSQ_ERR_INVALID_ARGUMENT, "lda < k")
        XCTAssertEqual(gsq_sgemm_packed(GSQ_NO_TRANS, 2, 1, b, 4, packed, 0, &c, 7), GSQ_ERR_INVALID_ARGUMENT, "ldc < n")
        XCTAssertTrue(c.allSatisfy { $0 == 9 }, "nothing written on error")
        if Runtime.cpuISA != .generic {  // packed for the CPU's ISA, used under a lower cap
            try Runtime.with(maxISA: .generic) {
                XCTAssertEqual(gsq_sgemm_packed(GSQ_NO_TRANS, 2, 1, b, 4, packed, 0, &c, 8), GSQ_ERR_INVALID_ARGUMENT)
                XCTAssertTrue(String(cString: gsq_last_error()).contains("pack it again"))
            }
        }
        gsq_sgemm_packed_b_destroy(nil)
    }
}
