import Foundation

/// Independent double-precision references for the fused recurrent cells
/// (include/graphseq.h, "Fused recurrent cells"): each forward is computed
/// from the pre-activations exactly as the header states the math, each
/// backward is its analytic derivative. Arrays are flat and row-major:
/// states [batch][hidden], gates [batch][k * hidden] with the gates side by
/// side. Optional inputs that are nil mean zeros.
public enum CellReference {
    public static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    // MARK: - LSTM

    public struct LSTMInputs {
        public var batch, hidden: Int
        public var peephole, coupled: Bool
        /// [batch][4 * hidden] pre-activations, gate order i, f, g, o.
        public var pre: [Double]
        public var bias: [Double]?     // 4 * hidden
        public var weights: [Double]?  // 3 * hidden peepholes w_ci, w_cf, w_co
        public var cPrev: [Double]?    // [batch][hidden]
        public init(batch: Int, hidden: Int, peephole: Bool, coupled: Bool, pre: [Double],
                    bias: [Double]?, weights: [Double]?, cPrev: [Double]?) {
            (self.batch, self.hidden, self.peephole, self.coupled) = (batch, hidden, peephole, coupled)
            (self.pre, self.bias, self.weights, self.cPrev) = (pre, bias, weights, cPrev)
        }
    }

    public struct LSTMOutputs {
        /// The activations i, f, g, o ([batch][4 * hidden]); i = 1 - f when coupled.
        public var gates: [Double]
        public var c: [Double], h: [Double]
    }

    public struct LSTMGradients {
        public var dpre: [Double]       // [batch][4 * hidden]; the i slot is 0 when coupled
        public var dcPrev: [Double]     // [batch][hidden]
        public var dweights: [Double]   // 3 * hidden, summed over the batch (0 without peepholes)
        public var dbias: [Double]      // 4 * hidden, summed over the batch
    }

    /// The values one LSTM element goes through.
    private struct LSTMElement {
        var i, f, g, o, cp, c, wci, wcf, wco: Double
    }

    private static func lstmElement(_ x: LSTMInputs, _ b: Int, _ j: Int) -> LSTMElement {
        let H = x.hidden
        func a(_ gate: Int) -> Double { x.pre[b * 4 * H + gate * H + j] + (x.bias?[gate * H + j] ?? 0) }
        func w(_ k: Int) -> Double { x.peephole ? x.weights![k * H + j] : 0 }
        let cp = x.cPrev?[b * H + j] ?? 0
        let f = sigmoid(a(1) + w(1) * cp)
        let i = x.coupled ? 1 - f : sigmoid(a(0) + w(0) * cp)
        let g = tanh(a(2))
        let c = f * cp + i * g
        let o = sigmoid(a(3) + w(2) * c)
        return LSTMElement(i: i, f: f, g: g, o: o, cp: cp, c: c, wci: w(0), wcf: w(1), wco: w(2))
    }

    public static func lstmForward(_ x: LSTMInputs) -> LSTMOutputs {
        let (B, H) = (x.batch, x.hidden)
        var out = LSTMOutputs(gates: Array(repeating: 0, count: B * 4 * H),
                              c: Array(repeating: 0, count: B * H), h: Array(repeating: 0, count: B * H))
        for b in 0..<B {
            for j in 0..<H {
                let e = lstmElement(x, b, j)
                for (k, v) in [e.i, e.f, e.g, e.o].enumerated() { out.gates[b * 4 * H + k * H + j] = v }
                out.c[b * H + j] = e.c
                out.h[b * H + j] = e.o * tanh(e.c)
            }
        }
        return out
    }

    /// Gradients for dLoss/dh = `dh` and dLoss/dc = `dc` (nil: zeros).
    public static func lstmBackward(_ x: LSTMInputs, dh: [Double], dc: [Double]?) -> LSTMGradients {
        let (B, H) = (x.batch, x.hidden)
        var grad = LSTMGradients(dpre: Array(repeating: 0, count: B * 4 * H),
                                 dcPrev: Array(repeating: 0, count: B * H),
                                 dweights: Array(repeating: 0, count: 3 * H),
                                 dbias: Array(repeating: 0, count: 4 * H))
        for b in 0..<B {
            for j in 0..<H {
                let e = lstmElement(x, b, j), s = b * H + j
                let tc = tanh(e.c)
                let dao = dh[s] * tc * e.o * (1 - e.o)
                // c reaches the loss directly, through h = o tanh(c) and through o's peephole
                let dct = (dc?[s] ?? 0) + dh[s] * e.o * (1 - tc * tc) + dao * e.wco
                let dai = x.coupled ? 0 : dct * e.g * e.i * (1 - e.i)
                // coupled: c = f c_prev + (1 - f) g
                let daf = dct * (x.coupled ? e.cp - e.g : e.cp) * e.f * (1 - e.f)
                let dag = dct * e.i * (1 - e.g * e.g)
                for (k, v) in [dai, daf, dag, dao].enumerated() {
                    grad.dpre[b * 4 * H + k * H + j] = v
                    grad.dbias[k * H + j] += v
                }
                grad.dcPrev[s] = dct * e.f + dai * e.wci + daf * e.wcf
                if x.peephole {
                    grad.dweights[j] += dai * e.cp
                    grad.dweights[H + j] += daf * e.cp
                    grad.dweights[2 * H + j] += dao * e.c
                }
            }
        }
        return grad
    }

