import ArgumentParser
import Foundation
import GraphSeq

/// `graphseq graph`: build a kNN graph from coordinates or features, or read a
/// graph file; optionally normalise; print a summary; optionally write it.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Build a k-NN graph from points, or read a graph file; summarise and convert it.",
        discussion: """
            Examples:
              graphseq graph --points data/minnesota/coords.csv --columns lon,lat --k 8 --output roads-knn.mtx
              graphseq graph --input data/minnesota/edges.csv --symmetrize --normalize gcn
              graphseq graph --input data/flu-bybw/neighbourhood_BYBW.txt --output districts.csv
            Point files: .npy or CSV/whitespace text (header and row labels detected). \
            Graph files: edge lists src,dst[,weight], dense adjacency text, Matrix Market (.mtx) \
            or a square .npy; see docs/data-formats.md. The summary goes to stdout.
            """
    )

    enum Metric: String, ExpressibleByArgument, CaseIterable { case gaussian, cosine }

    enum Normalization: String, ExpressibleByArgument, CaseIterable {
        case gcn, laplacian, laplacianSym = "laplacian-sym", laplacianRW = "laplacian-rw"
    }

    @Option(help: "Points [N, D] to build a k-NN graph from (.npy, .csv, .txt).")
    var points: String?

    @Option(help: "Comma-separated columns of --points to use, by header name or 0-based index (default: all).")
    var columns: String?

    @Option(help: "Neighbours per node for --points.")
    var k = 8

    @Option(help: "k-NN weights: gaussian = exp(-d²/σ²) of the Euclidean distance, cosine = cosine similarity.")
    var metric: Metric = .gaussian

    @Option(help: "σ of the Gaussian kernel (default: the mean distance of the k-NN pairs).")
    var sigma: Float?

    @Flag(help: "Keep each node's k nearest as a directed graph instead of the symmetric union.")
    var directed = false

    @Option(help: "A graph file to read instead of --points.")
    var input: String?

    @Option(help: "Format of --input: \(GraphFile.Format.allCases.map(\.rawValue).joined(separator: ", ")) (default: from the extension or the content).")
    var format: GraphFile.Format?

    @Option(help: "Node count of an --input edge list (default: largest index + 1).")
    var nodes: Int?

    @Flag(help: "Add the reverse of every --input edge (the larger weight wins where both exist).")
    var symmetrize = false

    @Option(help: "Replace the graph by gcn (D^-1/2 (A+I) D^-1/2), laplacian (D - A), laplacian-sym or laplacian-rw.")
    var normalize: Normalization?

    @Option(help: "Write the graph here: .mtx, .npy or, for any other name, an edge list src,dst,weight.")
    var output: String?

    @Option(help: "Format of --output, overriding the extension.")
    var outputFormat: GraphFile.Format?

    @Option(help: "Threads per kernel call (default: GRAPHSEQ_NUM_THREADS or all CPUs).")
    var threads: Int?

    func validate() throws {
        guard (points == nil) != (input == nil) else { throw ValidationError("give exactly one of --points and --input") }
        if input != nil, columns != nil || sigma != nil || directed {
            throw ValidationError("--columns, --sigma and --directed apply to --points")
        }
        if points != nil, format != nil || nodes != nil || symmetrize {
            throw ValidationError("--format, --nodes and --symmetrize apply to --input")
        }
        if k < 1 { throw ValidationError("--k must be at least 1") }
    }

    func run() throws {
        try applyRuntimeOptions(threads: threads, maxISA: nil)
        let start = ContinuousClock.now
        var graph: Graph
        if let points {
            let selected = columns?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let matrix = try MatrixFile.read(points, columns: selected)
            print("points: \(points), \(matrix.shape[0]) x \(matrix.shape[1])")
            let bar = ProgressBar("knn", total: matrix.shape[0])
            graph = try Graph.kNearestNeighbors(points: matrix, k: k,
                                                metric: metric == .cosine ? .cosine : .gaussian(sigma: sigma),
                                                symmetrize: !directed, progress: { bar.update($0) })
            print("built: \(k)-NN, \(metric.rawValue) weights\(sigma.map { ", sigma \($0)" } ?? ""), \(directed ? "directed" : "symmetrised")")
        } else {
            let input = input!
            graph = try GraphFile.read(input, format: format, nodeCount: nodes, symmetrize: symmetrize)
            print("input: \(input)")
        }
        switch normalize {
        case .gcn?: graph = try graph.gcnNormalized()
        case .laplacian?: graph = try graph.laplacian(.none)
        case .laplacianSym?: graph = try graph.laplacian(.symmetric)
        case .laplacianRW?: graph = try graph.laplacian(.randomWalk)
        case nil: break
        }
        if let normalize { print("normalised: \(normalize.rawValue)") }
        print(GraphSummary(graph))
        if let output {
            let lower = output.lowercased()
            let format = outputFormat ?? (lower.hasSuffix(".mtx") ? .matrixMarket : lower.hasSuffix(".npy") ? .npy : .edgeList)
            try GraphFile.write(graph, to: output, format: format)
            print("written: \(output) (\(format.rawValue))")
        }
        print("time: \(String(format: "%.2f", (ContinuousClock.now - start).seconds)) s")
    }
}

extension GraphFile.Format: ExpressibleByArgument {}
