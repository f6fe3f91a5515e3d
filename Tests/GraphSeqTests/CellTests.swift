import CGraphSeq
import GraphSeq
import TestSupport
import Foundation
import XCTest

/// The fused recurrent cells against CellReference (double precision) and
/// against central finite differences of it, under every ISA and thread count.
final class CellTests: XCTestCase {
    typealias Ref = CellReference

    private let batches = [0, 1, 7, 33]
    private let hiddens = [1, 7, 17, 33, 100, 257]
    /// Backward sweeps are lighter: without the widest hidden size.
    private var backwardHiddens: [Int] { hiddens.filter { $0 <= 100 } }
    private let lstmOptions: [LSTMCell.Options] = [[], .peephole, .coupled, [.peephole, .coupled]]
    /// Float results against double: activations are within a few ulp.
    private let forwardTolerance = (rtol: 1e-5, atol: 1e-6)
    /// Gradients carry the rounding of the float activations they start from.
    private let backwardTolerance = (rtol: 1e-4, atol: 2e-5)

    // MARK: - Forward

    func testLSTMForwardMatchesReference() throws {
        var rng = TestRNG(seed: 1)
        for (index, (batch, hidden)) in shapes().enumerated() {
            for (k, options) in lstmOptions.enumerated() {
                // bias and c_prev given or not, alternating over the shapes
                let optionals = (index + k) % 2 == 0
                let x = lstmInputs(&rng, batch, hidden, options, optionals: optionals)
                let (ref, t) = (Ref.lstmForward(x), LSTMTensors(x))
                try sweep("LSTM forward B\(batch) H\(hidden) \(options.rawValue) \(optionals)",
                          ref.gates + ref.c + ref.h, forwardTolerance) {
                    let run = try lstmForward(t, options)
                    return run.gates.values + run.c.values + run.h.values
                }
            }
        }
    }

    func testGRUForwardMatchesReference() throws {
        var rng = TestRNG(seed: 2)
        for (index, (batch, hidden)) in shapes().enumerated() {
            let optionals = index % 2 == 0  // biases and h_prev given or not
            let x = gruInputs(&rng, batch, hidden, optionals: optionals)
            let (ref, t) = (Ref.gruForward(x), GRUTensors(x))
            try sweep("GRU forward B\(batch) H\(hidden) \(optionals)", ref.gates + ref.hn + ref.h,
                      forwardTolerance) {
                let run = try gruForward(t)
                return run.gx.values + slot(run.gh.values, 2, of: 3, hidden) + run.h.values
            }
        }
    }

    func testResetBeforeProductGRUForwardMatchesReference() throws {
        var rng = TestRNG(seed: 3)
        for (index, (batch, hidden)) in shapes().enumerated() {
            let optionals = index % 2 == 1
            let x = rbInputs(&rng, batch, hidden, optionals: optionals)
            let (gates1, rh) = Ref.gruRBGatesForward(batch: batch, hidden: hidden, pre: x.pre,
                                                     bias: x.bias, hPrev: x.hPrev)
            let (n, h) = Ref.gruRBOutputForward(batch: batch, hidden: hidden, pre: x.pre, zs: gates1,
                                                bias: x.bias, hPrev: x.hPrev)
            // Phase 1 leaves the n slot alone (it may already hold W_n x).
            let afterPhase1 = interleave([slot(gates1, 0, of: 3, hidden), slot(gates1, 1, of: 3, hidden),
                                          slot(x.pre, 2, of: 3, hidden)], hidden)
            let afterPhase2 = interleave([slot(gates1, 0, of: 3, hidden), slot(gates1, 1, of: 3, hidden), n],
                                         hidden)
            let t = RBTensors(x)
            try sweep("GRU-RB forward B\(batch) H\(hidden) \(optionals)", afterPhase1 + rh + afterPhase2 + h,
                      forwardTolerance) {
                let run = try rbForward(t)
                return run.afterPhase1 + run.rh.values + run.gates.values + run.h.values
            }
        }
    }

    func testRNNForwardMatchesReference() throws {
        var rng = TestRNG(seed: 4)
        for (batch, hidden) in shapes() {
            for relu in [false, true] {
                for optionals in [true, false] {
                    let pre = preActivations(&rng, batch * hidden)
                    let bias = optionals ? uniform(&rng, hidden) : nil
                    let ref = Ref.rnnForward(batch: batch, hidden: hidden, relu: relu, pre: pre, bias: bias)
                    let (preT, biasT) = (tensor(pre, [batch, hidden]), bias.map { tensor($0, [hidden]) })
                    try sweep("RNN forward B\(batch) H\(hidden) relu \(relu)", ref, forwardTolerance) {
                        let h = nanTensor([batch, hidden])
                        try RNNCell.forward(pre: preT, bias: biasT, h: h, activation: relu ? .relu : .tanh)
                        return h.values
                    }
                }
            }
        }
    }

    /// tanh and sigmoid over a dense grid of [-40, 40] plus the extremes,
    /// through the RNN (tanh) and the reset-before-product gates (sigmoid).
    func testActivationsAreAccurateAndSaturate() throws {
        var xs = stride(from: -40.0, through: 40.0, by: 0.001953125).map { Float($0) }
        xs += [1e-30, -1e-30, 1e-8, -1e-8, 0.6249, 0.6251, 87.5, -87.5, 100, -100, 1e4, -1e4, .infinity, -.infinity]
        let n = xs.count
        let pre = try Tensor(shape: [1, n], values: xs)
        let rzn = try Tensor(shape: [n, 3], values: xs.flatMap { [$0, 0, 0] })
        let exact = xs.map { (tanh: tanh(Double($0)), sigmoid: 1 / (1 + exp(-Double($0)))) }
        for isa in testISAs {
            try Runtime.with(threads: 1, maxISA: isa) {
                let h = Tensor.zeros([1, n]), gates = rzn.copy()
                try RNNCell.forward(pre: pre, h: h)
                try GRUCell.gatesForward(gates: gates, rh: Tensor.zeros([n, 1]))
                let (tanhs, sigmoids) = (h.values, slot(gates.values, 0, of: 3, 1))
                var worstTanh = 0.0, worstSigmoid = 0.0
                for i in 0..<n {
                    let (t, s) = (Double(tanhs[i]), Double(sigmoids[i]))
                    let (et, es) = exact[i]
                    // a few ulp, or 1.5e-7 absolute
                    worstTanh = max(worstTanh, abs(t - et) / max(1.5e-7, 3 * Double(Float(et).ulp)))
                    worstSigmoid = max(worstSigmoid, abs(s - es) / max(1.5e-7, 3 * Double(Float(es).ulp)))
                }
                XCTAssertLessThanOrEqual(worstTanh, 1, "tanh \(isa)")
                XCTAssertLessThanOrEqual(worstSigmoid, 1, "sigmoid \(isa)")
                let last = n - 1
                XCTAssertEqual(tanhs[last - 3], 1, "tanh(1e4) \(isa)")
                XCTAssertEqual(tanhs[last], -1, "tanh(-inf) \(isa)")
                XCTAssertEqual(sigmoids[last - 1], 1, "sigmoid(inf) \(isa)")
                XCTAssertLessThan(sigmoids[last], 1e-37, "sigmoid(-inf) \(isa)")
                XCTAssertGreaterThanOrEqual(sigmoids[last], 0, "sigmoid(-inf) \(isa)")
            }
        }
    }

