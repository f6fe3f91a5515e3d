extension KernelBenchmarks {
    /// ChebConv (K = 3, sym, lambda_max 2) and GCNConv, 64 -> 64, forward and
    /// forward + backward on the DESIGN.md graph: N = 100000 nodes, 16 uniform
    /// random columns per row (2000 nodes in quick mode). The ChebConv forward
    /// is compared with its two kernels (basis + one GEMM) timed in the same run.
    static func graphLayers(_ ctx: BenchmarkContext, _ emit: (BenchmarkRecord) -> Void) throws {
        let n = ctx.quick ? 2000 : 100_000, degree = 16, f = 64, order = 3
        let graph = try randomBenchmarkGraph(nodes: n, degree: degree, seed: 0x5EED)
        let cheb = try ChebConv(inputSize: f, outputSize: f, order: order, lambdaMax: 2, seed: 1)
        let gcn = try GCNConv(inputSize: f, outputSize: f, seed: 2)
        let x = Tensor.uniform([n, f], seed: 3), dy = Tensor.uniform([n, f], seed: 4)
        let lhat = try cheb.graphOperator(for: graph)
        let basis = Tensor.zeros([n, order * f]), y = Tensor.zeros([n, f])
        let t = try ctx.medianMs([
            { _ = try cheb.forward(x, graph: graph) },
            { _ = try cheb.forward(x, graph: graph); _ = try cheb.backward(dy) },
            { try chebyshevBasis(of: x, operator: lhat, order: order, into: basis) },
            { try GraphSeq.gemm(basis, cheb.weight.value, into: y) },
            { _ = try gcn.forward(x, graph: graph) },
            { _ = try gcn.forward(x, graph: graph); _ = try gcn.backward(dy) },
        ])
        // Flops of the products: SpMM 2 nnz f per term, GEMM 2 n (K f) f;
        // backward doubles the GEMMs and repeats the SpMMs.
        let spmm = 2 * Double(graph.nonzeroCount) * Double(f), gemmFlops = 2 * Double(n * order * f * f)
        let chebFlops = Double(order - 1) * spmm + gemmFlops
        let gcnFlops = 2 * Double(graph.nonzeroCount + n) * Double(f) + 2 * Double(n * f * f)
        let shape = "N\(n)_F\(f)"
        var fwd = ctx.compute("chebconv_fwd_\(shape)_K\(order)", flops: chebFlops, medianMs: t[0])
        fwd.baseline = "cheb_basis_K\(order) + sgemm_\(n)x\(f)x\(order * f)"
        fwd.ratio_to_baseline = t[0] / (t[2] + t[3])
        emit(fwd)
        emit(ctx.compute("chebconv_fwdbwd_\(shape)_K\(order)", flops: 2 * chebFlops + gemmFlops, medianMs: t[1]))
        emit(ctx.compute("gcnconv_fwd_\(shape)", flops: gcnFlops, medianMs: t[4]))
        emit(ctx.compute("gcnconv_fwdbwd_\(shape)", flops: 2 * gcnFlops + 2 * Double(n * f * f), medianMs: t[5]))
    }

    /// n x n, `degree` distinct uniform random columns per row (SplitMix64),
    /// weights uniform in [0, 1).
    private static func randomBenchmarkGraph(nodes n: Int, degree: Int, seed: UInt64) throws -> Graph {
        var rng = SplitMix64(seed: seed)
        var offsets: [Int64] = [0], columns: [Int32] = [], values: [Float] = []
        var row = Set<Int32>()
        for _ in 0..<n {
            row.removeAll(keepingCapacity: true)
            while row.count < min(degree, n) { row.insert(Int32(rng.next() % UInt64(n))) }
            columns += row.sorted()
            for _ in 0..<row.count { values.append(rng.nextUnitFloat()) }
            offsets.append(Int64(columns.count))
        }
        return try Graph(rowCount: n, columnCount: n, rowOffsets: offsets, columnIndices: columns, values: values)
    }
}
