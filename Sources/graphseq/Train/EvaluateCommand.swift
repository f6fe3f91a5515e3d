import ArgumentParser
import Foundation
import GraphSeq

/// A checkpoint with the model and data its sidecar describes.
struct LoadedForecaster {
    let state: TrainingState
    let problem: ForecastProblem
    let model: any Forecaster

    /// Reads `checkpoint` and its sidecar; `series` replaces the recorded series file.
    init(_ checkpoint: String, series: String? = nil) throws {
        state = try TrainingState.load(checkpoint: checkpoint)
        var c = state.configuration
        if let series { c.series = series }
        problem = try ForecastProblem(ForecastData.load(c), c, scaler: state.scaler)
        model = try makeForecaster(c, inputSize: problem.featureCount)
        try Checkpoint.load(into: model, from: checkpoint)
    }
}

/// `graphseq evaluate`: a saved forecaster's test errors against the baselines.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained forecaster on its test period against the baselines.",
        discussion: "The checkpoint's JSON sidecar (same name, .json) gives the data, split, normalisation and model.")

    @Argument(help: "A checkpoint written by graphseq train, e.g. runs/<name>/gconvgru/model.safetensors.")
    var checkpoint: String

    @Option(help: "Write test-forecasts.svg into this folder.")
    var plots: String?

    @Option(help: "Threads per kernel call (default: GRAPHSEQ_NUM_THREADS or all CPUs).")
    var threads: Int?

    @Flag(help: "End with one JSON object of the results on the last line of stdout.")
    var json = false

    func run() throws {
        try applyRuntimeOptions(threads: threads, maxISA: nil)
        let loaded = try LoadedForecaster(checkpoint)
        let c = loaded.state.configuration
        let report = try ForecastReport(loaded.problem, models: [(loaded.model, loaded.state)])
        print("\(checkpoint): \(c.modelDescription), weights of epoch \(loaded.state.bestEpoch) of \(loaded.state.epochsRun), seed \(c.seed)")
        print(report.table)
        if let plots { print("plots: " + (try report.writePlots(to: plots, title: runTitle(c))).joined(separator: ", ")) }
        if json { print(report.json(extra: [("checkpoint", .text(checkpoint))])) }
    }
}

/// `graphseq predict`: forecasts beyond the end of the series.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forecast the steps after the end of the series with a trained forecaster, as CSV.",
        discussion: """
            Reads the last --window steps of the series (the recorded one, or --series with the same \
            nodes, e.g. newer weeks) and writes one row per forecast step: the step number, then one \
            value per node in original units, under a header of node names.
            """)

    @Argument(help: "A checkpoint written by graphseq train, e.g. runs/<name>/gconvgru/model.safetensors.")
    var checkpoint: String

    @Option(help: "Series to forecast from (default: the one the model was trained on).")
    var series: String?

    @Option(help: "Write the CSV here instead of stdout.")
    var output: String?

    @Option(help: "Threads per kernel call (default: GRAPHSEQ_NUM_THREADS or all CPUs).")
    var threads: Int?

    func run() throws {
        try applyRuntimeOptions(threads: threads, maxISA: nil)
        let loaded = try LoadedForecaster(checkpoint, series: series)
        let (problem, T) = (loaded.problem, loaded.problem.data.stepCount)
        let y = try forecast(loaded.model, problem, starts: [T]).values   // [h, N, 1, 1]
        let N = problem.data.nodeCount
        var lines = [(["step"] + problem.data.nodeNames).map(csvField).joined(separator: ",")]
        for k in 0..<problem.split.horizon {
            lines.append(([String(T + k)] + (0..<N).map { String(y[k * N + $0]) }).joined(separator: ","))
        }
        let text = lines.joined(separator: "\n") + "\n"
        if let output {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } else {
            print(text, terminator: "")
        }
    }

    private func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
