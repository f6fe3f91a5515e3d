/// GSQ_MODEL_RNN_TANH, _RNN_RELU, _LSTM, _GRU: a SequenceLayer.
struct SequenceModel: ModelCore {
    let sequence: any SequenceLayer
    let options: RecurrentOptions
    /// The sizes of h and c (c nil: no cell state).
    let hSize: Int, cSize: Int?

    var layer: any Layer { sequence }
    var inputRanks: ClosedRange<Int> { 3...3 }

    func lengthCount(input shape: [Int]) -> Int? { options.batchFirst ? shape[0] : shape[1] }

    func stateShapes(input shape: [Int]) -> (h: [Int]?, c: [Int]?) {
        let (layers, batch) = (options.numLayers * options.directions, options.batchFirst ? shape[0] : shape[1])
        return ([layers, batch, hSize], cSize.map { [layers, batch, $0] })
    }

    func forward(_ x: Tensor, graph: Graph?, lengths: [Int]?, initialState: ModelState)
        throws(GraphSeqError) -> (output: Tensor, state: ModelState) {
        let (y, state) = try sequence.forward(x, lengths: lengths, initialState: initialState.recurrentState)
        return (y, ModelState(state))
    }

    func backward(_ outputGradient: Tensor, stateGradient: ModelState)
        throws(GraphSeqError) -> (input: Tensor, initialState: ModelState) {
        let (dx, d0) = try sequence.backward(outputGradient, stateGradient: stateGradient.recurrentState)
        return (dx, ModelState(d0))
    }
}
