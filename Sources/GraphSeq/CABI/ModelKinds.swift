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
    let (input, output) = (Int(o.input_size), Int(o.output_size))

    switch o.kind {
    case GSQ_MODEL_LINEAR:
        return LinearModel(linear: try Linear(inputSize: input, outputSize: output,
                                              bias: o.bias != 0, seed: o.seed))
    case GSQ_MODEL_RNN_TANH, GSQ_MODEL_RNN_RELU, GSQ_MODEL_LSTM, GSQ_MODEL_GRU,
         GSQ_MODEL_GCN_CONV, GSQ_MODEL_CHEB_CONV, GSQ_MODEL_GCONV_LSTM, GSQ_MODEL_GCONV_GRU,
         GSQ_MODEL_GCRN1, GSQ_MODEL_GCRN_SEQ2SEQ:
        throw .unsupported("kind \(kindName(o.kind)) is not provided by this build of GraphSeq yet")
    default:
        throw .invalidArgument("kind = \(o.kind.rawValue) is not a gsq_model_kind_t")
    }
}

/// The header's name of a model kind, for messages.
func kindName(_ kind: gsq_model_kind_t) -> String {
    let names = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU", "LINEAR", "GCN_CONV", "CHEB_CONV",
                 "GCONV_LSTM", "GCONV_GRU", "GCRN1", "GCRN_SEQ2SEQ"]
    let raw = Int(kind.rawValue)
    return raw < names.count ? "GSQ_MODEL_" + names[raw] : "\(raw)"
}
