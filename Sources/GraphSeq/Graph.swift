internal import CGraphSeq

/// How a graph Laplacian is normalised (PyTorch Geometric's `normalization`).
public enum LaplacianNormalization: Sendable, CaseIterable {
    /// L = D - A.
    case none
    /// L = I - D^-1/2 A D^-1/2 (PyTorch Geometric's `"sym"`).
    case symmetric
    /// L = I - D^-1 A (PyTorch Geometric's `"rw"`).
    case randomWalk

    var c: gsq_laplacian_t {
        switch self {
        case .none: GSQ_LAPLACIAN_NONE
        case .symmetric: GSQ_LAPLACIAN_SYM
        case .randomWalk: GSQ_LAPLACIAN_RW
        }
    }
}

/// A validated, immutable sparse matrix in CSR form (64-bit row offsets,
/// 32-bit column indices, float weights): a graph operator.
///
/// Row `i` holds the weights with which node `i` aggregates its neighbours,
/// so `y = A x` gives `y[i] = sum_j A[i, j] x[j]` (an edge `j -> i` in PyTorch
/// Geometric terms). Instances are thread-safe to share; the transpose needed
/// by `spmm(_:into:transpose:)` is built once and cached.
///
/// ```swift
/// // A path 0 - 1 - 2, both directions, as an edge list.
/// let a = try Graph(nodeCount: 3, rows: [0, 1, 1, 2], columns: [1, 0, 2, 1])
/// let lhat = try a.scaledLaplacian(.symmetric, lambdaMax: 2)
/// let x = Tensor.uniform([3, 8], seed: 1)
/// let y = Tensor.zeros([3, 8])
/// try lhat.spmm(x, into: y)              // y = L^ x
/// ```
public final class Graph: @unchecked Sendable {
    let handle: OpaquePointer

    private init(handle: OpaquePointer) { self.handle = handle }

    /// The handle a C constructor writes into its out-parameter.
    private static func create(_ body: (UnsafeMutablePointer<OpaquePointer?>) -> gsq_status_t)
        throws(GraphSeqError) -> OpaquePointer
    {
        var out: OpaquePointer?
        try check(body(&out))
        guard let out else { throw .internal("graph constructor returned no graph") }
        return out
    }

    private static func make(_ body: (UnsafeMutablePointer<OpaquePointer?>) -> gsq_status_t)
        throws(GraphSeqError) -> Graph
    {
        Graph(handle: try create(body))
    }

    /// A copy of CSR arrays. `rowOffsets` has `rowCount + 1` entries starting
    /// at 0; the columns of each row are strictly increasing; `values` nil
    /// means every stored entry is 1.
    public convenience init(rowCount: Int, columnCount: Int, rowOffsets: [Int64],
                            columnIndices: [Int32], values: [Float]? = nil) throws(GraphSeqError) {
        try require(rowCount >= 0 && rowOffsets.count == rowCount + 1,
                    "Graph: \(rowOffsets.count) row offsets for \(rowCount) rows")
        let nnz = Int(rowOffsets.last ?? 0)
        try require(columnIndices.count == nnz,
                    "Graph: \(columnIndices.count) column indices for \(nnz) entries")
        try require(values == nil || values!.count == nnz,
                    "Graph: \(values?.count ?? 0) values for \(nnz) entries")
        self.init(handle: try Graph.create { out in
            rowOffsets.withUnsafeBufferPointer { rp in
                columnIndices.withUnsafeBufferPointer { ci in
                    withOptionalBuffer(values) { v in
                        gsq_graph_create_csr(out, Int64(rowCount), Int64(columnCount),
                                             rp.baseAddress, ci.baseAddress, v)
                    }
                }
            }
        })
    }

    /// A matrix from an edge list of `(rows[k], columns[k], weights[k])`
    /// triples in any order; duplicates are summed; `weights` nil means 1.
    /// The column count defaults to the row count (a square adjacency).
    public convenience init(nodeCount rowCount: Int, columnCount: Int? = nil, rows: [Int32],
                            columns: [Int32], weights: [Float]? = nil) throws(GraphSeqError) {
        try require(rows.count == columns.count,
                    "Graph: \(rows.count) row indices but \(columns.count) column indices")
        try require(weights == nil || weights!.count == rows.count,
                    "Graph: \(weights?.count ?? 0) weights for \(rows.count) edges")
        self.init(handle: try Graph.create { out in
            rows.withUnsafeBufferPointer { r in
                columns.withUnsafeBufferPointer { c in
                    withOptionalBuffer(weights) { w in
                        gsq_graph_create_coo(out, Int64(rowCount), Int64(columnCount ?? rowCount),
                                             Int64(rows.count), r.baseAddress, c.baseAddress, w)
                    }
                }
            }
        })
    }

    deinit { gsq_graph_destroy(handle) }

    private var shape: (rows: Int, columns: Int, nonzeros: Int) {
        var r: Int64 = 0, c: Int64 = 0, n: Int64 = 0
        gsq_graph_shape(handle, &r, &c, &n)
        return (Int(r), Int(c), Int(n))
    }

