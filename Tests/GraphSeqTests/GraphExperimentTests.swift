import Foundation
import GraphSeq
import TestSupport
import XCTest

/// The pieces of the graph seed experiments: the TU reader, block-diagonal
/// batching with its sum readout, the Moving-MNIST generator, and short runs
/// of `graphseq experiment polblogs | mutag | moving-mnist` on the real data.
final class GraphExperimentTests: XCTestCase {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

    // MARK: - TU reader

    func testTUDatasetReadsTheBundledMUTAG() throws {
        let mutag = try TUDataset(directory: Self.data + "/mutag", name: "MUTAG")
        XCTAssertEqual(mutag.graphs.count, 188)
        XCTAssertEqual(mutag.classes, [-1, 1])
        XCTAssertEqual(mutag.graphs.filter { $0.label == 1 }.count, 125)
        XCTAssertEqual(mutag.nodeLabelValues, Array(0...6))
        XCTAssertEqual(mutag.graphs.reduce(0) { $0 + $1.adjacency.rowCount }, 3371)
        XCTAssertEqual(mutag.graphs.reduce(0) { $0 + $1.adjacency.nonzeroCount }, 7442)
        XCTAssertEqual(mutag.graphs[0].adjacency.rowCount, 17)
        XCTAssertEqual(mutag.graphs[0].adjacency.nonzeroCount, 38)
        XCTAssertEqual(mutag.graphs[0].label, 1)
        XCTAssertTrue(mutag.graphs.allSatisfy { $0.adjacency.isSymmetric && $0.nodeLabels?.count == $0.adjacency.rowCount })
    }

