import ArgumentParser
import Foundation
import GraphSeq

/// Seed experiment 4b: next-frame prediction on Moving MNIST built from the
/// 5000 bundled MNIST digits, as in the GCRN paper (Seo et al. 2016): pixels
/// are the nodes of a k-nearest-neighbour graph over their coordinates, with
/// Gaussian weights; from the first frames the models predict the next ones,
/// pixel intensities in [0, 1] under binary cross entropy.
///
/// All models are sequence to sequence with an unconditioned decoder
/// (Srivastava et al. 2015): an encoder reads the input frames; a decoder with
/// its own weights starts from the encoder's final state, reads zeros, and a
/// per-step linear projection gives the logits of every pixel. They train on
/// the same minibatches (fresh sequences of training digits each step) for
/// the same number of steps, and are scored on fixed sequences of held-out
/// digits.
struct MovingMNIST: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moving-mnist",
        abstract: "Moving MNIST next-frame prediction: GCRN model 2 (GConvLSTM) against FC-LSTM and GCRN model 1.")

    @OptionGroup var options: Experiment.Options

    @Option(help: "Canvas side: 64 (digits 28x28, as the paper) or 32 (digits downsampled to 14x14).")
    var canvas = 32
    @Option(help: "Input frames.")
    var inputFrames = 10
    @Option(help: "Predicted frames.")
    var outputFrames = 10
    @Option(help: "Models to train, comma-separated, of: \(PredictorKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var models = PredictorKind.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Training steps per model.")
    var steps = 400
    @Option(help: "Sequences per training step.")
    var batchSize = 8
    @Option(help: "Held-out test sequences.")
    var testSequences = 128
    @Option(help: "Hidden units per node of the graph models.")
    var hidden = 32
    @Option(help: "Hidden units of the FC-LSTM.")
    var fcHidden = 1024
    @Option(help: "Neighbours per pixel in the kNN graph.")
    var neighbors = 8
    @Option(help: "Adam learning rate.")
    var learningRate: Float = 3e-3
    @Option(help: "Clip the global gradient norm to this value.")
    var clip: Float = 1
    @Option(help: "Folder for the visual check (a PGM image of one test sequence).")
    var output = "runs/moving-mnist"

    mutating func validate() throws {
        guard canvas == 32 || canvas == 64 else { throw ValidationError("--canvas must be 32 or 64") }
        guard inputFrames >= 1, outputFrames >= 1, steps >= 1, batchSize >= 1, testSequences >= 1, hidden >= 1,
              fcHidden >= 1, neighbors >= 1, learningRate > 0, clip > 0 else {
            throw ValidationError("frames, steps, batch size, test sequences, hidden sizes, neighbours, "
                                  + "learning rate and clip must be positive")
        }
        for name in models.split(separator: ",") where PredictorKind(rawValue: String(name)) == nil {
            throw ValidationError("unknown model '\(name)'; choose from \(PredictorKind.allCases.map(\.rawValue))")
        }
    }

    func run() throws {
        try options.apply()
        let (steps, batchSize, testSequences) = options.quick ? (10, 4, 8) : (self.steps, self.batchSize, self.testSequences)
        let (hidden, fcHidden) = options.quick ? (16, 256) : (self.hidden, self.fcHidden)
        let kinds = models.split(separator: ",").compactMap { PredictorKind(rawValue: String($0)) }
        let frames = inputFrames + outputFrames
        let pixels = canvas * canvas
        let digits = try loadDigits(size: canvas == 64 ? 28 : 14)
        // Held-out digits for the test sequences: a seeded fifth of the 5000.
        var rng = SplitMix64(seed: options.seed)
        let order = Array(0..<digits.shape[0]).shuffled(using: &rng)
        let testCount = digits.shape[0] / 5
        let speed: ClosedRange<Float> = canvas == 64 ? 2...4 : 1...2
        let train = try MovingDigits(digits: select(digits, Array(order.dropFirst(testCount))), canvasSize: canvas, speed: speed)
        let test = try MovingDigits(digits: select(digits, Array(order.prefix(testCount))), canvasSize: canvas, speed: speed)
        let testSeed = rng.next()
        let testBatches = try stride(from: 0, to: testSequences, by: batchSize).map { start in
            try test.sequences(count: min(batchSize, testSequences - start), frames: frames, seed: testSeed &+ UInt64(start))
        }
        let trainSeed = rng.next()
        // The GCRN paper's pixel graph: k nearest pixels, Gaussian weights, symmetrised.
        let graph = try Graph.pixelGrid(width: canvas, height: canvas, k: neighbors)
        print("Moving MNIST: \(canvas)x\(canvas) canvas, 2 digits of \(digits.shape[1])x\(digits.shape[1]) "
              + "(\(digits.shape[0] - testCount) train / \(testCount) test digits), \(inputFrames) frames in, "
              + "\(outputFrames) predicted; \(neighbors)-NN pixel graph (\(graph.nonzeroCount) entries); "
              + "\(steps) steps of \(batchSize) sequences per model; \(testSequences) test sequences; seed \(options.seed)")

        // Reference: every pixel predicted with the mean training intensity.
        let meanIntensity = try train.sequences(count: 64, frames: frames, seed: trainSeed ^ 1).values
            .reduce(0.0) { $0 + Double($1) } / Double(64 * frames * pixels)
        let constant = try evaluate(testBatches, pixels: pixels) { batch in
            let logits = Tensor(shape: [outputFrames, pixels, batch.shape[2], 1])
            logits.fill(Float(log(meanIntensity / (1 - meanIntensity))))
            return logits
        }.crossEntropy
        var rows: [[String]] = [["mean intensity (no model)", "0", String(format: "%.1f", constant), "", "", ""]]
        var results: [String: Any] = ["mean_intensity_cross_entropy": constant]
        var pictures: [(String, Tensor)] = []
        for kind in kinds {
            var modelRNG = SplitMix64(seed: options.seed &+ UInt64(kind.hashSeed))
            let model = try kind.make(pixels: pixels, hidden: hidden, fcHidden: fcHidden, outputFrames: outputFrames,
                                      rng: &modelRNG)
            // Every pixel starts at the mean intensity, so no model spends its first steps on the background.
            model.projection.bias!.value.fill(Float(log(meanIntensity / (1 - meanIntensity))))
            let predict = { (batch: Tensor) throws -> Tensor in try model.forward(inputs(batch), graph: graph) }
            let untrained = try evaluate(testBatches, pixels: pixels, predict).crossEntropy
            let optimizer = try Adam(parameters: model.parameters, learningRate: learningRate)
            let progress = ProgressBar("\(kind.rawValue)", total: steps)
            var loss = 0.0
            for step in 0..<steps {
                let batch = try train.sequences(count: batchSize, frames: frames, seed: trainSeed &+ UInt64(step))
                optimizer.zeroGradients()
                let (value, dLogits) = try Loss.binaryCrossEntropyWithLogits(predict(batch), targets(batch))
                try model.backward(dLogits)
                try clipGradientNorm(model.parameters, maxNorm: clip)
                try optimizer.step()
                loss = Double(value) * Double(pixels)
                progress.update(step + 1, status: String(format: "cross entropy per frame %.1f", loss))
            }
            let trainSeconds = progress.elapsed
            let (trained, firstPrediction) = try evaluate(testBatches, pixels: pixels, predict)
            pictures.append((kind.rawValue, firstPrediction))
            rows.append([kind.title, "\(model.parameters.reduce(0) { $0 + $1.value.count })",
                         String(format: "%.1f", trained), String(format: "%.1f", untrained),
                         String(format: "%.1f", loss), String(format: "%.0f s", trainSeconds)])
            results[kind.jsonKey] = ["test_cross_entropy": trained, "untrained_test_cross_entropy": untrained,
                                     "last_train_cross_entropy": loss, "seconds": trainSeconds]
        }
        printTable(["model", "parameters", "test cross entropy per frame",
                                     "same, untrained", "last training batch", "training time"], rows)
        let picture = try writePicture(testBatches[0], pictures)
        print("visual check (rows: input, truth, then each model's prediction): \(picture)")
        if options.json {
            try printJSONLine(results.merging([
                "experiment": "moving-mnist", "seed": options.seed, "canvas": canvas, "steps": steps,
                "batch_size": batchSize, "input_frames": inputFrames, "output_frames": outputFrames,
                "test_sequences": testSequences, "quick": options.quick, "picture": picture,
            ]) { a, _ in a })
        }
    }

    /// Frames [0, inputFrames) of a [frames, pixels, batch] block, as [T, N, B, 1].
    func inputs(_ batch: Tensor) -> Tensor { frameRange(batch, 0..<inputFrames) }
    /// The frames to predict.
    func targets(_ batch: Tensor) -> Tensor { frameRange(batch, inputFrames..<(inputFrames + outputFrames)) }

    func frameRange(_ batch: Tensor, _ range: Range<Int>) -> Tensor {
        let frameSize = batch.shape[1] * batch.shape[2]
        let out = Tensor(shape: [range.count, batch.shape[1], batch.shape[2], 1])
        out.withUnsafeMutableBufferPointer { dst in
            batch.withUnsafeBufferPointer { dst.baseAddress!.update(from: $0.baseAddress! + range.lowerBound * frameSize, count: dst.count) }
        }
        return out
    }

    /// Binary cross entropy of `logits` against `targets`, summed over the
    /// pixels of a frame and averaged over frames and sequences.
    func crossEntropyPerFrame(_ logits: Tensor, _ targets: Tensor, pixels: Int) throws -> Double {
        Double(try Loss.binaryCrossEntropyWithLogits(logits, targets).value) * Double(pixels)
    }

    /// The cross entropy per frame of `predict`'s logits over the test
    /// batches, and the predicted intensities of test sequence 0,
    /// [outputFrames, pixels].
    func evaluate(_ batches: [Tensor], pixels: Int, _ predict: (Tensor) throws -> Tensor)
        throws -> (crossEntropy: Double, firstPrediction: Tensor) {
        var total = 0.0, count = 0
        let firstPrediction = Tensor(shape: [outputFrames, pixels])
        for (i, batch) in batches.enumerated() {
            let logits = try predict(batch)
            total += try crossEntropyPerFrame(logits, targets(batch), pixels: pixels) * Double(batch.shape[2])
            count += batch.shape[2]
            if i == 0 {
                let b = batch.shape[2]
                firstPrediction.withUnsafeMutableBufferPointer { p in
                    logits.withUnsafeBufferPointer { l in for j in p.indices { p[j] = 1 / (1 + exp(-l[j * b])) } }
                }
            }
        }
        return (total / Double(count), firstPrediction)
    }

    /// The 5000 digits as [5000, size, size] intensities in [0, 1] (28x28, or
    /// 14x14 by averaging 2x2 blocks).
    func loadDigits(size: Int) throws -> Tensor {
        let path = try BundledData.path("mnist-5k/mnist_5k.csv.gz")
        let table = try DelimitedText(text: String(decoding: BundledData.gunzip(path), as: UTF8.self),
                                      path: path, header: false)
        let factor = 28 / size
        let digits = Tensor(shape: [table.records.count, size, size])
        try digits.withUnsafeMutableBufferPointer { d in
            for (i, record) in table.records.enumerated() {
                guard record.fields.count == 785 else {
                    throw table.error(record, "has \(record.fields.count) fields, expected 784 pixels and a label")
                }
                for r in 0..<28 {
                    for c in 0..<28 {
                        let value = try table.int(record, r * 28 + c)
                        guard (0...255).contains(value) else { throw table.error(record, "pixel \(r * 28 + c + 1) is \(value), not in 0...255") }
                        d[(i * size + r / factor) * size + c / factor] += Float(value) / Float(255 * factor * factor)
                    }
                }
            }
        }
        return digits
    }

    /// The digits at `indices`, in that order.
    func select(_ digits: Tensor, _ indices: [Int]) -> Tensor {
        let size = digits.shape[1] * digits.shape[2]
        let out = Tensor(shape: [indices.count, digits.shape[1], digits.shape[2]])
        out.withUnsafeMutableBufferPointer { dst in
            digits.withUnsafeBufferPointer { src in
                for (i, j) in indices.enumerated() { (dst.baseAddress! + i * size).update(from: src.baseAddress! + j * size, count: size) }
            }
        }
        return out
    }

    /// A grayscale PGM under `output`: test sequence 0's input frames, its
    /// true next frames, then each model's predicted frames, one row each.
    func writePicture(_ frames: Tensor, _ predictions: [(String, Tensor)]) throws -> String {
        let (side, gap) = (canvas, 2)
        let columns = max(inputFrames, outputFrames)
        let rowsOfFrames = [(0..<inputFrames).map { frames.slice($0) }, (inputFrames..<(inputFrames + outputFrames)).map { frames.slice($0) }]
        let width = columns * (side + gap) + gap, height = (2 + predictions.count) * (side + gap) + gap
        var image = [UInt8](repeating: 64, count: width * height)
        func draw(_ row: Int, _ column: Int, _ intensity: (Int) -> Float) {
            for p in 0..<(side * side) {
                let (x, y) = (gap + column * (side + gap) + p % side, gap + row * (side + gap) + p / side)
                image[y * width + x] = UInt8(max(0, min(255, (intensity(p) * 255).rounded())))
            }
        }
        for (row, list) in rowsOfFrames.enumerated() {
            for (column, frame) in list.enumerated() { draw(row, column, { frame[$0, 0] }) }
        }
        for (i, (_, prediction)) in predictions.enumerated() {
            for t in 0..<outputFrames { draw(2 + i, t, { prediction[t, $0] }) }
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let path = "\(output)/seed\(options.seed)-" + predictions.map(\.0).joined(separator: "_") + ".pgm"
        let header = Array("P5\n# Moving MNIST test sequence 0: input, truth, \(predictions.map(\.0).joined(separator: ", "))\n\(width) \(height)\n255\n".utf8)
        guard FileManager.default.createFile(atPath: path, contents: Data(header + image)) else {
            throw ValidationError("cannot write \(path)")
        }
        return path
    }
}

