internal import CGraphSeq

/// General matrix multiply on rank-2 tensors, the BLAS contract:
/// `c = alpha * op(a) * op(b) + beta * c`, where `op(x)` is `x` or its
/// transpose.
///
/// `op(a)` must be m x k, `op(b)` k x n and `c` m x n. With `beta == 0`, `c`
/// is only written (NaN or garbage in it is ignored); with `alpha == 0` the
/// product is skipped. `c` must be a tensor of its own (not `a` or `b`).
/// Results are bitwise identical for every thread count.
///
/// ```swift
/// let x = Tensor.uniform([32, 64], seed: 1)      // batch x in
/// let w = Tensor.uniform([128, 64], seed: 2)     // out x in
/// let y = Tensor.zeros([32, 128])
/// try gemm(x, w, into: y, transposeB: true)      // y = x w^T
/// try gemm(x, w, into: y, transposeB: true, beta: 1)  // y += x w^T
/// ```
public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor,
                 transposeA: Bool = false, transposeB: Bool = false,
                 alpha: Float = 1, beta: Float = 0) throws(GraphSeqError) {
    try require(a.rank == 2 && b.rank == 2 && c.rank == 2,
                "gemm: a, b and c must have rank 2, got shapes \(a.shape), \(b.shape), \(c.shape)")
    let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let (kb, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    try require(k == kb, "gemm: op(a) is \(m) x \(k) but op(b) is \(kb) x \(n)")
    try require(c.shape == [m, n], "gemm: c has shape \(c.shape), expected [\(m), \(n)]")
    try require(c !== a && c !== b, "gemm: c must not be the same tensor as a or b")
    let status = a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                gsq_sgemm(transposeA ? GSQ_TRANS : GSQ_NO_TRANS,
                          transposeB ? GSQ_TRANS : GSQ_NO_TRANS,
                          Int64(m), Int64(n), Int64(k), alpha,
                          pa.baseAddress, Int64(max(a.shape[1], 1)),
                          pb.baseAddress, Int64(max(b.shape[1], 1)),
                          beta, pc.baseAddress, Int64(max(n, 1)))
            }
        }
    }
    try check(status)
}

/// The matrix product `a * b` of an m x k and a k x n tensor, as a new m x n
/// tensor.
///
/// ```swift
/// let a = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
/// let b = try Tensor(shape: [3, 1], values: [1, 0, -1])
/// let c = try matmul(a, b)                      // [[-2], [-2]]
/// ```
public func matmul(_ a: Tensor, _ b: Tensor) throws(GraphSeqError) -> Tensor {
    try require(a.rank == 2 && b.rank == 2,
                "matmul: a and b must have rank 2, got shapes \(a.shape), \(b.shape)")
    let c = Tensor(shape: [a.shape[0], b.shape[1]])
    try gemm(a, b, into: c)
    return c
}

/// The BLAS-contract SGEMM on raw row-major pointers, for layers that multiply
/// slices of larger buffers: `c = alpha op(a) op(b) + beta c`, op(a) m x k,
/// op(b) k x n, leading dimensions in elements.
func sgemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
           alpha: Float = 1, _ a: UnsafePointer<Float>?, lda: Int,
           _ b: UnsafePointer<Float>?, ldb: Int, beta: Float = 0,
           _ c: UnsafeMutablePointer<Float>?, ldc: Int) throws(GraphSeqError) {
    try check(gsq_sgemm(transposeA ? GSQ_TRANS : GSQ_NO_TRANS, transposeB ? GSQ_TRANS : GSQ_NO_TRANS,
                        Int64(m), Int64(n), Int64(k), alpha, a, Int64(max(lda, 1)),
                        b, Int64(max(ldb, 1)), beta, c, Int64(max(ldc, 1))))
}

/// op(B) packed once for many products (gsq_sgemm_pack_b): a recurrent
/// weight is packed once per sequence instead of at every step.
final class PackedMatrix {
    fileprivate let handle: OpaquePointer

    /// op(B) is k x n; B is k x n, or n x k when transposed (`ldb`).
    init(transposed: Bool, k: Int, n: Int, _ b: UnsafePointer<Float>, ldb: Int) throws(GraphSeqError) {
        var out: OpaquePointer?
        try check(gsq_sgemm_pack_b(transposed ? GSQ_TRANS : GSQ_NO_TRANS, Int64(k), Int64(n), b,
                                   Int64(max(ldb, 1)), &out))
        handle = out!
    }

    deinit { gsq_sgemm_packed_b_destroy(handle) }
}

/// C := alpha * A * B + beta * C with a packed B (bitwise as `sgemm`).
func sgemm(m: Int, alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int, _ b: PackedMatrix,
           beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) throws(GraphSeqError) {
    try check(gsq_sgemm_packed(GSQ_NO_TRANS, Int64(m), alpha, a, Int64(max(lda, 1)), b.handle, beta, c,
                               Int64(max(ldc, 1))))
}

/// A block of columns of a GEMM operand given in pieces: `columns` columns
/// at `base`, `ld` apart.
struct MatrixPart {
    let base: UnsafePointer<Float>, ld: Int, columns: Int
}

private func withParts<R>(_ parts: [MatrixPart], _ body: ([gsq_matrix_part_t]) -> R) -> R {
    body(parts.map { gsq_matrix_part_t(data: $0.base, ld: Int64(max($0.ld, 1)), cols: Int64($0.columns)) })
}

/// Calls a C entry point that takes a product's A parts (count, array) and
/// packed B, such as a cell phase fused with its gate product.
func withProduct(_ parts: [MatrixPart], _ b: PackedMatrix,
                 _ body: (Int64, [gsq_matrix_part_t], OpaquePointer) -> gsq_status_t) throws(GraphSeqError) {
    try check(withParts(parts) { body(Int64($0.count), $0, b.handle) })
}

/// C := [A_0 A_1 ...] * B + beta * C with a packed B, the A parts m rows each
/// (bitwise as `sgemm` on the assembled A).
func sgemm(m: Int, parts a: [MatrixPart], _ b: PackedMatrix, beta: Float = 0,
           _ c: UnsafeMutablePointer<Float>, ldc: Int) throws(GraphSeqError) {
    try check(withParts(a) { gsq_sgemm_packed_parts(Int64(m), 1, Int64($0.count), $0, b.handle, beta, c,
                                                    Int64(max(ldc, 1))) })
}

/// C := op(A) * [B_0 B_1 ...] + beta * C, the B parts k rows each (bitwise as
/// `sgemm` on the assembled B).
func sgemm(transposeA: Bool = false, m: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int,
           parts b: [MatrixPart], beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int)
    throws(GraphSeqError) {
    try check(withParts(b) { gsq_sgemm_parts_b(transposeA ? GSQ_TRANS : GSQ_NO_TRANS, Int64(m), Int64(k), 1, a,
                                               Int64(max(lda, 1)), Int64($0.count), $0, beta, c,
                                               Int64(max(ldc, 1))) })
}
