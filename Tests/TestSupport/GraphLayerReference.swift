import GraphSeq

// Dense double-precision references of the graph layers, written from the
// papers' / PyTorch Geometric's definitions without calling the library.
// Matrices are row-major [n * n]; node features [n, width] row-major.

/// The n x n matrix of an edge list, duplicates summed; nil weights mean 1.
public func denseMatrix(n: Int, rows: [Int32], columns: [Int32], weights: [Float]?) -> [Double] {
    var a = [Double](repeating: 0, count: n * n)
    for e in rows.indices { a[Int(rows[e]) * n + Int(columns[e])] += Double(weights?[e] ?? 1) }
    return a
}

/// PyG's gcn_norm: A' = A with every missing self loop added with weight 1
/// (existing ones kept), d = row sums of A', Â = d^-1/2 A' d^-1/2 (0 where d <= 0).
public func gcnNormalizedReference(_ a: [Double], n: Int) -> [Double] {
    var m = a
    for i in 0..<n where m[i * n + i] == 0 { m[i * n + i] = 1 }
    let s = (0..<n).map { i in
        let d = (0..<n).reduce(0.0) { $0 + m[i * n + $1] }
        return d > 0 ? 1 / d.squareRoot() : 0
    }
    for i in 0..<n { for j in 0..<n { m[i * n + j] *= s[i] * s[j] } }
    return m
}

/// PyG's get_laplacian: self loops removed, d = row sums; .none L = D - A,
/// .symmetric L = I - D^-1/2 A D^-1/2, .randomWalk L = I - D^-1 A, with
/// 1/d taken as 0 for an isolated node.
public func laplacianReference(_ a: [Double], n: Int, _ norm: LaplacianNormalization) -> [Double] {
    var w = a
    for i in 0..<n { w[i * n + i] = 0 }
    let d = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + w[i * n + $1] } }
    let inv = { (x: Double) in x > 0 ? 1 / x : 0 }
    var l = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0..<n {
            switch norm {
            case .none: l[i * n + j] = (i == j ? d[i] : 0) - w[i * n + j]
            case .symmetric: l[i * n + j] = (i == j ? 1 : 0) - inv(d[i].squareRoot()) * w[i * n + j] * inv(d[j].squareRoot())
            case .randomWalk: l[i * n + j] = (i == j ? 1 : 0) - inv(d[i]) * w[i * n + j]
            }
        }
    }
    return l
}

/// The largest eigenvalue of a symmetric matrix by cyclic Jacobi rotations.
public func largestSymmetricEigenvalue(_ m: [Double], n: Int) -> Double {
    var a = m
    for _ in 0..<100 {
        var off = 0.0
        for p in 0..<n { for q in 0..<n where p != q { off += a[p * n + q] * a[p * n + q] } }
        if off < 1e-24 { break }
        for p in 0..<n {
            for q in (p + 1)..<n where a[p * n + q] != 0 {
                let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
                let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<n {   // columns p, q
                    let (akp, akq) = (a[k * n + p], a[k * n + q])
                    a[k * n + p] = c * akp - s * akq
                    a[k * n + q] = s * akp + c * akq
                }
                for k in 0..<n {   // rows p, q
                    let (apk, aqk) = (a[p * n + k], a[q * n + k])
                    a[p * n + k] = c * apk - s * aqk
                    a[q * n + k] = s * apk + c * aqk
                }
            }
        }
    }
    return (0..<n).map { a[$0 * n + $0] }.max() ?? 0
}

/// 2 L / lambdaMax - I; lambdaMax nil: the largest eigenvalue of L (of the
/// symmetric normalisation for .randomWalk, which is similar to it), or nil
/// when that is not positive. `a` must be symmetric when lambdaMax is nil.
public func scaledLaplacianReference(_ a: [Double], n: Int, _ norm: LaplacianNormalization,
                                     lambdaMax: Double?) -> [Double]? {
    let l = laplacianReference(a, n: n, norm)
    let lambda = lambdaMax ?? largestSymmetricEigenvalue(
        norm == .randomWalk ? laplacianReference(a, n: n, .symmetric) : l, n: n)
    guard lambda > 1e-9 else { return nil }
    var s = l.map { 2 * $0 / lambda }
    for i in 0..<n { s[i * n + i] -= 1 }
    return s
}

/// m x, for m [n, n] and x [n, width].
public func denseProduct(_ m: [Double], _ x: [Double], n: Int, width: Int) -> [Double] {
    var y = [Double](repeating: 0, count: n * width)
    for i in 0..<n {
        for j in 0..<n where m[i * n + j] != 0 {
            for f in 0..<width { y[i * width + f] += m[i * n + j] * x[j * width + f] }
        }
    }
    return y
}

/// GCNConv: Â x W^T + b for x [n, batch, in] (Â already normalised), W [out, in].
public func gcnConvReference(_ x: [Double], weight: [Double], bias: [Double], ahat: [Double],
                             n: Int, batch: Int, inputSize: Int, outputSize: Int) -> [Double] {
    let ax = denseProduct(ahat, x, n: n, width: batch * inputSize)
    return linearReference(ax, weight, bias, rows: n * batch, inputSize: inputSize, outputSize: outputSize)
}

/// ChebConv: sum_k T_k(L̂) x W_k^T + b, T_0 = x, T_1 = L̂ x,
/// T_k = 2 L̂ T_{k-1} - T_{k-2}; `lins[k]` is W_k [out, in] (PyG's lins.k.weight).
public func chebConvReference(_ x: [Double], lins: [[Double]], bias: [Double], lhat: [Double],
                              n: Int, batch: Int, inputSize: Int, outputSize: Int) -> [Double] {
    let width = batch * inputSize
    var terms = [x]
    if lins.count > 1 { terms.append(denseProduct(lhat, x, n: n, width: width)) }
    while terms.count < lins.count {
        let next = denseProduct(lhat, terms[terms.count - 1], n: n, width: width)
        terms.append(zip(next, terms[terms.count - 2]).map { 2 * $0 - $1 })
    }
    var y = [Double](repeating: 0, count: n * batch * outputSize)
    for r in 0..<(n * batch) { for o in 0..<outputSize { y[r * outputSize + o] = bias.isEmpty ? 0 : bias[o] } }
    for (t, w) in zip(terms, lins) {
        let yk = linearReference(t, w, [], rows: n * batch, inputSize: inputSize, outputSize: outputSize)
        for i in y.indices { y[i] += yk[i] }
    }
    return y
}