    // MARK: - Backward against the analytic reference

    func testLSTMBackwardMatchesReference() throws {
        var rng = TestRNG(seed: 5)
        for (index, (batch, hidden)) in shapes(hiddens: backwardHiddens).enumerated() {
            for (k, options) in lstmOptions.enumerated() {
                let optionals = (index + k) % 2 == 1
                let x = lstmInputs(&rng, batch, hidden, options, optionals: optionals)
                let dh = uniform(&rng, batch * hidden), dc = optionals ? uniform(&rng, batch * hidden) : nil
                // Nonzero starting values: the parameter gradients accumulate.
                let dw0 = uniform(&rng, 3 * hidden), db0 = uniform(&rng, 4 * hidden)
                let g = Ref.lstmBackward(x, dh: dh, dc: dc)
                let expected = g.dpre + g.dcPrev + (options.contains(.peephole) ? add(dw0, g.dweights) : dw0)
                    + add(db0, g.dbias)
                let t = LSTMTensors(x)
                let (dhT, dcT) = (tensor(dh, [batch, hidden]), dc.map { tensor($0, [batch, hidden]) })
                let (dw0T, db0T) = (tensor(dw0, [3 * hidden]), tensor(db0, [4 * hidden]))
                try sweep("LSTM backward B\(batch) H\(hidden) \(options.rawValue)", expected, backwardTolerance) {
                    let run = try lstmForward(t, options)
                    let (dgates, dcPrev) = (nanTensor([batch, 4 * hidden]), nanTensor([batch, hidden]))
                    let (dw, db) = (dw0T.copy(), db0T.copy())
                    try LSTMCell.backward(gates: run.gates, peephole: run.peephole, cPrev: run.cPrev, c: run.c,
                                          dh: dhT, dc: dcT, dgates: dgates, dcPrev: dcPrev, dpeephole: dw,
                                          dbias: db, options: options)
                    return dgates.values + dcPrev.values + dw.values + db.values
                }
            }
        }
    }

    func testGRUBackwardMatchesReference() throws {
        var rng = TestRNG(seed: 6)
        for (index, (batch, hidden)) in shapes(hiddens: backwardHiddens).enumerated() {
            let optionals = index % 2 == 0
            let x = gruInputs(&rng, batch, hidden, optionals: optionals)
            let dh = uniform(&rng, batch * hidden)
            let dbi0 = uniform(&rng, 3 * hidden), dbh0 = uniform(&rng, 3 * hidden)
            let g = Ref.gruBackward(x, dh: dh)
            let (t, dhT) = (GRUTensors(x), tensor(dh, [batch, hidden]))
            let (dbi0T, dbh0T) = (tensor(dbi0, [3 * hidden]), tensor(dbh0, [3 * hidden]))
            try sweep("GRU backward B\(batch) H\(hidden)",
                      g.dgx + g.dgh + g.dhPrev + add(dbi0, g.dInputBias) + add(dbh0, g.dHiddenBias),
                      backwardTolerance) {
                let run = try gruForward(t)
                let (dgx, dgh, dhPrev) = (nanTensor([batch, 3 * hidden]), nanTensor([batch, 3 * hidden]),
                                          nanTensor([batch, hidden]))
                let (dbi, dbh) = (dbi0T.copy(), dbh0T.copy())
                try GRUCell.backward(gx: run.gx, gh: run.gh, hPrev: run.hPrev, dh: dhT,
                                     dgx: dgx, dgh: dgh, dhPrev: dhPrev, dInputBias: dbi, dHiddenBias: dbh)
                return dgx.values + dgh.values + dhPrev.values + dbi.values + dbh.values
            }
        }
    }

    func testResetBeforeProductGRUBackwardMatchesReference() throws {
        var rng = TestRNG(seed: 7)
        for (index, (batch, hidden)) in shapes(hiddens: backwardHiddens).enumerated() {
            let optionals = index % 2 == 0
            let x = rbInputs(&rng, batch, hidden, optionals: optionals)
            let dh = uniform(&rng, batch * hidden), drh = uniform(&rng, batch * hidden)
            let db0 = uniform(&rng, 3 * hidden)
            let (gates1, _) = Ref.gruRBGatesForward(batch: batch, hidden: hidden, pre: x.pre, bias: x.bias,
                                                    hPrev: x.hPrev)
            let (n, _) = Ref.gruRBOutputForward(batch: batch, hidden: hidden, pre: x.pre, zs: gates1,
                                                bias: x.bias, hPrev: x.hPrev)
            let gates = interleave([slot(gates1, 0, of: 3, hidden), slot(gates1, 1, of: 3, hidden), n], hidden)
            let out = Ref.gruRBOutputBackward(batch: batch, hidden: hidden, gates: gates, hPrev: x.hPrev, dh: dh)
            let inner = Ref.gruRBGatesBackward(batch: batch, hidden: hidden, gates: gates, hPrev: x.hPrev, drh: drh)
            // After phase 2's backward: the z and n slots and dh_prev = z dh.
            let expected = slot(out.dpre, 1, of: 3, hidden) + slot(out.dpre, 2, of: 3, hidden) + out.dhPrev
                + add(out.dpre, inner.dpre) + add(out.dhPrev, inner.dhPrev) + add(db0, add(out.dbias, inner.dbias))
            let t = RBTensors(x)
            let (dhT, drhT, db0T) = (tensor(dh, [batch, hidden]), tensor(drh, [batch, hidden]),
                                     tensor(db0, [3 * hidden]))
            try sweep("GRU-RB backward B\(batch) H\(hidden)", expected, backwardTolerance) {
                let run = try rbForward(t)
                let (dgates, dhPrev, db) = (nanTensor([batch, 3 * hidden]), nanTensor([batch, hidden]), db0T.copy())
                try GRUCell.outputBackward(gates: run.gates, hPrev: run.hPrev, dh: dhT,
                                           dgates: dgates, dhPrev: dhPrev, dbias: db)
                let phase2 = slot(dgates.values, 1, of: 3, hidden) + slot(dgates.values, 2, of: 3, hidden)
                    + dhPrev.values
                try GRUCell.gatesBackward(gates: run.gates, hPrev: run.hPrev, drh: drhT,
                                          dgates: dgates, dhPrev: dhPrev, dbias: db)
                return phase2 + dgates.values + dhPrev.values + db.values
            }
        }
    }

    func testRNNBackwardMatchesReference() throws {
        var rng = TestRNG(seed: 8)
        for (batch, hidden) in shapes(hiddens: backwardHiddens) {
            for relu in [false, true] {
                let pre = preActivations(&rng, batch * hidden), bias = uniform(&rng, hidden)
                let dh = uniform(&rng, batch * hidden), db0 = uniform(&rng, hidden)
                let g = Ref.rnnBackward(batch: batch, hidden: hidden, relu: relu, pre: pre, bias: bias, dh: dh)
                let (preT, biasT) = (tensor(pre, [batch, hidden]), tensor(bias, [hidden]))
                let (dhT, db0T) = (tensor(dh, [batch, hidden]), tensor(db0, [hidden]))
                let act: RNNCell.Activation = relu ? .relu : .tanh
                try sweep("RNN backward B\(batch) H\(hidden) relu \(relu)", g.dpre + add(db0, g.dbias),
                          backwardTolerance) {
                    let h = Tensor.zeros([batch, hidden]), dpre = nanTensor([batch, hidden]), db = db0T.copy()
                    try RNNCell.forward(pre: preT, bias: biasT, h: h, activation: act)
                    try RNNCell.backward(h: h, dh: dhT, dpre: dpre, dbias: db, activation: act)
                    return dpre.values + db.values
                }
            }
        }
    }

