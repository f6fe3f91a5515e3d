import CGraphSeq
import GraphSeq
import TestSupport
import XCTest

/// An operand split into column parts, each in its own buffer with its own
/// padded leading dimension, and the same operand assembled.
private final class Parts {
    let rows: Int, widths: [Int]
    let buffers: [UnsafeMutablePointer<Float>]
    let descriptors: [gsq_matrix_part_t]
    let assembled: [Float]   // rows x widths.sum, ld = widths.sum

    init(rows: Int, widths: [Int], rng: inout TestRNG) {
        (self.rows, self.widths) = (rows, widths)
        let total = widths.reduce(0, +)
        var assembled = [Float](repeating: 0, count: rows * total)
        var buffers: [UnsafeMutablePointer<Float>] = [], descriptors: [gsq_matrix_part_t] = []
        var start = 0
        for w in widths {
            let ld = max(w, 1) + rng.int(3)
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(rows * ld, 1))
            p.initialize(repeating: .nan, count: max(rows * ld, 1))   // padding is never read
            for i in 0..<rows {
                for j in 0..<w {
                    p[i * ld + j] = rng.float()
                    assembled[i * total + start + j] = p[i * ld + j]
                }
            }
            buffers.append(p)
            descriptors.append(gsq_matrix_part_t(data: p, ld: Int64(ld), cols: Int64(w)))
            start += w
        }
        (self.buffers, self.descriptors, self.assembled) = (buffers, descriptors, assembled)
    }

    var columns: Int { widths.reduce(0, +) }

    deinit { for p in buffers { p.deallocate() } }
}

/// gsq_sgemm_packed_parts and gsq_sgemm_parts_b against the products of the
/// assembled operands (gsq_sgemm is checked against a naive reference in
/// GEMMTests): bitwise the same under every ISA cap and thread count.
final class GEMMPartsTests: XCTestCase {
    /// Part widths that split k blocks (kc = 256) and tile panels (nr = 8,
    /// 16 or 32) anywhere, empty parts, and the aligned ones the GCRN layers
    /// use.
    private static let splits: [[Int]] = [[1], [5, 0, 3], [6, 64, 64, 64], [64, 64, 64, 6], [300, 1, 40],
                                           [17, 33, 200, 90], [32, 32, 32, 6], [0, 7]]

    func testPackedPartsAreBitwiseTheAssembledProduct() throws {
        var rng = TestRNG(seed: 81)
        for widths in Self.splits {
            // n = 20 and 32: one B panel, A's parts read in place (AVX-512).
            for (m, n) in [(1, 1), (29, 70), (100, 256), (29, 20), (240, 32)] {
                let a = Parts(rows: m, widths: widths, rng: &rng), k = a.columns
                let b = rng.floats(k * n), c0 = rng.floats(m * n)
                try forEachConfiguration { isa, threads in
                    var packed: OpaquePointer?
                    XCTAssertEqual(gsq_sgemm_pack_b(GSQ_NO_TRANS, Int64(k), Int64(n), b, Int64(n), &packed), GSQ_SUCCESS)
                    defer { gsq_sgemm_packed_b_destroy(packed) }
                    var expected = c0, actual = c0
                    XCTAssertEqual(gsq_sgemm_packed(GSQ_NO_TRANS, Int64(m), 1.5, a.assembled, Int64(max(k, 1)), packed,
                                                    0.5, &expected, Int64(n)), GSQ_SUCCESS)
                    XCTAssertEqual(gsq_sgemm_packed_parts(Int64(m), 1.5, Int64(widths.count), a.descriptors, packed,
                                                          0.5, &actual, Int64(n)), GSQ_SUCCESS)
                    XCTAssertNil(firstBitwiseDifference(expected, actual), "\(widths) m=\(m) n=\(n) \(isa) x\(threads)")
                }
            }
        }
    }

