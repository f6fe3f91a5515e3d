import GraphSeq
import TestSupport
import XCTest

/// Each loss against its double reference and finite differences of it.
final class LossTests: XCTestCase {
    /// Value within `rtol`, gradient within tolerance of both the reference's
    /// closed form and central differences of its value.
    func check(_ got: (value: Float, gradient: Tensor), _ reference: (value: Double, gradient: [Double]),
               numeric: [Double], _ context: String) {
        XCTAssertEqual(Double(got.value), reference.value, accuracy: 1e-6 * max(1, abs(reference.value)), context)
        XCTAssertLessThanOrEqual(toleranceRatio(got.gradient.values, reference.gradient, rtol: 1e-5, atol: 1e-7), 1, context)
        XCTAssertLessThanOrEqual(toleranceRatio(got.gradient.values, numeric, rtol: 1e-4, atol: 1e-6), 1, context)
    }

    func testMeanSquaredError() throws {
        var rng = TestRNG(seed: 1)
        for shape in [[1], [7, 3], [17, 33]] {   // 561 elements: SIMD body and tail
            let count = shape.reduce(1, *)
            let p = try Tensor(shape: shape, values: rng.floats(count)), t = try Tensor(shape: shape, values: rng.floats(count))
            let (pd, td) = (doubles(p.values), doubles(t.values))
            check(try Loss.meanSquaredError(p, t), meanSquaredErrorReference(pd, td),
                  numeric: numericalGradient(at: pd) { meanSquaredErrorReference($0, td).value }, "\(shape)")
        }
    }

    func testMeanAbsoluteErrorWithAndWithoutMask() throws {
        var rng = TestRNG(seed: 2)
        for shape in [[1], [7, 3], [17, 33]] {
            let count = shape.reduce(1, *)
            let p = try Tensor(shape: shape, values: rng.floats(count))
            var tv = rng.floats(count)
            let maskValues: [Float] = (0..<count).map { $0 == 0 || rng.float(0, 1) < 0.7 ? 1 : 0 }
            for i in 0..<count where maskValues[i] == 0 && i % 2 == 0 { tv[i] = .nan }   // missing targets
            let t = try Tensor(shape: shape, values: tv)
            let mask = try Tensor(shape: shape, values: maskValues)
            let (pd, td, md) = (doubles(p.values), doubles(tv), doubles(maskValues))
            check(try Loss.meanAbsoluteError(p, t, mask: mask), meanAbsoluteErrorReference(pd, td, mask: md),
                  numeric: numericalGradient(at: pd) { meanAbsoluteErrorReference($0, td, mask: md).value }, "masked \(shape)")
            let clean = try Tensor(shape: shape, values: tv.map { $0.isNaN ? 0.5 : $0 })
            let cd = doubles(clean.values)
            check(try Loss.meanAbsoluteError(p, clean), meanAbsoluteErrorReference(pd, cd, mask: nil),
                  numeric: numericalGradient(at: pd) { meanAbsoluteErrorReference($0, cd, mask: nil).value }, "\(shape)")
        }
    }

    func testMeanAbsoluteErrorEdgeCases() throws {
        let p = try Tensor(shape: [4], values: [1, 2, 3, 4])
        let t = try Tensor(shape: [4], values: [1, 0, 5, .nan])
        // sign(0) = 0 at the tie; the NaN target is masked out.
        let mask = try Tensor(shape: [4], values: [1, 1, 1, 0])
        let (value, gradient) = try Loss.meanAbsoluteError(p, t, mask: mask)
        XCTAssertEqual(value, 4.0 / 3)
        XCTAssertEqual(gradient.values, [0, 1.0 / 3, -1.0 / 3, 0])
        let none = try Loss.meanAbsoluteError(p, t, mask: Tensor.zeros([4]))
        XCTAssertEqual(none.value, 0)
        XCTAssertEqual(none.gradient.values, [0, 0, 0, 0])
        XCTAssertTrue(try Loss.meanAbsoluteError(p, t).value.isNaN, "an unmasked NaN target gives NaN")
        XCTAssertThrowsError(try Loss.meanAbsoluteError(p, t, mask: Tensor(shape: [4], values: [1, 0.5, 1, 0])))
        XCTAssertThrowsError(try Loss.meanAbsoluteError(p, t, mask: Tensor.zeros([2, 2])))
    }

