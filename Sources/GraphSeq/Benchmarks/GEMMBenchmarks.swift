extension KernelBenchmarks {
    /// SGEMM on the shapes of the design notes: square, a GCRN step (n = 198
    /// has a partial tile column, n = 192 none) and an LSTM-sized projection.
    /// 2 m n k flops per call.
    static func gemm(_ ctx: BenchmarkContext, _ emit: (BenchmarkRecord) -> Void) throws {
        let shapes: [(m: Int, n: Int, k: Int)] = ctx.quick
            ? [(256, 256, 256), (331, 66, 128)]
            : [(2048, 2048, 2048), (13248, 198, 256), (13248, 192, 256), (2048, 512, 1024)]
        for (m, n, k) in shapes {
            let a = Tensor.uniform([m, k], seed: 1)
            let b = Tensor.uniform([k, n], seed: 2)
            let c = Tensor.zeros([m, n])
            let ms = try ctx.medianMs { try GraphSeq.gemm(a, b, into: c) }
            emit(ctx.compute("sgemm_\(m)x\(n)x\(k)", flops: 2 * Double(m) * Double(n) * Double(k),
                             medianMs: ms))
        }
    }
}