/// The models compared, by command-line name.
enum PredictorKind: String, CaseIterable {
    case gcrn2K3 = "gcrn2-k3", gcrn2K1 = "gcrn2-k1", gcrn1 = "gcrn1", fcLSTM = "fc-lstm"

    var title: String {
        switch self {
        case .gcrn2K3: "GCRN model 2 (GConvLSTM, K=3)"
        case .gcrn2K1: "GCRN model 2 (GConvLSTM, K=1)"
        case .gcrn1: "GCRN model 1 (ChebConv K=3 + LSTM)"
        case .fcLSTM: "FC-LSTM"
        }
    }

    var jsonKey: String { rawValue.replacingOccurrences(of: "-", with: "_") }
    /// A per-model offset of the initialisation seed.
    var hashSeed: Int { PredictorKind.allCases.firstIndex(of: self)! + 1 }

    func make(pixels: Int, hidden: Int, fcHidden: Int, outputFrames: Int,
              rng: inout SplitMix64) throws -> any FramePredictor {
        switch self {
        case .gcrn2K3, .gcrn2K1:
            let order = self == .gcrn2K3 ? 3 : 1
            return try GraphSeq2Seq(
                encoder: GConvLSTM(inputSize: 1, hiddenSize: hidden, order: order, lambdaMax: 2, seed: rng.next()),
                decoder: GConvLSTM(inputSize: 1, hiddenSize: hidden, order: order, lambdaMax: 2, seed: rng.next()),
                hidden: hidden, outputFrames: outputFrames, seed: rng.next())
        case .gcrn1:
            return try GraphSeq2Seq(
                encoder: GCRNModel1(inputSize: 1, convolutionSize: 16, hiddenSize: hidden, order: 3, lambdaMax: 2, seed: rng.next()),
                decoder: GCRNModel1(inputSize: 1, convolutionSize: 16, hiddenSize: hidden, order: 3, lambdaMax: 2, seed: rng.next()),
                hidden: hidden, outputFrames: outputFrames, seed: rng.next())
        case .fcLSTM:
            return try FullyConnectedSeq2Seq(pixels: pixels, hidden: fcHidden, outputFrames: outputFrames, rng: &rng)
        }
    }
}

