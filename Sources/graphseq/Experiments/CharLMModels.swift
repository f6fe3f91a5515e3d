import ArgumentParser
import GraphSeq

// The next-character models of `graphseq experiment charlm`.

/// A next-character model over windows of one-hot characters.
protocol CharacterModel: Layer {
    /// Logits [window * batch, vocabulary] (row t * batch + b) for the
    /// characters `inputs` [batch][window], continuing from `state` (nil:
    /// zeros); gradients do not flow into `state`.
    func forward(_ inputs: [[Int]], state: RecurrentState?) throws -> (logits: Tensor, state: RecurrentState)
    /// Backpropagates dLoss/dlogits of the last forward into the parameters.
    func backward(_ logitsGradient: Tensor) throws
}

/// An LSTM or GRU with a linear decoder to the vocabulary's logits; the
/// decoder's bias starts at `outputBias` (one per character).
final class RecurrentCharModel: CharacterModel {
    let recurrent: any SequenceLayer
    let decoder: Linear
    let hiddenSize: Int, vocabulary: Int
    /// Window and batch of the last forward.
    private var saved: (steps: Int, batch: Int)?

    init(_ recurrent: any SequenceLayer, hiddenSize: Int, outputBias: [Float], seed: UInt64) throws {
        self.recurrent = recurrent
        (self.hiddenSize, vocabulary) = (hiddenSize, outputBias.count)
        decoder = try Linear(inputSize: hiddenSize, outputSize: vocabulary, seed: seed &+ 1)
        decoder.bias!.value.withUnsafeMutableBufferPointer { _ = $0.update(from: outputBias) }
    }

    var namedParameters: [(name: String, parameter: Parameter)] {
        recurrent.namedParameters.map { ("rnn.\($0.name)", $0.parameter) }
            + decoder.namedParameters.map { ("decoder.\($0.name)", $0.parameter) }
    }

    func forward(_ inputs: [[Int]], state: RecurrentState?) throws -> (logits: Tensor, state: RecurrentState) {
        let (output, next) = try recurrent.forward(oneHot(inputs, classes: vocabulary), lengths: nil, initialState: state)
        saved = (inputs[0].count, inputs.count)
        return (try decoder.forward(output.reshaped([output.count / hiddenSize, hiddenSize])), next)
    }

    func backward(_ logitsGradient: Tensor) throws {
        guard let saved else { throw GraphSeqError.invalidArgument("RecurrentCharModel.backward: called before forward") }
        let outputGradient = try decoder.backward(logitsGradient).reshaped([saved.steps, saved.batch, hiddenSize])
        try recurrent.backwardParameters(outputGradient, stateGradient: nil)
    }

    /// One embedding per character: the columns of the first layer's input
    /// weights W_ih [gates * hidden, vocabulary], as rows [vocabulary, gates * hidden].
    func inputEmbeddings() -> Tensor {
        let w = recurrent.namedParameters.first { $0.name == "weight_ih_l0" }!.parameter.value
        let (rows, columns) = (w.shape[0], w.shape[1])
        let points = Tensor(shape: [columns, rows])
        for r in 0..<rows { for c in 0..<columns { points[c, r] = w[r, c] } }
        return points
    }
}

/// How the GConvLSTM's node states become the vocabulary's logits.
enum GraphReadout: String, ExpressibleByArgument {
    /// Character c's logit is w · h_c + b_c: a linear readout of its own
    /// node's state, w shared by all nodes (the GCRN authors' code), b per node.
    case node
    /// One linear layer from all nodes' states [vocabulary * hidden] to the logits.
    case all
}

/// GCRN model 2 on a graph over the vocabulary: a GConvLSTM whose input is
/// the one-hot character as a one-feature signal on the character nodes
/// (x [window, vocabulary, batch, 1]), read out as `GraphReadout` says;
/// the output biases start at `outputBias`.
final class GraphCharModel: CharacterModel {
    let recurrent: GConvLSTM
    let graph: Graph
    let readoutKind: GraphReadout
    /// node: w [1, hidden] without bias; all: [vocabulary, vocabulary * hidden] with bias.
    let readout: Linear
    /// node: one bias per character [vocabulary]; all: nil (the readout has it).
    let nodeBias: Parameter?
    private var saved: (steps: Int, batch: Int)?