    // MARK: - Backward against finite differences

    func testLSTMBackwardMatchesFiniteDifferences() throws {
        let (batch, hidden) = (2, 19)  // full AVX2 and AVX-512 vectors and a tail
        var rng = TestRNG(seed: 9)
        for options in lstmOptions {
            let x = lstmInputs(&rng, batch, hidden, options, optionals: true, saturating: false)
            let wh = uniform(&rng, batch * hidden), wc = uniform(&rng, batch * hidden)
            let loss = { (x: Ref.LSTMInputs) -> Double in
                let y = Ref.lstmForward(x)
                return dot(wh, y.h) + dot(wc, y.c)
            }
            // (with .coupled the i slot is ignored, so its numeric gradient is 0)
            var expected = numericGradient(x, \.pre, loss) + numericGradient(x, \.cPrev!, loss)
                + numericGradient(x, \.bias!, loss)
            if options.contains(.peephole) { expected += numericGradient(x, \.weights!, loss) }
            try forEachISA("LSTM FD \(options.rawValue)") {
                let run = try lstmForward(LSTMTensors(x), options)
                let (dgates, dcPrev) = (nanTensor([batch, 4 * hidden]), nanTensor([batch, hidden]))
                let (dw, db) = (Tensor.zeros([3 * hidden]), Tensor.zeros([4 * hidden]))
                try LSTMCell.backward(gates: run.gates, peephole: run.peephole, cPrev: run.cPrev, c: run.c,
                                      dh: tensor(wh, [batch, hidden]), dc: tensor(wc, [batch, hidden]),
                                      dgates: dgates, dcPrev: dcPrev, dpeephole: dw, dbias: db, options: options)
                let got = dgates.values + dcPrev.values + db.values
                    + (options.contains(.peephole) ? dw.values : [])
                return toleranceRatio(got, expected, rtol: backwardTolerance.rtol, atol: backwardTolerance.atol)
            }
        }
    }

    func testGRUBackwardMatchesFiniteDifferences() throws {
        let (batch, hidden) = (2, 19)
        var rng = TestRNG(seed: 10)
        let x = gruInputs(&rng, batch, hidden, optionals: true, saturating: false)
        let wh = uniform(&rng, batch * hidden)
        let loss = { (x: Ref.GRUInputs) -> Double in dot(wh, Ref.gruForward(x).h) }
        let expected = numericGradient(x, \.gx, loss) + numericGradient(x, \.gh, loss)
            + numericGradient(x, \.hPrev!, loss) + numericGradient(x, \.inputBias!, loss)
            + numericGradient(x, \.hiddenBias!, loss)
        try forEachISA("GRU FD") {
            let run = try gruForward(GRUTensors(x))
            let (dgx, dgh, dhPrev) = (nanTensor([batch, 3 * hidden]), nanTensor([batch, 3 * hidden]),
                                      nanTensor([batch, hidden]))
            let (dbi, dbh) = (Tensor.zeros([3 * hidden]), Tensor.zeros([3 * hidden]))
            try GRUCell.backward(gx: run.gx, gh: run.gh, hPrev: run.hPrev, dh: tensor(wh, [batch, hidden]),
                                 dgx: dgx, dgh: dgh, dhPrev: dhPrev, dInputBias: dbi, dHiddenBias: dbh)
            let got = dgx.values + dgh.values + dhPrev.values + dbi.values + dbh.values
            return toleranceRatio(got, expected, rtol: backwardTolerance.rtol, atol: backwardTolerance.atol)
        }
    }

    /// One whole reset-before-product step, the candidate's recurrent
    /// product U_n (dense, hidden x hidden) done by the test between the
    /// phases: the gradients of every input of the step.
    func testResetBeforeProductGRUStepMatchesFiniteDifferences() throws {
        let (batch, hidden) = (2, 19)
        var rng = TestRNG(seed: 11)
        let step = RBStep(batch: batch, hidden: hidden, pre: preActivations(&rng, batch * 3 * hidden, saturating: false),
                          hPrev: uniform(&rng, batch * hidden), bias: uniform(&rng, 3 * hidden),
                          u: uniform(&rng, hidden * hidden, -0.3, 0.3))
        let wh = uniform(&rng, batch * hidden)
        let loss = { (s: RBStep) -> Double in dot(wh, s.forward()) }
        let expected = numericGradient(step, \.pre, loss) + numericGradient(step, \.hPrev, loss)
            + numericGradient(step, \.bias, loss)
        try forEachISA("GRU-RB step FD") {
            let gates = tensor(step.pre, [batch, 3 * hidden]), hPrev = tensor(step.hPrev, [batch, hidden])
            let bias = tensor(step.bias, [3 * hidden])
            let rh = Tensor.zeros([batch, hidden]), h = Tensor.zeros([batch, hidden])
            try GRUCell.gatesForward(gates: gates, bias: bias, hPrev: hPrev, rh: rh)
            let product = step.timesU(rh.values.map(Double.init))
            for b in 0..<batch { for j in 0..<hidden { gates[b, 2 * hidden + j] += Float(product[b * hidden + j]) } }
            try GRUCell.outputForward(gates: gates, bias: bias, hPrev: hPrev, h: h)

            let dgates = nanTensor([batch, 3 * hidden]), dhPrev = nanTensor([batch, hidden])
            let dbias = Tensor.zeros([3 * hidden])
            try GRUCell.outputBackward(gates: gates, hPrev: hPrev, dh: tensor(wh, [batch, hidden]),
                                       dgates: dgates, dhPrev: dhPrev, dbias: dbias)
            let drh = step.timesUTransposed(slot(dgates.values, 2, of: 3, hidden).map(Double.init))
            try GRUCell.gatesBackward(gates: gates, hPrev: hPrev, drh: tensor(drh, [batch, hidden]),
                                      dgates: dgates, dhPrev: dhPrev, dbias: dbias)
            let got = dgates.values + dhPrev.values + dbias.values
            return toleranceRatio(got, expected, rtol: backwardTolerance.rtol, atol: backwardTolerance.atol)
        }
    }