/// A sequence-to-sequence frame predictor: logits [T_out, N, B, 1] of the
/// next frames from the input frames [T_in, N, B, 1].
protocol FramePredictor: AnyObject {
    var parameters: [Parameter] { get }
    /// The last layer, giving every pixel's logit.
    var projection: Linear { get }
    func forward(_ x: Tensor, graph: Graph) throws -> Tensor
    /// Accumulates every parameter's gradient from dLoss/dlogits.
    func backward(_ dLogits: Tensor) throws
}

/// Encoder and decoder graph sequence layers (GConvLSTM, GCRNModel1) and a
/// per-node projection of the decoder's states to one logit per pixel.
final class GraphSeq2Seq: FramePredictor {
    let encoder: any GraphSequenceLayer, decoder: any GraphSequenceLayer
    let projection: Linear
    let outputFrames: Int
    private var encoderOutputShape: [Int] = []

    init(encoder: any GraphSequenceLayer, decoder: any GraphSequenceLayer, hidden: Int, outputFrames: Int,
         seed: UInt64) throws {
        (self.encoder, self.decoder, self.outputFrames) = (encoder, decoder, outputFrames)
        projection = try Linear(inputSize: hidden, outputSize: 1, seed: seed)
    }

    var parameters: [Parameter] { encoder.parameters + decoder.parameters + projection.parameters }

