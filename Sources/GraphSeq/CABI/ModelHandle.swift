#if canImport(Glibc)
internal import Glibc
#endif

/// The object behind a gsq_model_t: the model, its parameters with their
/// names as C strings, and the tensors of its last forward and backward, all
/// kept alive for the pointers handed out to C.
final class ModelHandle {
    let core: any ModelCore
    /// `namedParameters` in their fixed order; names are strdup'ed C strings.
    let parameters: [(name: UnsafeMutablePointer<CChar>, parameter: Parameter)]
    let adjacency = AdjacencyCache()

    /// The last forward's input shape, output and final state.
    private(set) var inputShape: [Int]?
    private(set) var output: Tensor?
    private(set) var state = ModelState()
    /// The last backward's gradients w.r.t. the input and the initial state.
    private(set) var inputGradient: Tensor?
    private(set) var initialStateGradient = ModelState()

    init(_ core: any ModelCore) {
        self.core = core
        parameters = core.layer.namedParameters.map { (strdup($0.name)!, $0.parameter) }
    }

    deinit { for (name, _) in parameters { free(name) } }

    /// Records a successful forward (and forgets the previous backward).
    func recordForward(input shape: [Int], output: Tensor, state: ModelState) {
        (inputShape, self.output, self.state) = (shape, output, state)
        (inputGradient, initialStateGradient) = (nil, ModelState())
    }

    func recordBackward(input: Tensor, initialState: ModelState) {
        (inputGradient, initialStateGradient) = (input, initialState)
    }
}
