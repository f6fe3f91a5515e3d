#if canImport(Glibc)
internal import Glibc
#endif

/// A graph classification dataset in the TU Dortmund text format (Morris et
/// al., TUDataset; MUTAG, PROTEINS, ...): in `directory`, the comma-separated
/// files `<name>_A.txt` (one "row, col" edge per line, 1-based node ids over
/// all graphs), `<name>_graph_indicator.txt` (the 1-based graph of node i on
/// line i), `<name>_graph_labels.txt` (one label per graph) and, optionally,
/// `<name>_node_labels.txt` (one label per node). Edge labels and attributes
/// are not read.
///
/// The reader is strict: every line must hold exactly the expected integer
/// fields; the nodes of a graph must be consecutive and the graphs numbered
/// 1, 2, ... in order without gaps; an edge must join two nodes of one graph
/// and appear once; line counts must agree between the files. Every error
/// names the file and, where there is one, the line.
///
/// ```swift
/// let mutag = try TUDataset(directory: "data/mutag", name: "MUTAG")
/// let first = mutag.graphs[0]   // first.adjacency: 0-based within the graph
/// ```
public struct TUDataset: Sendable {
    /// One graph: its adjacency over its own nodes (0-based, row i holding the
    /// edges "i, j" of `_A.txt`, weight 1), its node labels and its label.
    public struct Item: Sendable {
        public let adjacency: Graph
        /// One label per node, or nil without a node label file.
        public let nodeLabels: [Int]?
        public let label: Int
    }

    public let name: String
    public let graphs: [Item]

    public init(directory: String, name: String) throws(GraphSeqError) {
        func table(_ suffix: String) throws(GraphSeqError) -> DelimitedText {
            try DelimitedText(path: "\(directory)/\(name)_\(suffix).txt", header: false)
        }
        /// The single integer of every line of `file`.
        func column(_ file: DelimitedText) throws(GraphSeqError) -> [Int] {
            var values: [Int] = []
            for record in file.records {
                try TUDataset.requireFields(1, record, file)
                values.append(try file.int(record, 0))
            }
            return values
        }

        // Graph of each node; graph g's nodes are first[g] ..< first[g + 1] (0-based).
        let indicatorFile = try table("graph_indicator")
        let indicator = try column(indicatorFile)
        var first: [Int] = []
        for (node, graph) in indicator.enumerated() {
            let record = indicatorFile.records[node]
            if graph == first.count + 1 {
                first.append(node)
            } else if graph != first.count {
                throw indicatorFile.error(record, "graph id \(graph) after \(first.count): "
                                                  + "graphs must be numbered 1, 2, ... with their nodes consecutive")
            }
        }
        let nodeCount = indicator.count
        first.append(nodeCount)
        let graphCount = first.count - 1

        let labelFile = try table("graph_labels")
        let labels = try column(labelFile)
        try TUDataset.requireLineCount(labels.count, graphCount, labelFile, "one per graph of \(indicatorFile.path)")

        var nodeLabels: [Int]? = nil
        let nodeLabelPath = "\(directory)/\(name)_node_labels.txt"
        if access(nodeLabelPath, F_OK) == 0 {
            let file = try table("node_labels")
            nodeLabels = try column(file)
            try TUDataset.requireLineCount(nodeLabels!.count, nodeCount, file, "one per node of \(indicatorFile.path)")
        }

        // Edges by graph, as local 0-based (row, column) pairs.
        let edgeFile = try table("A")
        var edges = [[(Int32, Int32)]](repeating: [], count: graphCount)
        var seen = Set<Int>()
        for record in edgeFile.records {
            try TUDataset.requireFields(2, record, edgeFile)
            let (u, v) = (try edgeFile.int(record, 0), try edgeFile.int(record, 1))
            for id in [u, v] where !(1...nodeCount).contains(id) {
                throw edgeFile.error(record, "node id \(id) is not in 1...\(nodeCount)")
            }
            let g = indicator[u - 1]
            guard indicator[v - 1] == g else {
                throw edgeFile.error(record, "edge \(u), \(v) joins graph \(g) and graph \(indicator[v - 1])")
            }
            guard seen.insert((u - 1) * nodeCount + (v - 1)).inserted else {
                throw edgeFile.error(record, "edge \(u), \(v) appears twice")
            }
            edges[g - 1].append((Int32(u - 1 - first[g - 1]), Int32(v - 1 - first[g - 1])))
        }

        var graphs: [Item] = []
        graphs.reserveCapacity(graphCount)
        for g in 0..<graphCount {
            let adjacency = try Graph(nodeCount: first[g + 1] - first[g], rows: edges[g].map(\.0),
                                      columns: edges[g].map(\.1))
            graphs.append(Item(adjacency: adjacency, nodeLabels: nodeLabels.map { Array($0[first[g]..<first[g + 1]]) },
                               label: labels[g]))
        }
        self.name = name
        self.graphs = graphs
    }

    /// The distinct graph labels, ascending: class c is `classes[c]`.
    public var classes: [Int] { Array(Set(graphs.map(\.label))).sorted() }

    /// The distinct node labels, ascending (empty without node labels): the
    /// one-hot position of a label is its index here.
    public var nodeLabelValues: [Int] { Array(Set(graphs.flatMap { $0.nodeLabels ?? [] })).sorted() }

    private static func requireFields(_ count: Int, _ record: DelimitedText.Record,
                                      _ file: DelimitedText) throws(GraphSeqError) {
        guard record.fields.count == count else {
            throw file.error(record, "has \(record.fields.count) fields, expected \(count)")
        }
    }

    private static func requireLineCount(_ count: Int, _ expected: Int, _ file: DelimitedText,
                                         _ what: String) throws(GraphSeqError) {
        guard count == expected else {
            throw .invalidArgument("\(file.path): has \(count) lines, expected \(expected) (\(what))")
        }
    }
}
