internal import CGraphSeq

/// The model a gsq_model_options_t describes, with freshly initialised
/// parameters. Sizes are checked here first so that no request can reach a
/// Swift trap (an overflowing or absurd allocation).
func makeModelCore(_ o: gsq_model_options_t) throws(GraphSeqError) -> any ModelCore {
    for (name, value) in [("input_size", o.input_size), ("hidden_size", o.hidden_size),
                          ("output_size", o.output_size), ("num_layers", o.num_layers),
                          ("proj_size", o.proj_size), ("order", o.order), ("horizon", o.horizon)] {
        try require(value >= 0 && value <= 1 << 31, "\(name) = \(value) is negative or too large")
    }
    // A bound on any kind's parameter count: gate blocks of the widest size
    // squared, per Chebyshev order, layer and direction.
    let widest = Int(max(o.input_size, o.hidden_size, o.output_size, o.proj_size, 1))
    let bound = elementCount([widest, widest, 4, Int(max(o.order, 1)), Int(max(o.num_layers, 1)), 2])
    try require(bound <= 1 << 34, "a model of these sizes is too large")
    try require(o.lstm_flags & ~(GSQ_LSTM_PEEPHOLE | GSQ_LSTM_COUPLED) == 0,
                "lstm_flags = \(o.lstm_flags) has bits other than GSQ_LSTM_PEEPHOLE | GSQ_LSTM_COUPLED")
    let (input, hidden, output) = (Int(o.input_size), Int(o.hidden_size), Int(o.output_size))
    let order = Int(o.order), bias = o.bias != 0
    let peephole = o.lstm_flags & GSQ_LSTM_PEEPHOLE != 0
    let lambdaMax: Float? = o.lambda_max == 0 ? nil : o.lambda_max
    let recurrent = RecurrentOptions(numLayers: Int(o.num_layers), bidirectional: o.bidirectional != 0,
                                     dropout: o.dropout, bias: bias, batchFirst: o.batch_first != 0)

    switch o.kind {
    case GSQ_MODEL_LINEAR:
        return LinearModel(linear: try Linear(inputSize: input, outputSize: output, bias: bias, seed: o.seed))
    case GSQ_MODEL_RNN_TANH, GSQ_MODEL_RNN_RELU:
        let rnn = try RNN(inputSize: input, hiddenSize: hidden, activation: o.kind == GSQ_MODEL_RNN_RELU ? .relu : .tanh,
                          options: recurrent, seed: o.seed)
        return SequenceModel(sequence: rnn, options: recurrent, hSize: hidden, cSize: nil)
    case GSQ_MODEL_LSTM:
        let lstm = try LSTM(inputSize: input, hiddenSize: hidden, options: recurrent, peephole: peephole,
                            coupledInputForget: o.lstm_flags & GSQ_LSTM_COUPLED != 0,
                            projectionSize: Int(o.proj_size), seed: o.seed)
        return SequenceModel(sequence: lstm, options: recurrent, hSize: o.proj_size > 0 ? Int(o.proj_size) : hidden,
                             cSize: hidden)
    case GSQ_MODEL_GRU:
        let gru = try GRU(inputSize: input, hiddenSize: hidden, options: recurrent,
                          form: o.gru_reset_before_product != 0 ? .resetBeforeProduct : .linearBeforeReset, seed: o.seed)
        return SequenceModel(sequence: gru, options: recurrent, hSize: hidden, cSize: nil)
    case GSQ_MODEL_GCN_CONV:
        return GraphModel(conv: try GCNConv(inputSize: input, outputSize: output, bias: bias, seed: o.seed))
    case GSQ_MODEL_CHEB_CONV:
        return GraphModel(conv: try ChebConv(inputSize: input, outputSize: output, order: order,
                                             normalization: normalization(o.normalization), lambdaMax: lambdaMax,
                                             bias: bias, seed: o.seed))
    case GSQ_MODEL_GCONV_LSTM:
        let lstm = try GConvLSTM(inputSize: input, hiddenSize: hidden, order: order,
                                 normalization: normalization(o.normalization), lambdaMax: lambdaMax,
                                 peephole: peephole, bias: bias, seed: o.seed)
        return GraphSequenceModel(recurrence: lstm, hiddenSize: hidden, hasCellState: true)
    case GSQ_MODEL_GCONV_GRU:
        let gru = try GConvGRU(inputSize: input, hiddenSize: hidden, order: order,
                               normalization: normalization(o.normalization), lambdaMax: lambdaMax,
                               bias: bias, seed: o.seed)
        return GraphSequenceModel(recurrence: gru, hiddenSize: hidden, hasCellState: false)
    case GSQ_MODEL_GCRN1:
        let model = try GCRNModel1(inputSize: input, convolutionSize: output, hiddenSize: hidden, order: order,
                                   normalization: normalization(o.normalization), lambdaMax: lambdaMax,
                                   peephole: peephole, seed: o.seed)
        return GraphSequenceModel(recurrence: model, hiddenSize: hidden, hasCellState: true)
    case GSQ_MODEL_GCRN_SEQ2SEQ:
        let cell: GCRNCell
        switch o.cell {
        case GSQ_MODEL_GCONV_LSTM: cell = .lstm
        case GSQ_MODEL_GCONV_GRU: cell = .gru
        default: throw .invalidArgument("cell = \(kindName(o.cell)) must be GSQ_MODEL_GCONV_LSTM or GSQ_MODEL_GCONV_GRU")
        }
        return EncoderDecoderModel(model: try GCRNEncoderDecoder(
            cell: cell, inputSize: input, hiddenSize: hidden, outputSize: output, numLayers: Int(o.num_layers),
            order: order, horizon: Int(o.horizon), normalization: normalization(o.normalization),
            lambdaMax: lambdaMax, seed: o.seed))
    default:
        throw .invalidArgument("kind = \(o.kind.rawValue) is not a gsq_model_kind_t")
    }
}

/// The Swift normalisation of a C one.
private func normalization(_ n: gsq_laplacian_t) throws(GraphSeqError) -> LaplacianNormalization {
    switch n {
    case GSQ_LAPLACIAN_NONE: .none
    case GSQ_LAPLACIAN_SYM: .symmetric
    case GSQ_LAPLACIAN_RW: .randomWalk
    default: throw .invalidArgument("normalization = \(n.rawValue) is not a gsq_laplacian_t")
    }
}

/// The header's name of a model kind, for messages.
func kindName(_ kind: gsq_model_kind_t) -> String {
    let names = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU", "LINEAR", "GCN_CONV", "CHEB_CONV",
                 "GCONV_LSTM", "GCONV_GRU", "GCRN1", "GCRN_SEQ2SEQ"]
    let raw = Int(kind.rawValue)
    return raw < names.count ? "GSQ_MODEL_" + names[raw] : "\(raw)"
}
