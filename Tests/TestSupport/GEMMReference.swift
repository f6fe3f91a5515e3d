/// Naive SGEMM reference in Double: `C = alpha op(A) op(B) + beta C`, row-major
/// with leading dimensions, BLAS semantics (beta == 0: C is not read;
/// alpha == 0: the product is skipped). Returns the whole m x ldc buffer;
/// columns past n keep the input values.
public func referenceGEMM(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                          alpha: Float, a: [Float], lda: Int, b: [Float], ldb: Int,
                          beta: Float, c: [Float], ldc: Int) -> [Double] {
    var out = c.map(Double.init)
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            if alpha != 0 {
                for p in 0..<k {
                    let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(x) * Double(y)
                }
            }
            let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            out[i * ldc + j] = Double(alpha) * sum + old
        }
    }
    return out
}

/// y = M x in Double for a row-major rows x cols matrix (for O(n^2) checks of
/// large products).
public func referenceMatVec(_ matrix: [Float], rows: Int, cols: Int, _ x: [Double]) -> [Double] {
    (0..<rows).map { i in
        var s = 0.0
        for j in 0..<cols { s += Double(matrix[i * cols + j]) * x[j] }
        return s
    }
}
