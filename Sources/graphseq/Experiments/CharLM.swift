import ArgumentParser
import Foundation
import GraphSeq

/// Seed experiment 4c: character-level language models on Shakespeare
/// (LSTM, GRU, and GCRN's GConvLSTM on a k-NN graph of the characters).
struct CharLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "charlm",
        abstract: "Shakespeare character language models: LSTM, GRU and GConvLSTM bits per character.",
        discussion: """
            data/shakespeare/shakespeare.txt.gz is split into contiguous train / validation / \
            test parts (90/5/5). Each model reads one-hot characters in truncated-BPTT windows, \
            carrying its state across windows of parallel streams, and is scored by bits per \
            character on the held-out parts. The GCRN model (Seo et al. 2016, as in their Penn \
            Treebank experiment) is a GConvLSTM on a graph over the characters: cosine k-NN \
            of the trained LSTM's input-weight columns (one per character). Its input is the \
            one-hot character as a one-feature signal on the nodes; the logits come from all \
            nodes' states through one linear layer (--readouts all) or, as in the GCRN \
            authors' code, each character's from its own node's state (--readouts node).
            """)

    @OptionGroup var options: Experiment.Options

    @Option(parsing: .upToNextOption, help: "Models: lstm, gru, gcrn (gcrn needs lstm: its graph comes from the LSTM).")
    var models: [CharModelKind] = [.lstm, .gru, .gcrn]

    @Option(help: "Hidden units of the LSTM and GRU.")
    var hidden = 256

    @Option(help: "Stacked LSTM / GRU layers.")
    var layers = 1

    @Option(help: "Hidden units per character node of the GConvLSTM.")
    var nodeHidden = 8

    @Option(help: "Chebyshev order K of the GConvLSTM.")
    var order = 3

    @Option(parsing: .upToNextOption,
            help: "GConvLSTM readouts to train: all (one linear layer on all nodes' states), node (each character's logit from its own node's state).")
    var readouts: [GraphReadout] = [.all, .node]

    @Option(help: "Neighbours per character in the cosine k-NN graph.")
    var neighbors = 8

    @Option(help: "Training windows (steps) per model.")
    var steps = 2000

    @Option(help: "Parallel text streams per batch.")
    var batchSize = 32

    @Option(help: "Characters per truncated-BPTT window.")
    var window = 64

    @Option(help: "Adam learning rate at the start (cosine decay to a tenth of it).")
    var learningRate: Float = 3e-3

    @Option(help: "Gradient-norm clipping threshold.")
    var maxNorm: Float = 5

    @Option(help: "Added to the LSTM's forget-gate biases at initialisation (PyTorch's init: 0).")
    var forgetBias: Float = 1

    @Option(help: "Sampling temperature (lower: more conservative).")
    var temperature: Float = 0.8

    @Option(help: "Characters to sample from each model.")
    var sampleLength = 400

    @Option(help: "Text the samples start from.")
    var prime = "\n\n"

    func validate() throws {
        guard hidden >= 1, layers >= 1, nodeHidden >= 1, order >= 1, neighbors >= 1, steps >= 1,
              batchSize >= 1, window >= 1, sampleLength >= 0 else {
            throw ValidationError("sizes, --steps, --batch-size, --window and --sample-length must be positive")
        }
        guard temperature > 0 else { throw ValidationError("--temperature must be positive") }
        guard !models.contains(.gcrn) || models.contains(.lstm) else {
            throw ValidationError("--models gcrn needs lstm too: the character graph comes from the trained LSTM")
        }
    }

    func run() throws {
        try options.apply()
        let quick = options.quick
        let corpus = try CharCorpus(bytes: BundledData.gunzip(BundledData.path("shakespeare/shakespeare.txt.gz")),
                                    quick: quick)
        guard prime.utf8.allSatisfy({ corpus.index[Int($0)] != nil }), !prime.isEmpty else {
            throw ValidationError("--prime must be non-empty text of the corpus's characters")
        }
        let (hidden, nodeHidden, steps, batchSize, window) =
            quick ? (32, 4, 40, 8, 32) : (hidden, nodeHidden, steps, batchSize, window)
        let (sampleLength, learningRate) = quick ? (60, Float(1e-2)) : (sampleLength, learningRate)
        let vocabulary = corpus.vocabulary.count
        let unigram = corpus.unigramBitsPerCharacter(), outputBias = corpus.logUnigramFrequencies()
        print("Shakespeare: \(corpus.train.count) train / \(corpus.validation.count) validation / "
              + "\(corpus.test.count) test characters, \(vocabulary) symbols; unigram test bpc \(fixed(unigram)); seed \(options.seed)")
        let start = ContinuousClock.now
        var rows: [[String]] = [], results: [[String: Any]] = [], samples: [(String, String)] = []
        var graph: Graph? = nil
        let runs = models.sorted { $0.rank < $1.rank }.flatMap { kind in
            kind == .gcrn ? readouts.map { (kind, Optional($0)) } : [(kind, nil)]
        }
        for (kind, readout) in runs {
            let runStart = ContinuousClock.now
            let model: any CharacterModel
            var (title, label, details) = (kind.title, kind.rawValue, "")
            if let readout, let graph {
                model = try GraphCharModel(graph: graph, hiddenSize: nodeHidden, order: order, readout: readout,
                                           outputBias: outputBias, seed: options.seed)
                title += ", \(readout.rawValue) readout"
                label += "-\(readout.rawValue)"
                details = "\(vocabulary) nodes x \(nodeHidden), K=\(order)"
            } else {
                let recurrent = try RecurrentKind(rawValue: kind.rawValue)!.make(
                    inputSize: vocabulary, hiddenSize: hidden, layers: layers, forgetBias: forgetBias, seed: options.seed)
                model = try RecurrentCharModel(recurrent, hiddenSize: hidden, outputBias: outputBias, seed: options.seed)
                details = "\(layers)x\(hidden)"
            }
            let trainBPC = try trainModel(model, label, corpus.train, steps: steps, batchSize: batchSize, window: window,
                                          learningRate: learningRate)
            if kind == .lstm, models.contains(.gcrn), let lstm = model as? RecurrentCharModel {
                graph = try Graph.kNearestNeighbors(points: lstm.inputEmbeddings(), k: neighbors, metric: .cosine)
                print("character graph: cosine \(neighbors)-NN of the LSTM's input-weight columns, "
                      + "\(graph!.nonzeroCount) directed edges; closest neighbours:\n" + describeNeighbours(graph!, corpus))
            }
            let validation = try bitsPerCharacter(model, corpus.validation, batchSize: batchSize, window: window)
            let test = try bitsPerCharacter(model, corpus.test, batchSize: batchSize, window: window)
            let seconds = (ContinuousClock.now - runStart).seconds
            samples.append((title, try sample(model, corpus, length: sampleLength)))
            rows.append([title, details, String(model.parameterCount), fixed(trainBPC), fixed(validation), fixed(test),
                         fixed(seconds, 1)])
            results.append(["model": label, "parameters": model.parameterCount, "train_bpc": trainBPC,
                            "validation_bpc": validation, "test_bpc": test, "seconds": seconds])
        }
        let wall = (ContinuousClock.now - start).seconds
        print("\(steps) windows of \(batchSize) x \(window) characters per model, Adam lr \(learningRate) (cosine to "
              + "\(learningRate / 10)), clip \(maxNorm), LSTM forget bias +\(forgetBias)")
        printTable(["model", "size", "parameters", "train bpc (last 50 windows)", "validation bpc", "test bpc", "seconds"],
                   rows)
        for (title, text) in samples {
            print("\n--- \(title) sample (temperature \(temperature), prime \(prime.debugDescription)) ---\n\(text)")
        }
        print(String(format: "\nwall time %.1f s", wall))
        if options.json {
            try printJSONLine(["experiment": "charlm", "seed": options.seed, "quick": quick, "unigram_bpc": unigram,
                               "results": results, "wall_seconds": wall])
        }
    }

    /// Trains with truncated BPTT over `text` split into `batchSize` streams;
    /// returns the mean training bpc of the last 50 windows.
    private func trainModel(_ model: any CharacterModel, _ label: String, _ text: ArraySlice<UInt8>, steps: Int,
                            batchSize: Int, window: Int, learningRate: Float) throws -> Double {
        let streams = try CharStreams(text, batchSize: batchSize, window: window)
        let optimizer = try Adam(parameters: model.parameters, learningRate: learningRate)
        let schedule = try CosineAnnealingLR(baseLearningRate: learningRate, totalEpochs: steps,
                                             minimumLearningRate: learningRate / 10)
        let progress = ProgressBar(label, total: steps)
        var state: RecurrentState? = nil
        var recent: [Double] = []
        for step in 0..<steps {
            let w = step % streams.windowCount
            if w == 0 { state = nil }   // a new pass starts the streams afresh
            let (inputs, targets) = streams.window(w)
            optimizer.learningRate = schedule.learningRate(atEpoch: step)
            optimizer.zeroGradients()
            let (logits, next) = try model.forward(inputs, state: state)
            let (loss, gradient) = try Loss.softmaxCrossEntropy(logits: logits, labels: targets)
            try model.backward(gradient)
            try clipGradientNorm(model.parameters, maxNorm: maxNorm)
            try optimizer.step()
            state = next
            recent.append(Double(loss) / log(2))
            if recent.count > 50 { recent.removeFirst() }
            progress.update(step + 1, status: String(format: "bpc %.3f", recent.reduce(0, +) / Double(recent.count)))
        }
        return recent.reduce(0, +) / Double(recent.count)
    }

    /// Bits per character of `model` on `text`: mean cross entropy / ln 2
    /// over every predicted character of the streams (the state carried).
    private func bitsPerCharacter(_ model: any CharacterModel, _ text: ArraySlice<UInt8>, batchSize: Int,
                                  window: Int) throws -> Double {
        let streams = try CharStreams(text, batchSize: batchSize, window: window)
        var state: RecurrentState? = nil
        var nats = 0.0
        for w in 0..<streams.windowCount {
            let (inputs, targets) = streams.window(w)
            let (logits, next) = try model.forward(inputs, state: state)
            nats += Double(try Loss.softmaxCrossEntropy(logits: logits, labels: targets).value)
            state = next
        }
        return nats / Double(streams.windowCount) / log(2)
    }

    /// `length` characters drawn one at a time from `model` after reading `prime`.
    private func sample(_ model: any CharacterModel, _ corpus: CharCorpus, length: Int) throws -> String {
        var rng = SplitMix64(seed: options.seed)
        var state: RecurrentState? = nil
        var logits = Tensor(shape: [1])
        for byte in prime.utf8 {
            (logits, state) = try model.forward([[corpus.index[Int(byte)]!]], state: state)
        }
        var text = prime.utf8.map { $0 }
        for _ in 0..<length {
            let scaled = logits.values.map { Double($0 / temperature) }
            let top = scaled.max()!
            let weights = scaled.map { exp($0 - top) }
            var u = Double(rng.nextUnitFloat()) * weights.reduce(0, +)
            let next = weights.firstIndex { u -= $0; return u < 0 } ?? weights.count - 1
            text.append(corpus.vocabulary[next])
            (logits, state) = try model.forward([[next]], state: state)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The closest neighbours of a few characters in the graph, by weight.
    private func describeNeighbours(_ graph: Graph, _ corpus: CharCorpus) -> String {
        let csr = graph.csr
        let lines = "aeT.,1\n".utf8.compactMap { byte -> String? in
            guard let node = corpus.index[Int(byte)] else { return nil }
            let range = Int(csr.rowOffsets[node])..<Int(csr.rowOffsets[node + 1])
            let neighbours = range.sorted { csr.values[$0] > csr.values[$1] }.prefix(6).map {
                String(decoding: [corpus.vocabulary[Int(csr.columnIndices[$0])]], as: UTF8.self).debugDescription
            }
            return "  \(String(decoding: [byte], as: UTF8.self).debugDescription): \(neighbours.joined(separator: " "))"
        }
        return lines.joined(separator: "\n")
    }
}

/// The models `charlm` trains.
enum CharModelKind: String, CaseIterable, ExpressibleByArgument {
    case lstm, gru, gcrn

    var title: String {
        switch self {
        case .lstm: "LSTM"
        case .gru: "GRU"
        case .gcrn: "GCRN (GConvLSTM)"
        }
    }

    /// Training order: the GCRN graph needs the trained LSTM.
    var rank: Int { CharModelKind.allCases.firstIndex(of: self)! }
}

/// The text as character indices, its vocabulary, and the contiguous
/// 90/5/5 train / validation / test split.
struct CharCorpus {
    /// The distinct bytes of the whole text, sorted; a character's index is its position.
    let vocabulary: [UInt8]
    /// index[byte] = position in `vocabulary`, nil for bytes not in the text.
    let index: [Int?]
    let train: ArraySlice<UInt8>, validation: ArraySlice<UInt8>, test: ArraySlice<UInt8>

    /// The split of `bytes`; `quick` keeps 100 000 training and 10 000
    /// validation and test characters (each from the start of its part).
    init(bytes: [UInt8], quick: Bool) throws {
        guard bytes.count >= 1000 else { throw ValidationError("the text has only \(bytes.count) characters") }
        vocabulary = Array(Set(bytes)).sorted()
        var index = [Int?](repeating: nil, count: 256)
        for (i, byte) in vocabulary.enumerated() { index[Int(byte)] = i }
        self.index = index
        let encoded = bytes.map { UInt8(index[Int($0)]!) }
        let (a, b) = (encoded.count * 90 / 100, encoded.count * 95 / 100)
        func part(_ range: Range<Int>, _ quickCount: Int) -> ArraySlice<UInt8> {
            encoded[range.lowerBound..<(quick ? min(range.upperBound, range.lowerBound + quickCount) : range.upperBound)]
        }
        (train, validation, test) = (part(0..<a, 100_000), part(a..<b, 10_000), part(b..<encoded.count, 10_000))
    }

    /// The log of each character's frequency in the training text (add-one
    /// smoothed): the unigram model, where the models' output biases start.
    func logUnigramFrequencies() -> [Float] {
        var counts = [Double](repeating: 1, count: vocabulary.count)
        for c in train { counts[Int(c)] += 1 }
        let total = counts.reduce(0, +)
        return counts.map { Float(log($0 / total)) }
    }

    /// The test bpc of the unigram model: the baseline a model must beat.
    func unigramBitsPerCharacter() -> Double {
        let logFrequencies = logUnigramFrequencies()
        return test.reduce(0.0) { $0 - Double(logFrequencies[Int($1)]) } / Double(test.count) / log(2)
    }
}

/// Text cut into `batchSize` contiguous streams read `window` characters at
/// a time: window w of stream b covers characters w * window ..< (w + 1) *
/// window of that stream, targets shifted by one. The last (shorter than a
/// window) piece of each stream is left out.
struct CharStreams {
    private let text: ArraySlice<UInt8>
    private let batchSize: Int, window: Int, streamLength: Int
    let windowCount: Int

    init(_ text: ArraySlice<UInt8>, batchSize: Int, window: Int) throws {
        (self.text, self.batchSize, self.window) = (text, batchSize, window)
        streamLength = (text.count - 1) / batchSize
        windowCount = streamLength / window
        guard windowCount >= 1 else {
            throw ValidationError("\(text.count) characters do not fill \(batchSize) streams of a \(window)-character window")
        }
    }

    /// Inputs [batch][window] and targets in row order t * batch + b.
    func window(_ w: Int) -> (inputs: [[Int]], targets: [Int32]) {
        let base = text.startIndex + w * window
        let inputs = (0..<batchSize).map { b in (0..<window).map { Int(text[base + b * streamLength + $0]) } }
        var targets = [Int32](repeating: 0, count: window * batchSize)
        for b in 0..<batchSize {
            for t in 0..<window { targets[t * batchSize + b] = Int32(text[base + b * streamLength + t + 1]) }
        }
        return (inputs, targets)
    }
}