    func testTUDatasetRejectsMalformedFilesNamingFileAndLine() throws {
        let valid = ["A": "1, 2\n2, 1\n3, 4\n4, 3\n", "graph_indicator": "1\n1\n2\n2\n",
                     "graph_labels": "0\n1\n", "node_labels": "0\n1\n1\n0\n"]
        func message(_ file: String, _ text: String) throws -> String {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tu-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            for (suffix, content) in valid.merging([file: text], uniquingKeysWith: { _, new in new }) {
                try content.write(to: directory.appendingPathComponent("DS_\(suffix).txt"), atomically: true, encoding: .utf8)
            }
            do {
                let ds = try TUDataset(directory: directory.path, name: "DS")
                return "read \(ds.graphs.count) graphs"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(try message("A", valid["A"]!), "read 2 graphs")
        let cases: [(file: String, text: String, expected: String)] = [
            ("A", "1, 2\n2, x\n", "DS_A.txt:2: field 2 \"x\" is not an integer"),
            ("A", "1, 2\n2, 1, 1\n", "DS_A.txt:2: has 3 fields, expected 2"),
            ("A", "1, 2\n2, 5\n", "DS_A.txt:2: node id 5 is not in 1...4"),
            ("A", "1, 2\n2, 3\n", "DS_A.txt:2: edge 2, 3 joins graph 1 and graph 2"),
            ("A", "1, 2\n1, 2\n", "DS_A.txt:2: edge 1, 2 appears twice"),
            ("graph_indicator", "1\n2\n1\n2\n", "DS_graph_indicator.txt:3: graph id 1 after 2"),
            ("graph_indicator", "1\n1\n3\n3\n", "DS_graph_indicator.txt:3: graph id 3 after 1"),
            ("graph_labels", "0\n", "DS_graph_labels.txt: has 1 lines, expected 2"),
            ("node_labels", "0\n1\n1\n", "DS_node_labels.txt: has 3 lines, expected 4"),
            ("graph_labels", "0\n1.5\n", "DS_graph_labels.txt:2: field 1 \"1.5\" is not an integer"),
        ]
        for c in cases {
            let m = try message(c.file, c.text)
            XCTAssertTrue(m.contains(c.expected), "\(c.file): \(m)")
        }
        XCTAssertThrowsError(try TUDataset(directory: "/nonexistent", name: "DS")) {
            XCTAssertTrue("\($0)".contains("/nonexistent/DS_graph_indicator.txt"), "\($0)")
        }
    }

    // MARK: - Block-diagonal batches and the sum readout

    /// Three small random graphs (one of a single node) as edge lists.
    func randomGraphs() throws -> [(n: Int, rows: [Int32], columns: [Int32], weights: [Float], graph: Graph)] {
        var rng = TestRNG(seed: 12)
        return try [4, 1, 6].map { n in
            var rows: [Int32] = [], columns: [Int32] = [], weights: [Float] = []
            for i in 0..<n { for j in 0..<n where i != j && rng.float(0, 1) < 0.5 {
                rows.append(Int32(i)); columns.append(Int32(j)); weights.append(rng.float(0.5, 1.5))
            } }
            return (n, rows, columns, weights, try Graph(nodeCount: n, rows: rows, columns: columns, weights: weights))
        }
    }

    func testGraphBatchIsBlockDiagonal() throws {
        let parts = try randomGraphs()
        let batch = try GraphBatch(parts.map(\.graph))
        let total = parts.reduce(0) { $0 + $1.n }
        XCTAssertEqual(batch.nodeOffsets, [0, 4, 5, 11])
        var expected = [Double](repeating: 0, count: total * total)
        var offset = 0
        for p in parts {
            let block = denseMatrix(n: p.n, rows: p.rows, columns: p.columns, weights: p.weights)
            for i in 0..<p.n { for j in 0..<p.n { expected[(offset + i) * total + offset + j] = block[i * p.n + j] } }
            offset += p.n
        }
        XCTAssertEqual(doubles(batch.graph.denseMatrix().values), expected)

        // A convolution of the batch is the convolution of each graph.
        var rng = TestRNG(seed: 3)
        let conv = try GCNConv(inputSize: 3, outputSize: 2, seed: 4)
        let x = try Tensor(shape: [total, 3], values: rng.floats(total * 3))
        let y = try conv.forward(x, graph: batch.graph).values
        for (g, p) in parts.enumerated() {
            let rows = batch.nodeOffsets[g]..<batch.nodeOffsets[g + 1]
            let xg = try Tensor(shape: [p.n, 3], values: Array(x.values[(rows.lowerBound * 3)..<(rows.upperBound * 3)]))
            let yg = try conv.forward(xg, graph: p.graph).values
            XCTAssertLessThanOrEqual(toleranceRatio(Array(y[(rows.lowerBound * 2)..<(rows.upperBound * 2)]), doubles(yg),
                                                    rtol: 1e-5, atol: 1e-6), 1)
        }
        XCTAssertThrowsError(try GraphBatch([]))
        XCTAssertThrowsError(try GraphBatch([Graph(nodeCount: 2, columnCount: 3, rows: [0], columns: [2])]))
    }

    func testSumReadoutAndBackwardMatchReferenceAndFiniteDifferences() throws {
        let batch = try GraphBatch(try randomGraphs().map(\.graph))
        let (nodes, f) = (batch.nodeOffsets.last!, 3)
        var rng = TestRNG(seed: 8)
        let x = try Tensor(shape: [nodes, f], values: rng.floats(nodes * f))
        let dy = try Tensor(shape: [batch.graphCount, f], values: rng.floats(batch.graphCount * f))
        // Reference: graph g sums the rows nodeOffsets[g] ..< nodeOffsets[g + 1].
        func reference(_ x: [Double]) -> [Double] {
            (0..<batch.graphCount).flatMap { g in
                (0..<f).map { j in (batch.nodeOffsets[g]..<batch.nodeOffsets[g + 1]).reduce(0.0) { $0 + x[$1 * f + j] } }
            }
        }
        let y = try batch.sumReadout(x)
        XCTAssertEqual(y.shape, [3, f])
        XCTAssertLessThanOrEqual(toleranceRatio(y.values, reference(doubles(x.values)), rtol: 1e-6, atol: 1e-6), 1)
        let numeric = numericalGradient(at: doubles(x.values)) { projection(reference($0), dy.values) }
        XCTAssertLessThanOrEqual(toleranceRatio(try batch.sumReadoutBackward(dy).values, numeric, rtol: 1e-5, atol: 1e-6), 1)
        XCTAssertThrowsError(try batch.sumReadout(Tensor(shape: [nodes + 1, f])))
        XCTAssertThrowsError(try batch.sumReadoutBackward(Tensor(shape: [2, f])))
    }

    // MARK: - Moving MNIST generator

    func testMovingDigitsStayInTheCanvasAndAreDeterministicPerSeed() throws {
        let size = 5
        let solid = Tensor(shape: [3, size, size])
        solid.fill(1)
        // One solid digit: any pixel outside the canvas would lower a frame's sum.
        let one = try MovingDigits(digits: solid, canvasSize: 12, digitsPerSequence: 1, speed: 1...3)
        let frames = try one.sequences(count: 6, frames: 30, seed: 5)
        XCTAssertEqual(frames.shape, [30, 144, 6])
        for t in 0..<30 {
            for b in 0..<6 {
                let sum = (0..<144).reduce(Float(0)) { $0 + frames[t, $1, b] }
                XCTAssertEqual(sum, Float(size * size), "frame \(t) of sequence \(b)")
            }
        }
        // The digits move.
        XCTAssertNotEqual(frames.slice(0).values, frames.slice(29).values)

        let mnist = try MovingDigits(digits: Tensor.uniform([10, size, size], low: 0, high: 1, seed: 2),
                                     canvasSize: 16, speed: 1...2)
        let a = try mnist.sequences(count: 4, frames: 8, seed: 9)
        XCTAssertEqual(a.values, try mnist.sequences(count: 4, frames: 8, seed: 9).values)
        XCTAssertNotEqual(a.values, try mnist.sequences(count: 4, frames: 8, seed: 10).values)
        XCTAssertTrue(a.values.allSatisfy { (0...1).contains($0) })

        XCTAssertThrowsError(try MovingDigits(digits: solid, canvasSize: size, speed: 1...2))
        XCTAssertThrowsError(try MovingDigits(digits: solid, canvasSize: 12, speed: 1...9))
        XCTAssertThrowsError(try MovingDigits(digits: Tensor(shape: [3, 4, 5]), canvasSize: 12, speed: 1...2))
    }

    // MARK: - Short runs of the experiments

    /// The JSON object on the last line of a quick `graphseq experiment` run.
    func quickRun(_ arguments: [String]) throws -> [String: Any] {
        let result = try runTool(["experiment"] + arguments + ["--quick", "--json", "--threads", "1"],
                                 env: ["GRAPHSEQ_DATA": Self.data])
        XCTAssertEqual(result.status, 0, result.err)
        let last = result.out.split(separator: "\n").last.map(String.init) ?? ""
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], result.out)
    }

