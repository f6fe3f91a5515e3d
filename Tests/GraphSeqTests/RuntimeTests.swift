import CGraphSeq
import Foundation
import GraphSeq
import XCTest

final class RuntimeTests: XCTestCase {
    func testVersionMatchesHeader() {
        XCTAssertEqual(gsq_version(), GSQ_VERSION_MAJOR * 10000 + GSQ_VERSION_MINOR * 100 + GSQ_VERSION_PATCH)
        XCTAssertEqual(Runtime.version, "\(GSQ_VERSION_MAJOR).\(GSQ_VERSION_MINOR).\(GSQ_VERSION_PATCH)")
    }

    func testStatusStringsAndLastErrorAreNeverNull() {
        let all: [gsq_status_t] = [GSQ_SUCCESS, GSQ_ERR_INVALID_ARGUMENT, GSQ_ERR_OUT_OF_MEMORY,
                                   GSQ_ERR_INVALID_GRAPH, GSQ_ERR_UNSUPPORTED, GSQ_ERR_NOT_CONVERGED,
                                   GSQ_ERR_INTERNAL, gsq_status_t(rawValue: -12345)]
        let names = all.map { String(cString: gsq_status_string($0)) }
        XCTAssertEqual(Set(names).count, names.count, "each status has its own description")
        XCTAssertEqual(names.last, "unknown status")
        XCTAssertNotNil(gsq_last_error())
    }

    func testThreadCountSetting() throws {
        let before = gsq_get_num_threads()
        defer { gsq_set_num_threads(before) }
        XCTAssertEqual(gsq_set_num_threads(3), GSQ_SUCCESS)
        XCTAssertEqual(gsq_get_num_threads(), 3)
        XCTAssertEqual(gsq_set_num_threads(-1), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertTrue(String(cString: gsq_last_error()).contains("gsq_set_num_threads"))
        XCTAssertEqual(gsq_get_num_threads(), 3, "a rejected call changes nothing")
        XCTAssertEqual(gsq_set_num_threads(0), GSQ_SUCCESS)
        XCTAssertGreaterThanOrEqual(gsq_get_num_threads(), 1, "0 restores the default")
        XCTAssertThrowsError(try Runtime.setThreadCount(-2))
    }

    func testISACap() throws {
        let cpu = Runtime.cpuISA
        for isa in ISA.allCases {
            try Runtime.with(maxISA: isa) {
                XCTAssertEqual(Runtime.maxISA, isa)
                XCTAssertEqual(Runtime.isa.rawValue, min(isa.rawValue, cpu.rawValue))
            }
        }
        XCTAssertEqual(gsq_set_max_isa(gsq_isa_t(rawValue: 7)), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(String(cString: gsq_isa_name(gsq_isa_t(rawValue: 7))), "unknown")
        XCTAssertEqual(Runtime.maxISA, .avx512, "the cap is restored")
    }

    func testMachineProbesRejectBadArguments() {
        var g = 0.0
        XCTAssertEqual(gsq_measure_fma_peak(0.01, nil), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(gsq_measure_fma_peak(-1, &g), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(gsq_measure_stream_triad(16, 0.01, &g), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(g, 0)
        XCTAssertEqual(gsq_measure_fma_peak(0.01, &g), GSQ_SUCCESS)
        XCTAssertGreaterThan(g, 0)
    }

    /// Environment variables are read once at start-up, so they are checked in
    /// a child process: the `graphseq` tool built beside this test bundle.
    func testEnvironmentVariables() throws {
        let capped = try runTool(["info"], env: ["GRAPHSEQ_MAX_ISA": "generic", "GRAPHSEQ_NUM_THREADS": "3"])
        XCTAssertTrue(capped.out.contains("isa: generic"), capped.out)
        XCTAssertTrue(capped.out.contains("threads: 3"), capped.out)
        let bad = try runTool(["info"], env: ["GRAPHSEQ_MAX_ISA": "sse9", "GRAPHSEQ_NUM_THREADS": "many"])
        XCTAssertTrue(bad.err.contains("ignoring GRAPHSEQ_MAX_ISA=sse9"), bad.err)
        XCTAssertTrue(bad.err.contains("ignoring GRAPHSEQ_NUM_THREADS=many"), bad.err)
        XCTAssertTrue(bad.out.contains("isa: \(Runtime.cpuISA)"), bad.out)
    }

    func testVerboseModeNamesKernelISAAndThreads() throws {
        let r = try runTool(["bench", "kernels", "--quick", "--threads", "2", "--max-isa", "avx2"],
                            env: ["GRAPHSEQ_VERBOSE": "1"])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = r.err.split(separator: "\n").filter { $0.hasPrefix("graphseq: ") }
        XCTAssertFalse(lines.isEmpty, "verbose mode printed nothing: \(r.err)")
        for line in lines {
            XCTAssertTrue(line.hasPrefix("graphseq: gsq_") && line.contains(" isa=avx2 ")
                          && line.contains(" threads=") && line.contains(" ms"), String(line))
        }
    }
}

struct ToolResult { var status: Int32; var out: String; var err: String }

/// Runs the `graphseq` executable from the build folder holding this test bundle.
func runTool(_ args: [String], env: [String: String]) throws -> ToolResult {
    var dir = Bundle.main.bundleURL
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("graphseq").path) {
        let parent = dir.deletingLastPathComponent()
        if parent.path == dir.path { throw XCTSkip("graphseq executable not built next to the tests") }
        dir = parent
    }
    let p = Process()
    p.executableURL = dir.appendingPathComponent("graphseq")
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return ToolResult(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self),
                      err: String(decoding: e, as: UTF8.self))
}

final class ParallelThresholdTests: XCTestCase {
    /// The setting validates and round-trips, and a product run on one thread
    /// (a threshold above its work) equals the one run on four (threshold 0).
    func testSmallCallsUseFewerThreads() throws {
        let before = gsq_get_min_work_per_thread()
        defer { gsq_set_min_work_per_thread(before) }
        XCTAssertEqual(gsq_set_min_work_per_thread(-1), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(gsq_get_min_work_per_thread(), before, "a rejected call changes nothing")
        let a = Tensor.uniform([64, 64], seed: 1), b = Tensor.uniform([64, 64], seed: 2)
        func product(minWork: Int) throws -> Tensor {
            Runtime.minWorkPerThread = minWork
            return try Runtime.with(threads: 4) { let c = Tensor.zeros([64, 64]); try gemm(a, b, into: c); return c }
        }
        let serial = try product(minWork: 1 << 30), parallel = try product(minWork: 0)
        XCTAssertEqual(serial.values, parallel.values, "the thread count never changes results")
        XCTAssertEqual(Runtime.minWorkPerThread, 0)
        XCTAssertEqual(gsq_get_min_work_per_thread(), 0)
    }
}
