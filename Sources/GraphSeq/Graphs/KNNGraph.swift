#if canImport(Glibc)
internal import Glibc
#endif

/// How `Graph.kNearestNeighbors` ranks neighbours and weights edges.
public enum KNNMetric: Sendable, Equatable {
    /// Euclidean distance; weight exp(-d² / σ²) with `sigma` σ, or when nil the
    /// mean distance of all k-nearest pairs (the GCRN paper's pixel and sensor graphs).
    case gaussian(sigma: Float? = nil)
    /// Cosine similarity (embeddings); the weight is the similarity, and a
    /// neighbour whose similarity is 0 or negative gets no edge.
    case cosine
}

extension Graph {
    /// The k-nearest-neighbour graph of `points` [N, D]: row i holds the k
    /// points nearest to point i (itself excluded), weighted by `metric`; with
    /// `symmetrize`, the union of both directions (`symmetrized()`; the weight
    /// of a pair is the same either way).
    ///
    /// Distances (or, for cosine, dot products of unit vectors) come from the
    /// library's SGEMM in blocks of rows, ||x||² + ||y||² - 2 x·y on centred
    /// points; the candidates within that estimate's rounding error of the k-th
    /// are re-ranked in double precision, and equal distances go to the lower
    /// index: the neighbour sets are those of a double-precision computation,
    /// and deterministic. O(N² D) time, O(N) memory per block row.
    /// `progress`, if given, gets the number of points done after each block.
    ///
    /// ```swift
    /// let xy = try MatrixFile.read("data/minnesota/coords.csv", columns: ["lon", "lat"])
    /// let roads = try Graph.kNearestNeighbors(points: xy, k: 8)            // Gaussian weights
    /// let words = try Graph.kNearestNeighbors(points: embeddings, k: 5, metric: .cosine)
    /// ```
    public static func kNearestNeighbors(points: Tensor, k: Int, metric: KNNMetric = .gaussian(),
                                         symmetrize: Bool = true,
                                         progress: ((_ rowsDone: Int) -> Void)? = nil) throws(GraphSeqError) -> Graph {
        try require(points.rank == 2 && points.shape[1] >= 1,
                    "kNearestNeighbors: points must be [N, D] with D >= 1, got \(points.shape)")
        let (n, d) = (points.shape[0], points.shape[1])
        try require(k >= 1 && k < n, "kNearestNeighbors: k = \(k) must be in 1..<N, N = \(n) points")
        let values = points.values
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw .invalidArgument("kNearestNeighbors: point \(bad / d) has the non-finite coordinate \(values[bad])")
        }
        if case .gaussian(let sigma?) = metric {
            try require(sigma > 0 && sigma.isFinite, "kNearestNeighbors: sigma = \(sigma) must be positive")
        }
        let search = try NeighborSearch(values, n: n, d: d, cosine: metric == .cosine)
        let neighbors = try search.nearest(k, progress: progress)

        var rows: [Int32] = [], columns: [Int32] = [], weights: [Float] = []
        switch metric {
        case .gaussian(let given):
            let mean = neighbors.reduce(0.0) { $0 + $1.reduce(0.0) { $0 + $1.key.squareRoot() } } / Double(n * k)
            let sigma = given.map(Double.init) ?? mean
            try require(sigma > 0, "kNearestNeighbors: every point's k nearest neighbours coincide with it (mean distance 0); give sigma")
            for (i, row) in neighbors.enumerated() {
                for (j, d2) in row {
                    rows.append(Int32(i)); columns.append(Int32(j)); weights.append(Float(exp(-d2 / (sigma * sigma))))
                }
            }
        case .cosine:
            for (i, row) in neighbors.enumerated() {
                for (j, negated) in row where -negated > 0 {
                    rows.append(Int32(i)); columns.append(Int32(j)); weights.append(Float(-negated))
                }
            }
        }
        let graph = try Graph(nodeCount: n, rows: rows, columns: columns, weights: weights)
        return symmetrize ? try graph.symmetrized() : graph
    }

    /// The kNN graph of a `width` x `height` pixel grid (node y * width + x,
    /// row-major as images are flattened) with Gaussian weights: the GCRN
    /// paper's Moving-MNIST graph. Equal distances go to the lower index.
    public static func pixelGrid(width: Int, height: Int, k: Int) throws(GraphSeqError) -> Graph {
        try require(width >= 1 && height >= 1, "pixelGrid: width \(width) and height \(height) must be positive")
        let coordinates = (0..<(width * height)).flatMap { [Float($0 % width), Float($0 / width)] }
        return try kNearestNeighbors(points: Tensor(shape: [width * height, 2], values: coordinates), k: k)
    }
}

