/// Graphs from and to files: edge lists, dense adjacency matrices (text or
/// `.npy`) and Matrix Market.
///
/// The stored matrix follows `Graph`'s convention: row `i` holds the weights
/// with which node `i` aggregates its neighbours. An edge-list line
/// `src,dst[,weight]` is the entry at row `dst`, column `src` (PyTorch
/// Geometric's `edge_index = [src; dst]`); dense and Matrix Market entries
/// (i, j) are row i, column j. For symmetric graphs the two agree.
///
/// - `.edgeList`: 2 or 3 fields per line (commas, tabs or spaces), 0-based node
///   indices, optional header line (recognised as `MatrixFile` does).
/// - `.dense`: a square matrix; nonzero entries become edges. Header line and
///   row-label column are recognised as `MatrixFile` does.
/// - `.matrixMarket`: `%%MatrixMarket matrix coordinate|array real|integer|pattern
///   general|symmetric|skew-symmetric`, 1-based, square.
/// - `.npy`: a square 2-D array, read as `.dense`.
///
/// Duplicate entries are summed (as `Graph(nodeCount:rows:columns:weights:)`
/// and PyTorch Geometric's `coalesce` do): an edge listed twice has twice the
/// weight. Self loops are kept. `symmetrize` adds each missing reverse edge;
/// where both directions exist, both get the larger weight (`Graph.symmetrized()`).
/// Every error names the file, the line where there is one, and the problem.
///
/// ```swift
/// let roads = try GraphFile.read("data/minnesota/edges.csv", symmetrize: true)
/// let districts = try GraphFile.read("data/flu-bybw/neighbourhood_BYBW.txt")   // dense, detected
/// try GraphFile.write(roads, to: "roads.mtx", format: .matrixMarket)
/// ```
public enum GraphFile {
    /// A graph file format; the raw value is its command-line name.
    public enum Format: String, CaseIterable, Sendable {
        case edgeList = "edges", dense, matrixMarket = "mtx", npy
    }

    /// The graph in the file at `path`. `format` nil infers it: `.mtx` and
    /// `.npy` by extension (or a `%%MatrixMarket` first line), otherwise an edge
    /// list when data lines have 2 or 3 numeric fields, else a dense matrix
    /// (so a dense matrix of 2 or 3 nodes needs `format: .dense`). `nodeCount`
    /// nil means the largest index + 1 for edge lists, the size otherwise.
    public static func read(_ path: String, format: Format? = nil, nodeCount: Int? = nil,
                            symmetrize: Bool = false) throws(GraphSeqError) -> Graph {
        if let nodeCount { try require(nodeCount >= 0, "\(path): node count \(nodeCount) is negative") }
        func table(_ text: String) throws(GraphSeqError) -> TableLayout {
            try TableLayout(detectingIn: DelimitedText(text: text, path: path, header: false))
        }
        func dense(_ table: TableLayout) throws(GraphSeqError) -> Graph {
            try denseGraph(table.text.matrix(skipping: table.labelColumns), nodeCount: nodeCount, path: path)
        }
        let lower = path.lowercased()
        let graph: Graph
        switch format ?? (lower.hasSuffix(".npy") ? .npy : lower.hasSuffix(".mtx") ? .matrixMarket : nil) {
        case .npy?:
            graph = try denseGraph(NPY.read(path), nodeCount: nodeCount, path: path)
        case .matrixMarket?:
            graph = try MatrixMarket.read(contents(path), path: path, nodeCount: nodeCount)
        case .edgeList?:
            graph = try edgeList(table(contents(path)), nodeCount: nodeCount)
        case .dense?:
            graph = try dense(table(contents(path)))
        case nil:
            let text = try contents(path)
            if text.prefix(14).lowercased() == "%%matrixmarket" {
                graph = try MatrixMarket.read(text, path: path, nodeCount: nodeCount)
            } else {
                let layout = try table(text)
                graph = layout.labelColumns == 0 && (2...3).contains(layout.width)
                    ? try edgeList(layout, nodeCount: nodeCount) : try dense(layout)
            }
        }
        return symmetrize ? try graph.symmetrized() : graph
    }

