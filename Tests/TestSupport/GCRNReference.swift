import Foundation
import GraphSeq

/// PyTorch Geometric Temporal's GConvLSTM and GConvGRU written out literally
/// in double precision: per step and gate, separate ChebConvs (PyG's
/// recursion Tx_0 = x, Tx_1 = L^ x, Tx_k = 2 L^ Tx_{k-1} - Tx_{k-2}, out =
/// sum_k Tx_k W_k^T + bias) over a dense scaled Laplacian built here from
/// the edge list. Parameters come as a PyG state dict (name -> values).
/// Independent of the library.
public struct GCRNReference {
    public let nodes: Int
    /// The dense scaled Laplacian 2 L / lambdaMax - I, row-major.
    public let lhat: [Double]

    /// From an edge list (duplicates summed; self loops ignored as PyG's
    /// get_laplacian does). The degree is the row sum of A.
    public init(nodes n: Int, rows: [Int32], columns: [Int32], weights: [Float],
                normalization: LaplacianNormalization, lambdaMax: Double) {
        var a = [Double](repeating: 0, count: n * n)
        for (e, w) in weights.enumerated() where rows[e] != columns[e] {
            a[Int(rows[e]) * n + Int(columns[e])] += Double(w)
        }
        let degree = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + a[i * n + $1] } }
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                let identity: Double = i == j ? 1 : 0
                switch normalization {
                case .none: l[i * n + j] = identity * degree[i] - a[i * n + j]
                case .symmetric:
                    let s = degree[i] > 0 && degree[j] > 0 ? 1 / (degree[i] * degree[j]).squareRoot() : 0
                    l[i * n + j] = identity - s * a[i * n + j]
                case .randomWalk: l[i * n + j] = identity - (degree[i] > 0 ? a[i * n + j] / degree[i] : 0)
                }
            }
        }
        nodes = n
        lhat = (0..<(n * n)).map { 2 * l[$0] / lambdaMax - ($0 / n == $0 % n ? 1 : 0) }
    }

    /// L^ x for x [N, B, C].
    private func apply(_ x: [Double], width: Int) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        for i in 0..<nodes {
            for j in 0..<nodes where lhat[i * nodes + j] != 0 {
                for c in 0..<width { y[i * width + c] += lhat[i * nodes + j] * x[j * width + c] }
            }
        }
        return y
    }

    /// PyG's ChebConv `prefix` on x [N, B, inSize] -> [N, B, outSize].
    public func chebConv(_ x: [Double], batch: Int, inSize: Int, outSize: Int, order K: Int,
                         _ p: [String: [Double]], _ prefix: String) -> [Double] {
        var out = [Double](repeating: 0, count: nodes * batch * outSize)
        func project(_ tx: [Double], _ k: Int) {
            let w = p["\(prefix).lins.\(k).weight"]!
            for r in 0..<(nodes * batch) {
                for o in 0..<outSize {
                    var s = 0.0
                    for i in 0..<inSize { s += tx[r * inSize + i] * w[o * inSize + i] }
                    out[r * outSize + o] += s
                }
            }
        }
        var t0 = x, t1 = x
        project(t0, 0)
        if K > 1 {
            t1 = apply(x, width: batch * inSize)
            project(t1, 1)
        }
        if K > 2 {
            for k in 2..<K {
                let t2 = zip(apply(t1, width: batch * inSize), t0).map { 2 * $0 - $1 }
                project(t2, k)
                (t0, t1) = (t1, t2)
            }
        }
        if let b = p["\(prefix).bias"] {
            for r in 0..<(nodes * batch) { for o in 0..<outSize { out[r * outSize + o] += b[o] } }
        }
        return out
    }

    /// One GConvLSTM step per PyG-Temporal: (H, C) from X [N, B, F], H, C [N, B, H].
    /// Without `w_c_*` in `p` the peephole terms are absent.
    public func lstmStep(_ x: [Double], h: [Double], c: [Double], batch: Int, inputSize: Int, hiddenSize: Int,
                         order K: Int, _ p: [String: [Double]]) -> (h: [Double], c: [Double]) {
        let H = hiddenSize
        func conv(_ gate: String) -> [Double] {
            zip(chebConv(x, batch: batch, inSize: inputSize, outSize: H, order: K, p, "conv_x_\(gate)"),
                chebConv(h, batch: batch, inSize: H, outSize: H, order: K, p, "conv_h_\(gate)")).map { $0 + $1 }
        }
        func gate(_ g: String, state: [Double], _ act: (Double) -> Double) -> [Double] {
            let a = conv(g), b = p["b_\(g)"]!, w = p["w_c_\(g)"]
            return a.indices.map { e in act(a[e] + (w.map { $0[e % H] * state[e] } ?? 0) + b[e % H]) }
        }
        let i = gate("i", state: c, sigmoid), f = gate("f", state: c, sigmoid)
        let t = gate("c", state: c, tanh)
        let cNew = c.indices.map { f[$0] * c[$0] + i[$0] * t[$0] }
        let o = gate("o", state: cNew, sigmoid)
        return (cNew.indices.map { o[$0] * tanh(cNew[$0]) }, cNew)
    }

    /// One GConvGRU step per PyG-Temporal.
    public func gruStep(_ x: [Double], h: [Double], batch: Int, inputSize: Int, hiddenSize: Int,
                        order K: Int, _ p: [String: [Double]]) -> [Double] {
        let H = hiddenSize
        func conv(_ gate: String, _ state: [Double]) -> [Double] {
            zip(chebConv(x, batch: batch, inSize: inputSize, outSize: H, order: K, p, "conv_x_\(gate)"),
                chebConv(state, batch: batch, inSize: H, outSize: H, order: K, p, "conv_h_\(gate)")).map { $0 + $1 }
        }
        let z = conv("z", h).map(sigmoid), r = conv("r", h).map(sigmoid)
        let candidate = conv("h", zip(h, r).map { $0 * $1 }).map(tanh)
        return h.indices.map { z[$0] * h[$0] + (1 - z[$0]) * candidate[$0] }
    }

    /// A whole sequence x [T, N, B, F] -> (output [T, N, B, H], final h, final c).
    /// `c0` empty selects GConvGRU.
    public func sequence(_ x: [Double], steps T: Int, batch: Int, inputSize: Int, hiddenSize: Int,
                         order K: Int, h0: [Double], c0: [Double]?, _ p: [String: [Double]])
        -> (output: [Double], h: [Double], c: [Double]) {
        let frame = nodes * batch * inputSize
        var (h, c) = (h0, c0 ?? [])
        var output: [Double] = []
        for t in 0..<T {
            let xt = Array(x[(t * frame)..<((t + 1) * frame)])
            if c0 != nil {
                (h, c) = lstmStep(xt, h: h, c: c, batch: batch, inputSize: inputSize, hiddenSize: hiddenSize,
                                  order: K, p)
            } else {
                h = gruStep(xt, h: h, batch: batch, inputSize: inputSize, hiddenSize: hiddenSize, order: K, p)
            }
            output += h
        }
        return (output, h, c)
    }
}

