internal import CGraphSeq

/// Instruction-set levels the kernels are compiled for.
public enum ISA: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// Portable C, always available.
    case generic = 0
    /// AVX2 with FMA.
    case avx2 = 1
    /// AVX-512 F/BW/DQ/VL.
    case avx512 = 2

    public var description: String { String(cString: gsq_isa_name(gsq_isa_t(UInt32(rawValue)))) }

    init(_ isa: gsq_isa_t) { self = ISA(rawValue: Int(isa.rawValue)) ?? .generic }
    var c: gsq_isa_t { gsq_isa_t(UInt32(rawValue)) }
}

/// Process-wide settings of the compute engine: threads, ISA cap, diagnostics.
public enum Runtime {
    /// The library's version, "major.minor.patch".
    public static var version: String { String(cString: gsq_version_string()) }

    /// Threads each kernel call uses. Setting 0 restores the default
    /// (`GRAPHSEQ_NUM_THREADS`, else the number of CPUs).
    public static func setThreadCount(_ n: Int) throws(GraphSeqError) {
        try require(n >= 0 && n <= 4096, "thread count \(n) is not in 0...4096")
        try check(gsq_set_num_threads(Int32(n)))
    }
    public static var threadCount: Int { Int(gsq_get_num_threads()) }

    /// The ISA kernels dispatch to now (the CPU's best, lowered by any cap).
    public static var isa: ISA { ISA(gsq_get_isa()) }
    /// The best ISA this CPU supports.
    public static var cpuISA: ISA { ISA(gsq_get_cpu_isa()) }
    /// The cap last set (`.avx512` when never capped).
    public static var maxISA: ISA { ISA(gsq_get_max_isa()) }
    /// Caps the ISA kernels may use, like `GRAPHSEQ_MAX_ISA`.
    public static func setMaxISA(_ isa: ISA) throws(GraphSeqError) { try check(gsq_set_max_isa(isa.c)) }

    /// 1 prints one line per kernel call to stderr, like `GRAPHSEQ_VERBOSE=1`.
    public static var verbose: Int {
        get { Int(gsq_get_verbose()) }
        set { gsq_set_verbose(Int32(newValue)) }
    }

    /// Calls with less work than this per thread use fewer threads (about one
    /// multiply-add per unit; default 262144): waking a team costs more than a
    /// small product gains. 0 always uses every thread. Results are the same.
    public static var minWorkPerThread: Int {
        get { Int(gsq_get_min_work_per_thread()) }
        set { _ = gsq_set_min_work_per_thread(Int64(max(0, newValue))) }
    }

    /// The most bytes of freed large tensor buffers (2 MiB and up) kept for
    /// reuse, so that training loops do not fault in fresh pages every step
    /// (default 512 MiB; 0 frees and keeps none).
    public static var tensorCacheLimit: Int {
        get { StorageCache.shared.limit }
        set { StorageCache.shared.limit = newValue }
    }

    /// The bytes of freed tensor buffers held for reuse now.
    public static var tensorCacheBytes: Int { StorageCache.shared.cachedBytes }

    /// Runs `body` with the given thread count and ISA cap, restoring both after.
    public static func with<T>(threads: Int? = nil, maxISA: ISA? = nil,
                               _ body: () throws -> T) throws -> T {
        let oldThreads = Int(gsq_get_num_threads()), oldCap = gsq_get_max_isa()
        defer {
            gsq_set_num_threads(Int32(oldThreads))
            gsq_set_max_isa(oldCap)
        }
        if let threads { try setThreadCount(threads) }
        if let maxISA { try setMaxISA(maxISA) }
        return try body()
    }

    /// Single-thread fp32 FMA peak of this machine with the active ISA, GFLOP/s.
    public static func measureFMAPeak(seconds: Double = 0.3) throws(GraphSeqError) -> Double {
        var g = 0.0
        try check(gsq_measure_fma_peak(seconds, &g))
        return g
    }

    /// STREAM-triad bandwidth over arrays of `bytesPerArray` bytes, GB/s.
    public static func measureStreamTriad(bytesPerArray: Int = 64 << 20,
                                          seconds: Double = 0.3) throws(GraphSeqError) -> Double {
        var g = 0.0
        try check(gsq_measure_stream_triad(bytesPerArray, seconds, &g))
        return g
    }
}
