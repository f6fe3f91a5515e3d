import Foundation
import GraphSeq

/// The data of a forecasting run in original units: node series, graph,
/// optional extra features, and a display name per node.
struct ForecastData {
    /// [T, N].
    let series: Tensor
    let graph: Graph
    /// [T, N, F] per-step features (static ones repeated over T), or nil.
    let features: Tensor?
    let nodeNames: [String]
    /// What a step is, for axis labels.
    let stepName: String

    var stepCount: Int { series.shape[0] }
    var nodeCount: Int { series.shape[1] }

    /// Reads the files `config` names; nil paths are the bundled weekly
    /// influenza counts of 140 districts and their adjacency (data/flu-bybw).
    static func load(_ config: RunConfiguration) throws -> ForecastData {
        let bundled = config.series == nil
        if bundled != (config.graph == nil) {
            throw GraphSeqError.invalidArgument("--series and --graph go together (without both, the bundled flu-bybw data is used)")
        }
        let series = try MatrixFile.read(config.series ?? BundledData.path("flu-bybw/counts_flu_BYBW.txt"))
        let (T, N) = (series.shape[0], series.shape[1])
        let graphPath = try config.graph ?? BundledData.path("flu-bybw/neighbourhood_BYBW.txt")
        let graph = try GraphFile.read(graphPath, format: config.graphFormat.flatMap(GraphFile.Format.init(rawValue:)),
                                       nodeCount: N, symmetrize: config.symmetrize)
        guard graph.rowCount == N, graph.columnCount == N else {
            throw GraphSeqError.invalidArgument("\(graphPath): the graph has \(graph.rowCount) nodes, the series \(N)")
        }
        let features = try config.features.map { try stepFeatures(MatrixFile.read($0), steps: T, nodes: N, path: $0) }
        let names = bundled ? try fluDistrictNames(count: N) : (0..<N).map { "node \($0)" }
        return ForecastData(series: series, graph: graph, features: features, nodeNames: names,
                            stepName: bundled ? "week (0 = first week of 2001)" : "step")
    }

    /// A features matrix as [T, N, F]: [N, F] is static (repeated over the
    /// steps), [T, N * F] per step (node-major columns). With T == N the
    /// matrix is taken as per step.
    private static func stepFeatures(_ m: Tensor, steps T: Int, nodes N: Int, path: String) throws -> Tensor {
        let (rows, columns) = (m.shape[0], m.shape[1])
        if rows == T, columns % N == 0 { return try m.reshaped([T, N, columns / N]) }
        guard rows == N else {
            throw GraphSeqError.invalidArgument("\(path): features are \(rows) x \(columns); expected [\(N), F] (static) or [\(T), \(N) * F] (per step)")
        }
        let out = Tensor(shape: [T, N, columns])
        let values = m.values
        out.withUnsafeMutableBufferPointer { o in
            for t in 0..<T { for i in values.indices { o[t * values.count + i] = values[i] } }
        }
        return out
    }

    /// "LK Loerrach" etc. from the population table, whose rows follow the
    /// counts' column order (data/README.md).
    private static func fluDistrictNames(count: Int) throws -> [String] {
        let table = try DelimitedText(path: BundledData.path("flu-bybw/population_2001-12-31_BYBW.txt"), header: true)
        let names = try table.records.map { try table.field($0, 0) }
        guard names.count == count else {
            throw GraphSeqError.invalidArgument("flu-bybw: \(names.count) district names for \(count) series")
        }
        return names
    }
}