    func forward(_ x: Tensor, graph: Graph) throws -> Tensor {
        let (encoded, state) = try encoder.forward(x, graph: graph, initialState: nil)
        encoderOutputShape = encoded.shape
        let zeros = Tensor(shape: [outputFrames, x.shape[1], x.shape[2], 1])
        return try projection.forward(decoder.forward(zeros, graph: graph, initialState: state).output)
    }

    func backward(_ dLogits: Tensor) throws {
        let dStates = try decoder.backward(projection.backward(dLogits), stateGradient: nil).initialState
        _ = try encoder.backward(Tensor(shape: encoderOutputShape), stateGradient: dStates)
    }
}

/// FC-LSTM (Srivastava et al. 2015): LSTMs over the flattened frames, an
/// encoder and an unconditioned decoder, and a linear map from the
/// decoder's state to every pixel's logit.
final class FullyConnectedSeq2Seq: FramePredictor {
    let encoder: LSTM, decoder: LSTM, projection: Linear
    let outputFrames: Int
    private var inputShape: [Int] = []

    init(pixels: Int, hidden: Int, outputFrames: Int, rng: inout SplitMix64) throws {
        self.outputFrames = outputFrames
        encoder = try LSTM(inputSize: pixels, hiddenSize: hidden, seed: rng.next())
        decoder = try LSTM(inputSize: 1, hiddenSize: hidden, seed: rng.next())
        projection = try Linear(inputSize: hidden, outputSize: pixels, seed: rng.next())
    }

