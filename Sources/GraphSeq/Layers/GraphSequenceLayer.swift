/// A recurrent layer over a graph signal sequence (GCRN model 2: GConvLSTM,
/// GConvGRU). Layout: x [T, N, B, F] (time-major, then node-major: B signals
/// on the same graph), output [T, N, B, hidden], states h and c [N, B, hidden].
/// `graph` is the (weighted) adjacency as given; the layer derives its
/// operator once per graph object.
///
/// ```swift
/// let lstm = try GConvLSTM(inputSize: 2, hiddenSize: 64, order: 3, seed: 1)
/// let (y, state) = try lstm.forward(x, graph: adjacency, initialState: nil)
/// let (dx, dState) = try lstm.backward(dy, stateGradient: nil)
/// ```
public protocol GraphSequenceLayer: Layer {
    /// Runs all T steps; `initialState` nil means zeros. Returns every step's
    /// hidden state and the final state.
    func forward(_ x: Tensor, graph: Graph, initialState: RecurrentState?)
        throws(GraphSeqError) -> (output: Tensor, state: RecurrentState)
    /// From dLoss/doutput and dLoss/d(final state) (nil: zeros), returns
    /// dLoss/dx and dLoss/d(initial state), and accumulates parameter gradients.
    func backward(_ outputGradient: Tensor, stateGradient: RecurrentState?)
        throws(GraphSeqError) -> (input: Tensor, initialState: RecurrentState)
}
