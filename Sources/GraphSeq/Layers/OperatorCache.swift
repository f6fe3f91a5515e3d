/// An operator derived from a graph (its GCN normalisation, its scaled
/// Laplacian), built on first use and rebuilt only when a different `Graph`
/// object is passed: graph layers normalise once, not per call or per step.
final class OperatorCache {
    private let build: (Graph) throws(GraphSeqError) -> Graph
    private var source: Graph?
    private var derived: Graph?

    init(_ build: @escaping (Graph) throws(GraphSeqError) -> Graph) { self.build = build }

    /// The operator for `graph`, from the cache when `graph` is the last one seen.
    func callAsFunction(_ graph: Graph) throws(GraphSeqError) -> Graph {
        if let derived, source === graph { return derived }
        let fresh = try build(graph)
        (source, derived) = (graph, fresh)
        return fresh
    }
}

extension OperatorCache {
    /// The scaled Laplacian 2 L / lambdaMax - I of a Chebyshev filter
    /// (lambdaMax nil: estimated once per graph).
    static func scaledLaplacian(_ normalization: LaplacianNormalization, lambdaMax: Float?) -> OperatorCache {
        OperatorCache { (g) throws(GraphSeqError) in
            try require(g.rowCount == g.columnCount,
                        "graph is \(g.rowCount) x \(g.columnCount), not square")
            return try g.scaledLaplacian(normalization, lambdaMax: lambdaMax)
        }
    }

    /// The GCN operator D^-1/2 (A + I) D^-1/2.
    static func gcnNormalized() -> OperatorCache {
        OperatorCache { (g) throws(GraphSeqError) in try g.gcnNormalized() }
    }
}