    func testRNNBackwardMatchesFiniteDifferences() throws {
        let (batch, hidden) = (2, 19)
        var rng = TestRNG(seed: 12)
        for relu in [false, true] {
            let bias = uniform(&rng, hidden)
            // ReLU: keep pre + bias away from the kink at 0.
            let pre = (0..<batch * hidden).map { s -> Double in
                var v = Double(rng.float(-2, 2))
                while abs(v + bias[s % hidden]) < 0.05 { v = Double(rng.float(-2, 2)) }
                return v
            }
            let wh = uniform(&rng, batch * hidden)
            struct Args { var pre, bias: [Double] }
            let loss = { (a: Args) -> Double in
                dot(wh, Ref.rnnForward(batch: batch, hidden: hidden, relu: relu, pre: a.pre, bias: a.bias))
            }
            let args = Args(pre: pre, bias: bias)
            let expected = numericGradient(args, \.pre, loss) + numericGradient(args, \.bias, loss)
            try forEachISA("RNN FD relu \(relu)") {
                let act: RNNCell.Activation = relu ? .relu : .tanh
                let h = Tensor.zeros([batch, hidden]), dpre = nanTensor([batch, hidden])
                let db = Tensor.zeros([hidden])
                try RNNCell.forward(pre: tensor(pre, [batch, hidden]), bias: tensor(bias, [hidden]), h: h,
                                    activation: act)
                try RNNCell.backward(h: h, dh: tensor(wh, [batch, hidden]), dpre: dpre, dbias: db, activation: act)
                return toleranceRatio(dpre.values + db.values, expected,
                                      rtol: backwardTolerance.rtol, atol: backwardTolerance.atol)
            }
        }
    }

    // MARK: - Threads, aliasing, accumulation

    /// A shape large enough that 2, 3 and 8 requested threads give different
    /// column splits (8 is capped at 4 by the work per thread), through every
    /// kernel, with the per-column batch sums.
    func testEveryKernelIsBitwiseIdenticalAcrossThreadCounts() throws {
        let (batch, hidden) = (24, 700)  // 1, 2, 3 and 4 threads
        var rng = TestRNG(seed: 13)
        let options: LSTMCell.Options = .peephole
        let x = lstmInputs(&rng, batch, hidden, options, optionals: true)
        let g = gruInputs(&rng, batch, hidden, optionals: true)
        let rb = rbInputs(&rng, batch, hidden, optionals: true)
        let d = uniform(&rng, batch * hidden), d2 = uniform(&rng, batch * hidden)
        let ref = Ref.lstmBackward(x, dh: d, dc: d2)
        let (dt, d2t) = (tensor(d, [batch, hidden]), tensor(d2, [batch, hidden]))
        try sweep("every kernel B\(batch) H\(hidden)", ref.dweights + ref.dbias, backwardTolerance) {
            var out: [Float] = []
            let run = try lstmForward(LSTMTensors(x), options)
            let (dgates, dcPrev) = (Tensor.zeros([batch, 4 * hidden]), Tensor.zeros([batch, hidden]))
            let (dw, db) = (Tensor.zeros([3 * hidden]), Tensor.zeros([4 * hidden]))
            try LSTMCell.backward(gates: run.gates, peephole: run.peephole, cPrev: run.cPrev, c: run.c,
                                  dh: dt, dc: d2t, dgates: dgates, dcPrev: dcPrev, dpeephole: dw, dbias: db,
                                  options: options)
            let lstm = run.gates.values + run.h.values + dgates.values + dcPrev.values

            let gru = try gruForward(GRUTensors(g))
            let (dgx, dgh, dhPrev) = (Tensor.zeros([batch, 3 * hidden]), Tensor.zeros([batch, 3 * hidden]),
                                      Tensor.zeros([batch, hidden]))
            let (dbi, dbh) = (Tensor.zeros([3 * hidden]), Tensor.zeros([3 * hidden]))
            try GRUCell.backward(gx: gru.gx, gh: gru.gh, hPrev: gru.hPrev, dh: dt, dgx: dgx, dgh: dgh,
                                 dhPrev: dhPrev, dInputBias: dbi, dHiddenBias: dbh)
            out += gru.gx.values + gru.h.values + dgx.values + dgh.values + dhPrev.values + dbi.values + dbh.values

            let r = try rbForward(RBTensors(rb))
            let (rdg, rdh, rdb) = (Tensor.zeros([batch, 3 * hidden]), Tensor.zeros([batch, hidden]),
                                   Tensor.zeros([3 * hidden]))
            try GRUCell.outputBackward(gates: r.gates, hPrev: r.hPrev, dh: dt, dgates: rdg, dhPrev: rdh, dbias: rdb)
            try GRUCell.gatesBackward(gates: r.gates, hPrev: r.hPrev, drh: d2t, dgates: rdg, dhPrev: rdh, dbias: rdb)
            out += r.gates.values + r.rh.values + r.h.values + rdg.values + rdh.values + rdb.values

            for act in [RNNCell.Activation.tanh, .relu] {
                let h = Tensor.zeros([batch, hidden]), dpre = Tensor.zeros([batch, hidden])
                let dbias = Tensor.zeros([hidden])
                try RNNCell.forward(pre: dt, bias: Tensor.zeros([hidden]), h: h, activation: act)
                try RNNCell.backward(h: h, dh: d2t, dpre: dpre, dbias: dbias, activation: act)
                out += h.values + dpre.values + dbias.values
            }
            // The LSTM's batch sums lead (checked against the reference); the
            // rest only needs to be bitwise stable.
            return dw.values + db.values + lstm + out
        } compareOnly: { $0.prefix(7 * hidden) }
    }

    func testInPlaceRNNMatchesOutOfPlace() throws {
        var rng = TestRNG(seed: 14)
        let (batch, hidden) = (5, 37)
        let pre = preActivations(&rng, batch * hidden), dh = uniform(&rng, batch * hidden)
        for act in [RNNCell.Activation.tanh, .relu] {
            for isa in testISAs {
                try Runtime.with(maxISA: isa) {
                    let h = Tensor.zeros([batch, hidden]), dpre = Tensor.zeros([batch, hidden])
                    try RNNCell.forward(pre: tensor(pre, [batch, hidden]), h: h, activation: act)
                    try RNNCell.backward(h: h, dh: tensor(dh, [batch, hidden]), dpre: dpre, activation: act)
                    let t = tensor(pre, [batch, hidden]), d = tensor(dh, [batch, hidden])
                    try RNNCell.forward(pre: t, h: t, activation: act)
                    try RNNCell.backward(h: t, dh: d, dpre: d, activation: act)
                    XCTAssertNil(firstBitwiseDifference(h.values, t.values), "h aliasing pre, \(act) \(isa)")
                    XCTAssertNil(firstBitwiseDifference(dpre.values, d.values), "dpre aliasing dh, \(act) \(isa)")
                }
            }
        }
    }

    /// dpeephole and the bias gradients are added to, never overwritten;
    /// dpeephole is left alone without the peephole option.
    func testParameterGradientsAccumulate() throws {
        var rng = TestRNG(seed: 15)
        let (batch, hidden) = (4, 21)
        for options in lstmOptions {
            let x = lstmInputs(&rng, batch, hidden, options, optionals: true)
            let run = try lstmForward(LSTMTensors(x), options)
            let dh = tensor(uniform(&rng, batch * hidden), [batch, hidden])
            let dw = Tensor.zeros([3 * hidden]), db = Tensor.zeros([4 * hidden])
            func backward() throws {
                try LSTMCell.backward(gates: run.gates, peephole: run.peephole, cPrev: run.cPrev, c: run.c, dh: dh,
                                      dgates: Tensor.zeros([batch, 4 * hidden]), dpeephole: dw, dbias: db,
                                      options: options)
            }
            try backward()
            let (once, onceB) = (dw.values, db.values)
            try backward()
            XCTAssertLessThanOrEqual(toleranceRatio(dw.values, once.map { 2 * Double($0) }, rtol: 1e-6, atol: 1e-7), 1)
            XCTAssertLessThanOrEqual(toleranceRatio(db.values, onceB.map { 2 * Double($0) }, rtol: 1e-6, atol: 1e-7), 1)
            XCTAssertGreaterThan(db.squaredNorm(), 0)
            XCTAssertEqual(dw.squaredNorm() > 0, options.contains(.peephole), "dpeephole \(options.rawValue)")
            if options.contains(.coupled) {  // the i slot of dbias gets nothing
                XCTAssertEqual(Tensor.zeros([hidden]).values, Array(db.values.prefix(hidden)))
            }
        }
    }

