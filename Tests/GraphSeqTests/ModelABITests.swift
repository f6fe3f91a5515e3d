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
        bad.kind = GSQ_MODEL_GCRN1
        assertFails(gsq_model_create(&model, &bad), GSQ_ERR_UNSUPPORTED, "gsq_model_create")
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
}
