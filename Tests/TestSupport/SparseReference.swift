/// Dense double-precision references for the sparse family (CSR products,
/// Laplacians, GCN normalisation, Chebyshev terms, symmetric eigenvalues),
/// written independently of the library, plus seeded random CSR test data.

/// A row-major dense matrix in double precision.
public struct DenseMatrix: Equatable {
    public let rows: Int, columns: Int
    public var a: [Double]

    public init(rows: Int, columns: Int, a: [Double]? = nil) {
        self.rows = rows
        self.columns = columns
        self.a = a ?? [Double](repeating: 0, count: rows * columns)
    }

    public subscript(i: Int, j: Int) -> Double {
        get { a[i * columns + j] }
        set { a[i * columns + j] = newValue }
    }

    public static func identity(_ n: Int) -> DenseMatrix {
        var m = DenseMatrix(rows: n, columns: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    /// A matrix from float rows of width `columns` with leading dimension `ld`.
    public init(_ values: [Float], rows: Int, columns: Int, ld: Int? = nil) {
        self.init(rows: rows, columns: columns)
        let ld = ld ?? columns
        for i in 0..<rows { for j in 0..<columns { self[i, j] = Double(values[i * ld + j]) } }
    }

    public var transposed: DenseMatrix {
        var t = DenseMatrix(rows: columns, columns: rows)
        for i in 0..<rows { for j in 0..<columns { t[j, i] = self[i, j] } }
        return t
    }

    public static func * (l: DenseMatrix, r: DenseMatrix) -> DenseMatrix {
        precondition(l.columns == r.rows)
        var p = DenseMatrix(rows: l.rows, columns: r.columns)
        for i in 0..<l.rows {
            for k in 0..<l.columns where l[i, k] != 0 {
                for j in 0..<r.columns { p[i, j] += l[i, k] * r[k, j] }
            }
        }
        return p
    }

    public static func + (l: DenseMatrix, r: DenseMatrix) -> DenseMatrix {
        DenseMatrix(rows: l.rows, columns: l.columns, a: zip(l.a, r.a).map { $0 + $1 })
    }

    public static func * (s: Double, m: DenseMatrix) -> DenseMatrix {
        DenseMatrix(rows: m.rows, columns: m.columns, a: m.a.map { s * $0 })
    }

    public static func - (l: DenseMatrix, r: DenseMatrix) -> DenseMatrix { l + (-1) * r }
}

/// Seeded random CSR arrays.
public struct RandomCSR {
    public var rowCount: Int, columnCount: Int
    public var rowOffsets: [Int64], columnIndices: [Int32], values: [Float]

    /// Each row has 0 ... 2*meanDegree distinct random columns; every fifth
    /// row is empty and, when `heavyRow`, row 1 (if any) holds every column.
    public init(rows: Int, columns: Int, meanDegree: Int, heavyRow: Bool = true,
                symmetricPattern: Bool = false, seed: UInt64) {
        var rng = TestRNG(seed: seed)
        var dense = [[Float]](repeating: [Float](repeating: 0, count: columns), count: rows)
        for i in 0..<rows where i % 5 != 4 && columns > 0 {
            let degree = heavyRow && i == 1 ? columns : rng.int(2 * meanDegree + 1)
            for _ in 0..<degree {
                let j = heavyRow && i == 1 ? dense[i].firstIndex(of: 0) ?? 0 : rng.int(columns)
                let v = rng.float(0.1, 1)
                dense[i][j] = v
                if symmetricPattern { dense[j][i] = v }
            }
        }
        self.init(dense: dense, columns: columns)
    }

    /// CSR of the nonzeros of a dense matrix given as rows.
    public init(dense: [[Float]], columns: Int) {
        rowCount = dense.count
        columnCount = columns
        rowOffsets = [0]
        columnIndices = []
        values = []
        for row in dense {
            for (j, v) in row.enumerated() where v != 0 {
                columnIndices.append(Int32(j))
                values.append(v)
            }
            rowOffsets.append(Int64(columnIndices.count))
        }
    }

    public var dense: DenseMatrix { denseFromCSR(rowCount, columnCount, rowOffsets, columnIndices, values) }
}

/// The dense matrix of CSR arrays (nil values = ones).
public func denseFromCSR(_ rows: Int, _ columns: Int, _ rowOffsets: [Int64], _ columnIndices: [Int32],
                         _ values: [Float]?) -> DenseMatrix {
    var m = DenseMatrix(rows: rows, columns: columns)
    for i in 0..<rows {
        for k in Int(rowOffsets[i])..<Int(rowOffsets[i + 1]) {
            m[i, Int(columnIndices[k])] += Double(values?[k] ?? 1)
        }
    }
    return m
}

/// L = D - A, I - D^-1/2 A D^-1/2 or I - D^-1 A ("none", "sym", "rw") with
/// A's diagonal dropped, D = row sums, 1/0 taken as 0 (PyG's get_laplacian).
public func laplacianReference(_ a: DenseMatrix, _ normalization: String) -> DenseMatrix {
    let n = a.rows
    var off = a
    for i in 0..<n { off[i, i] = 0 }
    let deg = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + off[i, $1] } }
    var l = DenseMatrix(rows: n, columns: n)
    for i in 0..<n {
        for j in 0..<n {
            switch normalization {
            case "none": l[i, j] = (i == j ? deg[i] : 0) - off[i, j]
            case "sym":
                let s = { (d: Double) in d > 0 ? 1 / d.squareRoot() : 0 }
                l[i, j] = (i == j ? 1 : 0) - s(deg[i]) * off[i, j] * s(deg[j])
            default: l[i, j] = (i == j ? 1 : 0) - (deg[i] != 0 ? 1 / deg[i] : 0) * off[i, j]
            }
        }
    }
    return l
}

