import Foundation

/// The k-nearest-neighbour graph by the definition, in double precision, for
/// checking `Graph.kNearestNeighbors`: every pair's squared distance (or minus
/// the cosine similarity), sorted by (key, index); Gaussian weights
/// exp(-d² / σ²) with σ given or the mean kNN distance; cosine weights the
/// similarity, pairs with similarity <= 0 dropped; union of both directions
/// when `symmetrize`. Returns the weight of each (row, column) entry.
public func referenceKNN(points: [Float], dimension d: Int, k: Int, cosine: Bool,
                         sigma: Double? = nil, symmetrize: Bool) -> [[Int]: Double] {
    let n = points.count / d
    let x = points.map(Double.init)
    var norms = [Double](repeating: 0, count: n)
    for i in 0..<n {
        for c in 0..<d { norms[i] += x[i * d + c] * x[i * d + c] }
        norms[i] = norms[i].squareRoot()
    }
    var nearest: [[(j: Int, key: Double)]] = []
    for i in 0..<n {
        var all: [(j: Int, key: Double)] = []
        for j in 0..<n where j != i {
            var s = 0.0
            for c in 0..<d {
                if cosine { s += x[i * d + c] * x[j * d + c] } else { s += (x[i * d + c] - x[j * d + c]) * (x[i * d + c] - x[j * d + c]) }
            }
            all.append((j, cosine ? -(s / (norms[i] * norms[j])) : s))
        }
        all.sort { $0.key != $1.key ? $0.key < $1.key : $0.j < $1.j }
        nearest.append(Array(all.prefix(k)))
    }
    let meanDistance = nearest.joined().map { $0.key.squareRoot() }.reduce(0, +) / Double(n * k)
    let s = sigma ?? meanDistance
    var weights: [[Int]: Double] = [:]
    for i in 0..<n {
        for (j, key) in nearest[i] {
            let w = cosine ? -key : Foundation.exp(-key / (s * s))
            if cosine && w <= 0 { continue }
            weights[[i, j]] = w
            if symmetrize { weights[[j, i]] = w }
        }
    }
    return weights
}
