import ArgumentParser
import GraphSeq

extension RunConfiguration.ModelKind: ExpressibleByArgument {}
extension RunConfiguration.LossKind: ExpressibleByArgument {}
extension RunConfiguration.OptimizerKind: ExpressibleByArgument {}
extension SeriesScaler.Method: ExpressibleByArgument {}

/// The data files; without them the bundled flu-bybw data.
struct DataOptions: ParsableArguments {
    @Option(help: "Node time series [T, N]: .csv/.txt (header and row labels detected) or .npy. Default: the bundled weekly flu counts of 140 districts.")
    var series: String?

    @Option(help: "Graph over the N nodes: edge list .csv, dense adjacency .txt/.csv, Matrix Market .mtx or .npy. Default: the bundled district adjacency.")
    var graph: String?

    @Option(help: "Format of --graph: edges, dense, mtx or npy (default: from the extension and contents).")
    var graphFormat: String?

    @Option(help: "Extra node features: [N, F] (static) or [T, N*F] (per step), .csv or .npy.")
    var features: String?

    @Flag(help: "Add the reverse of every directed edge of --graph.")
    var symmetrize = false

    func validate() throws {
        if let graphFormat, GraphFile.Format(rawValue: graphFormat) == nil {
            throw ValidationError("--graph-format must be one of \(GraphFile.Format.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }
}

/// The forecasting problem, the model and its training.
struct ForecastOptions: ParsableArguments {
    @Option(help: "Input steps per window.")
    var window = 8

    @Option(help: "Steps to forecast (> 1: GCRN encoder-decoder).")
    var horizon = 1

    @Option(help: "Fraction of the steps, at the end, held out as the test period.")
    var testFraction = 0.2

    @Option(help: "Fraction of the steps, before the test period, for validation (early stopping).")
    var validationFraction = 0.1

    @Option(help: "Series normalisation, fitted on the training steps: log1p (log(1+x), then z-score; for counts), zscore or none.")
    var normalize: SeriesScaler.Method = .log1p

    @Option(help: "Season length in steps: the historical-average baseline's phase (52: week of the year) and the seasonal inputs.")
    var period = 52

    @Flag(inversion: .prefixedNo, help: "Feed sin and cos of the season's phase as two extra input channels.")
    var seasonalInputs = true

    @Option(help: "Model: gconvgru or gconvlstm (GCRN, graph convolutional recurrent), lstm (per node, no graph).")
    var model: RunConfiguration.ModelKind = .gconvlstm

    @Option(help: "Hidden units per recurrent layer.")
    var hidden = 32

    @Option(help: "Stacked recurrent layers.")
    var layers = 1

    @Option(name: [.customShort("K"), .long], help: "Chebyshev filter order K of the GCRN cells: each step mixes nodes up to K-1 hops apart.")
    var order = 2

    @Option(help: "Training loss in normalised units: mae or mse.")
    var loss: RunConfiguration.LossKind = .mse

    @Option(help: "adam, or sgd (plain, stateless: resumes bit for bit).")
    var optimizer: RunConfiguration.OptimizerKind = .adam

    @Option(help: "Learning rate.")
    var lr: Float = 0.005

    @Option(help: "Clip the global gradient norm to this value.")
    var clip: Float = 5

    @Option(help: "Windows per mini-batch.")
    var batchSize = 16

    @Option(help: "Maximum epochs (default 100; with --resume, the new total).")
    var epochs: Int?

    @Option(help: "Stop after this many epochs without a better validation MAE (0: never).")
    var patience = 10

    @Option(help: "Seed of the initial weights and the batch order.")
    var seed: UInt64 = 1

    @Flag(inversion: .prefixedNo, help: "With a GCRN model, also train the per-district LSTM with the same budget and compare.")
    var compareLSTM = true

    func validate() throws {
        for (value, name) in [(window, "--window"), (horizon, "--horizon"), (hidden, "--hidden"), (layers, "--layers"),
                              (order, "--order"), (batchSize, "--batch-size"), (period, "--period"), (epochs ?? 1, "--epochs")]
        where value < 1 {
            throw ValidationError("\(name) must be at least 1, not \(value)")
        }
        guard patience >= 0 else { throw ValidationError("--patience must be >= 0") }
        guard lr > 0, lr.isFinite, clip > 0, clip.isFinite else { throw ValidationError("--lr and --clip must be positive") }
    }

    func configuration(_ data: DataOptions) -> RunConfiguration {
        RunConfiguration(series: data.series, graph: data.graph, graphFormat: data.graphFormat, features: data.features, symmetrize: data.symmetrize,
                         window: window, horizon: horizon, testFraction: testFraction,
                         validationFraction: validationFraction, normalization: normalize, period: period,
                         seasonalInputs: seasonalInputs, model: model, hidden: hidden, layers: layers, order: order,
                         loss: loss, optimizer: optimizer, learningRate: lr, clip: clip, batchSize: batchSize,
                         epochs: epochs ?? 100, patience: patience, seed: seed,
                         compareLSTM: compareLSTM && model != .lstm)
    }
}
