import ArgumentParser
import Foundation
import GraphSeq

/// Seed experiment 4a: the palindrome memory test. The model reads the first
/// L - 1 digits of a random palindrome of length L and names the last one,
/// which equals the first: it must carry one digit across L - 2 steps.
struct Palindromes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Palindromes: vanilla RNN against LSTM test accuracy for lengths 5 to 23.",
        discussion: """
            Random digits 0-9 forming a palindrome of length L; the model reads the first \
            L-1 digits one-hot and predicts the last (= the first) with a softmax over 10 \
            (chance 10%). Every (model, L) run has the same budget: fresh random batches \
            from the same seeded stream, Adam, gradient-norm clipping.
            """)

    @OptionGroup var options: Experiment.Options

    @Option(parsing: .upToNextOption, help: "Palindrome lengths L.")
    var lengths: [Int] = Array(stride(from: 5, through: 23, by: 2))

    @Option(parsing: .upToNextOption, help: "Cells to compare: rnn, lstm, gru.")
    var models: [RecurrentKind] = [.rnn, .lstm]

    @Option(help: "Hidden units.")
    var hidden = 128

    @Option(help: "Training steps (one fresh batch each).")
    var steps = 1500

    @Option(help: "Sequences per batch.")
    var batchSize = 64

    @Option(help: "Adam learning rate.")
    var learningRate: Float = 1e-3

    @Option(help: "Gradient-norm clipping threshold.")
    var maxNorm: Float = 1

    @Option(help: "Added to the LSTM's forget-gate biases at initialisation (PyTorch's init: 0).")
    var forgetBias: Float = 1

    @Option(help: "Test palindromes per length.")
    var testSize = 1000

    func validate() throws {
        guard lengths.allSatisfy({ $0 >= 3 }) else { throw ValidationError("--lengths must each be at least 3") }
        guard hidden >= 1, steps >= 1, batchSize >= 1, testSize >= 1 else {
            throw ValidationError("--hidden, --steps, --batch-size and --test-size must be positive")
        }
    }

    func run() throws {
        try options.apply()
        let quick = options.quick
        let (lengths, hidden, steps, testSize) = quick ? ([5], 32, 150, 500) : (lengths, hidden, steps, testSize)
        let start = ContinuousClock.now
        var rows: [[String]] = [], results: [[String: Any]] = []
        for length in lengths {
            var testRNG = SplitMix64(seed: (options.seed ^ 0x7E57_0000) &+ UInt64(length))
            let test = (0..<(testSize + 99) / 100).map { i in
                palindromeBatch(length: length, count: min(100, testSize - i * 100), using: &testRNG)
            }
            for kind in models {
                let runStart = ContinuousClock.now
                let model = try SequenceClassifier(kind, inputSize: 10, hiddenSize: hidden, classes: 10,
                                                   forgetBias: forgetBias, seed: options.seed)
                // The same training stream for every model at this length.
                var rng = SplitMix64(seed: options.seed &* 0x9E37 &+ UInt64(length))
                let final = try train(model, label: "\(kind.rawValue) L=\(length)", steps: steps,
                                      learningRate: learningRate, maxNorm: maxNorm) { _ in
                    palindromeBatch(length: length, count: batchSize, using: &rng)
                }
                let scores = try evaluate(model, test)
                let seconds = (ContinuousClock.now - runStart).seconds
                rows.append([String(length), kind.title, fixed(scores.accuracy), fixed(final.loss, 4), fixed(seconds, 1)])
                results.append(["length": length, "model": kind.rawValue, "test_accuracy": scores.accuracy,
                                "train_loss": final.loss, "seconds": seconds])
            }
        }
        let wall = (ContinuousClock.now - start).seconds
        print("Palindromes: hidden \(hidden), \(steps) steps of batch \(batchSize), Adam lr \(learningRate), "
              + "clip \(maxNorm), LSTM forget bias +\(forgetBias), \(testSize) test palindromes per L, seed \(options.seed); chance 0.100")
        printTable(["L", "model", "test accuracy", "final train loss", "seconds"], rows)
        print(String(format: "wall time %.1f s", wall))
        if options.json {
            try printJSONLine(["experiment": "palindromes", "seed": options.seed, "quick": quick,
                               "results": results, "wall_seconds": wall])
        }
    }
}

/// `count` random palindromes of length `length` as a classification batch:
/// x is the first length - 1 digits one-hot [length - 1, count, 10], the
/// label the last digit (the first).
func palindromeBatch(length: Int, count: Int, using rng: inout SplitMix64) -> LabeledBatch {
    var inputs: [[Int]] = [], labels: [Int32] = []
    for _ in 0..<count {
        let half = (0..<(length + 1) / 2).map { _ in Int(rng.next() % 10) }
        let digits = half + half.prefix(length / 2).reversed()
        inputs.append(Array(digits.dropLast()))
        labels.append(Int32(digits[length - 1]))
    }
    return LabeledBatch(x: oneHot(inputs, classes: 10), lengths: nil, labels: labels)
}
