import CGraphSeq
import GraphSeq
import TestSupport
import XCTest

/// The model-level C ABI (gsq_model_*), called from Swift the way a C user
/// calls it: results bitwise equal to the Swift API's, every bad argument
/// reported with a status and a message, never a crash, outputs untouched.
final class ModelABITests: XCTestCase {
    // MARK: - Helpers

    /// Options for a model of `kind`, starting from GSQ_MODEL_OPTIONS_INIT's values.
    private func options(_ kind: gsq_model_kind_t, input: Int64 = 0, hidden: Int64 = 0, output: Int64 = 0,
                         seed: UInt64 = 7) -> gsq_model_options_t {
        var o = gsq_model_options_t()
        o.struct_size = UInt32(MemoryLayout<gsq_model_options_t>.size)
        o.kind = kind
        (o.input_size, o.hidden_size, o.output_size) = (input, hidden, output)
        (o.num_layers, o.bias, o.order, o.normalization, o.horizon, o.cell) = (1, 1, 2, GSQ_LAPLACIAN_SYM, 1,
                                                                               GSQ_MODEL_GCONV_LSTM)
        o.seed = seed
        return o
    }

    private func create(_ o: gsq_model_options_t) throws -> gsq_model_t {
        var o = o
        var model: gsq_model_t?
        let status = gsq_model_create(&model, &o)
        XCTAssertEqual(status, GSQ_SUCCESS, String(cString: gsq_last_error()))
        return try XCTUnwrap(model)
    }

    /// A model result as (values, shape).
    private func tensor(_ model: gsq_model_t, _ which: gsq_model_tensor_t) throws -> ([Float], [Int]) {
        var data: UnsafePointer<Float>?
        var rank: Int64 = -1
        var shape = [Int64](repeating: -1, count: 4)
        XCTAssertEqual(gsq_model_tensor(model, which, &data, &rank, &shape), GSQ_SUCCESS,
                       String(cString: gsq_last_error()))
        let dims = shape.prefix(Int(rank)).map { Int($0) }
        let count = dims.reduce(1, *)
        return (Array(UnsafeBufferPointer(start: try XCTUnwrap(data), count: count)), dims)
    }

    /// Parameter `index` as (name, value, gradient, shape).
    private func parameter(_ model: gsq_model_t, _ index: Int64) throws -> (String, [Float], [Float], [Int]) {
        var name: UnsafePointer<CChar>?
        var value: UnsafeMutablePointer<Float>?, grad: UnsafeMutablePointer<Float>?
        var rank: Int64 = 0
        var shape = [Int64](repeating: 0, count: 4)
        XCTAssertEqual(gsq_model_parameter(model, index, &name, &value, &grad, &rank, &shape), GSQ_SUCCESS)
        let dims = shape.prefix(Int(rank)).map { Int($0) }
        let n = dims.reduce(1, *)
        return (String(cString: try XCTUnwrap(name)), Array(UnsafeBufferPointer(start: value, count: n)),
                Array(UnsafeBufferPointer(start: grad, count: n)), dims)
    }

    private func forward(_ model: gsq_model_t, _ x: Tensor, graph: gsq_graph_t? = nil) -> gsq_status_t {
        let shape = x.shape.map(Int64.init)
        return x.withUnsafeBufferPointer { gsq_model_forward(model, graph, $0.baseAddress, Int64(shape.count),
                                                             shape, nil, nil, nil) }
    }

    private func backward(_ model: gsq_model_t, _ dy: Tensor) -> gsq_status_t {
        dy.withUnsafeBufferPointer { gsq_model_backward(model, $0.baseAddress, nil, nil) }
    }

    /// Asserts a failed call: `status`, a message naming `function`.
    private func assertFails(_ status: gsq_status_t, _ expected: gsq_status_t, _ function: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(status, expected, file: file, line: line)
        let message = String(cString: gsq_last_error())
        XCTAssertTrue(message.hasPrefix(function + ":"), "message \"\(message)\"", file: file, line: line)
    }

    // MARK: - Linear

    func testLinearMatchesSwiftBitwise() throws {
        var rng = TestRNG(seed: 5)
        for (shape, bias) in [([7, 5], true), ([2, 3, 5], false), ([5], true), ([2, 1, 3, 5], true)] {
            var o = options(GSQ_MODEL_LINEAR, input: 5, output: 3, seed: 11)
            o.bias = bias ? 1 : 0
            let model = try create(o)
            defer { gsq_model_destroy(model) }
            let swift = try Linear(inputSize: 5, outputSize: 3, bias: bias, seed: 11)
            XCTAssertEqual(gsq_model_parameter_count(model), bias ? 2 : 1)
            let x = try Tensor(shape: shape, values: rng.floats(shape.reduce(1, *)))
            let dy = try Tensor(shape: shape.dropLast() + [3], values: rng.floats(shape.dropLast().reduce(1, *) * 3))
            for _ in 0..<2 {   // twice: gradients accumulate in both
                XCTAssertEqual(forward(model, x), GSQ_SUCCESS, String(cString: gsq_last_error()))
                XCTAssertEqual(backward(model, dy), GSQ_SUCCESS, String(cString: gsq_last_error()))
                let y = try swift.forward(x)
                let dx = try swift.backward(dy)
                let (cy, cyShape) = try tensor(model, GSQ_MODEL_OUTPUT)
                let (cdx, cdxShape) = try tensor(model, GSQ_MODEL_GRAD_INPUT)
                XCTAssertEqual([cyShape, cdxShape], [y.shape, dx.shape])
                XCTAssertNil(firstBitwiseDifference(cy, y.values))
                XCTAssertNil(firstBitwiseDifference(cdx, dx.values))
            }
            for (i, (name, p)) in swift.namedParameters.enumerated() {
                let (cName, value, grad, dims) = try parameter(model, Int64(i))
                XCTAssertEqual(cName, name)
                XCTAssertEqual(dims, p.shape)
                XCTAssertNil(firstBitwiseDifference(value, p.value.values), name)
                XCTAssertNil(firstBitwiseDifference(grad, p.gradient.values), name)
            }
        }
    }