    // MARK: - GRU, linear before reset

    public struct GRUInputs {
        public var batch, hidden: Int
        public var gx: [Double], gh: [Double]          // [batch][3 * hidden], order r, z, n
        public var inputBias: [Double]?, hiddenBias: [Double]?  // 3 * hidden
        public var hPrev: [Double]?
        public init(batch: Int, hidden: Int, gx: [Double], gh: [Double], inputBias: [Double]?,
                    hiddenBias: [Double]?, hPrev: [Double]?) {
            (self.batch, self.hidden, self.gx, self.gh) = (batch, hidden, gx, gh)
            (self.inputBias, self.hiddenBias, self.hPrev) = (inputBias, hiddenBias, hPrev)
        }
    }

    public struct GRUOutputs {
        public var gates: [Double]  // r, z, n
        public var hn: [Double]     // [batch][hidden]: gh_n + b_hn
        public var h: [Double]
    }

    public struct GRUGradients {
        public var dgx: [Double], dgh: [Double], dhPrev: [Double]  // dhPrev: the direct path z dh
        public var dInputBias: [Double], dHiddenBias: [Double]
    }

    private static func gruElement(_ x: GRUInputs, _ b: Int, _ j: Int)
        -> (r: Double, z: Double, n: Double, hn: Double, hp: Double) {
        let H = x.hidden
        func ix(_ k: Int) -> Double { x.gx[b * 3 * H + k * H + j] + (x.inputBias?[k * H + j] ?? 0) }
        func hx(_ k: Int) -> Double { x.gh[b * 3 * H + k * H + j] + (x.hiddenBias?[k * H + j] ?? 0) }
        let r = sigmoid(ix(0) + hx(0)), z = sigmoid(ix(1) + hx(1))
        let n = tanh(ix(2) + r * hx(2))
        return (r, z, n, hx(2), x.hPrev?[b * H + j] ?? 0)
    }

    public static func gruForward(_ x: GRUInputs) -> GRUOutputs {
        let (B, H) = (x.batch, x.hidden)
        var out = GRUOutputs(gates: Array(repeating: 0, count: B * 3 * H),
                             hn: Array(repeating: 0, count: B * H), h: Array(repeating: 0, count: B * H))
        for b in 0..<B {
            for j in 0..<H {
                let e = gruElement(x, b, j)
                for (k, v) in [e.r, e.z, e.n].enumerated() { out.gates[b * 3 * H + k * H + j] = v }
                out.hn[b * H + j] = e.hn
                out.h[b * H + j] = (1 - e.z) * e.n + e.z * e.hp
            }
        }
        return out
    }

    public static func gruBackward(_ x: GRUInputs, dh: [Double]) -> GRUGradients {
        let (B, H) = (x.batch, x.hidden)
        var grad = GRUGradients(dgx: Array(repeating: 0, count: B * 3 * H),
                                dgh: Array(repeating: 0, count: B * 3 * H),
                                dhPrev: Array(repeating: 0, count: B * H),
                                dInputBias: Array(repeating: 0, count: 3 * H),
                                dHiddenBias: Array(repeating: 0, count: 3 * H))
        for b in 0..<B {
            for j in 0..<H {
                let e = gruElement(x, b, j), d = dh[b * H + j]
                let dan = d * (1 - e.z) * (1 - e.n * e.n)
                let daz = d * (e.hp - e.n) * e.z * (1 - e.z)
                let dar = dan * e.hn * e.r * (1 - e.r)
                for (k, (vx, vh)) in [(dar, dar), (daz, daz), (dan, dan * e.r)].enumerated() {
                    grad.dgx[b * 3 * H + k * H + j] = vx
                    grad.dgh[b * 3 * H + k * H + j] = vh
                    grad.dInputBias[k * H + j] += vx
                    grad.dHiddenBias[k * H + j] += vh
                }
                grad.dhPrev[b * H + j] = e.z * d
            }
        }
        return grad
    }

    // MARK: - GRU, reset before product (two phases)