/// Brute-force k-nearest-neighbour search; smaller keys are nearer: the
/// squared distance, or minus the cosine similarity.
private struct NeighborSearch {
    let points: [Float]
    let n: Int, d: Int
    let cosine: Bool
    /// The rows the SGEMM sees: centred points, or unit vectors for cosine.
    let scaled: Tensor
    /// Squared norms of `scaled` rows (1 for cosine), and the points' norms.
    let squaredNorms: [Float]
    let norms: [Double]

    init(_ points: [Float], n: Int, d: Int, cosine: Bool) throws(GraphSeqError) {
        (self.points, self.n, self.d, self.cosine) = (points, n, d, cosine)
        var norms = [Double](repeating: 0, count: n)
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for c in 0..<d {
                let v = Double(points[i * d + c])
                norms[i] += v * v
                mean[c] += v / Double(n)
            }
            norms[i] = norms[i].squareRoot()
        }
        if cosine, let zero = norms.firstIndex(of: 0) {
            throw .invalidArgument("kNearestNeighbors: point \(zero) is the zero vector, whose cosine similarity is undefined")
        }
        // Centring keeps ||x||² + ||y||² - 2 x·y from cancelling for points far from the origin.
        var rows = [Float](repeating: 0, count: n * d)
        var squared = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var s = 0.0
            for c in 0..<d {
                let v = cosine ? Float(Double(points[i * d + c]) / norms[i]) : Float(Double(points[i * d + c]) - mean[c])
                rows[i * d + c] = v
                s += Double(v) * Double(v)
            }
            squared[i] = Float(s)
        }
        scaled = try Tensor(shape: [n, d], values: rows)
        squaredNorms = squared
        self.norms = norms
    }

    /// The key in double precision from the original coordinates.
    func exactKey(_ i: Int, _ j: Int) -> Double {
        var s = 0.0
        if cosine {
            for c in 0..<d { s += Double(points[i * d + c]) * Double(points[j * d + c]) }
            return -(s / (norms[i] * norms[j]))
        }
        for c in 0..<d {
            let diff = Double(points[i * d + c]) - Double(points[j * d + c])
            s += diff * diff
        }
        return s
    }

    /// Each point's k nearest other points, nearest first, as (index, key);
    /// `progress` gets the rows done after each block.
    func nearest(_ k: Int, progress: ((Int) -> Void)?) throws(GraphSeqError) -> [[(index: Int, key: Double)]] {
        let blockRows = max(1, min(n, (1 << 21) / n))
        let products = Tensor(shape: [blockRows, n])
        var result: [[(index: Int, key: Double)]] = []
        result.reserveCapacity(n)
        try withPointers([scaled, products]) { (p) throws(GraphSeqError) in
            var heap = MaxHeap(capacity: k)
            for start in stride(from: 0, to: n, by: blockRows) {
                let count = min(blockRows, n - start)
                try sgemm(transposeB: true, m: count, n: n, k: d, p[0] + start * d, lda: d, p[0], ldb: d, p[1], ldc: n)
                for r in 0..<count { result.append(select(row: p[1] + r * n, of: start + r, k: k, heap: &heap)) }
                progress?(start + count)
            }
        }
        return result
    }

    /// Point i's k nearest, from `row` = its dot products with every point
    /// (overwritten with the estimated keys). The scans test 16 keys at a
    /// time and look at single keys only where one can qualify.
    private func select(row: UnsafeMutablePointer<Float>, of i: Int, k: Int,
                        heap: inout MaxHeap) -> [(index: Int, key: Double)] {
        squaredNorms.withUnsafeBufferPointer { normBuffer in
            let norms = normBuffer.baseAddress!
            let ni = norms[i]
            if cosine {
                for j in 0..<n { row[j] = -row[j] }
            } else {
                for j in 0..<n { row[j] = ni + norms[j] - 2 * row[j] }
            }
            row[i] = .infinity   // not its own neighbour
            heap.removeAll()
            for j in 0..<k { heap.insert(row[j], j) }
            forEach(below: { heap.top }, in: row, from: k, shift: 0, norms: norms) { j in
                if row[j] < heap.top { heap.replaceTop(row[j], j) }
            }
            // |estimated - exact key| <= tolerance * (||x||² + ||y||²): SGEMM dot
            // products err by at most D ulp of ||x|| ||y||, plus the rounding of
            // norms, centring and the final sums. Every point whose estimate
            // could beat the k-th exact key is re-ranked exactly.
            let tolerance = Float(2 * (d + 8)) * Float.ulpOfOne / 2
            let largestNorm = heap.indices.map { norms[$0] }.max()!
            let limit = heap.top + tolerance * (ni + largestNorm) + tolerance * ni
            var candidates: [(index: Int, key: Double)] = []
            forEach(below: { limit }, in: row, from: 0, shift: tolerance, norms: norms) { j in
                if row[j] - tolerance * norms[j] <= limit { candidates.append((j, exactKey(i, j))) }
            }
            candidates.sort { ($0.key, $0.index) < ($1.key, $1.index) }
            return Array(candidates.prefix(k))
        }
    }

    /// Calls `body(j)` for each j >= `start` with row[j] - shift * norms[j] <=
    /// bound(), testing 16 at a time (`body` may lower the bound).
    @inline(__always)
    private func forEach(below bound: () -> Float, in row: UnsafeMutablePointer<Float>, from start: Int,
                         shift: Float, norms: UnsafePointer<Float>, _ body: (Int) -> Void) {
        var j = start
        while j + 16 <= n {
            let keys = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self)
                - shift * UnsafeRawPointer(norms + j).loadUnaligned(as: SIMD16<Float>.self)
            if any(keys .<= bound()) {
                for l in j..<(j + 16) where row[l] - shift * norms[l] <= bound() { body(l) }
            }
            j += 16
        }
        for l in j..<n where row[l] - shift * norms[l] <= bound() { body(l) }
    }
}

