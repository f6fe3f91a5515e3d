import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import GraphSeq
import TestSupport

final class ForecastingTests: XCTestCase {
    // MARK: - Split and windows

    func testSplitIsChronologicalWithHandComputedWindows() throws {
        // 20 steps: test = last 4 (20%), validation = the 2 before, training = 14.
        let split = try ForecastSplit(stepCount: 20, window: 3, horizon: 2)
        XCTAssertEqual([split.train, split.validation, split.test], [0..<14, 14..<16, 16..<20])
        // A window with first target t reads t-3..<t and predicts t, t+1, all inside its part.
        XCTAssertEqual(split.targetStarts(.train), Array(3...12))
        XCTAssertEqual(split.targetStarts(.validation), [14])
        XCTAssertEqual(split.targetStarts(.test), [16, 17, 18])
        // The bundled flu data: 416 weeks, the last 83 are the test period.
        let flu = try ForecastSplit(stepCount: 416, window: 8, horizon: 1)
        XCTAssertEqual([flu.train, flu.validation, flu.test], [0..<291, 291..<333, 333..<416])
        XCTAssertThrowsError(try ForecastSplit(stepCount: 10, window: 8, horizon: 1)) {
            XCTAssertTrue("\($0)".contains("no train window"), "\($0)")
        }
        XCTAssertThrowsError(try ForecastSplit(stepCount: 100, window: 4, horizon: 1, testFraction: 0.7, validationFraction: 0.4))
    }

    func testWindowsGatherTheRightSteps() throws {
        let (T, N, F) = (10, 3, 2)
        // inputs[t, n, f] = 100 t + 10 n + f; targets[t, n] = 1000 + 100 t + n
        let inputs = try Tensor(shape: [T, N, F], values: (0..<(T * N * F)).map { i in
            Float(100 * (i / (N * F)) + 10 * (i / F % N) + i % F)
        })
        let targets = try Tensor(shape: [T, N], values: (0..<(T * N)).map { Float(1000 + 100 * ($0 / N) + $0 % N) })
        let windows = try ForecastWindows(inputs: inputs, targets: targets, window: 3, horizon: 2)
        let (x, y) = try windows.batch([3, 7])
        XCTAssertEqual(x.shape, [3, N, 2, F])
        XCTAssertEqual(y.shape, [2, N, 2, 1])
        XCTAssertEqual(x[0, 0, 0, 0], 0)        // window 0 starts at step 0
        XCTAssertEqual(x[2, 1, 0, 1], 211)      // step 2, node 1, feature 1
        XCTAssertEqual(x[0, 2, 1, 0], 420)      // window 1 starts at step 4, node 2
        XCTAssertEqual(x[2, 2, 1, 1], 621)
        XCTAssertEqual(y[0, 1, 0, 0], 1301)     // first target of window 0: step 3, node 1
        XCTAssertEqual(y[1, 2, 1, 0], 1802)     // second target of window 1: step 8, node 2
        XCTAssertThrowsError(try windows.batch([2]))    // needs steps -1..<4
        XCTAssertThrowsError(try windows.batch([9]))    // targets 9 and 10 of 10 steps
        XCTAssertEqual(try windows.inputBatch([10])[2, 0, 0, 0], 900)   // forecasting past the end
    }

    // MARK: - Normalisation

    func testScalerFitsTrainingStepsOnlyAndInverts() throws {
        // Training rows 0..<2 hold 0, 1, 3, 7; row 2 (not training) 1000.
        let series = try Tensor(shape: [3, 2], values: [0, 1, 3, 7, 1000, 1000])
        let log = try SeriesScaler(fitting: series, steps: 0..<2, method: .log1p)
        let logs = [0, 1, 3, 7].map { Foundation.log(1 + Double($0)) }
        let mean = logs.reduce(0, +) / 4
        let sd = (logs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4).squareRoot()
        XCTAssertEqual(log.mean, mean, accuracy: 1e-12)
        XCTAssertEqual(log.standardDeviation, sd, accuracy: 1e-12)
        XCTAssertEqual(log.normalized(3), Float((Foundation.log(4.0) - mean) / sd), accuracy: 1e-6)
        for x: Float in [0, 1, 7, 1000] { XCTAssertEqual(log.original(log.normalized(x)), x, accuracy: 1e-3 * max(1, x)) }
        XCTAssertEqual(log.original(-100), 0)   // counts are clamped at 0

        let z = try SeriesScaler(fitting: series, steps: 0..<2, method: .zscore)
        XCTAssertEqual(z.mean, 2.75, accuracy: 1e-12)
        XCTAssertEqual(z.standardDeviation, (((0 - 2.75) * (0 - 2.75) + 1.75 * 1.75 + 0.25 * 0.25 + 4.25 * 4.25) / 4).squareRoot(),
                       accuracy: 1e-12)
        XCTAssertLessThanOrEqual(toleranceRatio(z.original(z.normalized(series)).values, series.values.map(Double.init),
                                                rtol: 1e-6, atol: 1e-6), 1)
        let none = try SeriesScaler(fitting: series, steps: 0..<2, method: .none)
        XCTAssertEqual(none.normalized(series).values, series.values)

        let constant = try SeriesScaler(fitting: Tensor(shape: [4, 2]), steps: 0..<4, method: .zscore)
        XCTAssertEqual(constant.standardDeviation, 1)
        XCTAssertThrowsError(try SeriesScaler(fitting: try Tensor(shape: [2, 1], values: [-2, 0]), steps: 0..<2, method: .log1p))
        XCTAssertThrowsError(try SeriesScaler(fitting: series, steps: 0..<4, method: .zscore))
    }

