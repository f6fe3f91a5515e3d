import GraphSeq

/// A model mapping windows x [window, N, B, F] to forecasts
/// [horizon, N, B, 1] in model space; `backward` takes dLoss/dforecast and
/// accumulates every parameter gradient. As a `Layer` it is one checkpoint.
protocol Forecaster: Layer {
    func forward(_ x: Tensor, graph: Graph) throws(GraphSeqError) -> Tensor
    @discardableResult func backward(_ forecastGradient: Tensor) throws(GraphSeqError) -> Tensor
}

/// The model a configuration names, initialised from its seed:
/// - gconvgru / gconvlstm, horizon 1: `layers` stacked GCRN cells (GCRN
///   model 2) reading the window, a linear head on the last hidden state;
/// - gconvgru / gconvlstm, horizon > 1: `GCRNEncoderDecoder` (sequence to
///   sequence, the decoder feeding back its own predictions);
/// - lstm: the same recurrent stack without the graph, every node's window
///   its own sequence, weights shared by all nodes, a linear head giving all
///   horizon steps from the last hidden state.
func makeForecaster(_ c: RunConfiguration, inputSize: Int) throws(GraphSeqError) -> any Forecaster {
    switch (c.model.cell, c.horizon) {
    case (let cell?, 1):
        return try GCRNStackForecaster(cell: cell, inputSize: inputSize, hiddenSize: c.hidden,
                                       layers: c.layers, order: c.order, seed: c.seed)
    case (let cell?, _):
        return try GCRNEncoderDecoder(cell: cell, inputSize: inputSize, hiddenSize: c.hidden, outputSize: 1,
                                      numLayers: c.layers, order: c.order, horizon: c.horizon, seed: c.seed)
    case (nil, _):
        return try NodeLSTMForecaster(inputSize: inputSize, hiddenSize: c.hidden, layers: c.layers,
                                      horizon: c.horizon, seed: c.seed)
    }
}

extension GCRNEncoderDecoder: Forecaster {}

/// GCRN cells stacked, then `head` (hidden -> 1) on the last step's states.
/// Checkpoint names: `cells.{l}.<PyG-Temporal names>`, `head.weight`, `head.bias`.
final class GCRNStackForecaster: Forecaster, ComposedLayer {
    let cells: [any GraphSequenceLayer]
    let head: Linear
    private var windowLength = 0

    init(cell: GCRNCell, inputSize: Int, hiddenSize: Int, layers: Int, order: Int, seed: UInt64) throws(GraphSeqError) {
        var rng = SplitMix64(seed: seed)
        var cells: [any GraphSequenceLayer] = []
        for l in 0..<layers {
            let input = l == 0 ? inputSize : hiddenSize
            switch cell {
            case .gru: cells.append(try GConvGRU(inputSize: input, hiddenSize: hiddenSize, order: order, seed: rng.next()))
            case .lstm: cells.append(try GConvLSTM(inputSize: input, hiddenSize: hiddenSize, order: order, seed: rng.next()))
            }
        }
        self.cells = cells
        head = try Linear(inputSize: hiddenSize, outputSize: 1, seed: rng.next())
    }

    var parts: [(prefix: String, layer: any Layer)] {
        cells.enumerated().map { ("cells.\($0.offset)", $0.element) } + [("head", head)]
    }

    func forward(_ x: Tensor, graph: Graph) throws(GraphSeqError) -> Tensor {
        var h = x
        for cell in cells { h = try cell.forward(h, graph: graph, initialState: nil).output }
        windowLength = x.shape[0]
        let y = try head.forward(h.slice(windowLength - 1))          // [N, B, 1]
        return try y.reshaped([1] + y.shape)
    }

    func backward(_ forecastGradient: Tensor) throws(GraphSeqError) -> Tensor {
        let dLast = try head.backward(forecastGradient.reshaped(Array(forecastGradient.shape.dropFirst())))
        var d = Tensor(shape: [windowLength] + dLast.shape)           // only the last step feeds the head
        d.slice(windowLength - 1).add(dLast)
        for cell in cells.reversed() { d = try cell.backward(d, stateGradient: nil).input }
        return d
    }
}

