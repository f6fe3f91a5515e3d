package import CGraphSeq

// gsq_model_*: include/graphseq.h declares them, these implement them (the
// compiler checks each signature against the header).

extension ModelHandle {
    /// The handle behind a C model pointer (not retained).
    static func from(_ model: gsq_model_t?) throws(GraphSeqError) -> ModelHandle {
        let model = try nonNull(model, "model")
        return Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model)).takeUnretainedValue()
    }
}

@c @implementation
package func gsq_model_create(_ out: UnsafeMutablePointer<gsq_model_t?>?,
                             _ options: UnsafePointer<gsq_model_options_t>?) -> gsq_status_t {
    cEntry("gsq_model_create") { () throws(GraphSeqError) in
        let out = try nonNull(out, "out")
        let o = try nonNull(options, "options").pointee
        try require(Int(o.struct_size) == MemoryLayout<gsq_model_options_t>.size,
                    "options->struct_size = \(o.struct_size), expected sizeof(gsq_model_options_t) = "
                        + "\(MemoryLayout<gsq_model_options_t>.size)")
        let handle = ModelHandle(try makeModelCore(o))
        out.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
    }
}

@c @implementation
package func gsq_model_destroy(_ model: gsq_model_t?) {
    guard let model else { return }
    Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model)).release()
}

@c @implementation
package func gsq_model_set_training(_ model: gsq_model_t?, _ training: Int32) -> gsq_status_t {
    cEntry("gsq_model_set_training") { () throws(GraphSeqError) in
        try ModelHandle.from(model).core.layer.setTraining(training != 0)
    }
}

@c @implementation
package func gsq_model_forward(_ model: gsq_model_t?, _ graph: gsq_graph_t?,
                              _ src: UnsafePointer<Float>?, _ rank: Int64,
                              _ shape: UnsafePointer<Int64>?, _ lengths: UnsafePointer<Int64>?,
                              _ h0: UnsafePointer<Float>?, _ c0: UnsafePointer<Float>?) -> gsq_status_t {
    cEntry("gsq_model_forward") { () throws(GraphSeqError) in
        let handle = try ModelHandle.from(model)
        let core = handle.core
        let dims = try tensorShape(shape, rank: rank, name: "src", ranks: core.inputRanks)
        let x = try tensorCopy(src, shape: dims, name: "src")
        var swiftGraph: Graph?
        if core.needsGraph {
            swiftGraph = try handle.adjacency.graph(for: nonNull(graph, "graph"))
        } else {
            try require(graph == nil, "graph must be NULL for a model without one")
        }
        var lengthArray: [Int]?
        if let lengths {
            guard let count = core.lengthCount(input: dims) else {
                throw .invalidArgument("lengths must be NULL for a model without sequences")
            }
            lengthArray = (0..<count).map { Int(lengths[$0]) }
        }
        let shapes = core.stateShapes(input: dims)
        let initial = try stateCopy(h0, c0, shapes: shapes, names: ("h0", "c0"))
        let result = try core.forward(x, graph: swiftGraph, lengths: lengthArray, initialState: initial)
        handle.recordForward(input: dims, output: result.output, state: result.state)
    }
}

/// Copies of optional C states h and c (NULL: zeros) of the given shapes;
/// an error for a state the model does not have (shape nil). With only c
/// given, h is made explicitly zero (the Swift layers take c only with h).
private func stateCopy(_ h: UnsafePointer<Float>?, _ c: UnsafePointer<Float>?,
                       shapes: (h: [Int]?, c: [Int]?), names: (h: String, c: String))
    throws(GraphSeqError) -> ModelState {
    func copy(_ data: UnsafePointer<Float>?, _ shape: [Int]?, _ name: String) throws(GraphSeqError) -> Tensor? {
        guard let data else { return nil }
        guard let shape else { throw .invalidArgument("\(name) must be NULL: the model has no such state") }
        return try tensorCopy(data, shape: shape, name: name)
    }
    var state = ModelState(h: try copy(h, shapes.h, names.h), c: try copy(c, shapes.c, names.c))
    if state.h == nil, state.c != nil, let shape = shapes.h {
        try require(elementCount(shape) <= maximumElementCount, "\(names.h) of shape \(shape) is too large")
        state.h = Tensor(shape: shape)
    }
    return state
}

