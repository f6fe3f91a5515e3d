extension KernelBenchmarks {
    /// CSR SpMM (plain and transposed) and the Chebyshev basis on a seeded
    /// random graph: N nodes, 16 distinct uniform random columns per row,
    /// F = 64 features (N = 100000; 2000 in quick mode). The basis is
    /// compared with two SpMMs timed in the same run.
    static func sparse(_ ctx: BenchmarkContext, _ emit: (BenchmarkRecord) -> Void) throws {
        let n = ctx.quick ? 2000 : 100_000, degree = 16, features = 64
        let a = try randomGraph(nodes: n, degree: degree, seed: 0x5EED)
        let x = Tensor.uniform([n, features], seed: 1), y = Tensor.zeros([n, features])
        let shape = "N\(n)_deg\(degree)_F\(features)"
        // CSR arrays + one gathered row of x per nonzero + y.
        let nnz = Double(a.nonzeroCount), f = Double(features)
        let bytes = nnz * 8 + nnz * f * 4 + Double(n) * f * 4

        let basis = Tensor.zeros([n, 3 * features])
        try a.spmm(x, into: y, transpose: true)    // builds the cached transpose
        // Timed in alternation, so the basis-to-SpMM ratio sees one machine state.
        let t = try ctx.medianMs([
            { try a.spmm(x, into: y) },
            { try a.spmm(x, into: y, transpose: true) },
            { try chebyshevBasis(of: x, operator: a, order: 3, into: basis) },
        ])
        let (spmm, spmmT, cheb) = (t[0], t[1], t[2])
        emit(ctx.memory("spmm_csr_\(shape)", bytes: bytes, medianMs: spmm))
        emit(ctx.memory("spmm_csr_T_\(shape)", bytes: bytes, medianMs: spmmT))
        var record = ctx.memory("cheb_basis_K3_\(shape)", bytes: 2 * bytes, medianMs: cheb)
        record.baseline = "2x spmm_csr_\(shape)"
        record.ratio_to_baseline = cheb / (2 * spmm)
        emit(record)
    }

    /// n x n, `degree` distinct uniform random columns per row (SplitMix64).
    private static func randomGraph(nodes n: Int, degree: Int, seed: UInt64) throws -> Graph {
        var rng = SplitMix64(seed: seed)
        var offsets: [Int64] = [0], columns: [Int32] = [], values: [Float] = []
        offsets.reserveCapacity(n + 1)
        columns.reserveCapacity(n * degree)
        values.reserveCapacity(n * degree)
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