    var parameters: [Parameter] { encoder.parameters + decoder.parameters + projection.parameters }

    func forward(_ x: Tensor, graph: Graph) throws -> Tensor {
        inputShape = x.shape
        let (t, n, b) = (x.shape[0], x.shape[1], x.shape[2])
        let (_, state) = try encoder.forward(transposeFrames(x.reshaped([t, n, b])), initialState: nil)
        let (decoded, _) = try decoder.forward(Tensor(shape: [outputFrames, b, 1]), initialState: state)
        return try transposeFrames(projection.forward(decoded)).reshaped([outputFrames, n, b, 1])
    }

    func backward(_ dLogits: Tensor) throws {
        let (n, b) = (inputShape[1], inputShape[2])
        let dDecoded = try projection.backward(transposeFrames(dLogits.reshaped([outputFrames, n, b])))
        let dState = try decoder.backward(dDecoded, stateGradient: nil).initialState
        try encoder.backwardParameters(Tensor(shape: [inputShape[0], b, encoder.hiddenSize]), stateGradient: dState)
    }
}

/// [T, A, B] -> [T, B, A]: each frame transposed (pixel-major <-> sequence-major).
private func transposeFrames(_ x: Tensor) -> Tensor {
    let (t, a, b) = (x.shape[0], x.shape[1], x.shape[2])
    let y = Tensor(shape: [t, b, a])
    y.withUnsafeMutableBufferPointer { dst in
        x.withUnsafeBufferPointer { src in
            for s in 0..<t {
                for i in 0..<a { for j in 0..<b { dst[(s * b + j) * a + i] = src[(s * a + i) * b + j] } }
            }
        }
    }
    return y
}