    // MARK: - Baselines and metrics

    func testBaselinesAgainstHandComputedValues() throws {
        // 6 steps, 2 nodes; period 2: even steps are phase 0, odd phase 1.
        let series = try Tensor(shape: [6, 2], values: [1, 10, 2, 20, 3, 30, 4, 40, 100, 100, 100, 100])
        let ha = try ForecastBaseline.historicalAverage(series, trainingSteps: 0..<4, period: 2, starts: [4, 5], horizon: 2)
        XCTAssertEqual(ha.shape, [2, 2, 2, 1])
        // [k, n, b]: window b has targets starts[b] + k; phase 0 mean (1+3)/2, (10+30)/2; phase 1 (2+4)/2, (20+40)/2.
        XCTAssertEqual(ha.values, [2, 3, 20, 30,    3, 2, 30, 20])
        // Period 3, training steps 0 and 1: phase 2 never occurs, so it falls back to the training mean.
        let sparse = try ForecastBaseline.historicalAverage(series, trainingSteps: 0..<2, period: 3, starts: [2], horizon: 1)
        XCTAssertEqual(sparse.values, [1.5, 15])
        let last = try ForecastBaseline.lastValue(series, starts: [2, 4], horizon: 2)
        XCTAssertEqual(last.values, [2, 4, 20, 40, 2, 4, 20, 40])   // steps 1 and 3, for both targets
        XCTAssertThrowsError(try ForecastBaseline.lastValue(series, starts: [0], horizon: 1))
    }

    func testErrorsMatchNaiveComputation() throws {
        var rng = SplitMix64(seed: 7)
        let shape = [3, 5, 7, 1]
        let count = shape.reduce(1, *)
        let p = (0..<count).map { _ in rng.nextUnitFloat() * 10 - 2 }
        let t = (0..<count).map { _ in rng.nextUnitFloat() * 10 }
        let errors = try ForecastErrors(prediction: Tensor(shape: shape, values: p), truth: Tensor(shape: shape, values: t))
        var absolute = 0.0, squared = 0.0
        for i in 0..<count {
            absolute += abs(Double(p[i]) - Double(t[i]))
            squared += (Double(p[i]) - Double(t[i])) * (Double(p[i]) - Double(t[i]))
        }
        XCTAssertEqual(errors.count, count)
        XCTAssertEqual(errors.meanAbsoluteError, absolute / Double(count), accuracy: 1e-12)
        XCTAssertEqual(errors.rootMeanSquaredError, (squared / Double(count)).squareRoot(), accuracy: 1e-12)
        XCTAssertThrowsError(try ForecastErrors(prediction: Tensor(shape: [2]), truth: Tensor(shape: [3])))
    }

    // MARK: - graphseq train / evaluate / predict (through the built tool)

