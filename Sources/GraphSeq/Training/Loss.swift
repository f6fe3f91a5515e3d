#if canImport(Glibc)
internal import Glibc
#endif

/// Training losses with PyTorch's mean reduction. Each returns the loss and
/// its gradient with respect to the prediction (the tensor to feed the last
/// layer's backward). Sums are accumulated in double precision in a fixed
/// order, so results are deterministic; NaN inputs give a NaN loss.
///
/// ```swift
/// let y = try conv.forward(x, graph: a)
/// let (loss, dy) = try Loss.meanSquaredError(y, target)
/// _ = try conv.backward(dy)
/// ```
public enum Loss {
    /// mean((p - t)^2) over all elements (`torch.nn.MSELoss`).
    public static func meanSquaredError(_ prediction: Tensor, _ target: Tensor)
        throws(GraphSeqError) -> (value: Float, gradient: Tensor) {
        try requireSameShape(prediction, target, "target", "meanSquaredError")
        let scale = 2 / Double(prediction.count)
        return elementwise(prediction, target, divisor: Double(prediction.count)) { p, t, _ in
            let d = p - t
            return (d * d, d * scale)
        }
    }

    /// mean(|p - t|) over the entries where `mask` is 1 (all when nil;
    /// `torch.nn.L1Loss` without a mask). Masked-out entries are skipped, so a
    /// missing target may hold anything, NaN included. The gradient is
    /// sign(p - t) / count with sign(0) = 0, as PyTorch; with every entry
    /// masked out the loss and gradient are 0.
    ///
    /// ```swift
    /// let (mae, dy) = try Loss.meanAbsoluteError(y, speeds, mask: observed)   // mask of 0 / 1
    /// ```
    public static func meanAbsoluteError(_ prediction: Tensor, _ target: Tensor, mask: Tensor? = nil)
        throws(GraphSeqError) -> (value: Float, gradient: Tensor) {
        try requireSameShape(prediction, target, "target", "meanAbsoluteError")
        var count = Double(prediction.count)
        if let mask {
            try requireSameShape(prediction, mask, "mask", "meanAbsoluteError")
            let values = mask.values
            try require(values.allSatisfy { $0 == 0 || $0 == 1 }, "meanAbsoluteError: mask entries must be 0 or 1")
            count = values.reduce(0) { $0 + Double($1) }
        }
        if count == 0 { return (0, Tensor(shape: prediction.shape)) }
        let scale = 1 / count
        return elementwise(prediction, target, mask: mask, divisor: count) { p, t, m in
            let d = p - t
            var sign = SIMD8<Double>().replacing(with: 1, where: d .> 0).replacing(with: -1, where: d .< 0)
            sign.replace(with: .nan, where: d .!= d)   // NaN stays NaN, as torch.sign
            let counted = m .!= 0
            return (SIMD8<Double>().replacing(with: d * sign, where: counted),
                    SIMD8<Double>().replacing(with: sign * scale, where: counted))
        }
    }

    /// Softmax cross entropy of `logits` [N, C] against one class per row,
    /// averaged over the rows where `mask` is true (all when nil): node
    /// classification with only some nodes labelled
    /// (`torch.nn.CrossEntropyLoss` on the selected rows). Labels of rows
    /// masked out are not read (they may be -1). With no row counted the loss
    /// and gradient are 0.
    ///
    /// ```swift
    /// let (ce, dLogits) = try Loss.softmaxCrossEntropy(logits: y, labels: classes, mask: trainNodes)
    /// ```
    public static func softmaxCrossEntropy(logits: Tensor, labels: [Int32], mask: [Bool]? = nil)
        throws(GraphSeqError) -> (value: Float, gradient: Tensor) {
        try require(logits.rank == 2 && logits.shape[1] >= 1,
                    "softmaxCrossEntropy: logits have shape \(logits.shape), expected [rows, classes]")
        let (n, c) = (logits.shape[0], logits.shape[1])
        try require(labels.count == n, "softmaxCrossEntropy: \(labels.count) labels for \(n) rows")
        try require(mask == nil || mask!.count == n, "softmaxCrossEntropy: mask has \(mask!.count) entries for \(n) rows")
        let counted = (0..<n).filter { mask?[$0] ?? true }
        for r in counted {
            try require(labels[r] >= 0 && Int(labels[r]) < c,
                        "softmaxCrossEntropy: label \(labels[r]) of row \(r) is not in 0..<\(c)")
        }
        let gradient = Tensor(shape: logits.shape)
        if counted.isEmpty { return (0, gradient) }
        let scale = 1 / Double(counted.count)
        var sum = 0.0
        withPointers([logits, gradient]) { p in
            for r in counted {
                let row = UnsafeBufferPointer(start: p[0] + r * c, count: c)
                let top = Double(row.max()!)
                let logSumExp = top + log(row.reduce(0) { $0 + exp(Double($1) - top) })
                sum += logSumExp - Double(row[Int(labels[r])])
                for j in 0..<c {
                    let target: Double = j == Int(labels[r]) ? 1 : 0
                    p[1][r * c + j] = Float((exp(Double(row[j]) - logSumExp) - target) * scale)
                }
            }
        }
        return (Float(sum * scale), gradient)
    }

