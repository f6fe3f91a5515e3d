/// Hidden (and, for LSTM-like cells, cell) state of a recurrent layer.
public struct RecurrentState {
    public var h: Tensor
    public var c: Tensor?        // nil for RNN and GRU cells
    public init(h: Tensor, c: Tensor? = nil) {
        self.h = h
        self.c = c
    }
}
