import Foundation
import XCTest
import GraphSeq
import TestSupport

/// `Graph.kNearestNeighbors` and `Graph.pixelGrid` against the brute-force
/// double-precision reference (TestSupport/KNNReference.swift).
final class KNNGraphTests: XCTestCase {
    /// The graph's entries as (row, column) -> weight.
    private func weights(_ g: Graph) -> [[Int]: Double] {
        let (offsets, columns, values) = g.csr
        var out: [[Int]: Double] = [:]
        for i in 0..<g.rowCount {
            for e in Int(offsets[i])..<Int(offsets[i + 1]) { out[[i, Int(columns[e])]] = Double(values[e]) }
        }
        return out
    }

    private func assertMatchesReference(_ points: [Float], d: Int, k: Int, metric: KNNMetric, symmetrize: Bool,
                                        file: StaticString = #filePath, line: UInt = #line) throws {
        let n = points.count / d
        let graph = try Graph.kNearestNeighbors(points: Tensor(shape: [n, d], values: points), k: k,
                                                metric: metric, symmetrize: symmetrize)
        var sigma: Double? = nil
        if case .gaussian(let s?) = metric { sigma = Double(s) }
        let expected = referenceKNN(points: points, dimension: d, k: k, cosine: metric == .cosine,
                                    sigma: sigma, symmetrize: symmetrize)
        let actual = weights(graph)
        let context = "N=\(n) D=\(d) k=\(k) \(metric) symmetrize=\(symmetrize)"
        XCTAssertEqual(graph.rowCount, n, context, file: file, line: line)
        XCTAssertEqual(Set(actual.keys), Set(expected.keys), context, file: file, line: line)
        let ratio = toleranceRatio(expected.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { Float(actual[$0] ?? .nan) },
                                   expected.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { expected[$0]! },
                                   rtol: 1e-5, atol: 1e-7)
        XCTAssertLessThanOrEqual(ratio, 1, context, file: file, line: line)
        if symmetrize { XCTAssertTrue(graph.isSymmetric, context, file: file, line: line) }
    }

    func testGaussianAndCosineMatchTheReferenceOnAwkwardSizes() throws {
        var rng = TestRNG(seed: 11)
        for (n, d, ks) in [(2, 1, [1]), (3, 2, [1, 2]), (7, 17, [1, 3, 6]), (33, 2, [1, 4, 32]), (100, 17, [8])] {
            let points = rng.floats(n * d)
            for k in ks {
                for symmetrize in [false, true] {
                    try assertMatchesReference(points, d: d, k: k, metric: .gaussian(), symmetrize: symmetrize)
                    try assertMatchesReference(points, d: d, k: k, metric: .cosine, symmetrize: symmetrize)
                }
            }
            try assertMatchesReference(points, d: d, k: ks[0], metric: .gaussian(sigma: 0.3), symmetrize: true)
        }
    }

    func testManyRowBlocksAndPointsFarFromTheOrigin() throws {
        // 1500 points need several SGEMM row blocks; an offset of 1000 would make
        // ||x||² + ||y||² - 2 x·y cancel without centring.
        var rng = TestRNG(seed: 12)
        let points = rng.floats(1500 * 2, 1000, 1001)
        try assertMatchesReference(points, d: 2, k: 5, metric: .gaussian(), symmetrize: false)
    }

    func testTiesGoToTheLowerIndex() throws {
        // Integer points on a line: 2 is as far from 1 as from 3.
        let line = try Graph.kNearestNeighbors(points: Tensor(shape: [5, 1], values: [0, 1, 2, 3, 4]), k: 1,
                                               symmetrize: false)
        XCTAssertEqual(line.csr.columnIndices, [1, 0, 1, 2, 3])
        // Duplicates are at distance 0 and taken in index order; 4 is equally far from all.
        let duplicates: [Float] = [5, 5, 1, 5, 5, 5, 1, 5, 3, 3]
        try assertMatchesReference(duplicates, d: 2, k: 2, metric: .gaussian(), symmetrize: false)
        try assertMatchesReference(duplicates, d: 2, k: 3, metric: .gaussian(), symmetrize: true)
        let dup = try Graph.kNearestNeighbors(points: Tensor(shape: [5, 2], values: duplicates), k: 1, symmetrize: false)
        XCTAssertEqual(dup.csr.columnIndices, [2, 3, 0, 1, 0])
        XCTAssertEqual(dup.csr.values[0], 1)
        // In one dimension every cosine similarity is exactly +1 or -1: all ties;
        // negative similarities give no edge.
        let signs: [Float] = [2, -1, 0.5, -3, 4]
        try assertMatchesReference(signs, d: 1, k: 2, metric: .cosine, symmetrize: false)
        let cos = try Graph.kNearestNeighbors(points: Tensor(shape: [5, 1], values: signs), k: 2,
                                              metric: .cosine, symmetrize: false)
        XCTAssertEqual(cos.csr.columnIndices, [2, 4, 3, 0, 4, 1, 0, 2])
        XCTAssertEqual(cos.csr.rowOffsets, [0, 2, 3, 5, 6, 8])   // node 1 and 3 have one positive neighbour
    }

