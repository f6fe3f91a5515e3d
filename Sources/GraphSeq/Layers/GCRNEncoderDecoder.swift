/// The recurrent cell of a GCRN stack.
public enum GCRNCell: Sendable, Hashable {
    case lstm, gru
}

/// Multi-step forecasting with GCRN cells (sequence to sequence, as in
/// DCRNN and GCRN): an encoder stack of `numLayers` GConvLSTM or GConvGRU
/// layers reads the T input frames; a decoder stack of the same kind starts
/// from the encoder's final states and runs `horizon` steps, its input at step
/// 0 a frame of zeros (GO) and at step s > 0 its own previous prediction; a
/// per-node `Linear` projection (hidden -> outputSize) gives each step's
/// prediction. No teacher forcing: the decoder always consumes its own
/// predictions, in training too, and backward differentiates through them.
///
/// x is [T, N, B, inputSize]; the result is [horizon, N, B, outputSize].
/// Checkpoint names: `encoder.{l}.<cell names>`, `decoder.{l}.<cell names>`
/// (PyG-Temporal's, see `GConvLSTM`/`GConvGRU`), `projection.weight`,
/// `projection.bias`.
///
/// ```swift
/// let model = try GCRNEncoderDecoder(cell: .lstm, inputSize: 2, hiddenSize: 64, outputSize: 2,
///                                    numLayers: 2, order: 3, horizon: 12, seed: 1)
/// let forecast = try model.forward(x, graph: adjacency)    // [12, N, B, 2]
/// let dx = try model.backward(dLoss_dForecast)             // accumulates every gradient
/// ```
public final class GCRNEncoderDecoder: Layer {
    public let cell: GCRNCell
    public let inputSize: Int, hiddenSize: Int, outputSize: Int, numLayers: Int, order: Int, horizon: Int
    let encoder: [any GCRNRecurrence]
    let decoder: [any GCRNRecurrence]
    public let projection: Linear
    private let laplacian: OperatorCache
    private var saved: Saved?

    /// What a forward keeps: the encoder's tapes, the decoder's per step and
    /// layer, and the top decoder outputs that fed the projection.
    private struct Saved {
        let encoder: [GCRNTape]
        let decoder: [[GCRNTape]]
        let tops: [Tensor]
        let inputShape: [Int]
    }

    public init(cell: GCRNCell, inputSize: Int, hiddenSize: Int, outputSize: Int, numLayers: Int,
                order: Int, horizon: Int, normalization: LaplacianNormalization = .symmetric,
                lambdaMax: Float? = nil, seed: UInt64) throws(GraphSeqError) {
        try require(numLayers >= 1 && horizon >= 1 && outputSize >= 1,
                    "GCRNEncoderDecoder: numLayers \(numLayers), horizon \(horizon) and outputSize \(outputSize) must be positive")
        var rng = SplitMix64(seed: seed)
        func stack(firstInput: Int) throws(GraphSeqError) -> [any GCRNRecurrence] {
            var layers: [any GCRNRecurrence] = []
            for l in 0..<numLayers {
                let input = l == 0 ? firstInput : hiddenSize
                switch cell {
                case .lstm:
                    layers.append(try GConvLSTM(inputSize: input, hiddenSize: hiddenSize, order: order,
                                                normalization: normalization, lambdaMax: lambdaMax, seed: rng.next()))
                case .gru:
                    layers.append(try GConvGRU(inputSize: input, hiddenSize: hiddenSize, order: order,
                                               normalization: normalization, lambdaMax: lambdaMax, seed: rng.next()))
                }
            }
            return layers
        }
        encoder = try stack(firstInput: inputSize)
        decoder = try stack(firstInput: outputSize)
        projection = try Linear(inputSize: hiddenSize, outputSize: outputSize, seed: rng.next())
        laplacian = .scaledLaplacian(normalization, lambdaMax: lambdaMax)
        (self.cell, self.inputSize, self.hiddenSize, self.outputSize) = (cell, inputSize, hiddenSize, outputSize)
        (self.numLayers, self.order, self.horizon) = (numLayers, order, horizon)
    }

    private var parts: [(prefix: String, layer: any Layer)] {
        encoder.enumerated().map { ("encoder.\($0.offset)", $0.element) }
            + decoder.enumerated().map { ("decoder.\($0.offset)", $0.element) }
            + [("projection", projection)]
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        parts.flatMap { prefixed($0.prefix, $0.layer.namedParameters) }
    }