@c @implementation
package func gsq_model_tensor(_ model: gsq_model_t?, _ which: gsq_model_tensor_t,
                             _ data: UnsafeMutablePointer<UnsafePointer<Float>?>?,
                             _ rank: UnsafeMutablePointer<Int64>?,
                             _ shape: UnsafeMutablePointer<Int64>?) -> gsq_status_t {
    cEntry("gsq_model_tensor") { () throws(GraphSeqError) in
        let handle = try ModelHandle.from(model)
        let (tensor, what): (Tensor?, String)
        switch which {
        case GSQ_MODEL_OUTPUT: (tensor, what) = (handle.output, "the output (no forward yet)")
        case GSQ_MODEL_STATE_H: (tensor, what) = (handle.state.h, "a final h (no forward yet, or no state)")
        case GSQ_MODEL_STATE_C: (tensor, what) = (handle.state.c, "a final c (no forward yet, or no cell state)")
        case GSQ_MODEL_GRAD_INPUT: (tensor, what) = (handle.inputGradient, "an input gradient (no backward yet)")
        case GSQ_MODEL_GRAD_H0: (tensor, what) = (handle.initialStateGradient.h,
                                                  "an h0 gradient (no backward yet, or no state)")
        case GSQ_MODEL_GRAD_C0: (tensor, what) = (handle.initialStateGradient.c,
                                                  "a c0 gradient (no backward yet, or no cell state)")
        default: throw .invalidArgument("which = \(which.rawValue) is not a gsq_model_tensor_t")
        }
        guard let tensor else { throw .invalidArgument("the model has no \(what)") }
        try exportShape(tensor, rank: rank, shape: shape)
        data?.pointee = tensor.withUnsafeBufferPointer { UnsafePointer($0.baseAddress) }
    }
}

@c @implementation
package func gsq_model_backward(_ model: gsq_model_t?, _ doutput: UnsafePointer<Float>?,
                               _ dh: UnsafePointer<Float>?, _ dc: UnsafePointer<Float>?) -> gsq_status_t {
    cEntry("gsq_model_backward") { () throws(GraphSeqError) in
        let handle = try ModelHandle.from(model)
        guard let output = handle.output else { throw .invalidArgument("called before any forward") }
        let dy = try tensorCopy(doutput, shape: output.shape, name: "doutput")
        let gradient = try stateCopy(dh, dc, shapes: (handle.state.h?.shape, handle.state.c?.shape),
                                     names: ("dh", "dc"))
        let result = try handle.core.backward(dy, stateGradient: gradient)
        handle.recordBackward(input: result.input, initialState: result.initialState)
    }
}

@c @implementation
package func gsq_model_parameter_count(_ model: gsq_model_t?) -> Int64 {
    guard let model else {
        reportError("gsq_model_parameter_count: model is NULL")
        return -1
    }
    return Int64(Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model))
        .takeUnretainedValue().parameters.count)
}

@c @implementation
package func gsq_model_parameter(_ model: gsq_model_t?, _ index: Int64,
                                _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                _ value: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
                                _ grad: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
                                _ rank: UnsafeMutablePointer<Int64>?,
                                _ shape: UnsafeMutablePointer<Int64>?) -> gsq_status_t {
    cEntry("gsq_model_parameter") { () throws(GraphSeqError) in
        let handle = try ModelHandle.from(model)
        let count = handle.parameters.count
        try require(index >= 0 && index < count, "index = \(index) is not in 0..<\(count)")
        let (cName, parameter) = handle.parameters[Int(index)]
        try exportShape(parameter.value, rank: rank, shape: shape)
        name?.pointee = UnsafePointer(cName)
        value?.pointee = parameter.value.withUnsafeMutableBufferPointer { $0.baseAddress }
        grad?.pointee = parameter.gradient.withUnsafeMutableBufferPointer { $0.baseAddress }
    }
}

@c @implementation
package func gsq_model_zero_grad(_ model: gsq_model_t?) -> gsq_status_t {
    cEntry("gsq_model_zero_grad") { () throws(GraphSeqError) in
        try ModelHandle.from(model).core.layer.zeroGradients()
    }
}
