import ArgumentParser
import Foundation
import GraphSeq

/// Seed experiment 4d: semi-supervised node classification on the political
/// blogs graph (Adamic & Glance 2005) with a 2-layer GCN (Kipf & Welling
/// 2017) and the same network with Chebyshev filters (Defferrard et al. 2016).
///
/// The hyperlinks are symmetrised and self links dropped; as is common
/// practice (e.g. Pro-GNN, Nettack) only the largest connected component is
/// kept: 1222 blogs. Features are the identity (no node attributes); per run,
/// 20 labelled blogs per class train, 500 others validate (early stopping on
/// their loss), the rest are the test set.
struct Polblogs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polblogs",
        abstract: "Semi-supervised node classification on polblogs: GCN and ChebConv, test accuracy over seeds.")

    @OptionGroup var options: Experiment.Options

    @Option(help: "Runs, each with its own split and initialisation (seeds seed, seed+1, ...).")
    var runs = 10
    @Option(help: "Labelled training nodes per class.")
    var perClass = 20
    @Option(help: "Validation nodes (early stopping).")
    var validation = 500
    @Option(help: "Maximum epochs (full-batch steps).")
    var epochs = 300
    @Option(help: "Stop after this many epochs without a lower validation loss.")
    var patience = 50
    @Option(help: "Hidden units.")
    var hidden = 16
    @Option(help: "Dropout rate on the input and hidden features.")
    var dropout: Float = 0.5
    @Option(help: "Adam learning rate.")
    var learningRate: Float = 0.01
    @Option(help: "L2 weight decay of the first layer (as Kipf & Welling).")
    var weightDecay: Float = 5e-4
    @Option(help: "Chebyshev order K of the ChebConv network.")
    var order = 2

    mutating func validate() throws {
        guard runs >= 1, perClass >= 1, validation >= 1, epochs >= 1, patience >= 1, hidden >= 1, order >= 1,
              (0..<1).contains(dropout), learningRate > 0, weightDecay >= 0 else {
            throw ValidationError("runs, per-class, validation, epochs, patience, hidden and order must be positive, "
                                  + "dropout in [0, 1), learning rate positive, weight decay non-negative")
        }
    }

    func run() throws {
        try options.apply()
        let (runs, epochs) = options.quick ? (1, 50) : (self.runs, self.epochs)
        let data = try PolblogsData.load()
        print("polblogs: \(data.nodeCount) nodes in the largest component (of \(data.allNodeCount)), "
              + "\(data.edgeCount) undirected edges; \(perClass) labelled per class, \(validation) validation, "
              + "the rest test; \(runs) runs from seed \(options.seed)")
        let models = [("GCN", "gcn"), ("ChebConv K=\(order)", "cheb")]
        let progress = ProgressBar("polblogs", total: models.count * runs)
        var rows: [[String]] = [], results: [String: Any] = [:]
        for (m, (name, key)) in models.enumerated() {
            var outcomes: [RunOutcome] = []
            for r in 0..<runs {
                outcomes.append(try train(key, data: data, seed: options.seed &+ UInt64(r), epochs: epochs))
                progress.update(m * runs + r + 1, status: "\(name) test \(String(format: "%.3f", outcomes.last!.test))")
            }
            let tests = outcomes.map(\.test)
            rows.append([name, GraphExperiments.format(tests),
                         String(format: "%.3f–%.3f", tests.min()!, tests.max()!),
                         GraphExperiments.format(outcomes.map(\.validation)),
                         String(format: "%.0f", GraphExperiments.meanAndStd(outcomes.map { Double($0.epoch) }).mean),
                         String(format: "%.1f s", outcomes.reduce(0) { $0 + $1.seconds })])
            let (mean, std) = GraphExperiments.meanAndStd(tests)
            results["\(key)_test_accuracy"] = mean
            results["\(key)_test_accuracy_std"] = std
            results["\(key)_test_accuracies"] = tests
        }
        printTable(["model", "test accuracy", "range", "validation accuracy",
                                     "best epoch (mean)", "wall time"], rows)
        if options.json {
            try printJSONLine(results.merging([
                "experiment": "polblogs", "seed": options.seed, "runs": runs, "nodes": data.nodeCount,
                "quick": options.quick, "seconds": progress.elapsed,
            ]) { a, _ in a })
        }
    }

    struct RunOutcome { var test: Double, validation: Double, epoch: Int, seconds: Double }

    /// Trains one network ("gcn" or "cheb") on one seeded split; the
    /// accuracies are those of the epoch with the lowest validation loss.
    func train(_ kind: String, data: PolblogsData, seed: UInt64, epochs: Int) throws -> RunOutcome {
        let start = ContinuousClock.now
        let n = data.nodeCount
        let split = data.split(perClass: perClass, validation: validation, seed: seed)
        var rng = SplitMix64(seed: seed)
        let (conv1, conv2): (any GraphLayer, any GraphLayer) = kind == "gcn"
            ? (try GCNConv(inputSize: n, outputSize: hidden, seed: rng.next()),
               try GCNConv(inputSize: hidden, outputSize: 2, seed: rng.next()))
            : (try ChebConv(inputSize: n, outputSize: hidden, order: order, lambdaMax: 2, seed: rng.next()),
               try ChebConv(inputSize: hidden, outputSize: 2, order: order, lambdaMax: 2, seed: rng.next()))
        // Weight decay on the first layer only, as in Kipf & Welling's code.
        let optimizers = [try Adam(parameters: conv1.parameters, learningRate: learningRate, weightDecay: weightDecay),
                          try Adam(parameters: conv2.parameters, learningRate: learningRate)]
        let inputDropout = GraphExperiments.Dropout(rate: dropout, seed: rng.next())
        let hiddenDropout = GraphExperiments.Dropout(rate: dropout, seed: rng.next())
        let relu = ReLU()
        let identity = Tensor(shape: [n, n])
        for i in 0..<n { identity[i, i] = 1 }
        func logits(training: Bool) throws -> Tensor {
            let h = relu.forward(try conv1.forward(inputDropout.forward(identity, training: training), graph: data.graph))
            return try conv2.forward(hiddenDropout.forward(h, training: training), graph: data.graph)
        }
        var best = RunOutcome(test: 0, validation: 0, epoch: 0, seconds: 0)
        var bestLoss = Float.infinity
        for epoch in 1...epochs {
            for o in optimizers { o.zeroGradients() }
            let (_, dLogits) = try Loss.softmaxCrossEntropy(logits: logits(training: true), labels: data.labels,
                                                           mask: split.trainMask)
            try conv1.backwardParameters(relu.backward(hiddenDropout.backward(try conv2.backward(dLogits))))
            for o in optimizers { try o.step() }

            let y = try logits(training: false)
            let validationLoss = try Loss.softmaxCrossEntropy(logits: y, labels: data.labels, mask: split.validationMask).value
            if validationLoss < bestLoss {
                bestLoss = validationLoss
                best = RunOutcome(test: accuracy(y, data.labels, split.test),
                                  validation: accuracy(y, data.labels, split.validation),
                                  epoch: epoch, seconds: 0)
            } else if epoch - best.epoch >= patience {
                break
            }
        }
        best.seconds = (ContinuousClock.now - start).seconds
        return best
    }
}