    func testParameterWritesAndZeroGrad() throws {
        let model = try create(options(GSQ_MODEL_LINEAR, input: 2, output: 1))
        defer { gsq_model_destroy(model) }
        var value: UnsafeMutablePointer<Float>?, grad: UnsafeMutablePointer<Float>?
        XCTAssertEqual(gsq_model_parameter(model, 0, nil, &value, &grad, nil, nil), GSQ_SUCCESS)
        XCTAssertEqual(gsq_model_parameter(model, 1, nil, nil, nil, nil, nil), GSQ_SUCCESS)
        let (w, g) = (try XCTUnwrap(value), try XCTUnwrap(grad))
        (w[0], w[1]) = (2, -1)          // the model uses values written through the pointer
        var b: UnsafeMutablePointer<Float>?
        XCTAssertEqual(gsq_model_parameter(model, 1, nil, &b, nil, nil, nil), GSQ_SUCCESS)
        try XCTUnwrap(b)[0] = 0.5
        XCTAssertEqual(forward(model, try Tensor(shape: [1, 2], values: [3, 4])), GSQ_SUCCESS)
        XCTAssertEqual(try tensor(model, GSQ_MODEL_OUTPUT).0, [2 * 3 - 4 + 0.5])
        XCTAssertEqual(backward(model, try Tensor(shape: [1, 1], values: [1])), GSQ_SUCCESS)
        XCTAssertEqual([g[0], g[1]], [3, 4])
        XCTAssertEqual(gsq_model_zero_grad(model), GSQ_SUCCESS)
        XCTAssertEqual([g[0], g[1]], [0, 0])
        XCTAssertEqual(gsq_model_set_training(model, 0), GSQ_SUCCESS)
    }

    // MARK: - Bad arguments