    init(graph: Graph, hiddenSize: Int, order: Int, readout kind: GraphReadout, outputBias: [Float],
         seed: UInt64) throws {
        let nodes = graph.rowCount
        guard outputBias.count == nodes else {
            throw GraphSeqError.invalidArgument("GraphCharModel: \(outputBias.count) output biases for \(nodes) nodes")
        }
        recurrent = try GConvLSTM(inputSize: 1, hiddenSize: hiddenSize, order: order, seed: seed)
        (self.graph, readoutKind) = (graph, kind)
        switch kind {
        case .node:
            readout = try Linear(inputSize: hiddenSize, outputSize: 1, bias: false, seed: seed &+ 1)
            nodeBias = Parameter(try Tensor(shape: [nodes], values: outputBias))
        case .all:
            readout = try Linear(inputSize: nodes * hiddenSize, outputSize: nodes, seed: seed &+ 1)
            readout.bias!.value.withUnsafeMutableBufferPointer { _ = $0.update(from: outputBias) }
            nodeBias = nil
        }
    }

    var namedParameters: [(name: String, parameter: Parameter)] {
        recurrent.namedParameters.map { ("gconv.\($0.name)", $0.parameter) }
            + readout.namedParameters.map { ("readout.\($0.name)", $0.parameter) }
            + (nodeBias.map { [("node_bias", $0)] } ?? [])
    }

    func forward(_ inputs: [[Int]], state: RecurrentState?) throws -> (logits: Tensor, state: RecurrentState) {
        let (steps, batch, nodes, hidden) = (inputs[0].count, inputs.count, graph.rowCount, recurrent.hiddenSize)
        let x = Tensor(shape: [steps, nodes, batch, 1])
        x.withUnsafeMutableBufferPointer { p in
            for (b, sequence) in inputs.enumerated() {
                for (t, c) in sequence.enumerated() { p[(t * nodes + c) * batch + b] = 1 }
            }
        }
        let (output, next) = try recurrent.forward(x, graph: graph, initialState: state)
        // [steps, nodes, batch, hidden] -> rows t * batch + b of all nodes' states.
        let states = swapMiddleAxes(output, steps, nodes, batch, hidden)
        saved = (steps, batch)
        switch readoutKind {
        case .all:
            return (try readout.forward(states.reshaped([steps * batch, nodes * hidden])), next)
        case .node:
            let logits = try readout.forward(states.reshaped([steps * batch * nodes, hidden]))
            let bias = nodeBias!.value.values
            logits.withUnsafeMutableBufferPointer { p in
                for i in p.indices { p[i] += bias[i % nodes] }
            }
            return (try logits.reshaped([steps * batch, nodes]), next)
        }
    }

    func backward(_ logitsGradient: Tensor) throws {
        guard let (steps, batch) = saved else {
            throw GraphSeqError.invalidArgument("GraphCharModel.backward: called before forward")
        }
        let (nodes, hidden) = (graph.rowCount, recurrent.hiddenSize)
        let statesGradient: Tensor
        switch readoutKind {
        case .all:
            statesGradient = try readout.backward(logitsGradient)
        case .node:
            let g = logitsGradient.values
            nodeBias!.gradient.withUnsafeMutableBufferPointer { d in
                for i in g.indices { d[i % nodes] += g[i] }
            }
            statesGradient = try readout.backward(logitsGradient.reshaped([steps * batch * nodes, 1]))
        }
        _ = try recurrent.backward(swapMiddleAxes(statesGradient, steps, batch, nodes, hidden), stateGradient: nil)
    }
}

/// x [a, b, c, d] as a new [a, c, b, d] tensor.
private func swapMiddleAxes(_ x: Tensor, _ a: Int, _ b: Int, _ c: Int, _ d: Int) -> Tensor {
    let y = Tensor(shape: [a, c, b, d])
    x.withUnsafeBufferPointer { src in
        y.withUnsafeMutableBufferPointer { dst in
            for i in 0..<a {
                for j in 0..<b {
                    for k in 0..<c {
                        let from = ((i * b + j) * c + k) * d, to = ((i * c + k) * b + j) * d
                        for l in 0..<d { dst[to + l] = src[from + l] }
                    }
                }
            }
        }
    }
    return y
}