/// A binary max-heap of (key, index) by key, for the running k smallest.
private struct MaxHeap {
    private var keys: [Float] = []
    private(set) var indices: [Int] = []

    init(capacity: Int) {
        keys.reserveCapacity(capacity)
        indices.reserveCapacity(capacity)
    }

    var count: Int { keys.count }
    var top: Float { keys[0] }

    mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        indices.removeAll(keepingCapacity: true)
    }

    mutating func insert(_ key: Float, _ index: Int) {
        keys.append(key); indices.append(index)
        var c = keys.count - 1
        while c > 0, keys[(c - 1) / 2] < keys[c] {
            keys.swapAt(c, (c - 1) / 2); indices.swapAt(c, (c - 1) / 2)
            c = (c - 1) / 2
        }
    }

    mutating func replaceTop(_ key: Float, _ index: Int) {
        keys[0] = key; indices[0] = index
        var p = 0
        while true {
            let l = 2 * p + 1, r = l + 1
            var largest = p
            if l < keys.count, keys[l] > keys[largest] { largest = l }
            if r < keys.count, keys[r] > keys[largest] { largest = r }
            if largest == p { return }
            keys.swapAt(p, largest); indices.swapAt(p, largest)
            p = largest
        }
    }
}

/// A random geometric graph for the benchmarks: `nodes` seeded points uniform
/// in the unit square (x then y from `SplitMix64(seed)`), each joined to its
/// `neighbors` nearest points with Gaussian weights, symmetrised: the GCRN
/// paper's construction (`Graph.kNearestNeighbors`).
func knnGraph(nodes n: Int, neighbors k: Int, seed: UInt64) throws(GraphSeqError) -> Graph {
    try require(n >= 1 && k >= 1 && k < n, "knnGraph: need 1 <= neighbors < nodes, got \(k) of \(n)")
    var rng = SplitMix64(seed: seed)
    let coordinates = (0..<(2 * n)).map { _ in rng.nextUnitFloat() }
    return try Graph.kNearestNeighbors(points: Tensor(shape: [n, 2], values: coordinates), k: k)
}
