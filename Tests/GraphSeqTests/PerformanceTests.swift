import GraphSeq
import XCTest

/// Runs the kernel and layer benchmarks under `swift test` and prints their JSON lines.
/// Quick shapes by default; GRAPHSEQ_BENCH_FULL=1 runs the full shapes (use a
/// release build: `swift test -c release --filter PerformanceTests`). Only the
/// records' form is asserted, never a time: CI machines are noisy.
final class PerformanceTests: XCTestCase {
    func testKernelBenchmarks() throws {
        try check { try KernelBenchmarks.run($0, emit: $1) }
    }

    func testLayerBenchmarks() throws {
        try check { try KernelBenchmarks.runLayers($0, emit: $1) }
    }

    func testFamilySelection() throws {
        let ctx = try BenchmarkContext.measure(quick: true)
        var names: [String] = []
        try KernelBenchmarks.run(ctx, only: ["gemm"]) { names.append($0.name) }
        XCTAssertFalse(names.isEmpty)
        XCTAssertTrue(names.allSatisfy { $0.hasPrefix("sgemm_") }, "only the gemm family runs: \(names)")
        XCTAssertEqual(KernelBenchmarks.layerFamilyNames, ["sequence", "graph", "gcrn"])
    }

    private func check(_ suite: (BenchmarkContext, (BenchmarkRecord) -> Void) throws -> Void) throws {
        let full = ProcessInfo.processInfo.environment["GRAPHSEQ_BENCH_FULL"] == "1"
        let ctx = try BenchmarkContext.measure(quick: !full)
        XCTAssertGreaterThan(ctx.fmaPeakGFLOPS, 0)
        XCTAssertGreaterThan(ctx.bandwidthGBps, 0)
        var records: [BenchmarkRecord] = []
        try suite(ctx) { record in
            print(record.jsonLine)
            records.append(record)
        }
        XCTAssertFalse(records.isEmpty)
        XCTAssertEqual(Set(records.map(\.name)).count, records.count, "benchmark names are unique")
        for r in records {
            XCTAssertTrue(r.median_ms.isFinite && r.median_ms > 0, r.jsonLine)
            XCTAssertTrue(r.peak_ratio.isFinite && r.peak_ratio > 0, r.jsonLine)
            XCTAssertTrue((r.gflops ?? r.gbps).map { $0 > 0 } ?? false, "a rate is reported: \(r.jsonLine)")
            XCTAssertTrue(r.name.contains(where: \.isNumber), "the name carries the shape: \(r.name)")
        }
    }
}
