/// A trainable tensor and the gradient accumulated for it.
///
/// `backward` calls add (+=) into `gradient`, as PyTorch does; an optimiser
/// step reads it and `Layer.zeroGradients()` clears it.
public final class Parameter: @unchecked Sendable {
    /// The current value, updated in place by optimisers and checkpoint loads.
    public let value: Tensor
    /// dLoss/dvalue, summed over every backward since the last zeroing.
    public let gradient: Tensor

    /// A parameter holding `value` (not copied) with a zero gradient.
    public init(_ value: Tensor) {
        self.value = value
        gradient = Tensor(shape: value.shape)
    }

    /// The shape of `value` and `gradient`.
    public var shape: [Int] { value.shape }
}

/// A model component with trainable parameters: a layer or a stack of layers.
///
/// The conventions every layer follows:
/// - `forward(...)` computes its outputs as new tensors, never modifies its
///   inputs, and keeps what `backward` needs (one forward in flight; the next
///   forward replaces it).
/// - `backward(...)` takes dLoss/d(outputs) of the last forward, returns
///   dLoss/d(inputs) as new tensors and accumulates (+=) into each
///   `Parameter.gradient`. Calling it before any forward throws.
/// - Parameters are initialised from a `seed`, so a model is reproducible
///   bit for bit.
public protocol Layer: AnyObject {
    /// The trainable parameters in a fixed order, with their names. Names are
    /// the PyTorch peer's where the layout is the same, and a checkpoint holds
    /// exactly `stateDict()`.
    var namedParameters: [(name: String, parameter: Parameter)] { get }

    /// The tensors a checkpoint holds, under the PyTorch peer's names and
    /// shapes (possibly converted from the internal layout). The default is
    /// the values of `namedParameters`.
    func stateDict() -> [(name: String, tensor: Tensor)]

    /// Loads a checkpoint's tensors: the names must be exactly those of
    /// `stateDict()` and the shapes equal, or it throws and changes nothing.
    func loadStateDict(_ tensors: [String: Tensor]) throws(GraphSeqError)

    /// Switches training-only behaviour (dropout) on or off. Layers without
    /// any ignore it; stacks pass it on.
    func setTraining(_ training: Bool)
}

extension Layer {
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        namedParameters.map { ($0.name, $0.parameter.value) }
    }

    public func loadStateDict(_ tensors: [String: Tensor]) throws(GraphSeqError) {
        try load(tensors, into: stateDict(), owner: String(describing: Self.self))
    }

    public func setTraining(_ training: Bool) {}

    /// The parameters without their names.
    public var parameters: [Parameter] { namedParameters.map(\.parameter) }

    /// The total number of trainable scalars.
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.parameter.value.count } }

    /// Sets every parameter gradient to zero.
    public func zeroGradients() {
        for (_, p) in namedParameters { p.gradient.fill(0) }
    }
}

/// Throws unless `tensors` has exactly the names of `expected`, each with the
/// same shape; the message lists what is missing, unexpected or mis-shaped.
func validateStateDict(_ tensors: [String: Tensor], expected: [(name: String, tensor: Tensor)],
                       owner: String) throws(GraphSeqError) {
    let names = Set(expected.map(\.name))
    let missing = expected.map(\.name).filter { tensors[$0] == nil }
    let unexpected = tensors.keys.filter { !names.contains($0) }.sorted()
    try require(missing.isEmpty && unexpected.isEmpty,
                "\(owner).loadStateDict: missing \(missing), unexpected \(unexpected)")
    for (name, tensor) in expected {
        let shape = tensors[name]!.shape
        try require(shape == tensor.shape,
                    "\(owner).loadStateDict: \(name) has shape \(shape), expected \(tensor.shape)")
    }
}

/// Validates `tensors` against `expected` (same names, same shapes), then
/// copies each into its expected tensor; on error nothing is written.
func load(_ tensors: [String: Tensor], into expected: [(name: String, tensor: Tensor)],
          owner: String) throws(GraphSeqError) {
    try validateStateDict(tensors, expected: expected, owner: owner)
    for (name, tensor) in expected {
        tensor.withUnsafeMutableBufferPointer { dst in
            tensors[name]!.withUnsafeBufferPointer { src in
                dst.baseAddress!.update(from: src.baseAddress!, count: src.count)
            }
        }
    }
}

/// `prefix.name` for every entry: how stacks name their parts' parameters
/// (as PyTorch's nested modules do).
func prefixed(_ prefix: String, _ entries: [(name: String, parameter: Parameter)])
    -> [(name: String, parameter: Parameter)] {
    entries.map { ("\(prefix).\($0.name)", $0.parameter) }
}

/// `prefix.name` for every checkpoint entry.
func prefixed(_ prefix: String, _ entries: [(name: String, tensor: Tensor)])
    -> [(name: String, tensor: Tensor)] {
    entries.map { ("\(prefix).\($0.name)", $0.tensor) }
}
