/// GSQ_MODEL_GCN_CONV, _CHEB_CONV: a GraphLayer on [N, (B,) F].
struct GraphModel: ModelCore {
    let conv: any GraphLayer
    var layer: any Layer { conv }
    var inputRanks: ClosedRange<Int> { 2...3 }
    var needsGraph: Bool { true }

    func forward(_ x: Tensor, graph: Graph?, lengths: [Int]?, initialState: ModelState)
        throws(GraphSeqError) -> (output: Tensor, state: ModelState) {
        guard let graph else { throw .internal("GraphModel.forward without a graph") }
        return (try conv.forward(x, graph: graph), ModelState())
    }

    func backward(_ outputGradient: Tensor, stateGradient: ModelState)
        throws(GraphSeqError) -> (input: Tensor, initialState: ModelState) {
        (try conv.backward(outputGradient), ModelState())
    }
}

/// GSQ_MODEL_GCRN_SEQ2SEQ: [T, N, B, I] -> [horizon, N, B, O], no states.
struct EncoderDecoderModel: ModelCore {
    let model: GCRNEncoderDecoder
    var layer: any Layer { model }
    var inputRanks: ClosedRange<Int> { 4...4 }
    var needsGraph: Bool { true }

    func forward(_ x: Tensor, graph: Graph?, lengths: [Int]?, initialState: ModelState)
        throws(GraphSeqError) -> (output: Tensor, state: ModelState) {
        guard let graph else { throw .internal("EncoderDecoderModel.forward without a graph") }
        return (try model.forward(x, graph: graph), ModelState())
    }

    func backward(_ outputGradient: Tensor, stateGradient: ModelState)
        throws(GraphSeqError) -> (input: Tensor, initialState: ModelState) {
        (try model.backward(outputGradient), ModelState())
    }
}
