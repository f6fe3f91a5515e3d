/// GSQ_MODEL_GCONV_LSTM, _GCONV_GRU: a GraphSequenceLayer on [T, N, B, F].
struct GraphSequenceModel: ModelCore {
    let recurrence: any GraphSequenceLayer
    let hiddenSize: Int
    let hasCellState: Bool

    var layer: any Layer { recurrence }
    var inputRanks: ClosedRange<Int> { 4...4 }
    var needsGraph: Bool { true }

    func stateShapes(input shape: [Int]) -> (h: [Int]?, c: [Int]?) {
        let state = [shape[1], shape[2], hiddenSize]
        return (state, hasCellState ? state : nil)
    }

    func forward(_ x: Tensor, graph: Graph?, lengths: [Int]?, initialState: ModelState)
        throws(GraphSeqError) -> (output: Tensor, state: ModelState) {
        guard let graph else { throw .internal("GraphSequenceModel.forward without a graph") }
        let (y, state) = try recurrence.forward(x, graph: graph, initialState: initialState.recurrentState)
        return (y, ModelState(state))
    }

    func backward(_ outputGradient: Tensor, stateGradient: ModelState)
        throws(GraphSeqError) -> (input: Tensor, initialState: ModelState) {
        let (dx, d0) = try recurrence.backward(outputGradient, stateGradient: stateGradient.recurrentState)
        return (dx, ModelState(d0))
    }
}