    // MARK: - Bad arguments

    func testLSTMRejectsBadArguments() {
        let (B, H): (Int64, Int64) = (2, 3)
        let n = Int(B * H)
        var gates = [Float](repeating: 0.5, count: 4 * n), c = [Float](repeating: 7, count: n)
        var h = c, dgates = [Float](repeating: 7, count: 4 * n), dcPrev = c
        var dw = [Float](repeating: 7, count: Int(3 * H)), db = [Float](repeating: 7, count: Int(4 * H))
        let bias = [Float](repeating: 0.1, count: Int(4 * H)), peep = [Float](repeating: 0.1, count: Int(3 * H))
        let state = [Float](repeating: 0.2, count: n)
        let pe = GSQ_LSTM_PEEPHOLE
        let fwd = "gsq_lstm_cell_forward"
        func forward(_ b: Int64, _ hd: Int64, _ flags: UInt32, _ g: UnsafeMutablePointer<Float>?,
                     _ p: UnsafePointer<Float>?, _ cc: UnsafeMutablePointer<Float>?,
                     _ hh: UnsafeMutablePointer<Float>?) -> gsq_status_t {
            gsq_lstm_cell_forward(b, hd, flags, g, bias, p, state, cc, hh)
        }
        let outs = { [gates, c, h] }
        rejects(fwd, "negative batch", outs) { forward(-1, H, 0, &gates, peep, &c, &h) }
        rejects(fwd, "negative hidden", outs) { forward(B, -3, 0, &gates, peep, &c, &h) }
        rejects(fwd, "huge hidden", outs) { forward(B, 1 << 41, 0, &gates, peep, &c, &h) }
        rejects(fwd, "overflowing size", outs) { forward(1 << 40, 1 << 40, 0, &gates, peep, &c, &h) }
        rejects(fwd, "unknown flag", outs) { forward(B, H, 4, &gates, peep, &c, &h) }
        rejects(fwd, "high flag", outs) { forward(B, H, 0x8000_0000 | pe, &gates, peep, &c, &h) }
        rejects(fwd, "NULL peephole", outs) { forward(B, H, pe, &gates, nil, &c, &h) }
        rejects(fwd, "NULL gates", outs) { forward(B, H, 0, nil, peep, &c, &h) }
        rejects(fwd, "NULL c", outs) { forward(B, H, 0, &gates, peep, nil, &h) }
        rejects(fwd, "NULL h", outs) { forward(B, H, 0, &gates, peep, &c, nil) }
        XCTAssertEqual(forward(B, H, pe, &gates, peep, &c, &h), GSQ_SUCCESS, "the valid call")
        XCTAssertEqual(forward(0, H, pe, nil, peep, nil, nil), GSQ_SUCCESS, "empty batch, NULL buffers")

        let bwd = "gsq_lstm_cell_backward"
        func backward(_ b: Int64, _ hd: Int64, _ flags: UInt32, _ g: UnsafePointer<Float>?,
                      _ p: UnsafePointer<Float>?, _ cc: UnsafePointer<Float>?, _ dhh: UnsafePointer<Float>?,
                      _ dg: UnsafeMutablePointer<Float>?) -> gsq_status_t {
            gsq_lstm_cell_backward(b, hd, flags, g, p, state, cc, dhh, state, dg, &dcPrev, &dw, &db)
        }
        let bouts = { [dgates, dcPrev, dw, db] }
        rejects(bwd, "negative batch", bouts) { backward(-2, H, pe, gates, peep, c, state, &dgates) }
        rejects(bwd, "negative hidden", bouts) { backward(B, -1, pe, gates, peep, c, state, &dgates) }
        rejects(bwd, "overflowing size", bouts) { backward(1 << 40, 1 << 40, pe, gates, peep, c, state, &dgates) }
        rejects(bwd, "unknown flag", bouts) { backward(B, H, 8 | pe, gates, peep, c, state, &dgates) }
        rejects(bwd, "NULL peephole", bouts) { backward(B, H, pe, gates, nil, c, state, &dgates) }
        rejects(bwd, "NULL gates", bouts) { backward(B, H, pe, nil, peep, c, state, &dgates) }
        rejects(bwd, "NULL c", bouts) { backward(B, H, pe, gates, peep, nil, state, &dgates) }
        rejects(bwd, "NULL dh", bouts) { backward(B, H, pe, gates, peep, c, nil, &dgates) }
        rejects(bwd, "NULL dgates", bouts) { backward(B, H, pe, gates, peep, c, state, nil) }
        XCTAssertEqual(backward(B, H, pe, gates, peep, c, state, &dgates), GSQ_SUCCESS, "the valid call")
    }

    func testGRURejectsBadArguments() {
        let (B, H): (Int64, Int64) = (2, 3)
        let n = Int(B * H)
        var gx = [Float](repeating: 0.5, count: 3 * n), gh = gx, h = [Float](repeating: 7, count: n)
        var dgx = [Float](repeating: 7, count: 3 * n), dgh = dgx, dhPrev = h
        var dbi = [Float](repeating: 7, count: Int(3 * H)), dbh = dbi
        let state = [Float](repeating: 0.2, count: n)
        let fwd = "gsq_gru_cell_forward"
        func forward(_ b: Int64, _ hd: Int64, _ x: UnsafeMutablePointer<Float>?, _ y: UnsafeMutablePointer<Float>?,
                     _ out: UnsafeMutablePointer<Float>?) -> gsq_status_t {
            gsq_gru_cell_forward(b, hd, x, y, nil, nil, state, out)
        }
        let outs = { [gx, gh, h] }
        rejects(fwd, "negative batch", outs) { forward(-1, H, &gx, &gh, &h) }
        rejects(fwd, "negative hidden", outs) { forward(B, -1, &gx, &gh, &h) }
        rejects(fwd, "overflowing size", outs) { forward(1 << 40, 1 << 40, &gx, &gh, &h) }
        rejects(fwd, "NULL gx", outs) { forward(B, H, nil, &gh, &h) }
        rejects(fwd, "NULL gh", outs) { forward(B, H, &gx, nil, &h) }
        rejects(fwd, "NULL h", outs) { forward(B, H, &gx, &gh, nil) }
        XCTAssertEqual(forward(B, H, &gx, &gh, &h), GSQ_SUCCESS, "the valid call")

        let bwd = "gsq_gru_cell_backward"
        func backward(_ b: Int64, _ hd: Int64, _ x: UnsafePointer<Float>?, _ y: UnsafePointer<Float>?,
                      _ dhh: UnsafePointer<Float>?, _ dx: UnsafeMutablePointer<Float>?,
                      _ dy: UnsafeMutablePointer<Float>?) -> gsq_status_t {
            gsq_gru_cell_backward(b, hd, x, y, state, dhh, dx, dy, &dhPrev, &dbi, &dbh)
        }
        let bouts = { [dgx, dgh, dhPrev, dbi, dbh] }
        rejects(bwd, "negative batch", bouts) { backward(-1, H, gx, gh, state, &dgx, &dgh) }
        rejects(bwd, "overflowing size", bouts) { backward(1 << 40, 1 << 40, gx, gh, state, &dgx, &dgh) }
        rejects(bwd, "NULL gx", bouts) { backward(B, H, nil, gh, state, &dgx, &dgh) }
        rejects(bwd, "NULL gh", bouts) { backward(B, H, gx, nil, state, &dgx, &dgh) }
        rejects(bwd, "NULL dh", bouts) { backward(B, H, gx, gh, nil, &dgx, &dgh) }
        rejects(bwd, "NULL dgx", bouts) { backward(B, H, gx, gh, state, nil, &dgh) }
        rejects(bwd, "NULL dgh", bouts) { backward(B, H, gx, gh, state, &dgx, nil) }
        XCTAssertEqual(backward(B, H, gx, gh, state, &dgx, &dgh), GSQ_SUCCESS, "the valid call")
    }

