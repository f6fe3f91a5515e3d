import Foundation
import GraphSeq

/// Test-period results of trained forecasters beside the baselines: the
/// table printed on stdout, the `--json` object and the figures.
struct ForecastReport {
    struct Entry {
        let state: TrainingState
        let forecast: Tensor
        let errors: ForecastErrors
    }

    let problem: ForecastProblem
    let entries: [Entry]
    let baselines: BaselineErrors
    let truth: Tensor

    init(_ problem: ForecastProblem, models: [(model: any Forecaster, state: TrainingState)]) throws {
        let starts = problem.split.targetStarts(.test)
        let truth = try problem.truth(starts)
        entries = try models.map { m in
            let f = try forecast(m.model, problem, starts: starts)
            return Entry(state: m.state, forecast: f, errors: try ForecastErrors(prediction: f, truth: truth))
        }
        baselines = try BaselineErrors(problem, period: models[0].state.configuration.period)
        (self.problem, self.truth) = (problem, truth)
    }

    /// The results table.
    var table: String {
        let split = problem.split, starts = split.targetStarts(.test)
        var lines = ["test period: steps \(split.test.lowerBound)-\(split.test.upperBound - 1), \(starts.count) windows x "
            + "\(problem.data.nodeCount) nodes, horizon \(split.horizon); errors in original units"]
        func row(_ name: String, _ e: ForecastErrors, _ extra: String = "") -> String {
            name.padding(toLength: 44, withPad: " ", startingAt: 0)
                + String(format: "%9.4f %9.4f", e.meanAbsoluteError, e.rootMeanSquaredError) + extra
        }
        lines.append("model".padding(toLength: 44, withPad: " ", startingAt: 0) + "  test MAE test RMSE  epochs (best)  train s")
        for e in entries {
            lines.append(row(e.state.configuration.modelDescription, e.errors, String(format: "  %6d (%d)  %9.1f", e.state.epochsRun, e.state.bestEpoch,
                                                      e.state.trainingSeconds)))
        }
        let period = entries[0].state.configuration.period
        lines.append(row("historical average (" + (period > 1 ? "node, step mod \(period))" : "node mean)"),
                         baselines.historicalAverage))
        lines.append(row("last observed value", baselines.lastValue))
        return lines.joined(separator: "\n")
    }

    /// The `--json` object: the first entry's results and the baselines,
    /// then the other entries' under their model name.
    func json(extra: [(String, MetricsFile.Value)]) -> String {
        let first = entries[0], c = first.state.configuration
        var fields: [(String, MetricsFile.Value)] = [
            ("model", .text(c.model.rawValue)), ("seed", .number(Double(c.seed))),
            ("epochs", .number(Double(first.state.epochsRun))), ("best_epoch", .number(Double(first.state.bestEpoch))),
            ("test_mae", .number(first.errors.meanAbsoluteError)), ("test_rmse", .number(first.errors.rootMeanSquaredError)),
            ("baseline_mae", .number(baselines.historicalAverage.meanAbsoluteError)),
            ("baseline_rmse", .number(baselines.historicalAverage.rootMeanSquaredError)),
            ("last_value_mae", .number(baselines.lastValue.meanAbsoluteError)),
            ("last_value_rmse", .number(baselines.lastValue.rootMeanSquaredError)),
            ("best_val_mae", .number(first.state.bestValidationMAE ?? .nan)),
            ("untrained_val_mae", .number(first.state.untrainedValidationMAE ?? .nan)),
            ("train_seconds", .number(first.state.trainingSeconds)),
        ]
        for e in entries.dropFirst() {
            let m = e.state.configuration.model.rawValue
            fields += [("\(m)_test_mae", .number(e.errors.meanAbsoluteError)),
                       ("\(m)_test_rmse", .number(e.errors.rootMeanSquaredError)),
                       ("\(m)_epochs", .number(Double(e.state.epochsRun))),
                       ("\(m)_train_seconds", .number(e.state.trainingSeconds))]
        }
        return "{" + (fields + extra).map { "\(jsonString($0.0)):\(MetricsFile.json($0.1))" }.joined(separator: ",") + "}"
    }

    /// Writes learning-curves.svg (when any model has a history) and test-forecasts.svg into `directory`.
    func writePlots(to directory: String, title: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var written: [String] = []
        if entries.contains(where: { !$0.state.history.isEmpty }) {
            let path = directory + "/learning-curves.svg"
            try ForecastPlots.learningCurves(entries.map { ($0.state.configuration.model.rawValue, $0.state) }, title: title)
                .write(to: path)
            written.append(path)
        }
        let path = directory + "/test-forecasts.svg"
        try ForecastPlots.testForecasts(problem, truth: truth,
                                        forecasts: entries.map { ($0.state.configuration.model.rawValue, $0.forecast) }
                                            + [("historical average", baselines.historicalForecast)],
                                        title: title + ": test period, one step ahead").write(to: path)
        return written + [path]
    }
}

extension RunConfiguration {
    /// "gconvgru (K=3, 32 hidden, 1 layer)" / "lstm per node (32 hidden, 1 layer, no graph)".
    var modelDescription: String {
        let size = "\(hidden) hidden, \(layers) layer\(layers == 1 ? "" : "s")"
        return model == .lstm ? "lstm per node (\(size), no graph)" : "\(model.rawValue) (K=\(order), \(size))"
    }
}
