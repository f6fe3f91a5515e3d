/// Hidden (and, for LSTM-like cells, cell) state of a recurrent layer.
///
/// For the sequence layers, `h` is [numLayers * directions, batch, outSize]
/// and `c` is [numLayers * directions, batch, hiddenSize], in PyTorch's order
/// (layer-major, direction minor).
///
/// ```swift
/// let state = RecurrentState(h: Tensor.zeros([2, 8, 64]), c: Tensor.zeros([2, 8, 64]))
/// let (y, final) = try lstm.forward(x, lengths: nil, initialState: state)
/// ```
public struct RecurrentState {
    public var h: Tensor
    /// nil for RNN and GRU cells.
    public var c: Tensor?

    public init(h: Tensor, c: Tensor? = nil) {
        self.h = h
        self.c = c
    }
}
