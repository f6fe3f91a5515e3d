extension KernelBenchmarks {
    /// LSTM and GRU layers (one layer, one direction, full-length batch) at
    /// the DESIGN.md shape T=64 B=32 I=256 H=256, forward and
    /// forward+backward. `gflops` counts the GEMM work only (forward
    /// 2 T B gates H (I + H); backward twice that: dW and dx / dh_prev)
    /// over the whole wall time, so `peak_ratio` is the share of the FMA
    /// peak the layer sustains; the fused cells and copies add time but no
    /// counted flops.
    static func sequenceLayers(_ ctx: BenchmarkContext, _ emit: (BenchmarkRecord) -> Void) throws {
        let (T, B, I, H) = ctx.quick ? (4, 3, 8, 8) : (64, 32, 256, 256)
        let shape = "T\(T)_B\(B)_I\(I)_H\(H)"
        let x = Tensor.uniform([T, B, I], seed: 1), dy = Tensor.uniform([T, B, H], seed: 2)
        let layers: [(String, any SequenceLayer, Int)] = [
            ("lstm", try LSTM(inputSize: I, hiddenSize: H, seed: 3), 4),
            ("gru", try GRU(inputSize: I, hiddenSize: H, seed: 4), 3),
        ]
        for (name, layer, gates) in layers {
            let forwardFlops = 2 * Double(T * B * gates * H * (I + H))
            let forward = try ctx.medianMs { _ = try layer.forward(x, lengths: nil, initialState: nil) }
            emit(ctx.compute("\(name)_fwd_\(shape)", flops: forwardFlops, medianMs: forward))
            let both = try ctx.medianMs {
                _ = try layer.forward(x, lengths: nil, initialState: nil)
                _ = try layer.backward(dy, stateGradient: nil)
            }
            emit(ctx.compute("\(name)_fwdbwd_\(shape)", flops: 3 * forwardFlops, medianMs: both))
        }
    }
}
