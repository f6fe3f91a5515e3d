extension KernelBenchmarks {
    /// GConvLSTM and GConvGRU forward and forward+backward on random
    /// geometric 8-NN graphs, the shapes of the design notes' peer table.
    /// GFLOP/s count the gate GEMMs and the Chebyshev SpMMs (2 flops per
    /// multiply-add; a backward does twice the forward's GEMM work and the
    /// same SpMM work; step 0 starts from zero states), ratio to the FMA peak.
    static func gcrnLayers(_ ctx: BenchmarkContext, _ emit: (BenchmarkRecord) -> Void) throws {
        struct Shape { let N, B, T, F, H, K: Int }
        let (small, large) = ctx.quick
            ? (Shape(N: 20, B: 2, T: 3, F: 2, H: 8, K: 3), Shape(N: 60, B: 2, T: 3, F: 2, H: 8, K: 3))
            : (Shape(N: 207, B: 64, T: 12, F: 2, H: 64, K: 3), Shape(N: 10000, B: 8, T: 12, F: 2, H: 32, K: 3))

        func flopCount(_ s: Shape, _ graph: Graph, lstm: Bool, backward: Bool) -> Double {
            // Step 0 starts from zeros: no recurrent products.
            let (gates, steps, recurrent) = (Double(lstm ? 4 : 3), Double(s.T), Double(s.T - 1))
            let gemm = 2 * Double(s.N * s.B * s.K * s.H) * gates * (steps * Double(s.F) + recurrent * Double(s.H))
            let spmm = 2 * Double(graph.nonzeroCount * (s.K - 1) * s.B)
                * (steps * Double(s.F) + recurrent * Double(s.H * (lstm ? 1 : 2)))
            return backward ? 3 * gemm + 2 * spmm : gemm + spmm
        }

        func run(_ s: Shape, lstm: Bool, backward: Bool) throws {
            let graph = try knnGraph(nodes: s.N, neighbors: 8, seed: 1)
            let layer: any GraphSequenceLayer = lstm
                ? try GConvLSTM(inputSize: s.F, hiddenSize: s.H, order: s.K, lambdaMax: 2, seed: 2)
                : try GConvGRU(inputSize: s.F, hiddenSize: s.H, order: s.K, lambdaMax: 2, seed: 2)
            let x = Tensor.uniform([s.T, s.N, s.B, s.F], seed: 3)
            let dy = Tensor.uniform([s.T, s.N, s.B, s.H], seed: 4)
            let ms = try ctx.medianMs {
                _ = try layer.forward(x, graph: graph, initialState: nil)
                if backward { _ = try layer.backward(dy, stateGradient: nil) }
            }
            let flops = flopCount(s, graph, lstm: lstm, backward: backward)
            let name = "\(lstm ? "gconvlstm" : "gconvgru")_\(backward ? "fwdbwd" : "fwd")"
                + "_N\(s.N)_B\(s.B)_T\(s.T)_F\(s.F)_H\(s.H)_K\(s.K)"
            emit(ctx.compute(name, flops: flops, medianMs: ms))
        }

        // One training step's memory first, before the other runs warm the heap.
        let s = small
        let graph = try knnGraph(nodes: s.N, neighbors: 8, seed: 1)
        let x = Tensor.uniform([s.T, s.N, s.B, s.F], seed: 3), dy = Tensor.uniform([s.T, s.N, s.B, s.H], seed: 4)
        var step = Duration.zero
        let bytes = try peakResidentGrowth {
            step = try ContinuousClock().measure {
                let layer = try GConvLSTM(inputSize: s.F, hiddenSize: s.H, order: s.K, lambdaMax: 2, seed: 2)
                _ = try layer.forward(x, graph: graph, initialState: nil)
                _ = try layer.backward(dy, stateGradient: nil)
            }
        }
        let stepMs = Double(step.components.seconds) * 1e3 + Double(step.components.attoseconds) * 1e-15
        if let bytes {
            var record = ctx.compute("gconvlstm_train_peakmem_N\(s.N)_B\(s.B)_T\(s.T)_F\(s.F)_H\(s.H)_K\(s.K)",
                                     flops: flopCount(s, graph, lstm: true, backward: true), medianMs: stepMs)
            record.peak_bytes = bytes
            emit(record)
        }

        for shape in [small, large] {
            for lstm in [true, false] {
                for backward in [false, true] { try run(shape, lstm: lstm, backward: backward) }
            }
        }
    }
}