private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

extension GCRNReference {
    /// The GCRN encoder-decoder: `layers` encoder cells over x [T, N, B, F]
    /// from zero states; `layers` decoder cells from the encoder's final
    /// states for `horizon` steps, fed a zero frame then their own previous
    /// prediction; prediction = top h W^T + b (`projection.*`). Parameter
    /// names are prefixed `encoder.{l}.`, `decoder.{l}.`. Returns [horizon, N, B, O].
    public func encoderDecoder(_ x: [Double], steps T: Int, batch B: Int, inputSize F: Int, hiddenSize H: Int,
                               outputSize O: Int, layers L: Int, horizon: Int, order K: Int, lstm: Bool,
                               _ p: [String: [Double]]) -> [Double] {
        func part(_ prefix: String) -> [String: [Double]] {
            Dictionary(uniqueKeysWithValues: p.compactMap { key, value in
                key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count)), value) : nil
            })
        }
        let zeros = [Double](repeating: 0, count: nodes * B * H)
        var states = [(h: [Double], c: [Double])](repeating: (zeros, zeros), count: L)
        var input = x
        for l in 0..<L {
            let r = sequence(input, steps: T, batch: B, inputSize: l == 0 ? F : H, hiddenSize: H, order: K,
                             h0: zeros, c0: lstm ? zeros : nil, part("encoder.\(l)."))
            (input, states[l]) = (r.output, (r.h, r.c))
        }
        var frame = [Double](repeating: 0, count: nodes * B * O), forecast: [Double] = []
        for _ in 0..<horizon {
            var input = frame
            for l in 0..<L {
                let r = sequence(input, steps: 1, batch: B, inputSize: l == 0 ? O : H, hiddenSize: H, order: K,
                                 h0: states[l].h, c0: lstm ? states[l].c : nil, part("decoder.\(l)."))
                (input, states[l]) = (r.output, (r.h, r.c))
            }
            frame = linearReference(input, p["projection.weight"]!, p["projection.bias"]!,
                                    rows: nodes * B, inputSize: H, outputSize: O)
            forecast += frame
        }
        return forecast
    }
}