/// The polblogs graph as the experiment uses it: symmetrised, unweighted
/// (repeated links count once), without self links, restricted to its
/// largest connected component (nodes renumbered in their original order).
struct PolblogsData {
    let graph: Graph
    let labels: [Int32]
    let allNodeCount: Int
    let edgeCount: Int
    var nodeCount: Int { labels.count }

    static func load() throws -> PolblogsData {
        let labelFile = try DelimitedText(path: BundledData.path("polblogs/labels.csv"), header: true)
        var labels = [Int32](repeating: -1, count: labelFile.records.count)
        for record in labelFile.records {
            let (node, label) = (try labelFile.int(record, 0), try labelFile.int(record, 1))
            guard labels.indices.contains(node), labels[node] == -1 else {
                throw labelFile.error(record, "node \(node) is not in 0..<\(labels.count) or is labelled twice")
            }
            guard label == 0 || label == 1 else { throw labelFile.error(record, "label \(label) is not 0 or 1") }
            labels[node] = Int32(label)
        }
        // Hyperlinks as an undirected, unweighted graph without self links.
        let links = try GraphFile.read(BundledData.path("polblogs/edges.csv"), format: .edgeList,
                                       nodeCount: labels.count, symmetrize: true)
        let component = links.connectedComponents()
        var sizes = [Int](repeating: 0, count: (component.max() ?? 0) + 1)
        for c in component { sizes[c] += 1 }
        let largest = sizes.indices.max { sizes[$0] < sizes[$1] }!
        let kept = labels.indices.filter { component[$0] == largest }
        var newIndex = [Int32](repeating: -1, count: labels.count)
        for (i, node) in kept.enumerated() { newIndex[node] = Int32(i) }
        let (offsets, columns, _) = links.csr
        var rows: [Int32] = [], targets: [Int32] = []
        for node in kept {
            for e in Int(offsets[node])..<Int(offsets[node + 1]) where Int(columns[e]) != node {
                rows.append(newIndex[node])
                targets.append(newIndex[Int(columns[e])])
            }
        }
        return PolblogsData(graph: try Graph(nodeCount: kept.count, rows: rows, columns: targets),
                            labels: kept.map { labels[$0] }, allNodeCount: labels.count, edgeCount: rows.count / 2)
    }

    struct Split {
        var train: [Int], validation: [Int], test: [Int]
        var trainMask: [Bool], validationMask: [Bool]
    }

    /// `perClass` training nodes of each class, then `validation` of the
    /// remaining nodes, the rest test; all drawn with `seed`.
    func split(perClass: Int, validation: Int, seed: UInt64) -> Split {
        var rng = SplitMix64(seed: seed ^ 0x5EED_5A17)
        var train: [Int] = []
        for c in Set(labels).sorted() {
            train += labels.indices.filter { labels[$0] == c }.shuffled(using: &rng).prefix(perClass)
        }
        let chosen = Set(train)
        let rest = labels.indices.filter { !chosen.contains($0) }.shuffled(using: &rng)
        let validationNodes = Array(rest.prefix(validation)), test = Array(rest.dropFirst(validation))
        func mask(_ nodes: [Int]) -> [Bool] {
            var m = [Bool](repeating: false, count: labels.count)
            for i in nodes { m[i] = true }
            return m
        }
        return Split(train: train, validation: validationNodes, test: test,
                     trainMask: mask(train), validationMask: mask(validationNodes))
    }
}
