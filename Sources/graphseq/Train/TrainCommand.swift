import ArgumentParser
import Foundation
import GraphSeq

/// `graphseq train`: trains a spatio-temporal forecaster, evaluates it on
/// the test period against the baselines (and, for a GCRN, against the
/// per-node LSTM trained with the same budget), and writes checkpoints,
/// metrics and plots into the run directory.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train and evaluate a graph forecaster (default: GConvLSTM on the bundled weekly flu counts).",
        discussion: """
            Without data options: the weekly influenza counts of 140 districts (data/flu-bybw, \
            416 weeks) on their adjacency graph; the last 20% of the weeks are the test period. \
            Writes into the run directory: <model>/model.safetensors (best validation MAE) and \
            <model>/last.safetensors and optimizer.safetensors (for --resume), each model with a JSON sidecar of the configuration \
            and normalisation; metrics.csv; learning-curves.svg; test-forecasts.svg. \
            docs/forecasting.md explains the options and the results.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var forecast: ForecastOptions

    @Option(help: "Run name: the run directory is runs/<name> (default: the date and time).")
    var name: String?

    @Option(help: "Run directory (overrides --name).")
    var output: String?

    @Option(help: "Continue the run in this directory from its last checkpoints (its configuration is kept; --epochs may raise the total).")
    var resume: String?

    @Option(help: "Per-epoch metrics file, .csv or .jsonl (default: <run>/metrics.csv).")
    var metrics: String?

    @Option(help: "Folder for the SVG plots (default: the run directory).")
    var plots: String?

    @Option(help: "Threads per kernel call (default: GRAPHSEQ_NUM_THREADS or all CPUs).")
    var threads: Int?

    @Flag(help: "End with one JSON object of the results on the last line of stdout.")
    var json = false

    func validate() throws {
        if let metrics { try MetricsFile.validate(metrics) }
        if resume != nil, output != nil || name != nil { throw ValidationError("--resume names the run directory; drop --output/--name") }
    }

    func run() throws {
        let clock = ContinuousClock.now
        try applyRuntimeOptions(threads: threads, maxISA: nil)
        let (directory, configuration, resumed) = try runSetup()
        let problem = try ForecastProblem(ForecastData.load(configuration), configuration, scaler: resumed?.scaler)
        print(describe(problem, configuration, directory: directory))
        fflush(nil)   // stdout before the progress bars on stderr

        let metricsPath = metrics ?? directory + "/metrics.csv"
        var finished: [(model: any Forecaster, state: TrainingState)] = []
        for c in [configuration] + (configuration.compareLSTM ? [configuration.asLSTM] : []) {
            let trainer = ForecastTrainer(problem, c, directory: directory + "/" + c.model.rawValue)
            var bar: ProgressBar?, batches = 0, planned = 0
            trainer.onProgress = { done, total, status in
                if bar == nil { bar = ProgressBar(c.model.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0), total: total) }
                (batches, planned) = (done, total)
                bar?.update(done, status: status)
            }
            let previous = finished.map(\.state)
            trainer.onEpoch = { state in try MetricsFile.write(metricsRows(previous + [state]), to: metricsPath) }
            let (model, state) = try trainer.run(resume: resumed != nil)
            if batches < planned {   // early stopping: close the bar where it stands
                bar?.update(batches, status: "stopped after epoch \(state.epochsRun), best \(state.bestEpoch)", final: true)
            }
            finished.append((model, state))
        }

        let report = try ForecastReport(problem, models: finished)
        print(report.table)
        if configuration.compareLSTM {
            let c = configuration
            print("Both networks trained in this run with the same budget: at most \(c.epochs) epochs, patience \(c.patience), "
                  + "batch \(c.batchSize), lr \(c.learningRate), \(c.loss.rawValue.uppercased()) loss, \(c.optimizer.rawValue), seed \(c.seed).")
        }
        let figures = try report.writePlots(to: plots ?? directory, title: runTitle(configuration))
        let wall = (ContinuousClock.now - clock).seconds
        print("wall time \(String(format: "%.1f", wall)) s; files: \(directory)/, \(metricsPath), " + figures.joined(separator: ", "))
        if json {
            print(report.json(extra: [("wall_seconds", .number(wall)), ("run_dir", .text(directory))]))
        }
    }

    /// The run directory, the configuration and, when resuming, the main model's saved state.
    private func runSetup() throws -> (String, RunConfiguration, TrainingState?) {
        if let resume {
            let kinds = RunConfiguration.ModelKind.allCases
            guard let main = kinds.map({ "\(resume)/\($0.rawValue)/last.safetensors" })
                .first(where: { FileManager.default.fileExists(atPath: TrainingState.sidecarPath(of: $0)) }) else {
                throw GraphSeqError.invalidArgument("\(resume): no checkpoint to resume (expected <model>/last.json after at least one epoch)")
            }
            let state = try TrainingState.load(checkpoint: main)
            var c = state.configuration
            if let epochs = forecast.epochs { c.epochs = epochs }
            return (resume, c, state)
        }
        let directory = output ?? "runs/" + (name ?? timestamp())
        if let contents = try? FileManager.default.contentsOfDirectory(atPath: directory), !contents.isEmpty {
            throw GraphSeqError.invalidArgument("\(directory) already holds a run: pass --resume \(directory) to continue it, or another --name")
        }
        return (directory, forecast.configuration(data), nil)
    }

    private func describe(_ problem: ForecastProblem, _ c: RunConfiguration, directory: String) -> String {
        let (s, d) = (problem.split, problem.data)
        func part(_ p: ForecastSplit.Part) -> String {
            "\(p.rawValue) steps \(s.steps(p).lowerBound)-\(s.steps(p).upperBound - 1) (\(s.targetStarts(p).count) windows)"
        }
        return """
            graphseq train: \(c.modelDescription)\(c.compareLSTM ? ", compared with the per-node LSTM" : "")
            data: \(c.series ?? "bundled flu-bybw weekly counts"), \(d.stepCount) steps x \(d.nodeCount) nodes, \
            graph \(d.graph.nonzeroCount) directed edges\(d.features.map { ", \($0.shape[2]) extra features" } ?? "")
            split: \(part(.train)), \(part(.validation)), \(part(.test)); window \(c.window), horizon \(c.horizon), \
            \(c.normalization.rawValue) normalisation fitted on the training steps
            run directory: \(directory) (seed \(c.seed))
            """
    }
}

/// "gconvgru vs lstm, seed 1" and the like.
func runTitle(_ c: RunConfiguration) -> String {
    (c.series.map { ($0 as NSString).lastPathComponent } ?? "flu-bybw") + ": "
        + c.model.rawValue + (c.compareLSTM ? " vs lstm" : "") + ", seed \(c.seed)"
}

/// One metrics row per epoch of each model, after a row for epoch 0 (the
/// initial weights: validation MAE only).
func metricsRows(_ states: [TrainingState]) -> [MetricsFile.Row] {
    states.flatMap { state in
        let model = MetricsFile.Value.text(state.configuration.model.rawValue)
        let initial: [MetricsFile.Row] = state.untrainedValidationMAE.map { mae in
            [[("model", model), ("epoch", .number(0)), ("train_loss", .number(.nan)), ("val_mae", .number(mae)),
              ("val_rmse", .number(.nan)), ("seconds", .number(0))]]
        } ?? []
        return initial + state.history.map { r in
            [("model", model), ("epoch", .number(Double(r.epoch))),
             ("train_loss", .number(r.trainLoss)), ("val_mae", .number(r.validationMAE)),
             ("val_rmse", .number(r.validationRMSE)), ("seconds", .number(r.seconds))]
        }
    }
}

private func timestamp() -> String {
    let f = DateFormatter()
    f.dateFormat = "yyyyMMdd-HHmmss"
    f.locale = Locale(identifier: "en_US_POSIX")
    return f.string(from: Date())
}
