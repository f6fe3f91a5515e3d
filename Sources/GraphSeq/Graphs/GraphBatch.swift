/// A minibatch of graphs as one block-diagonal graph, as PyTorch Geometric
/// batches graph-level data (`torch_geometric.data.Batch`): graph g's nodes
/// are rows `nodeOffsets[g] ..< nodeOffsets[g + 1]` of `graph` and of the node
/// features, so any graph layer runs on the whole minibatch in one call, and
/// no edge crosses from one graph to another.
///
/// `sumReadout` then pools the node features of each graph into one row
/// (PyG's `global_add_pool`, the sum readout of GIN, Xu et al. 2019).
///
/// ```swift
/// let batch = try GraphBatch([a0, a1, a2])                 // 3 graphs
/// let h = try conv.forward(x, graph: batch.graph)          // x: [total nodes, F]
/// let pooled = try batch.sumReadout(h)                     // [3, out]
/// let dh = try batch.sumReadoutBackward(dPooled)           // [total nodes, out]
/// ```
public struct GraphBatch: Sendable {
    /// The block-diagonal adjacency of all graphs.
    public let graph: Graph
    /// graphCount + 1 entries from 0 to the total node count.
    public let nodeOffsets: [Int]

    /// The block-diagonal union of `graphs` (each square), in order.
    public init(_ graphs: [Graph]) throws(GraphSeqError) {
        try require(!graphs.isEmpty, "GraphBatch: no graphs")
        var offsets = [0], rowOffsets: [Int64] = [0], columns: [Int32] = [], values: [Float] = []
        for (g, graph) in graphs.enumerated() {
            try require(graph.rowCount == graph.columnCount,
                        "GraphBatch: graph \(g) is \(graph.rowCount) x \(graph.columnCount), not square")
            let csr = graph.csr, base = offsets.last!, stored = rowOffsets.last!
            rowOffsets += csr.rowOffsets.dropFirst().map { $0 + stored }
            columns += csr.columnIndices.map { $0 + Int32(base) }
            values += csr.values
            offsets.append(base + graph.rowCount)
        }
        graph = try Graph(rowCount: offsets.last!, columnCount: offsets.last!, rowOffsets: rowOffsets,
                          columnIndices: columns, values: values)
        nodeOffsets = offsets
    }

    /// The number of graphs.
    public var graphCount: Int { nodeOffsets.count - 1 }

    /// y[g] = sum of x[n] over the nodes n of graph g: x [nodes, F] -> [graphs, F],
    /// summed in node order.
    public func sumReadout(_ x: Tensor) throws(GraphSeqError) -> Tensor {
        let f = try featureCount(x, rows: nodeOffsets.last!, "sumReadout", "x")
        let y = Tensor(shape: [graphCount, f])
        withPointers([x, y]) { p in
            for g in 0..<graphCount {
                for n in nodeOffsets[g]..<nodeOffsets[g + 1] {
                    for j in 0..<f { p[1][g * f + j] += p[0][n * f + j] }
                }
            }
        }
        return y
    }

    /// The readout's adjoint: dx[n] = dy[graph of n], [graphs, F] -> [nodes, F].
    public func sumReadoutBackward(_ dy: Tensor) throws(GraphSeqError) -> Tensor {
        let f = try featureCount(dy, rows: graphCount, "sumReadoutBackward", "dy")
        let dx = Tensor(shape: [nodeOffsets.last!, f])
        withPointers([dy, dx]) { p in
            for g in 0..<graphCount {
                for n in nodeOffsets[g]..<nodeOffsets[g + 1] { (p[1] + n * f).update(from: p[0] + g * f, count: f) }
            }
        }
        return dx
    }

    private func featureCount(_ t: Tensor, rows: Int, _ fn: String, _ name: String) throws(GraphSeqError) -> Int {
        try require(t.rank == 2 && t.shape[0] == rows,
                    "GraphBatch.\(fn): \(name) has shape \(t.shape), expected [\(rows), features]")
        return t.shape[1]
    }
}
