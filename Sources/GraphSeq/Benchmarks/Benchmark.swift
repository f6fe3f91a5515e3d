/// One benchmark result, printed as one JSON object per line by
/// `graphseq bench`. Ratios are against this machine's own FMA peak or memory
/// bandwidth, measured in the same run.
public struct BenchmarkRecord: Sendable {
    /// What ran, with its shape, e.g. `sgemm_2048x2048x2048`.
    public var name: String
    public var threads: Int
    public var isa: String
    public var median_ms: Double
    public var gflops: Double?
    public var gbps: Double?
    /// gflops / FMA peak, or gbps / STREAM-triad bandwidth.
    public var peak_ratio: Double
    /// Optional comparison, e.g. `"baseline": "spmm_csr_N100000_deg16_F64"`.
    public var baseline: String?
    public var ratio_to_baseline: Double?
    /// For memory records: the resident-set growth of one run, in bytes.
    public var peak_bytes: Int?

    /// The record as one line of JSON (flat; absent optionals are omitted).
    public var jsonLine: String {
        var fields = [#""name":\#(jsonString(name))"#, #""threads":\#(threads)"#,
                      #""isa":\#(jsonString(isa))"#, #""median_ms":\#(jsonNumber(median_ms))"#]
        if let gflops { fields.append(#""gflops":\#(jsonNumber(gflops))"#) }
        if let gbps { fields.append(#""gbps":\#(jsonNumber(gbps))"#) }
        fields.append(#""peak_ratio":\#(jsonNumber(peak_ratio))"#)
        if let baseline { fields.append(#""baseline":\#(jsonString(baseline))"#) }
        if let ratio_to_baseline { fields.append(#""ratio_to_baseline":\#(jsonNumber(ratio_to_baseline))"#) }
        if let peak_bytes { fields.append(#""peak_bytes":\#(peak_bytes)"#) }
        return "{" + fields.joined(separator: ",") + "}"
    }
}

/// A JSON string literal, escaping quotes, backslashes and control characters.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where u.value < 0x20: out += "\\u00" + (u.value < 0x10 ? "0" : "") + String(u.value, radix: 16)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

/// A JSON number; non-finite values (which JSON cannot hold) become null.
func jsonNumber(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }

/// Machine figures and settings shared by all benchmarks of one run.
public struct BenchmarkContext: Sendable {
    /// fp32 FMA peak, GFLOP/s, one thread, active ISA (`peak_ratio` for compute).
    public let fmaPeakGFLOPS: Double
    /// STREAM-triad bandwidth, GB/s, current thread count (`peak_ratio` for memory).
    public let bandwidthGBps: Double
    /// Small shapes and few repetitions (for tests); the full run uses the
    /// shapes named in the design notes.
    public let quick: Bool
    public let repetitions: Int

    /// Measures the machine figures now.
    public static func measure(quick: Bool) throws -> BenchmarkContext {
        BenchmarkContext(
            fmaPeakGFLOPS: try Runtime.measureFMAPeak(seconds: quick ? 0.05 : 0.5),
            bandwidthGBps: try Runtime.measureStreamTriad(
                bytesPerArray: quick ? 8 << 20 : 128 << 20, seconds: quick ? 0.05 : 0.5),
            quick: quick,
            repetitions: quick ? 3 : 9)
    }

    /// A compute-bound record: `flops` per call, ratio to the FMA peak scaled by
    /// the thread count.
    public func compute(_ name: String, flops: Double, medianMs: Double) -> BenchmarkRecord {
        let g = flops / (medianMs * 1e6)
        return BenchmarkRecord(name: name, threads: Runtime.threadCount, isa: Runtime.isa.description,
                               median_ms: medianMs, gflops: g, gbps: nil,
                               peak_ratio: g / (fmaPeakGFLOPS * Double(Runtime.threadCount)))
    }

    /// A memory-bound record: `bytes` moved per call, ratio to STREAM triad.
    public func memory(_ name: String, bytes: Double, medianMs: Double) -> BenchmarkRecord {
        let g = bytes / (medianMs * 1e6)
        return BenchmarkRecord(name: name, threads: Runtime.threadCount, isa: Runtime.isa.description,
                               median_ms: medianMs, gflops: nil, gbps: g,
                               peak_ratio: g / bandwidthGBps)
    }

    /// Median wall time of `body` in milliseconds, after one warm-up call.
    public func medianMs(_ body: () throws -> Void) throws -> Double {
        try withoutActuallyEscaping(body) { try medianMs([$0])[0] }
    }

    /// Median wall times of several bodies timed in alternation, after one
    /// warm-up call each: on a machine whose speed drifts, their ratio is
    /// fairer than that of medians taken one after the other.
    public func medianMs(_ bodies: [() throws -> Void]) throws -> [Double] {
        for body in bodies { try body() }
        var times = Array(repeating: [Double](), count: bodies.count)
        let clock = ContinuousClock()
        for _ in 0..<repetitions {
            for (i, body) in bodies.enumerated() {
                let d = try clock.measure(body)
                times[i].append(Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15)
            }
        }
        return times.map { $0.sorted()[$0.count / 2] }
    }
}

/// The kernel benchmarks behind `graphseq bench kernels`.
public enum KernelBenchmarks {
    typealias Family = (name: String, run: @Sendable (BenchmarkContext, (BenchmarkRecord) -> Void) throws -> Void)

    /// The kernel families, by name: `gemm`, `sparse`, `cells`.
    static let kernelFamilies: [Family] = [("gemm", gemm), ("sparse", sparse), ("cells", cells)]

    /// The layer families (`graphseq bench layers`) at the DESIGN.md shapes:
    /// `sequence` (LSTM/GRU), `graph` (ChebConv/GCNConv), `gcrn`.
    static let layerFamilies: [Family] = [("sequence", sequenceLayers), ("graph", graphLayers), ("gcrn", gcrnLayers)]

    public static var kernelFamilyNames: [String] { kernelFamilies.map(\.name) }
    public static var layerFamilyNames: [String] { layerFamilies.map(\.name) }

    /// Runs the kernel families named in `only` (nil: all), calling `emit`
    /// once per result.
    public static func run(_ ctx: BenchmarkContext, only: [String]? = nil,
                           emit: (BenchmarkRecord) -> Void) throws {
        try run(kernelFamilies, only, ctx, emit)
    }

    /// Runs the layer families named in `only` (nil: all).
    public static func runLayers(_ ctx: BenchmarkContext, only: [String]? = nil,
                                 emit: (BenchmarkRecord) -> Void) throws {
        try run(layerFamilies, only, ctx, emit)
    }

    private static func run(_ families: [Family], _ only: [String]?, _ ctx: BenchmarkContext,
                            _ emit: (BenchmarkRecord) -> Void) throws {
        for family in families where only?.contains(family.name) ?? true { try family.run(ctx, emit) }
    }
}
