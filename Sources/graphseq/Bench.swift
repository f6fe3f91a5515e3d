import ArgumentParser
import GraphSeq

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print one JSON object per line.",
        discussion: """
            Each line has name (with the shape), threads, isa, median_ms, gflops or \
            gbps, and peak_ratio against this machine's FMA peak or STREAM-triad \
            bandwidth, both measured at the start of the same run (printed first). \
            scripts/peers.py prints the PyTorch peers' lines under the same names; \
            scripts/compare runs both in alternating rounds and tabulates the \
            speed-up of each round.
            """,
        subcommands: [Kernels.self, Layers.self]
    )

    /// Options every benchmark takes.
    struct Options: ParsableArguments {
        @Flag(help: "Small shapes and few repetitions (a smoke test).")
        var quick = false

        @Option(help: "Threads per kernel call (default: GRAPHSEQ_NUM_THREADS or all CPUs).")
        var threads: Int?

        @Option(help: "Highest ISA to use: generic, avx2 or avx512.")
        var maxISA: String?

        /// Applies the runtime options, measures the machine and prints it first.
        func context() throws -> BenchmarkContext {
            try applyRuntimeOptions(threads: threads, maxISA: maxISA)
            let ctx = try BenchmarkContext.measure(quick: quick)
            print(#"{"name":"machine","isa":"\#(Runtime.isa)","threads":\#(Runtime.threadCount),"#
                + #""fma_peak_gflops":\#(ctx.fmaPeakGFLOPS),"stream_triad_gbps":\#(ctx.bandwidthGBps)}"#)
            return ctx
        }
    }

    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "GEMM, CSR SpMM, Chebyshev basis and fused cell kernels.")

        @OptionGroup var options: Options

        @Option(help: "Run only these families (comma-separated): \(KernelBenchmarks.kernelFamilyNames.joined(separator: ", ")).")
        var only: String?

        func run() throws {
            let families = try selectFamilies(only, from: KernelBenchmarks.kernelFamilyNames)
            try KernelBenchmarks.run(try options.context(), only: families) { print($0.jsonLine) }
        }
    }

    struct Layers: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "LSTM/GRU, ChebConv/GCNConv and GConvLSTM/GConvGRU layers, forward and forward+backward.",
            discussion: "Names carry the layer and shape, e.g. gconvlstm_fwdbwd_N207_B64_T12_F2_H64_K3.")

        @OptionGroup var options: Options

        @Option(help: "Run only these families (comma-separated): \(KernelBenchmarks.layerFamilyNames.joined(separator: ", ")).")
        var only: String?

        func run() throws {
            let families = try selectFamilies(only, from: KernelBenchmarks.layerFamilyNames)
            try KernelBenchmarks.runLayers(try options.context(), only: families) { print($0.jsonLine) }
        }
    }
}

/// The families a comma-separated --only names (nil: all), each checked.
func selectFamilies(_ only: String?, from known: [String]) throws -> [String]? {
    guard let only else { return nil }
    let names = only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    for name in names where !known.contains(name) {
        throw ValidationError("--only: unknown family '\(name)'; known: \(known.joined(separator: ", "))")
    }
    return names
}

/// Applies --threads and --max-isa, rejecting bad values with a clear message.
func applyRuntimeOptions(threads: Int?, maxISA: String?) throws {
    if let threads {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        try Runtime.setThreadCount(threads)
    }
    if let maxISA {
        guard let isa = ISA.allCases.first(where: { $0.description == maxISA.lowercased() }) else {
            throw ValidationError("--max-isa must be generic, avx2 or avx512, not '\(maxISA)'")
        }
        try Runtime.setMaxISA(isa)
    }
}