    func testResetBeforeProductGRURejectsBadArguments() {
        let (B, H): (Int64, Int64) = (2, 3)
        let n = Int(B * H)
        var gates = [Float](repeating: 0.5, count: 3 * n), out = [Float](repeating: 7, count: n)
        var dgates = [Float](repeating: 7, count: 3 * n), dhPrev = out, db = [Float](repeating: 7, count: Int(3 * H))
        let state = [Float](repeating: 0.2, count: n)
        typealias Forward = (Int64, Int64, UnsafeMutablePointer<Float>?, UnsafePointer<Float>?,
                             UnsafePointer<Float>?, UnsafeMutablePointer<Float>?) -> gsq_status_t
        let forwards: [(String, Forward)] = [("gsq_gru_rb_gates_forward", gsq_gru_rb_gates_forward),
                                             ("gsq_gru_rb_output_forward", gsq_gru_rb_output_forward)]
        for (fn, call) in forwards {
            let outs = { [gates, out] }
            rejects(fn, "negative batch", outs) { call(-1, H, &gates, nil, state, &out) }
            rejects(fn, "negative hidden", outs) { call(B, -1, &gates, nil, state, &out) }
            rejects(fn, "overflowing size", outs) { call(1 << 40, 1 << 40, &gates, nil, state, &out) }
            rejects(fn, "NULL gates", outs) { call(B, H, nil, nil, state, &out) }
            rejects(fn, "NULL output", outs) { call(B, H, &gates, nil, state, nil) }
            XCTAssertEqual(call(B, H, &gates, nil, state, &out), GSQ_SUCCESS, "\(fn): the valid call")
        }
        typealias Backward = (Int64, Int64, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
                              UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?,
                              UnsafeMutablePointer<Float>?) -> gsq_status_t
        let backwards: [(String, Backward)] = [("gsq_gru_rb_output_backward", gsq_gru_rb_output_backward),
                                               ("gsq_gru_rb_gates_backward", gsq_gru_rb_gates_backward)]
        for (fn, call) in backwards {
            let outs = { [dgates, dhPrev, db] }
            rejects(fn, "negative batch", outs) { call(-1, H, gates, state, state, &dgates, &dhPrev, &db) }
            rejects(fn, "overflowing size", outs) { call(1 << 40, 1 << 40, gates, state, state, &dgates, &dhPrev, &db) }
            rejects(fn, "NULL gates", outs) { call(B, H, nil, state, state, &dgates, &dhPrev, &db) }
            rejects(fn, "NULL gradient", outs) { call(B, H, gates, state, nil, &dgates, &dhPrev, &db) }
            rejects(fn, "NULL dgates", outs) { call(B, H, gates, state, state, nil, &dhPrev, &db) }
            XCTAssertEqual(call(B, H, gates, state, state, &dgates, &dhPrev, &db), GSQ_SUCCESS, "\(fn): the valid call")
        }
    }

    func testRNNRejectsBadArguments() {
        let (B, H): (Int64, Int64) = (2, 3)
        let n = Int(B * H)
        var h = [Float](repeating: 7, count: n), dpre = h, db = [Float](repeating: 7, count: Int(H))
        let pre = [Float](repeating: 0.3, count: n)
        let act = GSQ_ACTIVATION_TANH, bad = gsq_activation_t(rawValue: 2), negative = gsq_activation_t(rawValue: ~0)
        let fwd = "gsq_rnn_cell_forward", bwd = "gsq_rnn_cell_backward"
        let outs = { [h] }, bouts = { [dpre, db] }
        rejects(fwd, "negative batch", outs) { gsq_rnn_cell_forward(-1, H, act, pre, nil, &h) }
        rejects(fwd, "negative hidden", outs) { gsq_rnn_cell_forward(B, -1, act, pre, nil, &h) }
        rejects(fwd, "overflowing size", outs) { gsq_rnn_cell_forward(1 << 40, 1 << 40, act, pre, nil, &h) }
        rejects(fwd, "bad activation", outs) { gsq_rnn_cell_forward(B, H, bad, pre, nil, &h) }
        rejects(fwd, "negative activation", outs) { gsq_rnn_cell_forward(B, H, negative, pre, nil, &h) }
        rejects(fwd, "NULL pre", outs) { gsq_rnn_cell_forward(B, H, act, nil, nil, &h) }
        rejects(fwd, "NULL h", outs) { gsq_rnn_cell_forward(B, H, act, pre, nil, nil) }
        rejects(bwd, "negative batch", bouts) { gsq_rnn_cell_backward(-1, H, act, pre, pre, &dpre, &db) }
        rejects(bwd, "overflowing size", bouts) { gsq_rnn_cell_backward(1 << 40, 1 << 40, act, pre, pre, &dpre, &db) }
        rejects(bwd, "bad activation", bouts) { gsq_rnn_cell_backward(B, H, bad, pre, pre, &dpre, &db) }
        rejects(bwd, "NULL h", bouts) { gsq_rnn_cell_backward(B, H, act, nil, pre, &dpre, &db) }
        rejects(bwd, "NULL dh", bouts) { gsq_rnn_cell_backward(B, H, act, pre, nil, &dpre, &db) }
        rejects(bwd, "NULL dpre", bouts) { gsq_rnn_cell_backward(B, H, act, pre, pre, nil, &db) }
        XCTAssertEqual(gsq_rnn_cell_forward(B, H, act, pre, nil, &h), GSQ_SUCCESS, "the valid forward")
        XCTAssertEqual(gsq_rnn_cell_backward(B, H, act, pre, pre, &dpre, &db), GSQ_SUCCESS, "the valid backward")
    }

