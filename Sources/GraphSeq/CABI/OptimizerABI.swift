package import CGraphSeq

// gsq_optimizer_*: the Swift optimisers (Sources/GraphSeq/Training) over a
// model's parameters.

/// The object behind a gsq_optimizer_t. It holds the model handle, so the
/// parameters stay alive whichever of the two the caller destroys first.
final class OptimizerHandle {
    let model: ModelHandle
    let optimizer: any Optimizer

    init(model: ModelHandle, options o: gsq_optimizer_options_t) throws(GraphSeqError) {
        let parameters = model.parameters.map(\.parameter)
        let lr = o.learning_rate
        switch o.kind {
        case GSQ_OPTIMIZER_SGD:
            optimizer = try SGD(parameters: parameters, learningRate: lr, momentum: o.momentum,
                                dampening: o.dampening, nesterov: o.nesterov != 0, weightDecay: o.weight_decay)
        case GSQ_OPTIMIZER_RMSPROP:
            optimizer = try RMSProp(parameters: parameters, learningRate: lr, alpha: o.alpha, epsilon: o.epsilon,
                                    momentum: o.momentum, centered: o.centered != 0, weightDecay: o.weight_decay)
        case GSQ_OPTIMIZER_ADAM:
            optimizer = try Adam(parameters: parameters, learningRate: lr, beta1: o.beta1, beta2: o.beta2,
                                 epsilon: o.epsilon, weightDecay: o.weight_decay, amsgrad: o.amsgrad != 0)
        case GSQ_OPTIMIZER_ADAMW:
            optimizer = try AdamW(parameters: parameters, learningRate: lr, beta1: o.beta1, beta2: o.beta2,
                                  epsilon: o.epsilon, weightDecay: o.weight_decay, amsgrad: o.amsgrad != 0)
        default:
            throw .invalidArgument("kind = \(o.kind.rawValue) is not a gsq_optimizer_kind_t")
        }
        self.model = model
    }

    static func from(_ optimizer: gsq_optimizer_t?) throws(GraphSeqError) -> OptimizerHandle {
        let optimizer = try nonNull(optimizer, "optimizer")
        return Unmanaged<OptimizerHandle>.fromOpaque(UnsafeRawPointer(optimizer)).takeUnretainedValue()
    }
}

@c @implementation
package func gsq_optimizer_create(_ out: UnsafeMutablePointer<gsq_optimizer_t?>?, _ model: gsq_model_t?,
                                  _ options: UnsafePointer<gsq_optimizer_options_t>?) -> gsq_status_t {
    cEntry("gsq_optimizer_create") { () throws(GraphSeqError) in
        let out = try nonNull(out, "out")
        let handle = try ModelHandle.from(model)
        let o = try nonNull(options, "options").pointee
        try require(Int(o.struct_size) == MemoryLayout<gsq_optimizer_options_t>.size,
                    "options->struct_size = \(o.struct_size), expected sizeof(gsq_optimizer_options_t) = "
                        + "\(MemoryLayout<gsq_optimizer_options_t>.size)")
        let optimizer = try OptimizerHandle(model: handle, options: o)
        out.pointee = OpaquePointer(Unmanaged.passRetained(optimizer).toOpaque())
    }
}

@c @implementation
package func gsq_optimizer_destroy(_ optimizer: gsq_optimizer_t?) {
    guard let optimizer else { return }
    Unmanaged<OptimizerHandle>.fromOpaque(UnsafeRawPointer(optimizer)).release()
}

@c @implementation
package func gsq_optimizer_step(_ optimizer: gsq_optimizer_t?) -> gsq_status_t {
    cEntry("gsq_optimizer_step") { () throws(GraphSeqError) in
        try OptimizerHandle.from(optimizer).optimizer.step()
    }
}

@c @implementation
package func gsq_optimizer_set_learning_rate(_ optimizer: gsq_optimizer_t?, _ learningRate: Float) -> gsq_status_t {
    cEntry("gsq_optimizer_set_learning_rate") { () throws(GraphSeqError) in
        let handle = try OptimizerHandle.from(optimizer)
        try require(learningRate.isFinite && learningRate >= 0,
                    "learning_rate = \(learningRate) must be finite and >= 0")
        handle.optimizer.learningRate = learningRate
    }
}

@c @implementation
package func gsq_optimizer_save(_ optimizer: gsq_optimizer_t?, _ path: UnsafePointer<CChar>?) -> gsq_status_t {
    cEntry("gsq_optimizer_save") { () throws(GraphSeqError) in
        let handle = try OptimizerHandle.from(optimizer)
        try Checkpoint.save(handle.optimizer, to: String(cString: try nonNull(path, "path")))
    }
}

@c @implementation
package func gsq_optimizer_load(_ optimizer: gsq_optimizer_t?, _ path: UnsafePointer<CChar>?) -> gsq_status_t {
    cEntry("gsq_optimizer_load") { () throws(GraphSeqError) in
        let handle = try OptimizerHandle.from(optimizer)
        try Checkpoint.load(into: handle.optimizer, from: String(cString: try nonNull(path, "path")))
    }
}
