/// Updates parameters from their accumulated gradients, as `torch.optim` does.
///
/// One training step: zero the gradients, run forward and backward (which
/// accumulate into `Parameter.gradient`), then `step()`. Each optimiser
/// reproduces its torch.optim peer's update formula with the same defaults;
/// its state (momentum, running averages) is allocated once, at init.
/// A NaN or infinite gradient is not checked for: it propagates into the
/// values and state exactly as in PyTorch (clip or check the loss upstream).
///
/// ```swift
/// let model = try Linear(inputSize: 8, outputSize: 1, seed: 1)
/// let optimizer = try Adam(parameters: model.parameters, learningRate: 1e-3)
/// for epoch in 0..<epochs {
///     optimizer.zeroGradients()
///     _ = try model.backward(lossGradient(try model.forward(x)))
///     try optimizer.step()
/// }
/// ```
public protocol Optimizer: AnyObject {
    /// The step size; schedules set it between epochs (see `LearningRateSchedule`).
    var learningRate: Float { get set }
    /// The parameters this optimiser updates, in the order given at init.
    var parameters: [Parameter] { get }
    /// Updates every parameter in place from its gradient; throws, changing
    /// nothing, if `learningRate` is negative or not finite.
    func step() throws(GraphSeqError)
    /// Sets the gradient of every parameter to zero.
    func zeroGradients()
    /// The steps taken so far (restored by `loadStateDict`).
    var stepCount: Int { get set }
    /// The per-parameter state buffers by torch.optim slot name, nil where a
    /// parameter has none (see `stateDict()`).
    var stateSlots: [(name: String, tensors: [Tensor?])] { get }
}

extension Optimizer {
    public func zeroGradients() {
        for p in parameters { p.gradient.fill(0) }
    }
}

/// Throws unless `parameters` is non-empty and holds each parameter once
/// (torch.optim rejects both too: a twice-listed parameter would step twice).
func validateParameters(_ parameters: [Parameter], owner: String) throws(GraphSeqError) {
    try require(!parameters.isEmpty, "\(owner): empty parameter list")
    let distinct = Set(parameters.map(ObjectIdentifier.init))
    try require(distinct.count == parameters.count, "\(owner): a parameter appears more than once")
}

/// Throws unless `value` is finite and in `range`; names the hyper-parameter.
func requireHyperParameter(_ value: Float, _ name: String, in range: ClosedRange<Float>,
                           upperOpen: Bool = false, owner: String) throws(GraphSeqError) {
    let inRange = range.contains(value) && !(upperOpen && value == range.upperBound)
    try require(value.isFinite && inRange,
                "\(owner): \(name) \(value) is not in \(range.lowerBound)...\(range.upperBound)"
                    + (upperOpen ? " (upper bound excluded)" : ""))
}

/// Zero-initialised optimiser state shaped like `parameters`, or nil when unused.
func stateTensors(like parameters: [Parameter], if used: Bool) -> [Tensor?] {
    parameters.map { used ? Tensor(shape: $0.shape) : nil }
}

/// Sixteen consecutive elements of a parameter as an update sees them: the
/// value, the gradient (read once) and up to three state slots (zero when
/// the optimiser has no such slot).
struct UpdateLanes {
    var value: SIMD16<Float>
    let gradient: SIMD16<Float>
    var s0: SIMD16<Float>
    var s1: SIMD16<Float>
    var s2: SIMD16<Float>
}

/// Runs `update` over `parameter` sixteen elements at a time and stores the
/// new value and state slots back. The tail (count % 16 elements) goes through
/// the same vector code zero-padded, so every element sees exactly the same
/// arithmetic; the padding lanes are discarded. Allocates nothing.
@inline(__always)
func updateElementwise(_ parameter: Parameter, _ s0: Tensor?, _ s1: Tensor?, _ s2: Tensor?,
                       _ update: (inout UpdateLanes) -> Void) {
    let count = parameter.value.count
    parameter.value.withUnsafeMutableBufferPointer { value in
        parameter.gradient.withUnsafeBufferPointer { gradient in
            withOptionalBuffer(s0) { a in
                withOptionalBuffer(s1) { b in
                    withOptionalBuffer(s2) { c in
                        var i = 0
                        while i < count {
                            let n = min(16, count - i)
                            var lanes = UpdateLanes(
                                value: load(value.baseAddress!, i, n), gradient: load(gradient.baseAddress!, i, n),
                                s0: a.map { load($0, i, n) } ?? .zero, s1: b.map { load($0, i, n) } ?? .zero,
                                s2: c.map { load($0, i, n) } ?? .zero)
                            update(&lanes)
                            store(lanes.value, value.baseAddress!, i, n)
                            if let a { store(lanes.s0, a, i, n) }
                            if let b { store(lanes.s1, b, i, n) }
                            if let c { store(lanes.s2, c, i, n) }
                            i += n
                        }
                    }
                }
            }
        }
    }
}

@inline(__always)
private func withOptionalBuffer(_ t: Tensor?, _ body: (UnsafeMutablePointer<Float>?) -> Void) {
    guard let t else { return body(nil) }
    t.withUnsafeMutableBufferPointer { body($0.baseAddress) }
}

/// Lanes i..<i+n of `p`, zero beyond n.
@inline(__always)
private func load(_ p: UnsafePointer<Float>, _ i: Int, _ n: Int) -> SIMD16<Float> {
    if n == 16 { return UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) }
    var v = SIMD16<Float>.zero
    for k in 0..<n { v[k] = p[i + k] }
    return v
}

@inline(__always)
private func load(_ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) -> SIMD16<Float> {
    load(UnsafePointer(p), i, n)
}

/// Stores lanes 0..<n of `v` at p[i...].
@inline(__always)
private func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) {
    if n == 16 { return UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD16<Float>.self) }
    for k in 0..<n { p[i + k] = v[k] }
}