    func testCreateRejectsBadOptions() throws {
        var model: gsq_model_t? = OpaquePointer(bitPattern: 0x1234)
        var o = options(GSQ_MODEL_LINEAR, input: 2, output: 3)
        assertFails(gsq_model_create(nil, &o), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_create")
        assertFails(gsq_model_create(&model, nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_create")
        var bad = o
        bad.struct_size -= 8
        assertFails(gsq_model_create(&model, &bad), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_create")
        bad = o
        bad.kind = gsq_model_kind_t(rawValue: 99)
        assertFails(gsq_model_create(&model, &bad), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_create")
        for (field, value) in [(\gsq_model_options_t.input_size, Int64(-1)), (\.output_size, 0),
                               (\.input_size, 1 << 40), (\.output_size, Int64.max)] {
            bad = o
            bad[keyPath: field] = value
            assertFails(gsq_model_create(&model, &bad), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_create")
        }
        (bad.input_size, bad.output_size) = (1 << 20, 1 << 20)   // 2^40 weights
        assertFails(gsq_model_create(&model, &bad), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_create")
        bad = o
        (bad.kind, bad.cell) = (GSQ_MODEL_GCRN_SEQ2SEQ, GSQ_MODEL_LSTM)   // not a graph cell
        assertFails(gsq_model_create(&model, &bad), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_create")
        XCTAssertEqual(model, OpaquePointer(bitPattern: 0x1234), "out untouched on failure")
        gsq_model_destroy(nil)
    }

    func testNullModelIsRejectedEverywhere() {
        let x: [Float] = [1, 2], shape: [Int64] = [1, 2]
        var data: UnsafePointer<Float>?
        assertFails(gsq_model_set_training(nil, 1), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_set_training")
        assertFails(gsq_model_forward(nil, nil, x, 2, shape, nil, nil, nil), GSQ_ERR_INVALID_ARGUMENT,
                    "gsq_model_forward")
        assertFails(gsq_model_tensor(nil, GSQ_MODEL_OUTPUT, &data, nil, nil), GSQ_ERR_INVALID_ARGUMENT,
                    "gsq_model_tensor")
        assertFails(gsq_model_backward(nil, x, nil, nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_backward")
        XCTAssertEqual(gsq_model_parameter_count(nil), -1)
        XCTAssertTrue(String(cString: gsq_last_error()).hasPrefix("gsq_model_parameter_count:"))
        assertFails(gsq_model_parameter(nil, 0, nil, nil, nil, nil, nil), GSQ_ERR_INVALID_ARGUMENT,
                    "gsq_model_parameter")
        assertFails(gsq_model_zero_grad(nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_zero_grad")
        XCTAssertNil(data)
    }

    func testForwardAndBackwardRejectBadInputAndKeepTheLastResult() throws {
        let model = try create(options(GSQ_MODEL_LINEAR, input: 2, output: 3))
        defer { gsq_model_destroy(model) }
        let x: [Float] = [1, 2, 3, 4]
        let fn = "gsq_model_forward"
        var data: UnsafePointer<Float>? = nil
        assertFails(gsq_model_tensor(model, GSQ_MODEL_OUTPUT, &data, nil, nil), GSQ_ERR_INVALID_ARGUMENT,
                    "gsq_model_tensor")                                   // no forward yet
        assertFails(gsq_model_backward(model, x, nil, nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_backward")
        XCTAssertEqual(gsq_model_forward(model, nil, x, 2, [2, 2], nil, nil, nil), GSQ_SUCCESS)
        let (before, _) = try tensor(model, GSQ_MODEL_OUTPUT)
        assertFails(gsq_model_forward(model, nil, nil, 2, [2, 2], nil, nil, nil), GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_model_forward(model, nil, x, 2, nil, nil, nil, nil), GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_model_forward(model, nil, x, 0, [2], nil, nil, nil), GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_model_forward(model, nil, x, 5, [1, 1, 1, 2, 2], nil, nil, nil),
                    GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_model_forward(model, nil, x, -1, [2], nil, nil, nil), GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_model_forward(model, nil, x, 2, [-2, 2], nil, nil, nil), GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_model_forward(model, nil, x, 2, [1 << 40, 1 << 40], nil, nil, nil),
                    GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_model_forward(model, nil, x, 2, [1, 4], nil, nil, nil), GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_model_forward(model, nil, x, 2, [2, 2], [2, 2], nil, nil), GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_model_forward(model, nil, x, 2, [2, 2], nil, x, nil), GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_model_forward(model, nil, x, 2, [2, 2], nil, nil, x), GSQ_ERR_INVALID_ARGUMENT, fn)
        var graph: gsq_graph_t?
        XCTAssertEqual(gsq_graph_create_coo(&graph, 2, 2, 0, nil, nil, nil), GSQ_SUCCESS)
        defer { gsq_graph_destroy(graph) }
        assertFails(gsq_model_forward(model, graph, x, 2, [2, 2], nil, nil, nil), GSQ_ERR_INVALID_ARGUMENT, fn)
        XCTAssertEqual(try tensor(model, GSQ_MODEL_OUTPUT).0, before, "the last result is kept")

        let dy = [Float](repeating: 1, count: 6)
        assertFails(gsq_model_tensor(model, GSQ_MODEL_GRAD_INPUT, &data, nil, nil), GSQ_ERR_INVALID_ARGUMENT,
                    "gsq_model_tensor")                                   // no backward yet
        assertFails(gsq_model_backward(model, nil, nil, nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_backward")
        assertFails(gsq_model_backward(model, dy, dy, nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_backward")
        assertFails(gsq_model_backward(model, dy, nil, dy), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_backward")
        var grad: UnsafeMutablePointer<Float>?
        XCTAssertEqual(gsq_model_parameter(model, 0, nil, nil, &grad, nil, nil), GSQ_SUCCESS)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: grad, count: 6)), [Float](repeating: 0, count: 6),
                       "failed backwards accumulate nothing")
        XCTAssertNil(data)
    }

    func testTensorAndParameterQueriesRejectBadArguments() throws {
        let model = try create(options(GSQ_MODEL_LINEAR, input: 2, output: 3))
        defer { gsq_model_destroy(model) }
        XCTAssertEqual(gsq_model_forward(model, nil, [1, 2], 1, [2], nil, nil, nil), GSQ_SUCCESS)
        XCTAssertEqual(backward(model, try Tensor(shape: [3], values: [1, 1, 1])), GSQ_SUCCESS)
        var data: UnsafePointer<Float>?
        var rank: Int64 = 9
        var shape: [Int64] = [9, 9, 9, 9]
        for which in [GSQ_MODEL_STATE_H, GSQ_MODEL_STATE_C, GSQ_MODEL_GRAD_H0, GSQ_MODEL_GRAD_C0,
                      gsq_model_tensor_t(rawValue: 6), gsq_model_tensor_t(rawValue: UInt32.max)] {
            assertFails(gsq_model_tensor(model, which, &data, &rank, &shape), GSQ_ERR_INVALID_ARGUMENT,
                        "gsq_model_tensor")
        }
        var name: UnsafePointer<CChar>?
        for index: Int64 in [-1, 2, .max] {
            assertFails(gsq_model_parameter(model, index, &name, nil, nil, &rank, &shape),
                        GSQ_ERR_INVALID_ARGUMENT, "gsq_model_parameter")
        }
        XCTAssertNil(data)
        XCTAssertNil(name)
        XCTAssertEqual(rank, 9)
        XCTAssertEqual(shape, [9, 9, 9, 9])
    }

    // MARK: - Training: clipping, optimisers, checkpoints, losses

    /// A Linear model through C and the same model in Swift, after one forward/backward.
    private func trainedPair() throws -> (gsq_model_t, Linear, Tensor) {
        var rng = TestRNG(seed: 3)
        let model = try create(options(GSQ_MODEL_LINEAR, input: 4, output: 2, seed: 5))
        let swift = try Linear(inputSize: 4, outputSize: 2, seed: 5)
        let x = try Tensor(shape: [6, 4], values: rng.floats(24))
        let dy = try Tensor(shape: [6, 2], values: rng.floats(12, -10, 10))
        XCTAssertEqual(forward(model, x), GSQ_SUCCESS)
        XCTAssertEqual(backward(model, dy), GSQ_SUCCESS)
        _ = try swift.forward(x)
        _ = try swift.backward(dy)
        return (model, swift, x)
    }

    private func assertSameParameters(_ model: gsq_model_t, _ swift: Linear, _ context: String) throws {
        for (i, (name, p)) in swift.namedParameters.enumerated() {
            let (_, value, grad, _) = try parameter(model, Int64(i))
            XCTAssertNil(firstBitwiseDifference(value, p.value.values), "\(context) \(name)")
            XCTAssertNil(firstBitwiseDifference(grad, p.gradient.values), "\(context) \(name) gradient")
        }
    }

    func testClipAndOptimisersMatchSwiftBitwise() throws {
        let kinds: [(gsq_optimizer_kind_t, ([Parameter]) throws -> any Optimizer)] = [
            (GSQ_OPTIMIZER_SGD, { try SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, nesterov: true) }),
            (GSQ_OPTIMIZER_RMSPROP, { try RMSProp(parameters: $0, learningRate: 0.1, alpha: 0.99, epsilon: 1e-8,
                                                  momentum: 0.9, centered: true, weightDecay: 0.01) }),
            (GSQ_OPTIMIZER_ADAM, { try Adam(parameters: $0, learningRate: 0.1, weightDecay: 0.01, amsgrad: true) }),
            (GSQ_OPTIMIZER_ADAMW, { try AdamW(parameters: $0, learningRate: 0.1, weightDecay: 0.01, amsgrad: true) }),
        ]
        for (kind, makeSwift) in kinds {
            let (model, swift, _) = try trainedPair()
            defer { gsq_model_destroy(model) }
            var o = gsq_optimizer_options_t()
            o.struct_size = UInt32(MemoryLayout<gsq_optimizer_options_t>.size)
            (o.kind, o.learning_rate, o.momentum, o.nesterov) = (kind, 0.1, 0.9, 1)
            (o.alpha, o.beta1, o.beta2, o.epsilon, o.centered, o.amsgrad) = (0.99, 0.9, 0.999, 1e-8, 1, 1)
            o.weight_decay = kind == GSQ_OPTIMIZER_SGD ? 0 : 0.01
            var optimizer: gsq_optimizer_t?
            XCTAssertEqual(gsq_optimizer_create(&optimizer, model, &o), GSQ_SUCCESS, String(cString: gsq_last_error()))
            defer { gsq_optimizer_destroy(optimizer) }
            let reference = try makeSwift(swift.parameters)
            var norm: Float = -1
            XCTAssertEqual(gsq_model_clip_grad_norm(model, 1, &norm), GSQ_SUCCESS)
            XCTAssertEqual(norm, try clipGradientNorm(swift.parameters, maxNorm: 1))
            for step in 0..<3 {
                XCTAssertEqual(gsq_optimizer_step(optimizer), GSQ_SUCCESS)
                try reference.step()
                try assertSameParameters(model, swift, "\(kind) step \(step)")
            }
            XCTAssertEqual(gsq_optimizer_set_learning_rate(optimizer, 0.5), GSQ_SUCCESS)
            reference.learningRate = 0.5
            XCTAssertEqual(gsq_optimizer_step(optimizer), GSQ_SUCCESS)
            try reference.step()
            try assertSameParameters(model, swift, "\(kind) after set_learning_rate")
        }
    }

    /// Saved optimiser state resumes exactly: two more Adam steps after a
    /// save/load round trip into fresh objects equal two more uninterrupted ones.
    func testOptimiserSaveLoadResumesBitwise() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsq-opt-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (modelPath, optPath) = (dir.appendingPathComponent("m.safetensors").path,
                                    dir.appendingPathComponent("o.safetensors").path)
        var o = gsq_optimizer_options_t()
        o.struct_size = UInt32(MemoryLayout<gsq_optimizer_options_t>.size)
        (o.kind, o.learning_rate, o.beta1, o.beta2, o.epsilon) = (GSQ_OPTIMIZER_ADAM, 0.1, 0.9, 0.999, 1e-8)
        func make(_ model: gsq_model_t) throws -> gsq_optimizer_t {
            var optimizer: gsq_optimizer_t?
            XCTAssertEqual(gsq_optimizer_create(&optimizer, model, &o), GSQ_SUCCESS)
            return try XCTUnwrap(optimizer)
        }
        let (a, _, _) = try trainedPair(), (b, _, _) = try trainedPair()
        defer { gsq_model_destroy(a); gsq_model_destroy(b) }
        let optA = try make(a), optB = try make(b)
        defer { gsq_optimizer_destroy(optA); gsq_optimizer_destroy(optB) }
        for _ in 0..<2 { XCTAssertEqual(gsq_optimizer_step(optA), GSQ_SUCCESS) }
        XCTAssertEqual(gsq_model_save(a, modelPath), GSQ_SUCCESS)
        XCTAssertEqual(gsq_optimizer_save(optA, optPath), GSQ_SUCCESS, String(cString: gsq_last_error()))
        XCTAssertEqual(gsq_model_load(b, modelPath), GSQ_SUCCESS)
        XCTAssertEqual(gsq_optimizer_load(optB, optPath), GSQ_SUCCESS, String(cString: gsq_last_error()))
        for _ in 0..<2 {
            XCTAssertEqual(gsq_optimizer_step(optA), GSQ_SUCCESS)
            XCTAssertEqual(gsq_optimizer_step(optB), GSQ_SUCCESS)
        }
        for i in 0..<gsq_model_parameter_count(a) {
            XCTAssertNil(firstBitwiseDifference(try parameter(a, i).1, try parameter(b, i).1), "parameter \(i)")
        }
        // Errors: NULLs, a missing file, and another kind's state (nothing changes).
        XCTAssertEqual(gsq_optimizer_save(nil, optPath), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(gsq_optimizer_save(optA, nil), GSQ_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(gsq_optimizer_load(optB, dir.appendingPathComponent("none").path), GSQ_ERR_INVALID_ARGUMENT)
        o.kind = GSQ_OPTIMIZER_SGD
        o.momentum = 0.9
        let sgd = try make(b)
        defer { gsq_optimizer_destroy(sgd) }
        XCTAssertEqual(gsq_optimizer_step(sgd), GSQ_SUCCESS)
        XCTAssertNotEqual(gsq_optimizer_load(sgd, optPath), GSQ_SUCCESS, "Adam state into SGD")
        XCTAssertTrue(String(cString: gsq_last_error()).contains("gsq_optimizer_load"))
    }

    func testOptimiserRejectsBadArgumentsAndOutlivesItsModel() throws {
        let (model, _, _) = try trainedPair()
        var o = gsq_optimizer_options_t()
        o.struct_size = UInt32(MemoryLayout<gsq_optimizer_options_t>.size)
        (o.kind, o.learning_rate, o.beta1, o.beta2, o.epsilon) = (GSQ_OPTIMIZER_ADAM, 1e-3, 0.9, 0.999, 1e-8)
        var optimizer: gsq_optimizer_t? = nil
        let fn = "gsq_optimizer_create"
        assertFails(gsq_optimizer_create(nil, model, &o), GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_optimizer_create(&optimizer, nil, &o), GSQ_ERR_INVALID_ARGUMENT, fn)
        assertFails(gsq_optimizer_create(&optimizer, model, nil), GSQ_ERR_INVALID_ARGUMENT, fn)
        for change in [{ (o: inout gsq_optimizer_options_t) in o.struct_size = 4 },
                       { $0.kind = gsq_optimizer_kind_t(rawValue: 4) }, { $0.learning_rate = -1 },
                       { $0.learning_rate = .nan }, { $0.beta1 = 1 }, { $0.epsilon = -1 }] {
            var bad = o
            change(&bad)
            assertFails(gsq_optimizer_create(&optimizer, model, &bad), GSQ_ERR_INVALID_ARGUMENT, fn)
        }
        XCTAssertNil(optimizer)
        XCTAssertEqual(gsq_optimizer_create(&optimizer, model, &o), GSQ_SUCCESS)
        assertFails(gsq_optimizer_step(nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_optimizer_step")
        assertFails(gsq_optimizer_set_learning_rate(nil, 1), GSQ_ERR_INVALID_ARGUMENT,
                    "gsq_optimizer_set_learning_rate")
        assertFails(gsq_optimizer_set_learning_rate(optimizer, .infinity), GSQ_ERR_INVALID_ARGUMENT,
                    "gsq_optimizer_set_learning_rate")
        assertFails(gsq_model_clip_grad_norm(model, -1, nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_clip_grad_norm")
        assertFails(gsq_model_clip_grad_norm(nil, 1, nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_clip_grad_norm")
        gsq_model_destroy(model)                        // the optimiser keeps the parameters alive
        XCTAssertEqual(gsq_optimizer_step(optimizer), GSQ_SUCCESS)
        gsq_optimizer_destroy(optimizer)
        gsq_optimizer_destroy(nil)
    }

    func testSaveAndLoadRoundTrip() throws {
        let (model, swift, x) = try trainedPair()
        defer { gsq_model_destroy(model) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("model-abi-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(gsq_model_save(model, path), GSQ_SUCCESS, String(cString: gsq_last_error()))
        let restored = try create(options(GSQ_MODEL_LINEAR, input: 4, output: 2, seed: 99))
        defer { gsq_model_destroy(restored) }
        XCTAssertEqual(gsq_model_load(restored, path), GSQ_SUCCESS, String(cString: gsq_last_error()))
        XCTAssertEqual(forward(restored, x), GSQ_SUCCESS)
        XCTAssertNil(firstBitwiseDifference(try tensor(restored, GSQ_MODEL_OUTPUT).0, try swift.forward(x).values))
        let other = try create(options(GSQ_MODEL_LINEAR, input: 3, output: 2))
        defer { gsq_model_destroy(other) }
        let (_, before, _, _) = try parameter(other, 0)
        assertFails(gsq_model_load(other, path), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_load")   // shapes differ
        XCTAssertEqual(try parameter(other, 0).1, before, "a failed load changes nothing")
        XCTAssertNotEqual(gsq_model_load(other, path + ".missing"), GSQ_SUCCESS)
        assertFails(gsq_model_load(other, nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_load")
        assertFails(gsq_model_save(other, nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_save")
        assertFails(gsq_model_save(nil, path), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_save")
    }

    func testLossesMatchSwiftBitwise() throws {
        var rng = TestRNG(seed: 9)
        let n = 37
        let p = rng.floats(n), t = rng.floats(n), mask: [Float] = (0..<n).map { $0 % 3 == 0 ? 0 : 1 }
        let (pt, tt) = (try Tensor(shape: [n], values: p), try Tensor(shape: [n], values: t))
        var loss: Float = 0
        var grad = [Float](repeating: 0, count: n)
        func expect(_ status: gsq_status_t, _ swift: (value: Float, gradient: Tensor), _ name: String) {
            XCTAssertEqual(status, GSQ_SUCCESS, String(cString: gsq_last_error()))
            XCTAssertEqual(loss.bitPattern, swift.value.bitPattern, name)
            XCTAssertNil(firstBitwiseDifference(grad, swift.gradient.values), name)
        }
        expect(gsq_loss_mse(Int64(n), p, t, &loss, &grad), try Loss.meanSquaredError(pt, tt), "mse")
        expect(gsq_loss_mae(Int64(n), p, t, mask, &loss, &grad),
               try Loss.meanAbsoluteError(pt, tt, mask: Tensor(shape: [n], values: mask)), "mae")
        expect(gsq_loss_bce_with_logits(Int64(n), p, t.map { ($0 + 1) / 2 }, &loss, &grad),
               try Loss.binaryCrossEntropyWithLogits(pt, Tensor(shape: [n], values: t.map { ($0 + 1) / 2 })), "bce")
        let (rows, classes) = (9, 4)
        let logits = rng.floats(rows * classes)
        let labels: [Int32] = (0..<rows).map { Int32($0 % classes) }
        let rowMask: [UInt8] = (0..<rows).map { $0 % 4 == 0 ? 0 : 1 }
        grad = [Float](repeating: 0, count: rows * classes)
        expect(gsq_loss_softmax_cross_entropy(Int64(rows), Int64(classes), logits, labels, rowMask, &loss, &grad),
               try Loss.softmaxCrossEntropy(logits: Tensor(shape: [rows, classes], values: logits), labels: labels,
                                            mask: rowMask.map { $0 != 0 }), "cross entropy")

        loss = 42
        grad = [Float](repeating: 7, count: n)
        assertFails(gsq_loss_mse(-1, p, t, &loss, &grad), GSQ_ERR_INVALID_ARGUMENT, "gsq_loss_mse")
        assertFails(gsq_loss_mse(0, p, t, &loss, &grad), GSQ_ERR_INVALID_ARGUMENT, "gsq_loss_mse")
        assertFails(gsq_loss_mse(Int64(n), nil, t, &loss, &grad), GSQ_ERR_INVALID_ARGUMENT, "gsq_loss_mse")
        assertFails(gsq_loss_mse(Int64(n), p, t, nil, &grad), GSQ_ERR_INVALID_ARGUMENT, "gsq_loss_mse")
        var badMask = mask
        badMask[0] = 0.5
        assertFails(gsq_loss_mae(Int64(n), p, t, badMask, &loss, &grad), GSQ_ERR_INVALID_ARGUMENT, "gsq_loss_mae")
        assertFails(gsq_loss_bce_with_logits(Int64(n), p, nil, &loss, &grad), GSQ_ERR_INVALID_ARGUMENT,
                    "gsq_loss_bce_with_logits")
        let ce = "gsq_loss_softmax_cross_entropy"
        var badLabels = labels
        badLabels[1] = Int32(classes)
        assertFails(gsq_loss_softmax_cross_entropy(Int64(rows), Int64(classes), logits, badLabels, nil, &loss, &grad),
                    GSQ_ERR_INVALID_ARGUMENT, ce)
        assertFails(gsq_loss_softmax_cross_entropy(Int64(rows), 0, logits, labels, nil, &loss, &grad),
                    GSQ_ERR_INVALID_ARGUMENT, ce)
        assertFails(gsq_loss_softmax_cross_entropy(Int64(rows), Int64(classes), logits, nil, nil, &loss, &grad),
                    GSQ_ERR_INVALID_ARGUMENT, ce)
        XCTAssertEqual(loss, 42)
        XCTAssertEqual(grad, [Float](repeating: 7, count: n), "outputs untouched on failure")
    }

    // MARK: - Sequence, graph and GCRN kinds

    /// Runs forward and backward through C and through `swift` (the same
    /// layer built in Swift) and compares every result bit for bit.
    private func assertMatches(_ model: gsq_model_t, graph: gsq_graph_t? = nil, x: Tensor, lengths: [Int64]? = nil,
                               h0: Tensor?, c0: Tensor?, dh: Tensor?, dc: Tensor?,
                               swift: (Tensor, RecurrentState?) throws -> (Tensor, RecurrentState?),
                               swiftBackward: (Tensor, RecurrentState?) throws -> (Tensor, RecurrentState?),
                               _ name: String) throws {
        var rng = TestRNG(seed: 17)
        func pointer(_ t: Tensor?) -> UnsafePointer<Float>? {
            t?.withUnsafeBufferPointer { UnsafePointer($0.baseAddress) }   // tensors outlive the calls
        }
        let shape = x.shape.map(Int64.init)
        XCTAssertEqual(gsq_model_forward(model, graph, pointer(x), Int64(shape.count), shape, lengths,
                                         pointer(h0), pointer(c0)), GSQ_SUCCESS, String(cString: gsq_last_error()))
        let initial = h0.map { RecurrentState(h: $0, c: c0) }
        let (y, state) = try swift(x, initial)
        XCTAssertNil(firstBitwiseDifference(try tensor(model, GSQ_MODEL_OUTPUT).0, y.values), "\(name) y")
        if let state {
            XCTAssertNil(firstBitwiseDifference(try tensor(model, GSQ_MODEL_STATE_H).0, state.h.values), "\(name) h")
            if let c = state.c {
                XCTAssertNil(firstBitwiseDifference(try tensor(model, GSQ_MODEL_STATE_C).0, c.values), "\(name) c")
            }
        }
        let dy = try Tensor(shape: y.shape, values: rng.floats(y.count))
        XCTAssertEqual(gsq_model_backward(model, pointer(dy), pointer(dh), pointer(dc)), GSQ_SUCCESS,
                       String(cString: gsq_last_error()))
        let (dx, d0) = try swiftBackward(dy, dh.map { RecurrentState(h: $0, c: dc) })
        XCTAssertNil(firstBitwiseDifference(try tensor(model, GSQ_MODEL_GRAD_INPUT).0, dx.values), "\(name) dx")
        if let d0 {
            XCTAssertNil(firstBitwiseDifference(try tensor(model, GSQ_MODEL_GRAD_H0).0, d0.h.values), "\(name) dh0")
            if let dc0 = d0.c {
                XCTAssertNil(firstBitwiseDifference(try tensor(model, GSQ_MODEL_GRAD_C0).0, dc0.values), "\(name) dc0")
            }
        }
    }

    func testSequenceKindsMatchSwiftBitwise() throws {
        var rng = TestRNG(seed: 21)
        let (T, B, I, H) = (5, 3, 4, 6)
        // A bidirectional 2-layer LSTM with peepholes and a projection, h0, c0, lengths, dh, dc.
        var o = options(GSQ_MODEL_LSTM, input: Int64(I), hidden: Int64(H))
        (o.num_layers, o.bidirectional, o.lstm_flags, o.proj_size) = (2, 1, GSQ_LSTM_PEEPHOLE, 2)
        let lstm = try LSTM(inputSize: I, hiddenSize: H, options: RecurrentOptions(numLayers: 2, bidirectional: true),
                            peephole: true, projectionSize: 2, seed: 7)
        let model = try create(o)
        defer { gsq_model_destroy(model) }
        let x = try Tensor(shape: [T, B, I], values: rng.floats(T * B * I))
        let h0 = try Tensor(shape: [4, B, 2], values: rng.floats(4 * B * 2))
        let c0 = try Tensor(shape: [4, B, H], values: rng.floats(4 * B * H))
        let dh = try Tensor(shape: [4, B, 2], values: rng.floats(4 * B * 2))
        let dc = try Tensor(shape: [4, B, H], values: rng.floats(4 * B * H))
        try assertMatches(model, x: x, lengths: [5, 2, 4], h0: h0, c0: c0, dh: dh, dc: dc,
                          swift: { try lstm.forward($0, lengths: [5, 2, 4], initialState: $1) },
                          swiftBackward: { try lstm.backward($0, stateGradient: $1) }, "LSTM")
        // A batch-first GRU in Cho et al.'s form, zero states.
        var g = options(GSQ_MODEL_GRU, input: Int64(I), hidden: Int64(H))
        (g.batch_first, g.gru_reset_before_product) = (1, 1)
        let gru = try GRU(inputSize: I, hiddenSize: H, options: RecurrentOptions(batchFirst: true),
                          form: .resetBeforeProduct, seed: 7)
        let gModel = try create(g)
        defer { gsq_model_destroy(gModel) }
        try assertMatches(gModel, x: try Tensor(shape: [B, T, I], values: rng.floats(T * B * I)),
                          h0: nil, c0: nil, dh: nil, dc: nil,
                          swift: { try gru.forward($0, lengths: nil, initialState: $1) },
                          swiftBackward: { try gru.backward($0, stateGradient: $1) }, "GRU")
        assertFails(gsq_model_forward(gModel, nil, x.values, 3, [Int64(B), Int64(T), Int64(I)], nil, nil,
                                      c0.values), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_forward")   // GRU has no c
        assertFails(gsq_model_forward(gModel, nil, x.values, 2, [Int64(B), Int64(T * I)], nil, nil, nil),
                    GSQ_ERR_INVALID_ARGUMENT, "gsq_model_forward")                                 // rank
        var r = options(GSQ_MODEL_RNN_RELU, input: 2, hidden: 2)
        r.dropout = 1.5
        var out: gsq_model_t?
        assertFails(gsq_model_create(&out, &r), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_create")
    }

    func testGraphKindsMatchSwiftBitwise() throws {
        var rng = TestRNG(seed: 23)
        let (N, B, T, F, H) = (7, 2, 3, 3, 4)
        let rows: [Int32] = (0..<Int32(N)).flatMap { [$0, ($0 + 1) % Int32(N)] }
        let cols: [Int32] = (0..<Int32(N)).flatMap { [($0 + 1) % Int32(N), $0] }
        var cGraph: gsq_graph_t?
        XCTAssertEqual(gsq_graph_create_coo(&cGraph, Int64(N), Int64(N), Int64(2 * N), rows, cols, nil), GSQ_SUCCESS)
        defer { gsq_graph_destroy(cGraph) }
        let graph = try Graph(nodeCount: N, rows: rows, columns: cols)

        var c = options(GSQ_MODEL_CHEB_CONV, input: Int64(F), output: Int64(H))
        (c.order, c.lambda_max) = (3, 2)
        let cheb = try ChebConv(inputSize: F, outputSize: H, order: 3, lambdaMax: 2, seed: 7)
        let chebModel = try create(c)
        defer { gsq_model_destroy(chebModel) }
        for _ in 0..<2 {   // the second call reuses the cached adjacency copy
            try assertMatches(chebModel, graph: cGraph, x: try Tensor(shape: [N, B, F], values: rng.floats(N * B * F)),
                              h0: nil, c0: nil, dh: nil, dc: nil,
                              swift: { (try cheb.forward($0, graph: graph), $1) },
                              swiftBackward: { (try cheb.backward($0), $1) }, "ChebConv")
        }
        assertFails(gsq_model_forward(chebModel, nil, rng.floats(N * F), 2, [Int64(N), Int64(F)], nil, nil, nil),
                    GSQ_ERR_INVALID_ARGUMENT, "gsq_model_forward")                     // graph required
        assertFails(gsq_model_forward(chebModel, cGraph, rng.floats(N * F), 2, [Int64(N - 1), Int64(F)], nil, nil,
                                      nil), GSQ_ERR_INVALID_ARGUMENT, "gsq_model_forward")   // wrong N

        let gcn = try GCNConv(inputSize: F, outputSize: H, seed: 7)
        let gcnModel = try create(options(GSQ_MODEL_GCN_CONV, input: Int64(F), output: Int64(H)))
        defer { gsq_model_destroy(gcnModel) }
        try assertMatches(gcnModel, graph: cGraph, x: try Tensor(shape: [N, F], values: rng.floats(N * F)),
                          h0: nil, c0: nil, dh: nil, dc: nil,
                          swift: { (try gcn.forward($0, graph: graph), $1) },
                          swiftBackward: { (try gcn.backward($0), $1) }, "GCNConv")

        var l = options(GSQ_MODEL_GCONV_LSTM, input: Int64(F), hidden: Int64(H))
        (l.order, l.lstm_flags) = (3, GSQ_LSTM_PEEPHOLE)
        let gconv = try GConvLSTM(inputSize: F, hiddenSize: H, order: 3, seed: 7)
        let gconvModel = try create(l)
        defer { gsq_model_destroy(gconvModel) }
        let c0 = try Tensor(shape: [N, B, H], values: rng.floats(N * B * H))
        let zeroH = Tensor.zeros([N, B, H])
        try assertMatches(gconvModel, graph: cGraph, x: try Tensor(shape: [T, N, B, F], values: rng.floats(T * N * B * F)),
                          h0: nil, c0: c0, dh: nil, dc: c0,   // c only: h is zero
                          swift: { x, _ in try gconv.forward(x, graph: graph, initialState: RecurrentState(h: zeroH, c: c0)) },
                          swiftBackward: { dy, _ in
                              try gconv.backward(dy, stateGradient: RecurrentState(h: zeroH, c: c0)) }, "GConvLSTM")

        let ggru = try GConvGRU(inputSize: F, hiddenSize: H, order: 2, seed: 7)
        let ggruModel = try create(options(GSQ_MODEL_GCONV_GRU, input: Int64(F), hidden: Int64(H)))
        defer { gsq_model_destroy(ggruModel) }
        let h0 = try Tensor(shape: [N, B, H], values: rng.floats(N * B * H))
        try assertMatches(ggruModel, graph: cGraph, x: try Tensor(shape: [T, N, B, F], values: rng.floats(T * N * B * F)),
                          h0: h0, c0: nil, dh: h0, dc: nil,
                          swift: { try ggru.forward($0, graph: graph, initialState: $1) },
                          swiftBackward: { try ggru.backward($0, stateGradient: $1) }, "GConvGRU")

        var m1 = options(GSQ_MODEL_GCRN1, input: Int64(F), hidden: Int64(H), output: 5)
        m1.order = 2
        let model1 = try GCRNModel1(inputSize: F, convolutionSize: 5, hiddenSize: H, order: 2, seed: 7)
        let model1Handle = try create(m1)
        defer { gsq_model_destroy(model1Handle) }
        try assertMatches(model1Handle, graph: cGraph, x: try Tensor(shape: [T, N, B, F], values: rng.floats(T * N * B * F)),
                          h0: h0, c0: c0, dh: h0, dc: c0,
                          swift: { try model1.forward($0, graph: graph, initialState: $1) },
                          swiftBackward: { try model1.backward($0, stateGradient: $1) }, "GCRNModel1")

        var s2s = options(GSQ_MODEL_GCRN_SEQ2SEQ, input: Int64(F), hidden: Int64(H), output: 2)
        (s2s.order, s2s.horizon, s2s.num_layers, s2s.cell) = (2, 2, 2, GSQ_MODEL_GCONV_GRU)
        let seq2seq = try GCRNEncoderDecoder(cell: .gru, inputSize: F, hiddenSize: H, outputSize: 2, numLayers: 2,
                                             order: 2, horizon: 2, seed: 7)
        let seq2seqHandle = try create(s2s)
        defer { gsq_model_destroy(seq2seqHandle) }
        try assertMatches(seq2seqHandle, graph: cGraph, x: try Tensor(shape: [T, N, B, F], values: rng.floats(T * N * B * F)),
                          h0: nil, c0: nil, dh: nil, dc: nil,
                          swift: { (try seq2seq.forward($0, graph: graph), $1) },
                          swiftBackward: { (try seq2seq.backward($0), $1) }, "GCRNEncoderDecoder")
    }
}