    func testPartsOfBAreBitwiseTheAssembledProduct() throws {
        var rng = TestRNG(seed: 82)
        for widths in Self.splits {
            for (m, k) in [(1, 1), (40, 70), (200, 600)] {
                let b = Parts(rows: k, widths: widths, rng: &rng), n = b.columns
                for transposed in [false, true] {
                    let lda = (transposed ? m : k) + 2
                    let a = rng.floats((transposed ? k : m) * lda), c0 = rng.floats(m * max(n, 1))
                    let opA: gsq_transpose_t = transposed ? GSQ_TRANS : GSQ_NO_TRANS
                    try forEachConfiguration { isa, threads in
                        var expected = c0, actual = c0
                        XCTAssertEqual(gsq_sgemm(opA, GSQ_NO_TRANS, Int64(m), Int64(n), Int64(k), -0.5, a, Int64(lda),
                                                 b.assembled, Int64(max(n, 1)), 2, &expected, Int64(max(n, 1))),
                                       GSQ_SUCCESS)
                        XCTAssertEqual(gsq_sgemm_parts_b(opA, Int64(m), Int64(k), -0.5, a, Int64(lda),
                                                         Int64(widths.count), b.descriptors, 2, &actual,
                                                         Int64(max(n, 1))), GSQ_SUCCESS)
                        XCTAssertNil(firstBitwiseDifference(expected, actual),
                                     "\(widths) m=\(m) k=\(k) transposed=\(transposed) \(isa) x\(threads)")
                    }
                }
            }
        }
    }

    /// gsq_gru_rb_{gates,output}_forward_parts against the product followed
    /// by the phase: bitwise the same gates, r * h and h, with several row
    /// blocks (batch > 224), depth blocks (k > 256) and column blocks (2 *
    /// hidden > 768) of the product, with and without bias and h_prev, under
    /// every ISA cap and thread count.
    func testFusedGRUPhasesAreBitwiseProductThenPhase() throws {
        var rng = TestRNG(seed: 84)
        for (m, H, widths) in [(1, 1, [3]), (29, 7, [5, 0, 3]), (300, 16, [6, 16, 16, 16]), (500, 33, [17, 33, 40]),
                               (250, 5, [300, 1, 40]), (30, 400, [10])] {
            let a = Parts(rows: m, widths: widths, rng: &rng), k = a.columns
            let wrz = rng.floats(k * 2 * H), wn = rng.floats(k * H)
            let gates0 = rng.floats(m * 3 * H), bias = rng.floats(3 * H), hPrev = rng.floats(m * H)
            for (withBias, withState) in [(true, true), (false, false)] {
                try forEachConfiguration { isa, threads in
                    var packedRZ: OpaquePointer?, packedN: OpaquePointer?
                    XCTAssertEqual(gsq_sgemm_pack_b(GSQ_NO_TRANS, Int64(k), Int64(2 * H), wrz, Int64(2 * H), &packedRZ),
                                   GSQ_SUCCESS)
                    XCTAssertEqual(gsq_sgemm_pack_b(GSQ_NO_TRANS, Int64(k), Int64(H), wn, Int64(H), &packedN), GSQ_SUCCESS)
                    defer { gsq_sgemm_packed_b_destroy(packedRZ); gsq_sgemm_packed_b_destroy(packedN) }
                    let b = withBias ? bias : nil, h0 = withState ? hPrev : nil
                    let parts = Int64(widths.count)
                    var (gatesE, rhE, hE) = (gates0, [Float](repeating: 0, count: m * H), [Float](repeating: 0, count: m * H))
                    var (gatesA, rhA, hA) = (gates0, [Float](repeating: 1, count: m * H), [Float](repeating: 1, count: m * H))
                    gatesE.withUnsafeMutableBufferPointer { g in
                        XCTAssertEqual(gsq_sgemm_packed_parts(Int64(m), 1, parts, a.descriptors, packedRZ, 0, g.baseAddress,
                                                              Int64(3 * H)), GSQ_SUCCESS)
                        XCTAssertEqual(gsq_gru_rb_gates_forward(Int64(m), Int64(H), g.baseAddress, b, h0, &rhE), GSQ_SUCCESS)
                        XCTAssertEqual(gsq_sgemm_packed_parts(Int64(m), 1, parts, a.descriptors, packedN, 0,
                                                              g.baseAddress! + 2 * H, Int64(3 * H)), GSQ_SUCCESS)
                        XCTAssertEqual(gsq_gru_rb_output_forward(Int64(m), Int64(H), g.baseAddress, b, h0, &hE), GSQ_SUCCESS)
                    }
                    XCTAssertEqual(gsq_gru_rb_gates_forward_parts(Int64(m), Int64(H), parts, a.descriptors, packedRZ,
                                                                  &gatesA, b, h0, &rhA), GSQ_SUCCESS)
                    XCTAssertEqual(gsq_gru_rb_output_forward_parts(Int64(m), Int64(H), parts, a.descriptors, packedN,
                                                                   &gatesA, b, h0, &hA), GSQ_SUCCESS)
                    let at = "m=\(m) H=\(H) \(widths) bias=\(withBias) state=\(withState) \(isa) x\(threads)"
                    XCTAssertNil(firstBitwiseDifference(gatesE, gatesA), "gates: \(at)")
                    XCTAssertNil(firstBitwiseDifference(rhE, rhA), "rh: \(at)")
                    XCTAssertNil(firstBitwiseDifference(hE, hA), "h: \(at)")
                }
            }
        }
    }

