#if canImport(Glibc)
internal import Glibc
#endif

/// A random geometric graph, the kNN construction of the GCRN paper
/// (Moving-MNIST) and of the benchmark graphs: `nodes` seeded points uniform
/// in the unit square, each joined to its `neighbors` nearest points with
/// weight exp(-d² / σ²), σ the mean distance of those kNN pairs; symmetrised
/// (an edge in either direction is kept in both, with the same weight).
///
/// The neighbours come from a uniform grid of about `neighbors` points per
/// cell searched ring by ring, so the construction is O(N k log k).
func knnGraph(nodes n: Int, neighbors k: Int, seed: UInt64) throws(GraphSeqError) -> Graph {
    try require(n >= 1 && k >= 1 && k < n, "knnGraph: need 1 <= neighbors < nodes, got \(k) of \(n)")
    var rng = SplitMix64(seed: seed)
    let points = (0..<n).map { _ in (x: Double(rng.nextUnitFloat()), y: Double(rng.nextUnitFloat())) }
    let side = max(1, Int((Double(n) / Double(k)).squareRoot()))
    func cell(_ v: Double) -> Int { min(side - 1, Int(v * Double(side))) }
    var grid = [[Int32]](repeating: [], count: side * side)
    for (i, p) in points.enumerated() { grid[cell(p.y) * side + cell(p.x)].append(Int32(i)) }

    // Each point's k nearest (squared distance, index), closest first.
    var pairs: [(i: Int32, j: Int32, d2: Double)] = []
    pairs.reserveCapacity(n * k)
    for (i, p) in points.enumerated() {
        var best: [(d2: Double, j: Int32)] = []
        let (cx, cy) = (cell(p.x), cell(p.y))
        var ring = 0
        while true {
            for gy in max(0, cy - ring)...min(side - 1, cy + ring) {
                for gx in max(0, cx - ring)...min(side - 1, cx + ring)
                where max(abs(gx - cx), abs(gy - cy)) == ring {
                    for j in grid[gy * side + gx] where Int(j) != i {
                        let q = points[Int(j)]
                        let d2 = (q.x - p.x) * (q.x - p.x) + (q.y - p.y) * (q.y - p.y)
                        if best.count == k && d2 >= best[k - 1].d2 { continue }
                        let at = best.firstIndex { $0.d2 > d2 } ?? best.count
                        best.insert((d2, j), at: at)
                        if best.count > k { best.removeLast() }
                    }
                }
            }
            // Cells beyond this ring lie at least ring / side away.
            let reach = Double(ring) / Double(side)
            if best.count == k && best[k - 1].d2 <= reach * reach || ring >= side { break }
            ring += 1
        }
        for b in best { pairs.append((Int32(i), b.j, b.d2)) }
    }
    let sigma = pairs.reduce(0.0) { $0 + $1.d2.squareRoot() } / Double(pairs.count)

    // Union of both directions, each undirected edge once, then both ways.
    var undirected = pairs.map { (min($0.i, $0.j), max($0.i, $0.j), $0.d2) }
    undirected.sort { ($0.0, $0.1) < ($1.0, $1.1) }
    var rows: [Int32] = [], columns: [Int32] = [], weights: [Float] = []
    var last: (Int32, Int32)? = nil
    for (a, b, d2) in undirected where last == nil || last! != (a, b) {
        last = (a, b)
        let w = Float(exp(-d2 / (sigma * sigma)))
        rows += [a, b]
        columns += [b, a]
        weights += [w, w]
    }
    return try Graph(nodeCount: n, rows: rows, columns: columns, weights: weights)
}