    func testPolblogsQuickRunBeatsChance() throws {
        let json = try quickRun(["polblogs"])
        XCTAssertEqual(json["nodes"] as? Int, 1222)
        for key in ["gcn_test_accuracy", "cheb_test_accuracy"] {
            XCTAssertGreaterThan(try XCTUnwrap(json[key] as? Double), 0.7, key)   // classes are 52% / 48%
        }
    }

    func testMutagQuickRunBeatsTheMajorityClass() throws {
        let json = try quickRun(["mutag"])
        let majority = try XCTUnwrap(json["majority_accuracy"] as? Double)
        XCTAssertEqual(majority, 125.0 / 188, accuracy: 1e-12)
        for key in ["gcn_accuracy", "cheb_accuracy"] {
            XCTAssertGreaterThan(try XCTUnwrap(json[key] as? Double), majority, key)
        }
    }

    func testMovingMNISTQuickRunLowersTheLoss() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("mm-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        // Ten steps: a larger learning rate than the documented run's, so every model moves.
        let json = try quickRun(["moving-mnist", "--learning-rate", "0.01", "--output", output])
        let constant = try XCTUnwrap(json["mean_intensity_cross_entropy"] as? Double)
        for key in ["gcrn2_k3", "gcrn2_k1", "gcrn1", "fc_lstm"] {
            let model = try XCTUnwrap(json[key] as? [String: Double], key)
            XCTAssertLessThan(model["test_cross_entropy"]!, model["untrained_test_cross_entropy"]!, key)
            XCTAssertLessThan(model["test_cross_entropy"]!, constant, key)
        }
        let picture = try XCTUnwrap(json["picture"] as? String)
        XCTAssertTrue(try XCTUnwrap(FileManager.default.contents(atPath: picture)).starts(with: Array("P5\n".utf8)))
    }
}
