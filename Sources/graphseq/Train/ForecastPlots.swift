import GraphSeq

/// The run's figures: learning curves, and forecasts against the truth.
enum ForecastPlots {
    /// Training loss and validation MAE per epoch (from epoch 0, the
    /// initial weights), one line per model.
    static func learningCurves(_ runs: [(name: String, state: TrainingState)], title: String) -> SVGPlot {
        let loss = runs.first?.state.configuration.loss.rawValue.uppercased() ?? "loss"
        let losses = runs.map { run in
            SVGPlot.Series(name: run.name, points: run.state.history.map { (Double($0.epoch), $0.trainLoss) })
        }
        let maes = runs.map { run in
            SVGPlot.Series(name: run.name, points: (run.state.untrainedValidationMAE.map { [(0, $0)] } ?? [])
                + run.state.history.map { (Double($0.epoch), $0.validationMAE) })
        }
        return SVGPlot(title: title, panels: [
            .init(title: "training loss (\(loss), normalised units)", xLabel: "epoch", yLabel: loss, series: losses),
            .init(title: "validation MAE (original units)", xLabel: "epoch", yLabel: "MAE", series: maes),
        ])
    }

    /// The first forecast step of every test window against the truth, for
    /// the `count` nodes with the largest test totals.
    static func testForecasts(_ problem: ForecastProblem, truth: Tensor, forecasts: [(name: String, values: Tensor)],
                              count: Int = 4, title: String) -> SVGPlot {
        let starts = problem.split.targetStarts(.test)
        let (N, B) = (problem.data.nodeCount, starts.count)
        let truthValues = truth.values
        func firstStep(_ t: [Float], node n: Int) -> [(x: Double, y: Double)] {
            (0..<B).map { (Double(starts[$0]), Double(t[n * B + $0])) }   // step 0 of [h, N, B, 1]
        }
        let totals = (0..<N).map { n in (0..<B).reduce(0.0) { $0 + Double(truthValues[n * B + $1]) } }
        let busiest = (0..<N).sorted { totals[$0] > totals[$1] }.prefix(count)
        let panels = busiest.map { n in
            SVGPlot.Panel(title: problem.data.nodeNames[n], xLabel: problem.data.stepName, yLabel: "value",
                          series: [.init(name: "truth", points: firstStep(truthValues, node: n), color: "#000000")]
                              + forecasts.enumerated().map { i, f in
                                  .init(name: f.name, points: firstStep(f.values.values, node: n),
                                        color: SVGPlot.palette[i % SVGPlot.palette.count], dashed: i > 0)
                              })
        }
        return SVGPlot(title: title, panels: panels)
    }
}
