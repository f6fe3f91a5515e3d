package import CGraphSeq

// gsq_loss_*: the Swift `Loss` functions on C arrays.

/// Runs a loss on copies of the C inputs; writes *loss and, if requested, the
/// gradient only on success.
private func lossEntry(_ function: String, count: Int, loss: UnsafeMutablePointer<Float>?,
                       grad: UnsafeMutablePointer<Float>?,
                       _ compute: () throws(GraphSeqError) -> (value: Float, gradient: Tensor)) -> gsq_status_t {
    cEntry(function) { () throws(GraphSeqError) in
        let loss = try nonNull(loss, "loss")
        let (value, gradient) = try compute()
        try require(gradient.count == count, "gradient has \(gradient.count) entries, expected \(count)")
        loss.pointee = value
        if let grad, count > 0 {
            gradient.withUnsafeBufferPointer { g in g.baseAddress.map { grad.update(from: $0, count: count) } }
        }
    }
}

/// A [n] tensor copying the C array; n validated.
private func vector(_ data: UnsafePointer<Float>?, _ n: Int64, _ name: String) throws(GraphSeqError) -> Tensor {
    try tensorCopy(data, shape: tensorShape([n], rank: 1, name: name), name: name)
}

@c @implementation
package func gsq_loss_mse(_ n: Int64, _ pred: UnsafePointer<Float>?, _ target: UnsafePointer<Float>?,
                          _ loss: UnsafeMutablePointer<Float>?, _ grad: UnsafeMutablePointer<Float>?) -> gsq_status_t {
    lossEntry("gsq_loss_mse", count: Int(clamping: n), loss: loss, grad: grad) { () throws(GraphSeqError) in
        try Loss.meanSquaredError(vector(pred, n, "pred"), vector(target, n, "target"))
    }
}

@c @implementation
package func gsq_loss_mae(_ n: Int64, _ pred: UnsafePointer<Float>?, _ target: UnsafePointer<Float>?,
                          _ mask: UnsafePointer<Float>?, _ loss: UnsafeMutablePointer<Float>?,
                          _ grad: UnsafeMutablePointer<Float>?) -> gsq_status_t {
    lossEntry("gsq_loss_mae", count: Int(clamping: n), loss: loss, grad: grad) { () throws(GraphSeqError) in
        try Loss.meanAbsoluteError(vector(pred, n, "pred"), vector(target, n, "target"),
                                   mask: mask == nil ? nil : vector(mask, n, "mask"))
    }
}

@c @implementation
package func gsq_loss_softmax_cross_entropy(_ rows: Int64, _ classes: Int64, _ logits: UnsafePointer<Float>?,
                                            _ labels: UnsafePointer<Int32>?, _ mask: UnsafePointer<UInt8>?,
                                            _ loss: UnsafeMutablePointer<Float>?,
                                            _ grad: UnsafeMutablePointer<Float>?) -> gsq_status_t {
    let count = elementCount([Int(clamping: max(rows, 0)), Int(clamping: max(classes, 0))])
    return lossEntry("gsq_loss_softmax_cross_entropy", count: count, loss: loss, grad: grad) {
        () throws(GraphSeqError) in
        let shape = try tensorShape([rows, classes], rank: 2, name: "logits")
        let x = try tensorCopy(logits, shape: shape, name: "logits")
        let labelArray = Array(UnsafeBufferPointer(start: try nonNull(labels, "labels"), count: shape[0]))
        let maskArray = mask.map { m in (0..<shape[0]).map { m[$0] != 0 } }
        return try Loss.softmaxCrossEntropy(logits: x, labels: labelArray, mask: maskArray)
    }
}

@c @implementation
package func gsq_loss_bce_with_logits(_ n: Int64, _ logits: UnsafePointer<Float>?, _ targets: UnsafePointer<Float>?,
                                      _ loss: UnsafeMutablePointer<Float>?,
                                      _ grad: UnsafeMutablePointer<Float>?) -> gsq_status_t {
    lossEntry("gsq_loss_bce_with_logits", count: Int(clamping: n), loss: loss, grad: grad) {
        () throws(GraphSeqError) in
        try Loss.binaryCrossEntropyWithLogits(vector(logits, n, "logits"), vector(targets, n, "targets"))
    }
}