    /// Writes `graph` atomically: `.edgeList` as `src,dst,weight` lines sorted
    /// by source then target, `.matrixMarket` as `coordinate real` (`symmetric`
    /// with the lower triangle when the graph is), `.dense` as space-separated
    /// rows, `.npy` as a float32 [N, N] array. Isolated nodes after the last
    /// one with an edge are not visible in an edge list; pass `nodeCount` when
    /// reading it back.
    public static func write(_ graph: Graph, to path: String, format: Format) throws(GraphSeqError) {
        try require(graph.rowCount == graph.columnCount,
                    "\(path): a graph file needs a square matrix, this one is \(graph.rowCount) x \(graph.columnCount)")
        let n = graph.rowCount
        var text = ""
        switch format {
        case .npy:
            return try NPY.write(graph.denseMatrix(), to: path)
        case .dense:
            let dense = graph.denseMatrix().values
            for i in 0..<n {
                text += (0..<n).map { number(dense[i * n + $0]) }.joined(separator: " ") + "\n"
            }
        case .edgeList:
            let (offsets, targets, weights) = try graph.transposed().csr   // rows of A^T are sources
            text = "src,dst,weight\n"
            for src in 0..<n {
                for e in Int(offsets[src])..<Int(offsets[src + 1]) { text += "\(src),\(targets[e]),\(number(weights[e]))\n" }
            }
        case .matrixMarket:
            let (offsets, columns, weights) = graph.csr
            let symmetric = graph.isSymmetric
            var entries = ""
            var count = 0
            for i in 0..<n {
                for e in Int(offsets[i])..<Int(offsets[i + 1]) where !symmetric || Int(columns[e]) <= i {
                    entries += "\(i + 1) \(columns[e] + 1) \(number(weights[e]))\n"
                    count += 1
                }
            }
            text = "%%MatrixMarket matrix coordinate real \(symmetric ? "symmetric" : "general")\n"
                + "% written by GraphSeq\n\(n) \(n) \(count)\n" + entries
        }
        try BinaryFile.writeAtomically(path, context: path) { (file) throws(GraphSeqError) in try file.write(Array(text.utf8)) }
    }

    private static func contents(_ path: String) throws(GraphSeqError) -> String {
        String(decoding: try BinaryFile.contents(of: path), as: UTF8.self)
    }

    /// The shortest text that reads back as `value` ("1" rather than "1.0").
    private static func number(_ value: Float) -> String {
        value == value.rounded() && abs(value) < 1e7 ? String(Int(value)) : "\(value)"
    }

    private static func edgeList(_ table: TableLayout, nodeCount: Int?) throws(GraphSeqError) -> Graph {
        let text = table.text
        try require(table.labelColumns == 0 && (2...3).contains(table.width),
                    "\(text.path): an edge list needs 2 or 3 numeric fields per line (src, dst[, weight]), found \(table.width)\(table.labelColumns == 1 ? " starting with a label" : "")")
        var rows: [Int32] = [], columns: [Int32] = [], weights: [Float] = []
        rows.reserveCapacity(text.records.count)
        columns.reserveCapacity(text.records.count)
        for record in text.records {
            guard record.fields.count == table.width else {
                throw text.error(record, "has \(record.fields.count) fields, expected \(table.width) as on line \(text.records[0].line)")
            }
            let src = try nodeIndex(text, record, 0, nodeCount: nodeCount)
            let dst = try nodeIndex(text, record, 1, nodeCount: nodeCount)
            rows.append(dst)
            columns.append(src)
            if table.width == 3 { weights.append(try text.float(record, 2)) }
        }
        let n = nodeCount ?? Int((rows + columns).max().map { $0 + 1 } ?? 0)
        return try Graph(nodeCount: n, rows: rows, columns: columns, weights: table.width == 3 ? weights : nil)
    }

    private static func nodeIndex(_ text: DelimitedText, _ record: DelimitedText.Record, _ column: Int,
                                  nodeCount: Int?) throws(GraphSeqError) -> Int32 {
        let index = try text.int(record, column)
        let limit = nodeCount ?? Int(Int32.max)
        guard index >= 0, index < limit else {
            throw text.error(record, "node index \(index) in field \(column + 1) is out of range 0..<\(limit)")
        }
        return Int32(index)
    }

    private static func denseGraph(_ matrix: Tensor, nodeCount: Int?, path: String) throws(GraphSeqError) -> Graph {
        try require(matrix.rank == 2 && matrix.shape[0] == matrix.shape[1],
                    "\(path): an adjacency matrix must be square, this one has shape \(matrix.shape)")
        let n = matrix.shape[0]
        if let nodeCount { try require(nodeCount == n, "\(path): the matrix has \(n) nodes, expected \(nodeCount)") }
        var rows: [Int32] = [], columns: [Int32] = [], weights: [Float] = []
        for (k, w) in matrix.values.enumerated() where w != 0 {
            rows.append(Int32(k / n))
            columns.append(Int32(k % n))
            weights.append(w)
        }
        return try Graph(nodeCount: n, rows: rows, columns: columns, weights: weights)
    }
}