    /// mean(max(x, 0) - x t + log(1 + exp(-|x|))), the stable form of binary
    /// cross entropy on sigmoid(x) (`torch.nn.BCEWithLogitsLoss`); targets in
    /// [0, 1]. The gradient is (sigmoid(x) - t) / count.
    public static func binaryCrossEntropyWithLogits(_ logits: Tensor, _ targets: Tensor)
        throws(GraphSeqError) -> (value: Float, gradient: Tensor) {
        try requireSameShape(logits, targets, "targets", "binaryCrossEntropyWithLogits")
        let scale = 1 / Double(logits.count)
        return elementwise(logits, targets, divisor: Double(logits.count)) { x, t, _ in
            var loss = SIMD8<Double>(), sigmoid = SIMD8<Double>()
            for i in 0..<8 {
                let e = exp(-abs(x[i]))
                loss[i] = max(x[i], 0) - x[i] * t[i] + log1p(e)
                sigmoid[i] = x[i] >= 0 ? 1 / (1 + e) : e / (1 + e)
            }
            return (loss, (sigmoid - t) * scale)
        }
    }

    private static func requireSameShape(_ prediction: Tensor, _ other: Tensor, _ name: String,
                                         _ fn: String) throws(GraphSeqError) {
        try require(prediction.count > 0, "\(fn): the prediction is empty")
        try require(other.shape == prediction.shape,
                    "\(fn): \(name) has shape \(other.shape), expected \(prediction.shape)")
    }

    /// Runs `term` over the elements eight at a time in double precision
    /// (prediction, target, mask or 1), writes its gradient lanes and returns
    /// the sum of its loss lanes over `divisor`. Lanes past the end are zero
    /// on input and ignored on output.
    private static func elementwise(
        _ prediction: Tensor, _ target: Tensor, mask: Tensor? = nil, divisor: Double,
        _ term: (SIMD8<Double>, SIMD8<Double>, SIMD8<Double>) -> (loss: SIMD8<Double>, gradient: SIMD8<Double>)
    ) -> (value: Float, gradient: Tensor) {
        let gradient = Tensor(shape: prediction.shape)
        let count = prediction.count
        var sum = SIMD8<Double>()
        withPointers([prediction, target, mask ?? prediction, gradient]) { p in
            func load(_ base: UnsafeMutablePointer<Float>, _ i: Int, _ lanes: Int) -> SIMD8<Double> {
                if lanes == 8 { return SIMD8(UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)) }
                var v = SIMD8<Double>()
                for l in 0..<lanes { v[l] = Double(base[i + l]) }
                return v
            }
            for i in stride(from: 0, to: count, by: 8) {
                let lanes = min(8, count - i)
                let m = mask == nil ? SIMD8<Double>(repeating: 1) : load(p[2], i, lanes)
                let (terms, g) = term(load(p[0], i, lanes), load(p[1], i, lanes), m)
                var loss = terms
                if lanes < 8 {
                    for l in lanes..<8 { loss[l] = 0 }
                    for l in 0..<lanes { p[3][i + l] = Float(g[l]) }
                } else {
                    UnsafeMutableRawPointer(p[3] + i).storeBytes(of: SIMD8<Float>(g), as: SIMD8<Float>.self)
                }
                sum += loss
            }
        }
        return (Float(sum.sum() / divisor), gradient)
    }
}
