package import CGraphSeq

// gsq_model_clip_grad_norm, gsq_model_save, gsq_model_load: the Swift
// clipGradientNorm and Checkpoint applied to a model.

@c @implementation
package func gsq_model_clip_grad_norm(_ model: gsq_model_t?, _ maxNorm: Float,
                                      _ totalNorm: UnsafeMutablePointer<Float>?) -> gsq_status_t {
    cEntry("gsq_model_clip_grad_norm") { () throws(GraphSeqError) in
        let handle = try ModelHandle.from(model)
        let norm = try clipGradientNorm(handle.parameters.map(\.parameter), maxNorm: maxNorm)
        totalNorm?.pointee = norm
    }
}

@c @implementation
package func gsq_model_save(_ model: gsq_model_t?, _ path: UnsafePointer<CChar>?) -> gsq_status_t {
    cEntry("gsq_model_save") { () throws(GraphSeqError) in
        let handle = try ModelHandle.from(model)
        try Checkpoint.save(handle.core.layer, to: String(cString: try nonNull(path, "path")))
    }
}

@c @implementation
package func gsq_model_load(_ model: gsq_model_t?, _ path: UnsafePointer<CChar>?) -> gsq_status_t {
    cEntry("gsq_model_load") { () throws(GraphSeqError) in
        let handle = try ModelHandle.from(model)
        try Checkpoint.load(into: handle.core.layer, from: String(cString: try nonNull(path, "path")))
    }
}
