import GraphSeq
import TestSupport
import XCTest

/// Linear against a double reference and its finite differences: the pattern
/// every layer test follows.
final class LinearTests: XCTestCase {
    func testForwardAndBackwardMatchReference() throws {
        var rng = TestRNG(seed: 11)
        for (rows, inSize, outSize, bias) in [(1, 1, 1, true), (7, 5, 3, false), (17, 33, 9, true)] {
            let layer = try Linear(inputSize: inSize, outputSize: outSize, bias: bias, seed: 3)
            let x = try Tensor(shape: [rows, inSize], values: rng.floats(rows * inSize))
            let dy = try Tensor(shape: [rows, outSize], values: rng.floats(rows * outSize))
            let (w, b) = (doubles(layer.weight.value.values), doubles(layer.bias?.value.values ?? []))
            let ref = { (x: [Double], w: [Double], b: [Double]) in
                linearReference(x, w, b, rows: rows, inputSize: inSize, outputSize: outSize)
            }
            try forEachConfiguration { isa, threads in
                layer.zeroGradients()
                let y = try layer.forward(x)
                XCTAssertLessThanOrEqual(toleranceRatio(y.values, ref(doubles(x.values), w, b),
                                                        rtol: 1e-5, atol: 1e-5), 1, "\(isa) \(threads)")
                let dx = try layer.backward(dy)
                let loss = { projection($0, dy.values) }
                let xd = doubles(x.values)
                let expected = [
                    ("x", dx.values, numericalGradient(at: xd) { loss(ref($0, w, b)) }),
                    ("weight", layer.weight.gradient.values, numericalGradient(at: w) { loss(ref(xd, $0, b)) }),
                ] + (bias ? [("bias", layer.bias!.gradient.values,
                               numericalGradient(at: b) { loss(ref(xd, w, $0)) })] : [])
                for (name, analytic, numeric) in expected {
                    XCTAssertLessThanOrEqual(toleranceRatio(analytic, numeric, rtol: 1e-4, atol: 1e-4), 1,
                                             "d\(name) rows \(rows) \(isa) \(threads)")
                }
                let gradients = layer.parameters.map(\.gradient.values)
                layer.zeroGradients()
                try layer.backwardParameters(dy)   // the same parameter gradients, without dx
                XCTAssertEqual(layer.parameters.map(\.gradient.values), gradients, "rows \(rows) \(isa) \(threads)")
            }
        }
    }

    func testBadInputThrows() throws {
        let layer = try Linear(inputSize: 4, outputSize: 2, seed: 1)
        XCTAssertThrowsError(try layer.backward(Tensor.zeros([3, 2])))       // before forward
        XCTAssertThrowsError(try layer.backwardParameters(Tensor.zeros([3, 2])))
        XCTAssertThrowsError(try layer.forward(Tensor.zeros([3, 5])))        // wrong width
        _ = try layer.forward(Tensor.zeros([3, 4]))
        XCTAssertThrowsError(try layer.backward(Tensor.zeros([2, 2])))       // wrong dy shape
        XCTAssertThrowsError(try layer.backwardParameters(Tensor.zeros([2, 2])))
        XCTAssertThrowsError(try Linear(inputSize: 0, outputSize: 2, seed: 1))
    }

    func testStateDictRoundTripAndValidation() throws {
        let a = try Linear(inputSize: 3, outputSize: 2, seed: 1)
        let b = try Linear(inputSize: 3, outputSize: 2, seed: 2)
        XCTAssertEqual(a.stateDict().map(\.name), ["weight", "bias"])
        try b.loadStateDict(Dictionary(uniqueKeysWithValues: a.stateDict().map { ($0.name, $0.tensor) }))
        XCTAssertEqual(a.weight.value.values, b.weight.value.values)
        XCTAssertThrowsError(try b.loadStateDict(["weight": Tensor.zeros([2, 3])]))   // bias missing
        XCTAssertThrowsError(try b.loadStateDict(["weight": Tensor.zeros([3, 2]), "bias": Tensor.zeros([2])]))
        XCTAssertEqual(b.weight.value.values, a.weight.value.values, "a failed load changed nothing")
    }
}

final class ReLUTests: XCTestCase {
    func testForwardBackwardAndErrors() throws {
        let relu = ReLU()
        XCTAssertThrowsError(try relu.backward(Tensor.zeros([2])), "backward before forward")
        let x = try Tensor(shape: [2, 3], values: [-1, 0, 2, 3.5, -0.25, 1e-7])
        let y = relu.forward(x)
        XCTAssertEqual(y.values, [0, 0, 2, 3.5, 0, 1e-7])
        XCTAssertEqual(x.values, [-1, 0, 2, 3.5, -0.25, 1e-7], "the input is not modified")
        let dy = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        // The subgradient at 0 is 0, as torch.nn.ReLU's.
        XCTAssertEqual(try relu.backward(dy).values, [0, 0, 3, 4, 0, 6])
        XCTAssertThrowsError(try relu.backward(Tensor.zeros([3, 2])), "shape mismatch")
        XCTAssertTrue(relu.namedParameters.isEmpty)
    }
}
