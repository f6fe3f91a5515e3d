import ArgumentParser
import GraphSeq

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print one JSON object per line.",
        subcommands: [Kernels.self]
    )

    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "GEMM, CSR SpMM, Chebyshev basis and fused cell kernels.",
            discussion: """
                Each line has name (with the shape), threads, isa, median_ms, gflops or \
                gbps, and peak_ratio against this machine's FMA peak or STREAM-triad \
                bandwidth, both measured at the start of the same run (printed first).
                """)

        @Flag(help: "Small shapes and few repetitions (a smoke test).")
        var quick = false

        @Option(help: "Threads per kernel call (default: GRAPHSEQ_NUM_THREADS or all CPUs).")
        var threads: Int?

        @Option(help: "Highest ISA to use: generic, avx2 or avx512.")
        var maxISA: String?

        func run() throws {
            try applyRuntimeOptions(threads: threads, maxISA: maxISA)
            let ctx = try BenchmarkContext.measure(quick: quick)
            print(#"{"name":"machine","isa":"\#(Runtime.isa)","threads":\#(Runtime.threadCount),"#
                + #""fma_peak_gflops":\#(ctx.fmaPeakGFLOPS),"stream_triad_gbps":\#(ctx.bandwidthGBps)}"#)
            try KernelBenchmarks.run(ctx) { print($0.jsonLine) }
        }
    }
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