    func testTrainingOnFluDataLowersLossAndBeatsTheUntrainedModel() throws {
        let run = temporaryDirectory("e2e")
        let r = try runTool(["train", "--output", run, "--epochs", "4", "--hidden", "8", "--no-compare-lstm",
                             "--seed", "3", "--json"], env: [:])
        XCTAssertEqual(r.status, 0, r.err)
        let result = try lastJSONLine(r.out)
        let rows = try metricsRows(run + "/metrics.csv")
        XCTAssertEqual(rows.map { $0["epoch"] }, ["0", "1", "2", "3", "4"])
        let losses = rows.dropFirst().map { Double($0["train_loss"]!)! }
        XCTAssertLessThan(losses.last!, losses.first!, "training loss did not fall: \(losses)")
        let untrained = try XCTUnwrap(result["untrained_val_mae"] as? Double)
        let best = try XCTUnwrap(result["best_val_mae"] as? Double)
        XCTAssertLessThan(best, untrained, "validation MAE \(best) is not below the untrained model's \(untrained)")
        XCTAssertEqual(Double(rows[0]["val_mae"]!)!, untrained, accuracy: 1e-12)
        for key in ["test_mae", "test_rmse", "baseline_mae", "wall_seconds"] {
            XCTAssertTrue((result[key] as? Double)?.isFinite == true, "\(key) in \(result)")
        }
        XCTAssertEqual(result["model"] as? String, "gconvlstm")
        XCTAssertEqual(result["seed"] as? Int, 3)
        XCTAssertTrue(r.err.contains("gconvlstm") && r.err.contains("val MAE"), r.err)   // the progress bar
        for figure in ["learning-curves.svg", "test-forecasts.svg"] {
            let svg = try SVGSummary(path: run + "/" + figure)
            XCTAssertEqual(svg.root, "svg", figure)
            XCTAssertGreaterThanOrEqual(svg.polylines, 2, figure)
        }

        // evaluate reproduces the test errors from the checkpoint alone; predict forecasts week 416.
        let checkpoint = run + "/gconvlstm/model.safetensors"
        let evaluated = try runTool(["evaluate", checkpoint, "--json"], env: [:])
        XCTAssertEqual(evaluated.status, 0, evaluated.err)
        XCTAssertEqual(try lastJSONLine(evaluated.out)["test_mae"] as? Double, result["test_mae"] as? Double)
        let predicted = try runTool(["predict", checkpoint], env: [:])
        XCTAssertEqual(predicted.status, 0, predicted.err)
        let lines = predicted.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, predicted.out)
        XCTAssertTrue(lines[1].hasPrefix("416,"), String(lines[1]))
        XCTAssertEqual(lines[1].split(separator: ",").count, 141)
        XCTAssertTrue(lines[1].split(separator: ",").dropFirst().allSatisfy { Float($0).map { $0 >= 0 } == true })
    }

    func testResumeReproducesTheUninterruptedRunBitwise() throws {
        // Adam's moments and step count are checkpointed, so a resumed run must match
        // bit for bit (both models: the GCRN and the per-node LSTM it is compared
        // with). A short training period keeps it quick.
        let settings = ["--optimizer", "adam", "--lr", "0.01", "--hidden", "4", "--window", "4", "--batch-size", "32",
                        "--patience", "0", "--seed", "5", "--test-fraction", "0.5", "--validation-fraction", "0.3"]
        let (whole, split) = (temporaryDirectory("whole"), temporaryDirectory("split"))
        for args in [["train", "--output", whole, "--epochs", "4"], ["train", "--output", split, "--epochs", "2"],
                     ["train", "--resume", split, "--epochs", "4"]] {
            let r = try runTool(args + settings, env: [:])
            XCTAssertEqual(r.status, 0, r.err)
        }
        for model in ["gconvlstm", "lstm"] {
            for file in ["last.safetensors", "model.safetensors", "optimizer.safetensors"] {
                let a = try Data(contentsOf: URL(fileURLWithPath: "\(whole)/\(model)/\(file)"))
                let b = try Data(contentsOf: URL(fileURLWithPath: "\(split)/\(model)/\(file)"))
                XCTAssertTrue(a == b, "\(model)/\(file) differs after resuming")
            }
        }
        let timeless = { (rows: [[String: String]]) in rows.map { $0.filter { $0.key != "seconds" } } }
        XCTAssertEqual(timeless(try metricsRows(whole + "/metrics.csv")), timeless(try metricsRows(split + "/metrics.csv")))
        XCTAssertEqual(try metricsRows(split + "/metrics.csv").count, 10)   // epochs 0-4 of both models
    }

    func testBadInputsFailWithClearMessages() throws {
        let missing = try runTool(["train", "--series", "/nonexistent/series.csv", "--graph", "/nonexistent/graph.csv"], env: [:])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("/nonexistent/series.csv"), missing.err)
        let metrics = try runTool(["train", "--metrics", "m.xlsx"], env: [:])
        XCTAssertNotEqual(metrics.status, 0)
        XCTAssertTrue(metrics.err.contains(".csv, .jsonl"), metrics.err)
        let checkpoint = try runTool(["evaluate", "/nonexistent/model.safetensors"], env: [:])
        XCTAssertNotEqual(checkpoint.status, 0)
        XCTAssertTrue(checkpoint.err.contains("/nonexistent/model.json"), checkpoint.err)
        let resume = try runTool(["train", "--resume", temporaryDirectory("empty")], env: [:])
        XCTAssertNotEqual(resume.status, 0)
        XCTAssertTrue(resume.err.contains("no checkpoint to resume"), resume.err)
    }

    // MARK: - Helpers

    private func temporaryDirectory(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("graphseq-forecasting-\(name)-\(ProcessInfo.processInfo.processIdentifier)").path
        try? FileManager.default.removeItem(atPath: path)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    private func lastJSONLine(_ stdout: String) throws -> [String: Any] {
        let line = try XCTUnwrap(stdout.split(separator: "\n").last, "no output")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
    }

    /// The rows of a metrics CSV as header -> field.
    private func metricsRows(_ path: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return lines.dropFirst().map { line in
            Dictionary(uniqueKeysWithValues: zip(header, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
        }
    }
}

/// Parses an SVG file as XML (throws unless well formed) and counts its polylines.
private final class SVGSummary: NSObject, XMLParserDelegate {
    private(set) var root: String?
    private(set) var polylines = 0

    init(path: String) throws {
        super.init()
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: path)))
        parser.delegate = self
        guard parser.parse() else {
            throw GraphSeqError.invalidArgument("\(path): not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")")
        }
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if root == nil { root = name }
        if name == "polyline" { polylines += 1 }
    }
}