    func testSwiftWrappersValidateShapesAndAliasing() throws {
        let (batch, hidden) = (2, 3)
        let gates = Tensor.zeros([batch, 4 * hidden]), c = Tensor.zeros([batch, hidden])
        let h = Tensor.zeros([batch, hidden])
        let bad: [(String, () throws -> Void)] = [
            ("gates width", { try LSTMCell.forward(gates: Tensor.zeros([batch, 3 * hidden]), c: c, h: h) }),
            ("c rank", { try LSTMCell.forward(gates: gates, c: Tensor.zeros([batch * hidden]), h: h) }),
            ("bias count", { try LSTMCell.forward(gates: gates, bias: Tensor.zeros([3 * hidden]), c: c, h: h) }),
            ("missing peephole", { try LSTMCell.forward(gates: gates, c: c, h: h, options: .peephole) }),
            ("c is h", { try LSTMCell.forward(gates: gates, c: c, h: c) }),
            ("dgates is gates", {
                try LSTMCell.backward(gates: gates, c: c, dh: h, dgates: gates)
            }),
            ("gh batch", {
                try GRUCell.forward(gx: Tensor.zeros([batch, 3 * hidden]), gh: Tensor.zeros([1, 3 * hidden]), h: h)
            }),
            ("rh shape", { try GRUCell.gatesForward(gates: Tensor.zeros([batch, 3 * hidden]), rh: gates) }),
            ("dhPrev is dh", {
                try GRUCell.outputBackward(gates: Tensor.zeros([batch, 3 * hidden]), dh: h,
                                           dgates: Tensor.zeros([batch, 3 * hidden]), dhPrev: h)
            }),
            ("rnn pre", { try RNNCell.forward(pre: Tensor.zeros([batch, hidden + 1]), h: h) }),
            ("rnn dh shape", {
                try RNNCell.backward(h: c, dh: Tensor.zeros([hidden, 1]), dpre: h,
                                     dbias: Tensor.zeros([hidden]))
            }),
        ]
        h.fill(7)
        for (what, call) in bad {
            XCTAssertThrowsError(try call(), what) { error in
                guard case GraphSeqError.invalidArgument(let m)? = error as? GraphSeqError else {
                    return XCTFail("\(what): \(error)")
                }
                XCTAssertFalse(m.isEmpty, what)
            }
        }
        XCTAssertEqual(h.values, [Float](repeating: 7, count: batch * hidden), "nothing was written")
        XCTAssertEqual(LSTMCell.Options.peephole.rawValue, GSQ_LSTM_PEEPHOLE)
        XCTAssertEqual(LSTMCell.Options.coupled.rawValue, GSQ_LSTM_COUPLED)
    }
}

// MARK: - Running the cells

// Inputs are turned into float tensors once per case (conversions are slow
// in debug builds); the in-place gate tensors are copied for each run.

private struct LSTMTensors {
    let pre: Tensor
    let bias, peephole, cPrev: Tensor?
    init(_ x: CellReference.LSTMInputs) {
        let (B, H) = (x.batch, x.hidden)
        pre = tensor(x.pre, [B, 4 * H])
        bias = x.bias.map { tensor($0, [4 * H]) }
        peephole = x.weights.map { tensor($0, [3 * H]) }
        cPrev = x.cPrev.map { tensor($0, [B, H]) }
    }
}

private struct LSTMRun { let gates, c, h: Tensor; let peephole, cPrev: Tensor? }

private func lstmForward(_ x: LSTMTensors, _ options: LSTMCell.Options) throws -> LSTMRun {
    let (B, H) = (x.pre.shape[0], x.pre.shape[1] / 4)
    let run = LSTMRun(gates: x.pre.copy(), c: nanTensor([B, H]), h: nanTensor([B, H]),
                      peephole: x.peephole, cPrev: x.cPrev)
    try LSTMCell.forward(gates: run.gates, bias: x.bias, peephole: run.peephole, cPrev: run.cPrev,
                         c: run.c, h: run.h, options: options)
    return run
}

private struct GRUTensors {
    let gx, gh: Tensor
    let inputBias, hiddenBias, hPrev: Tensor?
    init(_ x: CellReference.GRUInputs) {
        let (B, H) = (x.batch, x.hidden)
        (gx, gh) = (tensor(x.gx, [B, 3 * H]), tensor(x.gh, [B, 3 * H]))
        inputBias = x.inputBias.map { tensor($0, [3 * H]) }
        hiddenBias = x.hiddenBias.map { tensor($0, [3 * H]) }
        hPrev = x.hPrev.map { tensor($0, [B, H]) }
    }
}

private struct GRURun { let gx, gh, h: Tensor; let hPrev: Tensor? }

private func gruForward(_ x: GRUTensors) throws -> GRURun {
    let run = GRURun(gx: x.gx.copy(), gh: x.gh.copy(), h: nanTensor([x.gx.shape[0], x.gx.shape[1] / 3]),
                     hPrev: x.hPrev)
    try GRUCell.forward(gx: run.gx, gh: run.gh, inputBias: x.inputBias, hiddenBias: x.hiddenBias,
                        hPrev: run.hPrev, h: run.h)
    return run
}

private struct RBInputs { var batch, hidden: Int; var pre: [Double]; var bias, hPrev: [Double]? }

private struct RBTensors {
    let pre: Tensor
    let bias, hPrev: Tensor?
    init(_ x: RBInputs) {
        pre = tensor(x.pre, [x.batch, 3 * x.hidden])
        bias = x.bias.map { tensor($0, [3 * x.hidden]) }
        hPrev = x.hPrev.map { tensor($0, [x.batch, x.hidden]) }
    }
}

private struct RBRun { let gates, rh, h: Tensor; let hPrev: Tensor?; let afterPhase1: [Float] }

/// Both forward phases on `pre` as given (the test's n slot stands for
/// W_n x + U_n rh).
private func rbForward(_ x: RBTensors) throws -> RBRun {
    let gates = x.pre.copy()
    let rh = nanTensor([gates.shape[0], gates.shape[1] / 3]), h = nanTensor(rh.shape)
    try GRUCell.gatesForward(gates: gates, bias: x.bias, hPrev: x.hPrev, rh: rh)
    let afterPhase1 = gates.values
    try GRUCell.outputForward(gates: gates, bias: x.bias, hPrev: x.hPrev, h: h)
    return RBRun(gates: gates, rh: rh, h: h, hPrev: x.hPrev, afterPhase1: afterPhase1)
}

/// A whole reset-before-product step in double, with a dense U_n.
private struct RBStep {
    var batch, hidden: Int
    var pre, hPrev, bias: [Double]  // pre: r, z pre-activations and W_n x
    var u: [Double]                 // hidden x hidden

    /// rh U_n (rows of rh times U).
    func timesU(_ rh: [Double]) -> [Double] {
        (0..<batch * hidden).map { s in
            let (b, j) = (s / hidden, s % hidden)
            return (0..<hidden).reduce(0) { $0 + rh[b * hidden + $1] * u[$1 * hidden + j] }
        }
    }

    /// dn U_n^T.
    func timesUTransposed(_ dn: [Double]) -> [Double] {
        (0..<batch * hidden).map { s in
            let (b, k) = (s / hidden, s % hidden)
            return (0..<hidden).reduce(0) { $0 + dn[b * hidden + $1] * u[k * hidden + $1] }
        }
    }

