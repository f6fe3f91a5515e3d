import ArgumentParser
import Foundation
import GraphSeq

/// Seed experiment 4f: variable-length sequence classification on the UEA
/// JapaneseVowels data (9 speakers, 12 LPC cepstrum channels, 7 to 29 steps).
struct Vowels: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "JapaneseVowels: LSTM and GRU speaker classification, test accuracy.",
        discussion: """
            Reads data/uea/JapaneseVowels_{TRAIN,TEST}.ts (270 / 370 cases), z-scores each \
            channel with the training statistics, and trains a recurrent layer with a linear \
            classifier on the hidden state at each sequence's own last step: padded \
            variable-length batches through the layers' `lengths`.
            """)

    @OptionGroup var options: Experiment.Options

    @Option(parsing: .upToNextOption, help: "Cells to compare: rnn, lstm, gru.")
    var models: [RecurrentKind] = [.lstm, .gru]

    @Option(help: "Hidden units.")
    var hidden = 64

    @Option(help: "Passes over the training set.")
    var epochs = 60

    @Option(help: "Sequences per batch.")
    var batchSize = 16

    @Option(help: "Adam learning rate.")
    var learningRate: Float = 2e-3

    @Option(help: "Gradient-norm clipping threshold.")
    var maxNorm: Float = 1

    @Option(help: "Added to the LSTM's forget-gate biases at initialisation (PyTorch's init: 0).")
    var forgetBias: Float = 1

    func validate() throws {
        guard hidden >= 1, epochs >= 1, batchSize >= 1 else {
            throw ValidationError("--hidden, --epochs and --batch-size must be positive")
        }
    }

    func run() throws {
        try options.apply()
        let (hidden, epochs) = options.quick ? (32, 4) : (hidden, epochs)
        let trainSet = try TimeSeriesDataset(path: BundledData.path("uea/JapaneseVowels_TRAIN.ts"))
        let testSet = try TimeSeriesDataset(path: BundledData.path("uea/JapaneseVowels_TEST.ts"))
        guard testSet.dimensions == trainSet.dimensions, testSet.classLabels == trainSet.classLabels else {
            throw ValidationError("\(testSet.path): channels or classes differ from \(trainSet.path)")
        }
        let standardize = Standardization(trainSet.cases)
        let trainCases = trainSet.cases.map(standardize.apply), testCases = testSet.cases.map(standardize.apply)
        let testBatches = stride(from: 0, to: testCases.count, by: 128).map {
            paddedBatch(Array(testCases[$0..<min($0 + 128, testCases.count)]))
        }
        let lengths = (trainSet.cases + testSet.cases).map(\.length)
        let classes = trainSet.classLabels.count
        let stepsPerEpoch = (trainCases.count + batchSize - 1) / batchSize
        let start = ContinuousClock.now
        var rows: [[String]] = [], results: [[String: Any]] = []
        for kind in models {
            let runStart = ContinuousClock.now
            let model = try SequenceClassifier(kind, inputSize: trainSet.dimensions, hiddenSize: hidden, classes: classes,
                                               forgetBias: forgetBias, seed: options.seed)
            // The same shuffles for every model.
            var rng = SplitMix64(seed: options.seed &+ 0x5EED)
            var order = Array(trainCases.indices)
            try train(model, label: kind.rawValue, steps: epochs * stepsPerEpoch,
                                       learningRate: learningRate, maxNorm: maxNorm) { step in
                let first = step % stepsPerEpoch * batchSize
                if first == 0 { order.shuffle(using: &rng) }
                return paddedBatch(order[first..<min(first + batchSize, order.count)].map { trainCases[$0] })
            }
            let trainScores = try evaluate(model, [paddedBatch(trainCases)])
            let testScores = try evaluate(model, testBatches)
            let seconds = (ContinuousClock.now - runStart).seconds
            rows.append([kind.title, fixed(testScores.accuracy), fixed(testScores.loss), fixed(trainScores.accuracy),
                         fixed(seconds, 1)])
            results.append(["model": kind.rawValue, "test_accuracy": testScores.accuracy, "test_loss": testScores.loss,
                            "train_accuracy": trainScores.accuracy, "seconds": seconds])
        }
        let wall = (ContinuousClock.now - start).seconds
        print("JapaneseVowels: \(trainSet.cases.count) train / \(testSet.cases.count) test cases, \(trainSet.dimensions) channels, "
              + "lengths \(lengths.min()!)-\(lengths.max()!), \(classes) classes (chance \(fixed(1 / Double(classes))))")
        print("hidden \(hidden), \(epochs) epochs of batch \(batchSize), Adam lr \(learningRate), clip \(maxNorm), "
              + "LSTM forget bias +\(forgetBias), seed \(options.seed)")
        printTable(["model", "test accuracy", "test loss", "train accuracy", "seconds"], rows)
        print(String(format: "wall time %.1f s", wall))
        if options.json {
            try printJSONLine(["experiment": "vowels", "seed": options.seed, "quick": options.quick,
                               "results": results, "wall_seconds": wall])
        }
    }
}

/// Per-channel z-scoring with the mean and standard deviation of every time
/// step of the training cases.
private struct Standardization {
    let mean: [Double], scale: [Double]

    init(_ cases: [TimeSeriesDataset.Case]) {
        let channels = cases[0].values.shape[1]
        var sum = [Double](repeating: 0, count: channels), squares = sum
        var count = 0.0
        for c in cases {
            for (i, v) in c.values.values.enumerated() {
                sum[i % channels] += Double(v)
                squares[i % channels] += Double(v) * Double(v)
            }
            count += Double(c.length)
        }
        mean = sum.map { $0 / count }
        scale = zip(squares, mean).map { 1 / max(($0 / count - $1 * $1).squareRoot(), 1e-8) }
    }

    /// `c` with every channel standardised.
    func apply(_ c: TimeSeriesDataset.Case) -> (values: Tensor, label: Int) {
        let channels = mean.count, values = c.values.copy()
        values.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = Float((Double(p[i]) - mean[i % channels]) * scale[i % channels]) }
        }
        return (values, c.label)
    }
}

/// Cases of different lengths as one zero-padded time-major batch
/// [max length, count, channels] with their lengths.
private func paddedBatch(_ cases: [(values: Tensor, label: Int)]) -> LabeledBatch {
    let lengths = cases.map { $0.values.shape[0] }
    let (steps, channels, batch) = (lengths.max()!, cases[0].values.shape[1], cases.count)
    let x = Tensor(shape: [steps, batch, channels])
    x.withUnsafeMutableBufferPointer { dst in
        for (b, c) in cases.enumerated() {
            c.values.withUnsafeBufferPointer { src in
                for t in 0..<lengths[b] {
                    for f in 0..<channels { dst[(t * batch + b) * channels + f] = src[t * channels + f] }
                }
            }
        }
    }
    return LabeledBatch(x: x, lengths: lengths, labels: cases.map { Int32($0.label) })
}
