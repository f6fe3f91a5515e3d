internal import CGraphSeq
#if canImport(Glibc)
internal import Glibc
#endif

/// The Swift `Graph` for the adjacency a C caller passes as a gsq_graph_t.
///
/// The caller's handle is only borrowed for one call, so the model keeps its
/// own copy, and keeps the same `Graph` object while the caller passes the
/// same arrays again: the layers' operator caches (GCN normalisation, scaled
/// Laplacian, lambda_max estimate) then stay valid across calls. Arrays are
/// compared rather than handles, since a freed handle's address can be reused.
final class AdjacencyCache {
    private var rowOffsets: [Int64] = []
    private var columnIndices: [Int32] = []
    private var values: [Float] = []
    private var graph: Graph?

    func graph(for handle: gsq_graph_t) throws(GraphSeqError) -> Graph {
        var (rows, columns, nnz) = (Int64(0), Int64(0), Int64(0))
        var (rp, ci, v): (UnsafePointer<Int64>?, UnsafePointer<Int32>?, UnsafePointer<Float>?)
        try check(gsq_graph_shape(handle, &rows, &columns, &nnz))
        try check(gsq_graph_csr(handle, &rp, &ci, &v))
        let offsets = UnsafeBufferPointer(start: rp, count: Int(rows) + 1)
        let cols = UnsafeBufferPointer(start: ci, count: Int(nnz))
        let weights = UnsafeBufferPointer(start: v, count: Int(nnz))
        if let graph, graph.rowCount == Int(rows), graph.columnCount == Int(columns),
           same(offsets, rowOffsets), same(cols, columnIndices), same(weights, values) {
            return graph
        }
        let fresh = try Graph(rowCount: Int(rows), columnCount: Int(columns),
                              rowOffsets: Array(offsets), columnIndices: Array(cols), values: Array(weights))
        (rowOffsets, columnIndices, values, graph) = (Array(offsets), Array(cols), Array(weights), fresh)
        return fresh
    }

    private func same<T>(_ a: UnsafeBufferPointer<T>, _ b: [T]) -> Bool {
        a.count == b.count && b.withUnsafeBufferPointer { bp in
            a.count == 0 || memcmp(a.baseAddress!, bp.baseAddress!, a.count * MemoryLayout<T>.stride) == 0
        }
    }
}
