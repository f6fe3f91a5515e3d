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

    /// Runs a sequence fixture: the full run from h0 (c0), then the packed run with lengths.
    private func checkSequence(_ name: String, _ layer: SequenceLayer, lstm: Bool = false) throws {
        let io = try fixture(name, into: layer)
        let initial = RecurrentState(h: io["h0"]!, c: lstm ? io["c0"] : nil)
        let full = try layer.forward(io["x"]!, lengths: nil, initialState: initial)
        assertClose(full.output, io["output"], "\(name) output")
        assertClose(full.state.h, io["h_n"], "\(name) h_n")
        if lstm { assertClose(full.state.c!, io["c_n"], "\(name) c_n") }
        let lengths = io["lengths"]!.values.map { Int($0) }
        let packed = try layer.forward(io["x"]!, lengths: lengths, initialState: initial)
        assertClose(packed.output, io["packed_output"], "\(name) packed output")
        assertClose(packed.state.h, io["packed_h_n"], "\(name) packed h_n")
        if lstm { assertClose(packed.state.c!, io["packed_c_n"], "\(name) packed c_n") }
    }

    func testLSTMTwoLayersBidirectional() throws {
        try checkSequence("lstm_l2_bidir", LSTM(inputSize: 3, hiddenSize: 4,
                                                options: RecurrentOptions(numLayers: 2, bidirectional: true),
                                                seed: 0), lstm: true)
    }

    func testLSTMWithProjection() throws {
        try checkSequence("lstm_proj", LSTM(inputSize: 3, hiddenSize: 4, projectionSize: 2, seed: 0), lstm: true)
    }

    func testGRUBidirectional() throws {
        try checkSequence("gru_bidir", GRU(inputSize: 3, hiddenSize: 4,
                                           options: RecurrentOptions(bidirectional: true), seed: 0))
    }

    func testRNNTwoLayers() throws {
        try checkSequence("rnn_tanh_l2", RNN(inputSize: 3, hiddenSize: 4, activation: .tanh,
                                             options: RecurrentOptions(numLayers: 2), seed: 0))
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

    /// PyG-Temporal runs one step per call on [N, F]: GraphSeq's [T, N, B, F] with B = 1.
    private func checkGCRN(_ name: String, _ layer: GraphSequenceLayer, lstm: Bool) throws {
        let io = try fixture(name, into: layer)
        let x = io["x"]!
        let (t, n, f) = (x.shape[0], x.shape[1], x.shape[2])
        let run = try layer.forward(try x.reshaped([t, n, 1, f]), graph: graph(io, nodes: n), initialState: nil)
        assertClose(run.output, io["output"], "\(name) output")
        assertClose(run.state.h, io["h_n"], "\(name) h_n")
        if lstm { assertClose(run.state.c!, io["c_n"], "\(name) c_n") }
    }

    func testGConvLSTM() throws {
        try checkGCRN("gconvlstm", GConvLSTM(inputSize: 2, hiddenSize: 4, order: 3, lambdaMax: 2, seed: 0), lstm: true)
    }

    func testGConvGRU() throws {
        try checkGCRN("gconvgru", GConvGRU(inputSize: 2, hiddenSize: 4, order: 3, lambdaMax: 2, seed: 0), lstm: false)
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