    /// Bad arguments to the fused phases: a status, a message naming the
    /// function, and the outputs untouched.
    func testFusedGRUPhasesRejectBadArguments() throws {
        var rng = TestRNG(seed: 85)
        let (m, H) = (5, 4)
        let a = Parts(rows: m, widths: [3, 4], rng: &rng)
        var packedRZ: OpaquePointer?, packedN: OpaquePointer?
        XCTAssertEqual(gsq_sgemm_pack_b(GSQ_NO_TRANS, 7, Int64(2 * H), rng.floats(7 * 2 * H), Int64(2 * H), &packedRZ),
                       GSQ_SUCCESS)
        XCTAssertEqual(gsq_sgemm_pack_b(GSQ_NO_TRANS, 7, Int64(H), rng.floats(7 * H), Int64(H), &packedN), GSQ_SUCCESS)
        defer { gsq_sgemm_packed_b_destroy(packedRZ); gsq_sgemm_packed_b_destroy(packedN) }
        let gates0 = rng.floats(m * 3 * H)
        var gates = gates0, rh = [Float](repeating: 7, count: m * H)
        func gatesPhase(_ w: OpaquePointer?, batch: Int = m, hidden: Int = H, parts: [gsq_matrix_part_t]? = nil,
                        rh out: UnsafeMutablePointer<Float>? = nil) -> gsq_status_t {
            let (b, h, p) = (Int64(batch), Int64(hidden), parts ?? a.descriptors)
            if let out { return gsq_gru_rb_gates_forward_parts(b, h, 2, p, w, &gates, nil, nil, out) }
            return gsq_gru_rb_gates_forward_parts(b, h, 2, p, w, &gates, nil, nil, &rh)
        }
        XCTAssertEqual(gatesPhase(packedN), GSQ_ERR_INVALID_ARGUMENT, "w is hidden wide, not 2 * hidden")
        XCTAssertTrue(String(cString: gsq_last_error()).contains("gsq_gru_rb_gates_forward_parts"))
        XCTAssertEqual(gatesPhase(nil), GSQ_ERR_INVALID_ARGUMENT, "NULL w")
        XCTAssertEqual(gatesPhase(packedRZ, hidden: -1), GSQ_ERR_INVALID_ARGUMENT, "negative hidden")
        XCTAssertEqual(gatesPhase(packedRZ, batch: -1), GSQ_ERR_INVALID_ARGUMENT, "negative batch")
        var narrow = a.descriptors
        narrow[0].ld = 2
        XCTAssertEqual(gatesPhase(packedRZ, parts: narrow), GSQ_ERR_INVALID_ARGUMENT, "ld < cols")
        // rh inside the second part: the phase would overwrite rows still to be read.
        XCTAssertEqual(gatesPhase(packedRZ, rh: UnsafeMutablePointer(mutating: a.descriptors[1].data)),
                       GSQ_ERR_INVALID_ARGUMENT, "rh overlaps an A part")
        XCTAssertTrue(String(cString: gsq_last_error()).contains("overlaps"))
        XCTAssertEqual(gates, gates0, "gates untouched")
        XCTAssertEqual(rh, [Float](repeating: 7, count: m * H), "rh untouched")
        var h = [Float](repeating: 7, count: m * H)
        XCTAssertEqual(gsq_gru_rb_output_forward_parts(Int64(m), Int64(H), 2, a.descriptors, packedRZ, &gates, nil, nil,
                                                       &h), GSQ_ERR_INVALID_ARGUMENT, "w is 2 * hidden wide, not hidden")
        XCTAssertTrue(String(cString: gsq_last_error()).contains("gsq_gru_rb_output_forward_parts"))
        XCTAssertEqual(gsq_gru_rb_output_forward_parts(Int64(m), Int64(H), 2, a.descriptors, packedN, nil, nil, nil,
                                                       &h), GSQ_ERR_INVALID_ARGUMENT, "NULL gates")
        XCTAssertEqual(h, [Float](repeating: 7, count: m * H), "h untouched")
        XCTAssertEqual(gsq_gru_rb_output_forward_parts(Int64(m), Int64(H), 2, a.descriptors, packedN, &gates, nil, nil,
                                                       &h), GSQ_SUCCESS)
    }