/// D^-1/2 (A + I) D^-1/2 where existing diagonal entries are kept (PyG's
/// gcn_norm with add_remaining_self_loops).
public func gcnNormReference(_ a: DenseMatrix, hasSelfLoop: [Bool]) -> DenseMatrix {
    let n = a.rows
    var b = a
    for i in 0..<n where !hasSelfLoop[i] { b[i, i] = 1 }
    let s = (0..<n).map { i -> Double in
        let d = (0..<n).reduce(0.0) { $0 + b[i, $1] }
        return d > 0 ? 1 / d.squareRoot() : 0
    }
    var g = b
    for i in 0..<n { for j in 0..<n { g[i, j] = s[i] * b[i, j] * s[j] } }
    return g
}

/// The Chebyshev polynomials T_0(L) ... T_{K-1}(L) as dense matrices.
public func chebyshevPolynomials(_ l: DenseMatrix, order K: Int) -> [DenseMatrix] {
    var p = [DenseMatrix.identity(l.rows)]
    if K > 1 { p.append(l) }
    while p.count < K { p.append(2 * (l * p[p.count - 1]) - p[p.count - 2]) }
    return p
}

/// Node-major basis [n][K*c] of x ([n][c]): T_k(L) x in columns k*c..<(k+1)*c.
public func chebyshevBasisReference(_ l: DenseMatrix, _ x: DenseMatrix, order K: Int) -> DenseMatrix {
    let terms = chebyshevPolynomials(l, order: K).map { $0 * x }
    var b = DenseMatrix(rows: x.rows, columns: K * x.columns)
    for (k, t) in terms.enumerated() {
        for i in 0..<x.rows { for j in 0..<x.columns { b[i, k * x.columns + j] = t[i, j] } }
    }
    return b
}

/// The adjoint: dX = sum_k T_k(L)^T G_k for G ([n][K*c]).
public func chebyshevBackwardReference(_ l: DenseMatrix, _ g: DenseMatrix, order K: Int) -> DenseMatrix {
    let c = g.columns / K
    var dx = DenseMatrix(rows: g.rows, columns: c)
    for (k, p) in chebyshevPolynomials(l, order: K).enumerated() {
        var gk = DenseMatrix(rows: g.rows, columns: c)
        for i in 0..<g.rows { for j in 0..<c { gk[i, j] = g[i, k * c + j] } }
        dx = dx + p.transposed * gk
    }
    return dx
}

/// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations, ascending.
public func symmetricEigenvalues(_ m: DenseMatrix) -> [Double] {
    var a = m
    let n = a.rows
    for _ in 0..<100 {
        var off = 0.0
        for i in 0..<n { for j in 0..<n where i != j { off += a[i, j] * a[i, j] } }
        if off < 1e-22 { break }
        for p in 0..<n {
            for q in (p + 1)..<max(p + 1, n) where a[p, q] != 0 {
                let theta = (a[q, q] - a[p, p]) / (2 * a[p, q])
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<n {
                    let akp = a[k, p], akq = a[k, q]
                    a[k, p] = c * akp - s * akq
                    a[k, q] = s * akp + c * akq
                }
                for k in 0..<n {
                    let apk = a[p, k], aqk = a[q, k]
                    a[p, k] = c * apk - s * aqk
                    a[q, k] = s * apk + c * aqk
                }
            }
        }
    }
    return (0..<n).map { a[$0, $0] }.sorted()
}

/// y = A x in double for CSR A and row-major x ([columns][nfeat]), for
/// operands too large for a dense reference.
public func sparseProductReference(_ rowOffsets: [Int64], _ columnIndices: [Int32], _ values: [Float],
                                   _ x: [Double], nfeat: Int) -> [Double] {
    let rows = rowOffsets.count - 1
    var y = [Double](repeating: 0, count: rows * nfeat)
    for i in 0..<rows {
        for k in Int(rowOffsets[i])..<Int(rowOffsets[i + 1]) {
            let v = Double(values[k]), j = Int(columnIndices[k])
            for f in 0..<nfeat { y[i * nfeat + f] += v * x[j * nfeat + f] }
        }
    }
    return y
}

/// The Chebyshev terms T_0 ... T_{K-1} of x by the sparse recursion in double.
public func sparseChebyshevTerms(_ rowOffsets: [Int64], _ columnIndices: [Int32], _ values: [Float],
                                 _ x: [Double], nfeat: Int, order K: Int) -> [[Double]] {
    var t = [x]
    if K > 1 { t.append(sparseProductReference(rowOffsets, columnIndices, values, x, nfeat: nfeat)) }
    while t.count < K {
        let lt = sparseProductReference(rowOffsets, columnIndices, values, t[t.count - 1], nfeat: nfeat)
        t.append(zip(lt, t[t.count - 2]).map { 2 * $0 - $1 })
    }
    return t
}