    func forward() -> [Double] {
        let (gates, rh) = CellReference.gruRBGatesForward(batch: batch, hidden: hidden, pre: pre, bias: bias,
                                                          hPrev: hPrev)
        var full = pre
        let product = timesU(rh)
        for b in 0..<batch { for j in 0..<hidden { full[b * 3 * hidden + 2 * hidden + j] += product[b * hidden + j] } }
        return CellReference.gruRBOutputForward(batch: batch, hidden: hidden, pre: full, zs: gates, bias: bias,
                                                hPrev: hPrev).h
    }
}

// MARK: - Inputs

/// Pre-activations: mostly moderate, one in five saturating (up to ±30).
private func preActivations(_ rng: inout TestRNG, _ n: Int, saturating: Bool = true) -> [Double] {
    (0..<n).map { _ in Double(saturating && rng.int(5) == 0 ? rng.float(-30, 30) : rng.float(-3, 3)) }
}

private func uniform(_ rng: inout TestRNG, _ n: Int, _ low: Float = -1, _ high: Float = 1) -> [Double] {
    rng.floats(n, low, high).map(Double.init)
}

private func lstmInputs(_ rng: inout TestRNG, _ batch: Int, _ hidden: Int, _ options: LSTMCell.Options,
                        optionals: Bool, saturating: Bool = true) -> CellReference.LSTMInputs {
    CellReference.LSTMInputs(batch: batch, hidden: hidden, peephole: options.contains(.peephole),
                             coupled: options.contains(.coupled),
                             pre: preActivations(&rng, batch * 4 * hidden, saturating: saturating),
                             bias: optionals ? uniform(&rng, 4 * hidden) : nil,
                             weights: options.contains(.peephole) ? uniform(&rng, 3 * hidden) : nil,
                             cPrev: optionals ? uniform(&rng, batch * hidden, -2, 2) : nil)
}

private func gruInputs(_ rng: inout TestRNG, _ batch: Int, _ hidden: Int, optionals: Bool,
                       saturating: Bool = true) -> CellReference.GRUInputs {
    CellReference.GRUInputs(batch: batch, hidden: hidden,
                            gx: preActivations(&rng, batch * 3 * hidden, saturating: saturating),
                            gh: preActivations(&rng, batch * 3 * hidden, saturating: saturating),
                            inputBias: optionals ? uniform(&rng, 3 * hidden) : nil,
                            hiddenBias: optionals ? uniform(&rng, 3 * hidden) : nil,
                            hPrev: optionals ? uniform(&rng, batch * hidden) : nil)
}

private func rbInputs(_ rng: inout TestRNG, _ batch: Int, _ hidden: Int, optionals: Bool) -> RBInputs {
    RBInputs(batch: batch, hidden: hidden, pre: preActivations(&rng, batch * 3 * hidden),
             bias: optionals ? uniform(&rng, 3 * hidden) : nil,
             hPrev: optionals ? uniform(&rng, batch * hidden) : nil)
}

// MARK: - Helpers

extension CellTests {
    private func shapes(hiddens: [Int]? = nil) -> [(Int, Int)] {
        batches.flatMap { b in (hiddens ?? self.hiddens).map { (b, $0) } }
    }

    /// Runs `body` under every ISA cap and thread count: its result (or the
    /// `compareOnly` part of it) must be within tolerance of `expected`, and
    /// all of it bitwise identical across the thread counts of one ISA.
    private func sweep(_ label: String, _ expected: [Double], _ tol: (rtol: Double, atol: Double),
                       _ body: () throws -> [Float],
                       compareOnly: ([Float]) -> ArraySlice<Float> = { $0[...] }) throws {
        var first: [ISA: [Float]] = [:]
        try forEachConfiguration { isa, threads in
            let got = try body()
            if let base = first[isa] {
                if !bitwiseEqual(base, got) {  // (firstBitwiseDifference is slow in debug builds)
                    XCTFail("\(label) \(isa) threads \(threads): \(firstBitwiseDifference(base, got) ?? "")")
                }
            } else {
                first[isa] = got
                let ratio = toleranceRatio(Array(compareOnly(got)), expected, rtol: tol.rtol, atol: tol.atol)
                XCTAssertLessThanOrEqual(ratio, 1, "\(label) \(isa): worst error / tolerance")
            }
        }
    }

    /// Runs `body` (returning a tolerance ratio) under every ISA cap.
    private func forEachISA(_ label: String, _ body: () throws -> Double) throws {
        for isa in testISAs {
            let ratio = try Runtime.with(maxISA: isa) { try body() }
            XCTAssertLessThanOrEqual(ratio, 1, "\(label) \(isa): worst error / tolerance")
        }
    }

    /// Checks that `call` fails with GSQ_ERR_INVALID_ARGUMENT and a fresh
    /// message naming `fn`, and that the arrays `outputs` returns kept their
    /// contents.
    private func rejects(_ fn: String, _ what: String, _ outputs: () -> [[Float]], _ call: () -> gsq_status_t,
                         file: StaticString = #filePath, line: UInt = #line) {
        let before = outputs()
        gsq_set_num_threads(-1)  // leaves a message that does not name fn
        XCTAssertEqual(call(), GSQ_ERR_INVALID_ARGUMENT, "\(fn): \(what)", file: file, line: line)
        let message = String(cString: gsq_last_error())
        XCTAssertTrue(message.contains(fn), "\(fn): \(what): message '\(message)'", file: file, line: line)
        for (b, a) in zip(before, outputs()) {
            XCTAssertNil(firstBitwiseDifference(b, a), "\(fn): \(what) wrote an output", file: file, line: line)
        }
    }
}

private func tensor(_ values: [Double], _ shape: [Int]) -> Tensor {
    try! Tensor(shape: shape, values: values.map { Float($0) })
}

/// An output tensor filled with NaN, so anything left unwritten shows.
private func nanTensor(_ shape: [Int]) -> Tensor {
    let t = Tensor.zeros(shape)
    t.fill(.nan)
    return t
}

/// Gate `k` of `count` side by side in rows of count * hidden.
private func slot<T>(_ a: [T], _ k: Int, of count: Int, _ hidden: Int) -> [T] {
    guard hidden > 0 else { return [] }
    let rows = a.count / (count * hidden)
    return (0..<rows).flatMap { (b: Int) -> ArraySlice<T> in
        let start = (b * count + k) * hidden
        return a[start..<start + hidden]
    }
}

/// The inverse of `slot`: gates [batch][hidden] each, side by side per row.
private func interleave(_ gates: [[Double]], _ hidden: Int) -> [Double] {
    guard hidden > 0 else { return [] }
    let rows = gates[0].count / hidden
    return (0..<rows).flatMap { (b: Int) -> [Double] in gates.flatMap { $0[b * hidden..<(b + 1) * hidden] } }
}

private func add(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map(+) }

private func bitwiseEqual(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0 } }
}

private func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

/// Central differences of `loss` with respect to each element at `path`.
private func numericGradient<T>(_ x: T, _ path: WritableKeyPath<T, [Double]>, step: Double = 1e-6,
                                _ loss: (T) -> Double) -> [Double] {
    (0..<x[keyPath: path].count).map { k in
        var plus = x, minus = x
        plus[keyPath: path][k] += step
        minus[keyPath: path][k] -= step
        return (loss(plus) - loss(minus)) / (2 * step)
    }
}