    /// Number of rows (target nodes).
    public var rowCount: Int { shape.rows }
    /// Number of columns (source nodes).
    public var columnCount: Int { shape.columns }
    /// Number of stored entries.
    public var nonzeroCount: Int { shape.nonzeros }

    /// Whether the matrix is square and exactly equal to its transpose.
    public var isSymmetric: Bool {
        var s: Int32 = 0
        gsq_graph_is_symmetric(handle, &s)
        return s != 0
    }

    /// Copies of the CSR arrays (unit weights are materialised).
    public var csr: (rowOffsets: [Int64], columnIndices: [Int32], values: [Float]) {
        var rp: UnsafePointer<Int64>?, ci: UnsafePointer<Int32>?, v: UnsafePointer<Float>?
        gsq_graph_csr(handle, &rp, &ci, &v)
        let (rows, nnz) = (rowCount, nonzeroCount)
        return (Array(UnsafeBufferPointer(start: rp, count: rows + 1)),
                Array(UnsafeBufferPointer(start: ci, count: nnz)),
                Array(UnsafeBufferPointer(start: v, count: nnz)))
    }

    /// The GCN operator D^-1/2 (A + I) D^-1/2 (Kipf & Welling; PyTorch
    /// Geometric's `gcn_norm`): existing self loops keep their weight.
    public func gcnNormalized() throws(GraphSeqError) -> Graph {
        try Graph.make { gsq_graph_gcn_norm($0, handle) }
    }

    /// The graph Laplacian; self loops of A are ignored and D is A's row sums
    /// (PyTorch Geometric's `get_laplacian`).
    public func laplacian(_ normalization: LaplacianNormalization = .symmetric) throws(GraphSeqError) -> Graph {
        try Graph.make { gsq_graph_laplacian($0, handle, normalization.c) }
    }

    /// The scaled Laplacian 2 L / lambdaMax - I of Chebyshev filters.
    /// `lambdaMax` nil estimates the largest eigenvalue; PyTorch Geometric's
    /// ChebConv uses 2 for `.symmetric` and `.randomWalk`.
    ///
    /// ```swift
    /// let lhat = try adjacency.scaledLaplacian(.symmetric)   // estimated lambda_max
    /// ```
    public func scaledLaplacian(_ normalization: LaplacianNormalization = .symmetric,
                                lambdaMax: Float? = nil) throws(GraphSeqError) -> Graph {
        if let lambdaMax { try require(lambdaMax > 0 && lambdaMax.isFinite,
                                       "scaledLaplacian: lambdaMax = \(lambdaMax) must be positive") }
        return try Graph.make { gsq_graph_scaled_laplacian($0, handle, normalization.c, lambdaMax ?? 0) }
    }

    /// The largest eigenvalue (Lanczos for a symmetric matrix; for others the
    /// dominant eigenvalue's magnitude by power iteration).
    public func lambdaMax() throws(GraphSeqError) -> Float {
        var l: Float = 0
        try check(gsq_graph_lambda_max(handle, &l))
        return l
    }

    /// A new graph holding the transpose.
    public func transposed() throws(GraphSeqError) -> Graph {
        try Graph.make { gsq_graph_transpose($0, handle) }
    }

    /// `y = alpha * op(A) * x + beta * y` with op(A) = A, or A^T when
    /// `transpose`. `x` and `y` have one row per node of op(A)'s columns and
    /// rows; any trailing dimensions are flattened into features, so a
    /// node-major `[N, B, F]` batch is one product. With `beta == 0`, `y` is
    /// not read.
    ///
    /// ```swift
    /// let h = Tensor.zeros([a.rowCount, 64])
    /// try a.spmm(x, into: h)                 // h = A x
    /// try a.spmm(h, into: x, transpose: true, alpha: 1, beta: 1)  // x += A^T h
    /// ```
    public func spmm(_ x: Tensor, into y: Tensor, transpose: Bool = false,
                     alpha: Float = 1, beta: Float = 0) throws(GraphSeqError) {
        let (rows, cols) = transpose ? (columnCount, rowCount) : (rowCount, columnCount)
        try require(x !== y, "spmm: x and y must be different tensors")
        try require(x.rank >= 2 && x.shape[0] == cols,
                    "spmm: x has shape \(x.shape), expected [\(cols), features...]")
        try require(y.rank >= 2 && y.shape[0] == rows,
                    "spmm: y has shape \(y.shape), expected [\(rows), features...]")
        let features = x.shape.dropFirst().reduce(1, *)
        try require(y.shape.dropFirst().reduce(1, *) == features,
                    "spmm: x \(x.shape) and y \(y.shape) have different feature counts")
        let ld = Int64(max(features, 1))
        let status = x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                gsq_graph_spmm(handle, transpose ? GSQ_TRANS : GSQ_NO_TRANS, Int64(features),
                               alpha, xp.baseAddress, ld, beta, yp.baseAddress, ld)
            }
        }
        try check(status)
    }
}

/// Calls `body` with the array's base address, or NULL for nil.
func withOptionalBuffer<T, R>(_ array: [T]?, _ body: (UnsafePointer<T>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}