    func testPixelGridIsTheGridsKNNGraph() throws {
        let (width, height) = (5, 4)
        let grid = try Graph.pixelGrid(width: width, height: height, k: 3)
        let coordinates = (0..<(width * height)).flatMap { [Float($0 % width), Float($0 / width)] }
        try assertMatchesReference(coordinates, d: 2, k: 3, metric: .gaussian(), symmetrize: true)
        XCTAssertEqual(weights(grid), weights(try Graph.kNearestNeighbors(
            points: Tensor(shape: [width * height, 2], values: coordinates), k: 3)))
        // Pixel 7 = (2, 1) has four neighbours at distance 1, 2, 6, 8 and 12:
        // its three nearest are the lower three.
        let directed = try Graph.kNearestNeighbors(points: Tensor(shape: [20, 2], values: coordinates), k: 3,
                                                   symmetrize: false)
        let (offsets, columns, _) = directed.csr
        XCTAssertEqual(Array(columns[Int(offsets[7])..<Int(offsets[8])]), [2, 6, 8])
        XCTAssertEqual(grid.rowCount, 20)
        XCTAssertTrue(grid.isSymmetric)
    }

    /// `graphseq graph` end to end, run as the built tool, on the Minnesota road coordinates.
    func testGraphCommandOnTheMinnesotaCoordinates() throws {
        let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("data/minnesota").path
        let xy = try MatrixFile.read(data + "/coords.csv", columns: ["lon", "lat"])
        let directed = try Graph.kNearestNeighbors(points: xy, k: 8, symmetrize: false)
        XCTAssertEqual(directed.csr.rowOffsets, (0...2642).map { Int64(8 * $0) })

        let tool = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("graphseq")
        guard FileManager.default.isExecutableFile(atPath: tool.path) else {
            return XCTFail("\(tool.path) not found: build the package (swift build --build-tests) first")
        }
        func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
            let process = Process()
            process.executableURL = tool
            process.arguments = ["graph"] + arguments
            let (out, err) = (Pipe(), Pipe())
            (process.standardOutput, process.standardError) = (out, err)
            try process.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, stdout, stderr)
        }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("knn-\(UUID()).mtx").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let result = try run(["--points", data + "/coords.csv", "--columns", "lon,lat", "--k", "8", "--output", output])
        XCTAssertEqual(result.status, 0, result.err)
        for line in ["nodes: 2642", "symmetric: yes", "degree: min 8,", "connected components: 1 (largest 2642 nodes)"] {
            XCTAssertTrue(result.out.contains(line), "\(line) missing in\n\(result.out)")
        }
        let written = try GraphFile.read(output)
        let expected = try Graph.kNearestNeighbors(points: xy, k: 8)
        XCTAssertTrue(written.csr == expected.csr, "the written graph differs from the library's")

        let failed = try run(["--input", data + "/coords.csv", "--format", "edges"])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.err.contains("coords.csv:2: field 2 \"-97.207000\" is not an integer"), failed.err)
    }

    func testInvalidInputIsRejectedClearly() {
        func message(_ shape: [Int], _ values: [Float], k: Int, metric: KNNMetric = .gaussian()) -> String {
            do {
                _ = try Graph.kNearestNeighbors(points: Tensor(shape: shape, values: values), k: k, metric: metric)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(message([1, 2], [0, 0], k: 1).contains("k = 1 must be in 1..<N, N = 1 points"))
        XCTAssertTrue(message([3, 1], [0, 1, 2], k: 3).contains("k = 3 must be in 1..<N"))
        XCTAssertTrue(message([3, 1], [0, 1, 2], k: 0).contains("k = 0 must be in 1..<N"))
        XCTAssertTrue(message([3], [0, 1, 2], k: 1).contains("points must be [N, D]"))
        XCTAssertTrue(message([3, 1], [0, .nan, 2], k: 1).contains("point 1 has the non-finite coordinate nan"))
        XCTAssertTrue(message([3, 2], [1, 1, 0, 0, 2, 1], k: 1, metric: .cosine).contains("point 1 is the zero vector"))
        XCTAssertTrue(message([3, 1], [0, 1, 2], k: 1, metric: .gaussian(sigma: 0)).contains("sigma = 0.0 must be positive"))
        XCTAssertTrue(message([4, 1], [1, 1, 2, 2], k: 1).contains("mean distance 0); give sigma"))
        XCTAssertEqual(message([4, 1], [1, 1, 2, 2], k: 1, metric: .gaussian(sigma: 1)), "no error")
        XCTAssertThrowsError(try Graph.pixelGrid(width: 0, height: 3, k: 1))
    }
}