/// `torch.nn.LSTM` over each node's window (the N * B windows are one batch:
/// no graph), then `head` (hidden -> horizon) on the last step.
/// Checkpoint names: `lstm.weight_ih_l0`, ..., `head.weight`, `head.bias`.
final class NodeLSTMForecaster: Forecaster, ComposedLayer {
    let lstm: LSTM
    let head: Linear
    private var inputShape: [Int] = []

    init(inputSize: Int, hiddenSize: Int, layers: Int, horizon: Int, seed: UInt64) throws(GraphSeqError) {
        var rng = SplitMix64(seed: seed)
        lstm = try LSTM(inputSize: inputSize, hiddenSize: hiddenSize, options: RecurrentOptions(numLayers: layers),
                        seed: rng.next())
        head = try Linear(inputSize: hiddenSize, outputSize: horizon, seed: rng.next())
    }

    var parts: [(prefix: String, layer: any Layer)] { [("lstm", lstm), ("head", head)] }

    func forward(_ x: Tensor, graph: Graph) throws(GraphSeqError) -> Tensor {
        inputShape = x.shape
        let (W, N, B, F) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let h = try lstm.forward(x.reshaped([W, N * B, F]), lengths: nil, initialState: nil).output
        let y = try head.forward(h.slice(W - 1))                      // [N * B, horizon]
        return try transposed(y).reshaped([head.outputSize, N, B, 1])
    }

    func backward(_ forecastGradient: Tensor) throws(GraphSeqError) -> Tensor {
        let (W, N, B) = (inputShape[0], inputShape[1], inputShape[2])
        let dy = try transposed(forecastGradient.reshaped([head.outputSize, N * B]))
        let dLast = try head.backward(dy)
        let d = Tensor(shape: [W, N * B, lstm.hiddenSize])
        d.slice(W - 1).add(dLast)
        return try lstm.backward(d, stateGradient: nil).input.reshaped(inputShape)
    }
}

/// [r, c] -> [c, r].
private func transposed(_ m: Tensor) -> Tensor {
    let (r, c) = (m.shape[0], m.shape[1])
    let out = Tensor(shape: [c, r])
    let v = m.values
    out.withUnsafeMutableBufferPointer { o in
        for i in 0..<r { for j in 0..<c { o[j * r + i] = v[i * c + j] } }
    }
    return out
}

/// A layer made of named parts: parameters and checkpoint entries are the
/// parts' under `prefix.`, as PyTorch names nested modules.
protocol ComposedLayer: Layer {
    var parts: [(prefix: String, layer: any Layer)] { get }
}

extension ComposedLayer {
    var namedParameters: [(name: String, parameter: Parameter)] {
        parts.flatMap { part in part.layer.namedParameters.map { ("\(part.prefix).\($0.name)", $0.parameter) } }
    }

    func stateDict() -> [(name: String, tensor: Tensor)] {
        parts.flatMap { part in part.layer.stateDict().map { ("\(part.prefix).\($0.name)", $0.tensor) } }
    }

    /// Checks every name and shape first, so a failed load changes nothing.
    func loadStateDict(_ tensors: [String: Tensor]) throws(GraphSeqError) {
        let expected = stateDict()
        let missing = expected.map(\.name).filter { tensors[$0] == nil }
        let unexpected = Set(tensors.keys).subtracting(expected.map(\.name)).sorted()
        guard missing.isEmpty, unexpected.isEmpty else {
            throw .invalidArgument("checkpoint: missing \(missing), unexpected \(unexpected)")
        }
        for (name, tensor) in expected where tensors[name]!.shape != tensor.shape {
            throw .invalidArgument("checkpoint: \(name) has shape \(tensors[name]!.shape), expected \(tensor.shape)")
        }
        for part in parts {
            let own = tensors.filter { $0.key.hasPrefix(part.prefix + ".") }
            try part.layer.loadStateDict(Dictionary(uniqueKeysWithValues: own.map {
                (String($0.key.dropFirst(part.prefix.count + 1)), $0.value)
            }))
        }
    }
}