/// The Matrix Market exchange format (https://math.nist.gov/MatrixMarket/formats.html).
private enum MatrixMarket {
    static func read(_ text: String, path: String, nodeCount: Int?) throws(GraphSeqError) -> Graph {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().lazy
            .map { (number: $0.offset + 1, words: $0.element.split(whereSeparator: { $0 == " " || $0 == "\t" })) }
            .makeIterator()
        func fail(_ line: Int, _ problem: String) -> GraphSeqError { .invalidArgument("\(path):\(line): \(problem)") }
        let banner = lines.next()?.words.map { $0.lowercased() } ?? []
        guard banner.count == 5, banner[0] == "%%matrixmarket", banner[1] == "matrix" else {
            throw fail(1, "expected \"%%MatrixMarket matrix <coordinate|array> <field> <symmetry>\"")
        }
        let coordinate = banner[2] == "coordinate"
        guard coordinate || banner[2] == "array" else { throw fail(1, "format \"\(banner[2])\" is not coordinate or array") }
        guard ["real", "integer", "pattern", "double"].contains(banner[3]), coordinate || banner[3] != "pattern" else {
            throw fail(1, "field \"\(banner[3])\" is not supported (real, integer and, for coordinate, pattern are)")
        }
        let pattern = banner[3] == "pattern"
        let mirror: Float? = switch banner[4] {
        case "general": nil
        case "symmetric": 1
        case "skew-symmetric": -1
        default: throw fail(1, "symmetry \"\(banner[4])\" is not supported (general, symmetric and skew-symmetric are)")
        }
        /// The next line that is neither blank nor a % comment.
        func nextData() -> (number: Int, words: [Substring])? {
            while let line = lines.next() {
                if let first = line.words.first, !first.hasPrefix("%") { return line }
            }
            return nil
        }
        guard let sizeLine = nextData() else { throw .invalidArgument("\(path): no size line after the banner") }
        let size = sizeLine.words.compactMap { Int($0) }
        guard size.count == sizeLine.words.count, size.count == (coordinate ? 3 : 2), size.allSatisfy({ $0 >= 0 }) else {
            throw fail(sizeLine.number, "expected the size line \"\(coordinate ? "rows columns entries" : "rows columns")\"")
        }
        let n = size[0]
        guard size[1] == n else { throw fail(sizeLine.number, "the matrix is \(n) x \(size[1]); a graph needs a square matrix") }
        guard n <= Int(Int32.max) else { throw fail(sizeLine.number, "\(n) nodes are too many") }
        if let nodeCount, nodeCount != n { throw fail(sizeLine.number, "the matrix has \(n) nodes, expected \(nodeCount)") }
        // Array format lists every stored position column by column (for the
        // symmetric kinds only the lower triangle, without the diagonal when skew).
        var positions: [(Int, Int)] = []
        if !coordinate {
            for j in 0..<n {
                for i in (mirror == nil ? 0 : mirror == 1 ? j : j + 1)..<n { positions.append((i, j)) }
            }
        }
        let expected = coordinate ? size[2] : positions.count
        var rows: [Int32] = [], columns: [Int32] = [], weights: [Float] = []
        var read = 0
        while let line = nextData() {
            guard read < expected else { throw fail(line.number, "more entries than the \(expected) the size line (line \(sizeLine.number)) declares") }
            let fieldCount = coordinate ? (pattern ? 2 : 3) : 1
            guard line.words.count == fieldCount else {
                throw fail(line.number, "has \(line.words.count) fields, expected \(fieldCount)")
            }
            var (i, j) = coordinate ? (0, 0) : positions[read]
            if coordinate {
                for (k, word) in line.words.prefix(2).enumerated() {
                    guard let index = Int(word), index >= 1, index <= n else {
                        throw fail(line.number, "index \"\(word)\" in field \(k + 1) is not in 1...\(n)")
                    }
                    if k == 0 { i = index - 1 } else { j = index - 1 }
                }
            }
            let word = line.words.last!
            let w: Float
            if pattern { w = 1 } else {
                guard let value = Float(word), value.isFinite else { throw fail(line.number, "value \"\(word)\" is not a finite number") }
                w = value
            }
            read += 1
            if mirror == -1 && i == j { throw fail(line.number, "a skew-symmetric matrix has no diagonal entries") }
            if w == 0 && !coordinate { continue }
            rows.append(Int32(i)); columns.append(Int32(j)); weights.append(w)
            if let mirror, i != j { rows.append(Int32(j)); columns.append(Int32(i)); weights.append(mirror * w) }
        }
        guard read == expected else {
            throw .invalidArgument("\(path): the size line (line \(sizeLine.number)) declares \(expected) entries, the file has \(read)")
        }
        return try Graph(nodeCount: n, rows: rows, columns: columns, weights: weights)
    }
}