    func testPartsRejectBadArguments() throws {
        var rng = TestRNG(seed: 83)
        let a = Parts(rows: 4, widths: [3, 5], rng: &rng)
        let b = rng.floats(8 * 6)
        var c = [Float](repeating: 0, count: 4 * 6)
        var packed: OpaquePointer?
        XCTAssertEqual(gsq_sgemm_pack_b(GSQ_NO_TRANS, 8, 6, b, 6, &packed), GSQ_SUCCESS)
        defer { gsq_sgemm_packed_b_destroy(packed) }
        func packedParts(_ parts: [gsq_matrix_part_t], count: Int? = nil) -> gsq_status_t {
            gsq_sgemm_packed_parts(4, 1, Int64(count ?? parts.count), parts, packed, 0, &c, 6)
        }
        XCTAssertEqual(packedParts(a.descriptors), GSQ_SUCCESS)
        XCTAssertEqual(packedParts(Array(a.descriptors.prefix(1))), GSQ_ERR_INVALID_ARGUMENT, "widths sum to 3, k = 8")
        XCTAssertEqual(packedParts(a.descriptors, count: -1), GSQ_ERR_INVALID_ARGUMENT, "negative count")
        var narrow = a.descriptors
        narrow[1].ld = 4
        XCTAssertEqual(packedParts(narrow), GSQ_ERR_INVALID_ARGUMENT, "ld < cols")
        var missing = a.descriptors
        missing[0].data = nil
        XCTAssertEqual(packedParts(missing), GSQ_ERR_INVALID_ARGUMENT, "NULL data")
        XCTAssertTrue(String(cString: gsq_last_error()).contains("gsq_sgemm_packed_parts"))
        XCTAssertEqual(gsq_sgemm_packed_parts(4, 1, 2, nil, packed, 0, &c, 6), GSQ_ERR_INVALID_ARGUMENT, "NULL parts")

        let bParts = Parts(rows: 8, widths: [2, 4], rng: &rng)
        let x = rng.floats(4 * 8)
        XCTAssertEqual(gsq_sgemm_parts_b(GSQ_NO_TRANS, 4, 8, 1, x, 8, 2, bParts.descriptors, 0, &c, 6), GSQ_SUCCESS)
        XCTAssertEqual(gsq_sgemm_parts_b(GSQ_NO_TRANS, 4, 8, 1, x, 8, 2, bParts.descriptors, 0, &c, 5),
                       GSQ_ERR_INVALID_ARGUMENT, "ldc < n")
        XCTAssertEqual(gsq_sgemm_parts_b(gsq_transpose_t(rawValue: 7), 4, 8, 1, x, 8, 2, bParts.descriptors, 0, &c, 6),
                       GSQ_ERR_INVALID_ARGUMENT, "bad transa")
        XCTAssertEqual(gsq_sgemm_parts_b(GSQ_NO_TRANS, 4, 8, 1, x, 7, 2, bParts.descriptors, 0, &c, 6),
                       GSQ_ERR_INVALID_ARGUMENT, "lda < k")
    }
}
