extension KernelBenchmarks {
    /// The fused recurrent cells. They are memory-bound, so each record is
    /// GB/s against STREAM triad, counting every buffer read once plus every
    /// buffer written once (an in-place buffer twice). The full shape,
    /// batch 4096 x hidden 512, puts the buffers well beyond the caches.
    static func cells(_ ctx: BenchmarkContext, _ emit: (BenchmarkRecord) -> Void) throws {
        let (B, H) = ctx.quick ? (64, 128) : (4096, 512)
        let shape = "B\(B)_H\(H)"
        let state = Double(B * H) * 4, vector = Double(H) * 4  // bytes of one [B, H] buffer, one [H]
        func record(_ name: String, states: Double, vectors: Double, _ body: () throws -> Void) throws {
            emit(ctx.memory("\(name)_\(shape)", bytes: states * state + vectors * vector,
                            medianMs: try ctx.medianMs(body)))
        }
        func uniform(_ shape: [Int], _ seed: UInt64, _ low: Float = -1, _ high: Float = 1) -> Tensor {
            Tensor.uniform(shape, low: low, high: high, seed: seed)
        }

        do {
            // Forward overwrites the gates with activations in (0, 1), which
            // stay in range when fed back: every repetition does the same work.
            let gates = uniform([B, 4 * H], 1), bias = uniform([4 * H], 2), peephole = uniform([3 * H], 3)
            let cPrev = uniform([B, H], 4), c = Tensor.zeros([B, H]), h = Tensor.zeros([B, H])
            let dh = uniform([B, H], 5), dc = uniform([B, H], 6)
            let dgates = Tensor.zeros([B, 4 * H]), dcPrev = Tensor.zeros([B, H])
            let dpeephole = Tensor.zeros([3 * H]), dbias = Tensor.zeros([4 * H])
            for options: LSTMCell.Options in [[], .peephole] {
                let name = options.isEmpty ? "lstm_cell" : "lstm_peephole_cell"
                let peep = options.isEmpty ? nil : peephole, dpeep = options.isEmpty ? nil : dpeephole
                // gates read and written, c_prev read, c and h written
                try record("\(name)_fwd", states: 11, vectors: options.isEmpty ? 4 : 7) {
                    try LSTMCell.forward(gates: gates, bias: bias, peephole: peep, cPrev: cPrev, c: c, h: h,
                                         options: options)
                }
                // gates, c_prev, c, dh, dc read; dgates, dc_prev written; dbias (dpeephole) updated
                try record("\(name)_bwd", states: 13, vectors: options.isEmpty ? 8 : 14) {
                    try LSTMCell.backward(gates: gates, peephole: peep, cPrev: cPrev, c: c, dh: dh, dc: dc,
                                          dgates: dgates, dcPrev: dcPrev, dpeephole: dpeep, dbias: dbias,
                                          options: options)
                }
            }
        }

        do {
            let gx = uniform([B, 3 * H], 7), gh = uniform([B, 3 * H], 8)
            let bih = uniform([3 * H], 9), bhh = uniform([3 * H], 10)
            let hPrev = uniform([B, H], 11), h = Tensor.zeros([B, H]), dh = uniform([B, H], 12)
            let dgx = Tensor.zeros([B, 3 * H]), dgh = Tensor.zeros([B, 3 * H]), dhPrev = Tensor.zeros([B, H])
            let dbih = Tensor.zeros([3 * H]), dbhh = Tensor.zeros([3 * H])
            // gx read and written, gh read (its n slot written), h_prev read, h written
            try record("gru_cell_fwd", states: 12, vectors: 6) {
                try GRUCell.forward(gx: gx, gh: gh, inputBias: bih, hiddenBias: bhh, hPrev: hPrev, h: h)
            }
            // gx, the n slot of gh, h_prev, dh read; dgx, dgh, dh_prev written
            try record("gru_cell_bwd", states: 13, vectors: 12) {
                try GRUCell.backward(gx: gx, gh: gh, hPrev: hPrev, dh: dh, dgx: dgx, dgh: dgh, dhPrev: dhPrev,
                                     dInputBias: dbih, dHiddenBias: dbhh)
            }

            let gates = uniform([B, 3 * H], 13), bias = uniform([3 * H], 14)
            let rh = Tensor.zeros([B, H]), dgates = Tensor.zeros([B, 3 * H]), dbias = Tensor.zeros([3 * H])
            // r and z slots read and written, h_prev read, rh written
            try record("gru_rb_gates_fwd", states: 6, vectors: 2) {
                try GRUCell.gatesForward(gates: gates, bias: bias, hPrev: hPrev, rh: rh)
            }
            // n slot read and written, z slot and h_prev read, h written
            try record("gru_rb_output_fwd", states: 5, vectors: 1) {
                try GRUCell.outputForward(gates: gates, bias: bias, hPrev: hPrev, h: h)
            }
            // z and n slots, h_prev, dh read; their dgates slots and dh_prev written
            try record("gru_rb_output_bwd", states: 7, vectors: 4) {
                try GRUCell.outputBackward(gates: gates, hPrev: hPrev, dh: dh, dgates: dgates, dhPrev: dhPrev,
                                           dbias: dbias)
            }
            // r slot, h_prev, drh read; the r slot of dgates written, dh_prev updated
            try record("gru_rb_gates_bwd", states: 6, vectors: 2) {
                try GRUCell.gatesBackward(gates: gates, hPrev: hPrev, drh: dh, dgates: dgates, dhPrev: dhPrev,
                                          dbias: dbias)
            }
        }

        do {
            let pre = uniform([B, H], 15), bias = uniform([H], 16), h = Tensor.zeros([B, H])
            let dh = uniform([B, H], 17), dpre = Tensor.zeros([B, H]), dbias = Tensor.zeros([H])
            try record("rnn_tanh_cell_fwd", states: 2, vectors: 1) {
                try RNNCell.forward(pre: pre, bias: bias, h: h)
            }
            try record("rnn_tanh_cell_bwd", states: 3, vectors: 2) {
                try RNNCell.backward(h: h, dh: dh, dpre: dpre, dbias: dbias)
            }
        }
    }
}
