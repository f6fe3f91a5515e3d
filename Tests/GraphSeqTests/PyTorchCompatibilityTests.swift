import GraphSeq
import TestSupport
import XCTest

/// State dicts saved by PyTorch users (`safetensors.torch.save_file(model.state_dict())`)
/// load into GraphSeq layers and give PyTorch's outputs to float tolerance.
/// The fixtures and their generator: Tests/Fixtures/pytorch/README.md.
final class PyTorchCompatibilityTests: XCTestCase {
    private static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pytorch").path

    /// The expected tensors and metadata of `name`, and a layer loaded from its state dict.
    private func fixture(_ name: String, into layer: Layer) throws -> [String: Tensor] {
        try Checkpoint.load(into: layer, from: "\(Self.fixtures)/\(name).state.safetensors")
        return try SafeTensors.read(from: "\(Self.fixtures)/\(name).io.safetensors").tensors
    }

    /// The fixture graph: PyG's edge_index row 0 holds sources j, row 1 targets i.
    private func graph(_ io: [String: Tensor], nodes: Int) throws -> Graph {
        let edges = io["edge_index"]!.values.map { Int32($0) }
        let e = edges.count / 2
        return try Graph(nodeCount: nodes, rows: Array(edges[e...]), columns: Array(edges[..<e]),
                         weights: io["edge_weight"]!.values)
    }

    private func assertClose(_ actual: Tensor, _ expected: Tensor?, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        guard let expected else { return XCTFail("\(what): missing in fixture", file: file, line: line) }
        XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
        XCTAssertLessThanOrEqual(toleranceRatio(actual.values, doubles(expected.values), rtol: 1e-4, atol: 1e-5),
                                 1, what, file: file, line: line)
    }

    func testGCNConv() throws {
        let layer = try GCNConv(inputSize: 3, outputSize: 4, seed: 0)
        let io = try fixture("gcnconv", into: layer)
        assertClose(try layer.forward(io["x"]!, graph: graph(io, nodes: 6)), io["output"], "gcnconv")
    }

    func testChebConv() throws {
        let layer = try ChebConv(inputSize: 3, outputSize: 4, order: 3, normalization: .symmetric,
                                 lambdaMax: 2, seed: 0)
        let io = try fixture("chebconv", into: layer)
        assertClose(try layer.forward(io["x"]!, graph: graph(io, nodes: 6)), io["output"], "chebconv")
    }

    func testSavedStateDictRoundTripsThroughPyTorchNames() throws {
        let layer = try ChebConv(inputSize: 3, outputSize: 4, order: 3, lambdaMax: 2, seed: 0)
        let io = try fixture("chebconv", into: layer)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gsq-cheb-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.save(layer, to: path)
        let original = try SafeTensors.read(from: "\(Self.fixtures)/chebconv.state.safetensors").tensors
        let saved = try SafeTensors.read(from: path).tensors
        XCTAssertEqual(Set(saved.keys), Set(original.keys))
        for (name, t) in original { XCTAssertEqual(saved[name]?.values, t.values, name) }
        let reloaded = try ChebConv(inputSize: 3, outputSize: 4, order: 3, lambdaMax: 2, seed: 9)
        try Checkpoint.load(into: reloaded, from: path)
        assertClose(try reloaded.forward(io["x"]!, graph: graph(io, nodes: 6)), io["output"], "reloaded")
    }

    func testWrongModelFailsCleanly() throws {
        let layer = try ChebConv(inputSize: 3, outputSize: 4, order: 2, seed: 0)   // K = 2, file has 3
        let before = layer.stateDict().map(\.tensor.values)
        XCTAssertThrowsError(try Checkpoint.load(into: layer, from: "\(Self.fixtures)/chebconv.state.safetensors"))
        XCTAssertEqual(layer.stateDict().map(\.tensor.values), before)
        XCTAssertThrowsError(try Checkpoint.load(into: layer, from: "\(Self.fixtures)/missing.safetensors"))
    }
}