    func testSoftmaxCrossEntropy() throws {
        var rng = TestRNG(seed: 3)
        for (n, c) in [(1, 1), (7, 5), (17, 10)] {
            let logits = try Tensor(shape: [n, c], values: rng.floats(n * c, -3, 3))
            let mask = (0..<n).map { $0 == 0 || rng.float(0, 1) < 0.6 }
            // Unlabelled rows may carry -1: they are not read.
            let labels = (0..<n).map { mask[$0] ? Int32(rng.int(c)) : -1 }
            let ld = doubles(logits.values)
            for m in [mask, nil] where m != nil || !labels.contains(-1) {
                check(try Loss.softmaxCrossEntropy(logits: logits, labels: labels, mask: m),
                      softmaxCrossEntropyReference(ld, classes: c, labels: labels, mask: m),
                      numeric: numericalGradient(at: ld) {
                          softmaxCrossEntropyReference($0, classes: c, labels: labels, mask: m).value
                      }, "\(n)x\(c) mask \(m != nil)")
            }
        }
    }

    func testSoftmaxCrossEntropyEdgeCases() throws {
        let logits = try Tensor(shape: [2, 3], values: [100, -100, 0, -100, 100, 100])
        let (value, gradient) = try Loss.softmaxCrossEntropy(logits: logits, labels: [1, 2])
        let reference = softmaxCrossEntropyReference(doubles(logits.values), classes: 3, labels: [1, 2], mask: nil)
        XCTAssertTrue(value.isFinite && gradient.values.allSatisfy(\.isFinite))
        XCTAssertEqual(Double(value), reference.value, accuracy: 1e-4)   // (200 + log 2) / 2
        XCTAssertLessThanOrEqual(toleranceRatio(gradient.values, reference.gradient, rtol: 1e-5, atol: 1e-7), 1)
        let none = try Loss.softmaxCrossEntropy(logits: logits, labels: [7, -3], mask: [false, false])
        XCTAssertEqual(none.value, 0)
        XCTAssertEqual(none.gradient.values, [Float](repeating: 0, count: 6))
        XCTAssertThrowsError(try Loss.softmaxCrossEntropy(logits: logits, labels: [1, 3]))          // label range
        XCTAssertThrowsError(try Loss.softmaxCrossEntropy(logits: logits, labels: [1, -1]))
        XCTAssertThrowsError(try Loss.softmaxCrossEntropy(logits: logits, labels: [1]))             // count
        XCTAssertThrowsError(try Loss.softmaxCrossEntropy(logits: logits, labels: [1, 2], mask: [true]))
        XCTAssertThrowsError(try Loss.softmaxCrossEntropy(logits: Tensor.zeros([6]), labels: [1]))  // rank
        XCTAssertThrowsError(try Loss.softmaxCrossEntropy(logits: Tensor.zeros([2, 0]), labels: [0, 0]))
        let nan = try Tensor(shape: [1, 2], values: [.nan, 1])
        XCTAssertTrue(try Loss.softmaxCrossEntropy(logits: nan, labels: [1]).value.isNaN)
    }

    func testBinaryCrossEntropyWithLogits() throws {
        var rng = TestRNG(seed: 4)
        for shape in [[1], [7, 3], [17, 33]] {
            let count = shape.reduce(1, *)
            let x = try Tensor(shape: shape, values: rng.floats(count, -6, 6))
            let t = try Tensor(shape: shape, values: (0..<count).map { i in i % 3 == 0 ? rng.float(0, 1) : Float(i % 2) })
            let (xd, td) = (doubles(x.values), doubles(t.values))
            check(try Loss.binaryCrossEntropyWithLogits(x, t), binaryCrossEntropyWithLogitsReference(xd, td),
                  numeric: numericalGradient(at: xd) { binaryCrossEntropyWithLogitsReference($0, td).value }, "\(shape)")
        }
        let extreme = try Tensor(shape: [4], values: [100, -100, 100, -100])
        let targets = try Tensor(shape: [4], values: [0, 1, 1, 0])
        let (value, gradient) = try Loss.binaryCrossEntropyWithLogits(extreme, targets)
        XCTAssertEqual(value, 50, accuracy: 1e-4)
        XCTAssertLessThanOrEqual(toleranceRatio(gradient.values, [0.25, -0.25, 0, 0], rtol: 0, atol: 1e-30), 1)
    }

    func testBadShapesAndNaN() throws {
        let a = Tensor.zeros([3, 2]), b = Tensor.zeros([2, 3]), empty = Tensor.zeros([0, 2])
        XCTAssertThrowsError(try Loss.meanSquaredError(a, b))
        XCTAssertThrowsError(try Loss.meanAbsoluteError(a, b))
        XCTAssertThrowsError(try Loss.binaryCrossEntropyWithLogits(a, b))
        XCTAssertThrowsError(try Loss.meanSquaredError(empty, empty))
        let nan = try Tensor(shape: [3, 2], values: [0, 1, .nan, 2, 3, 4])
        XCTAssertTrue(try Loss.meanSquaredError(nan, a).value.isNaN)
        XCTAssertTrue(try Loss.meanAbsoluteError(nan, a).value.isNaN)
        XCTAssertTrue(try Loss.binaryCrossEntropyWithLogits(nan, a).value.isNaN)
    }
}