    /// Phase 1 from the r and z pre-activations in `pre` ([batch][3 * hidden];
    /// the n slot is ignored): the activations r, z (n slot 0) and rh = r h_prev.
    public static func gruRBGatesForward(batch: Int, hidden H: Int, pre: [Double], bias: [Double]?,
                                         hPrev: [Double]?) -> (gates: [Double], rh: [Double]) {
        var gates = Array(repeating: 0.0, count: batch * 3 * H), rh = Array(repeating: 0.0, count: batch * H)
        for b in 0..<batch {
            for j in 0..<H {
                let r = sigmoid(pre[b * 3 * H + j] + (bias?[j] ?? 0))
                let z = sigmoid(pre[b * 3 * H + H + j] + (bias?[H + j] ?? 0))
                gates[b * 3 * H + j] = r
                gates[b * 3 * H + H + j] = z
                rh[b * H + j] = r * (hPrev?[b * H + j] ?? 0)
            }
        }
        return (gates, rh)
    }

    /// Phase 2 from the n pre-activations (W_n x + U_n rh) in the n slot of
    /// `pre` and z from the z slot of `zs` (phase 1's output): n and h.
    public static func gruRBOutputForward(batch: Int, hidden H: Int, pre: [Double], zs: [Double],
                                          bias: [Double]?, hPrev: [Double]?) -> (n: [Double], h: [Double]) {
        var n = Array(repeating: 0.0, count: batch * H), h = n
        for b in 0..<batch {
            for j in 0..<H {
                let s = b * H + j
                n[s] = tanh(pre[b * 3 * H + 2 * H + j] + (bias?[2 * H + j] ?? 0))
                let z = zs[b * 3 * H + H + j]
                h[s] = (1 - z) * n[s] + z * (hPrev?[s] ?? 0)
            }
        }
        return (n, h)
    }

    /// Backward of phase 2 (z from phase 1, n from phase 2, [batch][3 *
    /// hidden] gate layout): dLoss/d pre-activations of z and n (r slot 0),
    /// the direct dh_prev = z dh, and the bias gradient of those slots.
    public static func gruRBOutputBackward(batch: Int, hidden H: Int, gates: [Double], hPrev: [Double]?,
                                           dh: [Double]) -> (dpre: [Double], dhPrev: [Double], dbias: [Double]) {
        var dpre = Array(repeating: 0.0, count: batch * 3 * H), dhPrev = Array(repeating: 0.0, count: batch * H)
        var dbias = Array(repeating: 0.0, count: 3 * H)
        for b in 0..<batch {
            for j in 0..<H {
                let s = b * H + j
                let z = gates[b * 3 * H + H + j], n = gates[b * 3 * H + 2 * H + j]
                let daz = dh[s] * ((hPrev?[s] ?? 0) - n) * z * (1 - z)
                let dan = dh[s] * (1 - z) * (1 - n * n)
                dpre[b * 3 * H + H + j] = daz
                dpre[b * 3 * H + 2 * H + j] = dan
                dbias[H + j] += daz
                dbias[2 * H + j] += dan
                dhPrev[s] = z * dh[s]
            }
        }
        return (dpre, dhPrev, dbias)
    }

    /// Backward of phase 1 from drh = dLoss/d(r h_prev): dLoss/d r
    /// pre-activations (other slots 0), the r drh contribution to dh_prev,
    /// and the bias gradient of the r slot.
    public static func gruRBGatesBackward(batch: Int, hidden H: Int, gates: [Double], hPrev: [Double]?,
                                          drh: [Double]) -> (dpre: [Double], dhPrev: [Double], dbias: [Double]) {
        var dpre = Array(repeating: 0.0, count: batch * 3 * H), dhPrev = Array(repeating: 0.0, count: batch * H)
        var dbias = Array(repeating: 0.0, count: 3 * H)
        for b in 0..<batch {
            for j in 0..<H {
                let s = b * H + j, r = gates[b * 3 * H + j]
                let dar = drh[s] * (hPrev?[s] ?? 0) * r * (1 - r)
                dpre[b * 3 * H + j] = dar
                dbias[j] += dar
                dhPrev[s] = r * drh[s]
            }
        }
        return (dpre, dhPrev, dbias)
    }

    // MARK: - Vanilla RNN

    public static func rnnActivate(_ x: Double, relu: Bool) -> Double { relu ? max(0, x) : tanh(x) }

    /// h = act(pre + bias).
    public static func rnnForward(batch: Int, hidden H: Int, relu: Bool, pre: [Double],
                                  bias: [Double]?) -> [Double] {
        (0..<batch * H).map { rnnActivate(pre[$0] + (bias?[$0 % H] ?? 0), relu: relu) }
    }

    /// dpre = dh act'(pre + bias) (act'(0) = 0 for ReLU) and dbias summed over the batch.
    public static func rnnBackward(batch: Int, hidden H: Int, relu: Bool, pre: [Double], bias: [Double]?,
                                   dh: [Double]) -> (dpre: [Double], dbias: [Double]) {
        var dbias = Array(repeating: 0.0, count: H)
        let dpre = (0..<batch * H).map { s -> Double in
            let x = pre[s] + (bias?[s % H] ?? 0)
            let d = dh[s] * (relu ? (x > 0 ? 1 : 0) : 1 - tanh(x) * tanh(x))
            dbias[s % H] += d
            return d
        }
        return (dpre, dbias)
    }
}