    public func stateDict() -> [(name: String, tensor: Tensor)] {
        parts.flatMap { prefixed($0.prefix, $0.layer.stateDict()) }
    }

    /// Validates the whole checkpoint first, so a failed load changes nothing.
    public func loadStateDict(_ tensors: [String: Tensor]) throws(GraphSeqError) {
        try validateStateDict(tensors, expected: stateDict(), owner: "GCRNEncoderDecoder")
        for (prefix, layer) in parts {
            let own = tensors.filter { $0.key.hasPrefix(prefix + ".") }
            try layer.loadStateDict(Dictionary(uniqueKeysWithValues: own.map {
                (String($0.key.dropFirst(prefix.count + 1)), $0.value)
            }))
        }
    }

    /// The forecast [horizon, N, B, outputSize] for x [T, N, B, inputSize].
    public func forward(_ x: Tensor, graph: Graph) throws(GraphSeqError) -> Tensor {
        try require(graph.rowCount == graph.columnCount,
                    "GCRNEncoderDecoder.forward: graph is \(graph.rowCount) x \(graph.columnCount), not square")
        try require(x.rank == 4 && x.shape[3] == inputSize,
                    "GCRNEncoderDecoder.forward: x has shape \(x.shape), expected [T, N, B, \(inputSize)]")
        let lhat = try laplacian(graph)
        var input = x
        var states: [RecurrentState] = []
        var encoderTapes: [GCRNTape] = []
        for layer in encoder {
            let (output, state, tape) = try layer.run(input, operator: lhat, initialState: nil, recycling: nil)
            (input, states, encoderTapes) = (output, states + [state], encoderTapes + [tape])
        }
        let (N, B) = (x.shape[1], x.shape[2])
        let forecast = Tensor(shape: [horizon, N, B, outputSize])
        var frame = Tensor(shape: [1, N, B, outputSize])   // GO
        var decoderTapes: [[GCRNTape]] = [], tops: [Tensor] = []
        for s in 0..<horizon {
            var input = frame, tapes: [GCRNTape] = []
            for (l, layer) in decoder.enumerated() {
                let (output, state, tape) = try layer.run(input, operator: lhat, initialState: states[l], recycling: nil)
                (input, states[l]) = (output, state)
                tapes.append(tape)
            }
            let top = input.slice(0)
            let prediction = try projection.forward(top)
            forecast.slice(s).withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: prediction.values, count: prediction.count) }
            frame = try prediction.reshaped([1, N, B, outputSize])
            decoderTapes.append(tapes)
            tops.append(top)
        }
        saved = Saved(encoder: encoderTapes, decoder: decoderTapes, tops: tops, inputShape: x.shape)
        return forecast
    }

    /// dLoss/dx from dLoss/dforecast; accumulates every parameter gradient,
    /// through the fed-back predictions too. The projection of each step is
    /// recomputed (one small GEMM) so that `Linear` sees the step's input.
    public func backward(_ outputGradient: Tensor) throws(GraphSeqError) -> Tensor {
        guard let saved else { throw .invalidArgument("GCRNEncoderDecoder.backward: called before forward") }
        let (T, N, B) = (saved.inputShape[0], saved.inputShape[1], saved.inputShape[2])
        try require(outputGradient.shape == [horizon, N, B, outputSize],
                    "GCRNEncoderDecoder.backward: gradient has shape \(outputGradient.shape), expected \([horizon, N, B, outputSize])")
        var stateGradients = [RecurrentState?](repeating: nil, count: numLayers)
        var fedBack: Tensor?   // dLoss/d(prediction of step s) through step s + 1's input
        for s in stride(from: horizon - 1, through: 0, by: -1) {
            let dPrediction = outputGradient.slice(s).copy()
            if let fedBack { dPrediction.add(fedBack) }
            _ = try projection.forward(saved.tops[s])
            var d = try projection.backward(dPrediction).reshaped([1, N, B, hiddenSize])
            for l in stride(from: numLayers - 1, through: 0, by: -1) {
                let (dx, d0) = try decoder[l].backprop(saved.decoder[s][l], d, stateGradient: stateGradients[l])
                (d, stateGradients[l]) = (dx, d0)
            }
            fedBack = d
        }
        var d = Tensor(shape: [T, N, B, hiddenSize])   // the top encoder output feeds nothing
        for l in stride(from: numLayers - 1, through: 0, by: -1) {
            d = try encoder[l].backprop(saved.encoder[l], d, stateGradient: stateGradients[l]).input
        }
        return d
    }
}
