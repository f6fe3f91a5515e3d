extension Graph {
    /// The symmetric union A ∪ Aᵀ: every entry (i, j) also stored at (j, i).
    /// Where both directions are stored, both get the larger weight (SciPy's
    /// `A.maximum(A.T)`), so an already symmetric graph is unchanged.
    public func symmetrized() throws(GraphSeqError) -> Graph {
        try require(rowCount == columnCount, "symmetrized: the matrix is \(rowCount) x \(columnCount), not square")
        let (offsets, columns, values) = csr
        // Entry (i, j) and its mirror, sorted by (row, column); mirrors of
        // stored entries then sit next to them and are merged by max.
        var entries: [(row: Int32, column: Int32, weight: Float)] = []
        entries.reserveCapacity(2 * columns.count)
        for i in 0..<rowCount {
            for e in Int(offsets[i])..<Int(offsets[i + 1]) {
                entries.append((Int32(i), columns[e], values[e]))
                if Int(columns[e]) != i { entries.append((columns[e], Int32(i), values[e])) }
            }
        }
        entries.sort { ($0.row, $0.column) < ($1.row, $1.column) }
        var rows: [Int32] = [], cols: [Int32] = [], weights: [Float] = []
        for entry in entries {
            if let last = rows.indices.last, rows[last] == entry.row, cols[last] == entry.column {
                weights[last] = max(weights[last], entry.weight)
            } else {
                rows.append(entry.row); cols.append(entry.column); weights.append(entry.weight)
            }
        }
        return try Graph(nodeCount: rowCount, rows: rows, columns: cols, weights: weights)
    }

    /// The matrix as a dense [rows, columns] tensor.
    public func denseMatrix() -> Tensor {
        let (offsets, columns, values) = csr
        let dense = Tensor(shape: [rowCount, columnCount])
        dense.withUnsafeMutableBufferPointer { d in
            for i in 0..<rowCount {
                for e in Int(offsets[i])..<Int(offsets[i + 1]) { d[i * columnCount + Int(columns[e])] = values[e] }
            }
        }
        return dense
    }

    /// The component of each node when edges are taken as undirected (weakly
    /// connected components), numbered 0, 1, ... in order of their lowest node.
    public func connectedComponents() -> [Int] {
        let (offsets, columns, _) = csr
        let n = max(rowCount, columnCount)
        var parent = Array(0..<n)
        func root(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        for i in 0..<rowCount {
            for e in Int(offsets[i])..<Int(offsets[i + 1]) {
                let (a, b) = (root(i), root(Int(columns[e])))
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        var label = [Int](repeating: -1, count: n)
        var count = 0
        return (0..<n).map { i in
            let r = root(i)
            if label[r] < 0 { label[r] = count; count += 1 }
            return label[r]
        }
    }
}

/// What `graphseq graph` prints about a graph: size, degrees, weights, components.
public struct GraphSummary: Sendable, CustomStringConvertible {
    public let nodes: Int
    /// Stored entries (a symmetric pair counts twice, a self loop once).
    public let entries: Int
    public let selfLoops: Int
    public let isSymmetric: Bool
    /// Stored entries per row: the in-degree in `Graph`'s convention.
    public let minDegree: Int, meanDegree: Double, maxDegree: Int
    public let minWeight: Float, maxWeight: Float
    /// Weakly connected components (isolated nodes count as one each).
    public let components: Int
    /// Nodes in the largest component.
    public let largestComponent: Int

    public init(_ graph: Graph) {
        let (offsets, columns, values) = graph.csr
        let n = graph.rowCount
        nodes = n
        entries = columns.count
        selfLoops = (0..<n).reduce(0) { count, i in
            count + (Int(offsets[i])..<Int(offsets[i + 1])).filter { Int(columns[$0]) == i }.count
        }
        isSymmetric = graph.isSymmetric
        let degrees = (0..<n).map { Int(offsets[$0 + 1] - offsets[$0]) }
        minDegree = degrees.min() ?? 0
        maxDegree = degrees.max() ?? 0
        meanDegree = n > 0 ? Double(entries) / Double(n) : 0
        minWeight = values.min() ?? 0
        maxWeight = values.max() ?? 0
        let component = graph.connectedComponents()
        var sizes = [Int](repeating: 0, count: (component.max() ?? -1) + 1)
        for c in component { sizes[c] += 1 }
        components = sizes.count
        largestComponent = sizes.max() ?? 0
    }

    /// One "key: value" line per property.
    public var description: String {
        let undirected = isSymmetric ? " (\((entries - selfLoops) / 2 + selfLoops) undirected)" : ""
        return """
            nodes: \(nodes)
            edges: \(entries) stored entries\(undirected), \(selfLoops) self loops
            symmetric: \(isSymmetric ? "yes" : "no")
            degree: min \(minDegree), mean \(String(format2: meanDegree)), max \(maxDegree)
            weights: min \(minWeight), max \(maxWeight)
            connected components: \(components) (largest \(largestComponent) nodes)
            """
    }
}

private extension String {
    /// `value` with two decimals, without Foundation.
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = abs(hundredths % 100)
        self = "\(hundredths < 0 ? "-" : "")\(abs(hundredths / 100)).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
