import Foundation

/// A naive double-precision multi-layer (bidirectional) RNN / LSTM / GRU over
/// variable-length batches, written from the PyTorch formulas and
/// independent of the library: every sequence is run on its own, step by
/// step, with plain matrix-vector products.
public struct RecurrentReference: Sendable {
    public enum Cell: Sendable, Hashable {
        case rnn(relu: Bool)
        /// projectionSize 0: none.
        case lstm(peephole: Bool, coupled: Bool, projectionSize: Int)
        case gru(resetBeforeProduct: Bool)
    }

    public var cell: Cell
    public var inputSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var bidirectional: Bool
    public var bias: Bool
    public var batchFirst: Bool

    public init(cell: Cell, inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bidirectional: Bool = false,
                bias: Bool = true, batchFirst: Bool = false) {
        self.cell = cell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.bidirectional = bidirectional
        self.bias = bias
        self.batchFirst = batchFirst
    }

    public var directions: Int { bidirectional ? 2 : 1 }

    /// The width of h.
    public var outSize: Int {
        if case .lstm(_, _, let p) = cell, p > 0 { return p }
        return hiddenSize
    }

    private var gateCount: Int {
        switch cell {
        case .rnn: 1
        case .lstm: 4
        case .gru: 3
        }
    }

    public var isLSTM: Bool { if case .lstm = cell { true } else { false } }

    /// Outputs and final states, flat row-major: output [T, B, D * out]
    /// (batch-first: [B, T, D * out]), h [L * D, B, out], c [L * D, B, H].
    public struct Result {
        public var output: [Double]
        public var h: [Double]
        public var c: [Double]
    }

    /// Runs the stack. `p` maps torch names (weight_ih_l0, ..., weight_ch_l0
    /// for peepholes) to flat values; `x` is in the layer's layout; h0 / c0
    /// nil mean zeros; `masks[l]` (in the output's layout) multiplies layer
    /// l's output before layer l + 1 reads it.
    public func forward(_ p: [String: [Double]], x: [Double], steps T: Int, batch B: Int, lengths: [Int],
                        h0: [Double]? = nil, c0: [Double]? = nil, masks: [[Double]] = []) -> Result {
        let H = hiddenSize, O = outSize, D = directions, W = D * O
        // index of (t, b, k) in a [T, B, width] or [B, T, width] array
        func at(_ t: Int, _ b: Int, _ k: Int, _ width: Int) -> Int {
            (batchFirst ? b * T + t : t * B + b) * width + k
        }
        var input = x, inputWidth = inputSize
        var output = [Double](repeating: 0, count: T * B * W)
        var hn = [Double](repeating: 0, count: numLayers * D * B * O)
        var cn = [Double](repeating: 0, count: numLayers * D * B * H)
        for l in 0..<numLayers {
            output = [Double](repeating: 0, count: T * B * W)
            for d in 0..<D {
                let suffix = "_l\(l)" + (d == 1 ? "_reverse" : "")
                let unit = l * D + d
                for b in 0..<B {
                    var h = h0.map { Array($0[((unit * B + b) * O)..<((unit * B + b + 1) * O)]) }
                        ?? [Double](repeating: 0, count: O)
                    var c = c0.map { Array($0[((unit * B + b) * H)..<((unit * B + b + 1) * H)]) }
                        ?? [Double](repeating: 0, count: H)
                    let order = d == 1 ? Array((0..<lengths[b]).reversed()) : Array(0..<lengths[b])
                    for t in order {
                        let xt = (0..<inputWidth).map { input[at(t, b, $0, inputWidth)] }
                        (h, c) = step(p, suffix, x: xt, h: h, c: c)
                        for k in 0..<O { output[at(t, b, d * O + k, W)] = h[k] }
                    }
                    for k in 0..<O { hn[(unit * B + b) * O + k] = h[k] }
                    for k in 0..<H { cn[(unit * B + b) * H + k] = c[k] }
                }
            }
            input = l < masks.count ? zip(output, masks[l]).map { $0 * $1 } : output
            inputWidth = W
        }
        return Result(output: output, h: hn, c: isLSTM ? cn : [])
    }

    /// One cell step of one sequence.
    private func step(_ p: [String: [Double]], _ suffix: String, x: [Double], h: [Double],
                      c: [Double]) -> (h: [Double], c: [Double]) {
        let H = hiddenSize, rows = gateCount * H
        let zero = [Double](repeating: 0, count: rows)
        let ax = add(matvec(p["weight_ih" + suffix]!, rows, x), bias ? p["bias_ih" + suffix]! : zero)
        let ah = add(matvec(p["weight_hh" + suffix]!, rows, h), bias ? p["bias_hh" + suffix]! : zero)
        switch cell {
        case .rnn(let relu):
            return ((0..<H).map { let s = ax[$0] + ah[$0]; return relu ? max(s, 0) : tanh(s) }, c)
        case .lstm(let peephole, let coupled, let projection):
            let w = peephole ? p["weight_ch" + suffix]! : [Double](repeating: 0, count: 3 * H)
            var cNew = c, hCell = c
            for j in 0..<H {
                let f = sigmoid(ax[H + j] + ah[H + j] + w[H + j] * c[j])
                let i = coupled ? 1 - f : sigmoid(ax[j] + ah[j] + w[j] * c[j])
                let g = tanh(ax[2 * H + j] + ah[2 * H + j])
                cNew[j] = f * c[j] + i * g
                let o = sigmoid(ax[3 * H + j] + ah[3 * H + j] + w[2 * H + j] * cNew[j])
                hCell[j] = o * tanh(cNew[j])
            }
            return (projection > 0 ? matvec(p["weight_hr" + suffix]!, projection, hCell) : hCell, cNew)
        case .gru(let resetBeforeProduct):
            var hNew = h
            let r = (0..<H).map { sigmoid(ax[$0] + ah[$0]) }
            var candidateRecurrent = Array(ah[(2 * H)...])                       // W_hn h + b_hn
            if resetBeforeProduct {                                               // W_hn (r h) + b_hn
                let whh = p["weight_hh" + suffix]!
                let rh = (0..<H).map { r[$0] * h[$0] }
                candidateRecurrent = (0..<H).map { j in
                    (bias ? p["bias_hh" + suffix]![2 * H + j] : 0)
                        + (0..<H).reduce(0) { $0 + whh[(2 * H + j) * H + $1] * rh[$1] }
                }
            }
            for j in 0..<H {
                let z = sigmoid(ax[H + j] + ah[H + j])
                let n = tanh(ax[2 * H + j] + (resetBeforeProduct ? 1 : r[j]) * candidateRecurrent[j])
                hNew[j] = (1 - z) * n + z * h[j]
            }
            return (hNew, c)
        }
    }
}

/// m v for a row-major m of `rows` rows.
private func matvec(_ m: [Double], _ rows: Int, _ v: [Double]) -> [Double] {
    let cols = v.count
    return (0..<rows).map { r in
        var s = 0.0
        for k in 0..<cols { s += m[r * cols + k] * v[k] }
        return s
    }
}

private func add(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { $0 + $1 } }

private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
