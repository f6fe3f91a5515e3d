import GraphSeq
import TestSupport
import XCTest

/// Optimiser state round trips: a run saved after some steps and resumed in a
/// fresh optimiser continues bit for bit as if uninterrupted.
final class OptimizerStateTests: XCTestCase {
    private typealias Make = ([Parameter]) throws -> Optimizer
    private let kinds: [(String, Make)] = [
        ("SGD", { try SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01) }),
        ("RMSProp", { try RMSProp(parameters: $0, learningRate: 0.01, momentum: 0.5, centered: true) }),
        ("Adam", { try Adam(parameters: $0, learningRate: 0.01, weightDecay: 0.1, amsgrad: true) }),
        ("AdamW", { try AdamW(parameters: $0, learningRate: 0.01) }),
    ]

    private func parameters(seed: UInt64) throws -> [Parameter] {
        var rng = TestRNG(seed: seed)
        return try [1, 17, 33].map { Parameter(try Tensor(shape: [$0], values: rng.floats($0))) }
    }

    /// Steps `optimizer` with the seeded gradients of steps `range`.
    private func run(_ optimizer: Optimizer, steps range: Range<Int>) throws {
        for step in range {
            var rng = TestRNG(seed: UInt64(100 + step))
            for p in optimizer.parameters {
                let g = rng.floats(p.gradient.count)
                p.gradient.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = g[i] } }
            }
            try optimizer.step()
        }
    }

    func testResumedRunIsBitwiseTheUninterruptedOne() throws {
        let directory = FileManager.default.temporaryDirectory.path
        for (name, make) in kinds {
            let uninterrupted = try make(try parameters(seed: 1))
            try run(uninterrupted, steps: 0..<5)

            let first = try make(try parameters(seed: 1))
            try run(first, steps: 0..<3)
            let path = "\(directory)/optimizer-state-\(name).safetensors"
            try Checkpoint.save(first, to: path)
            // A fresh optimiser over parameters holding the values at step 3.
            let resumed = try make(first.parameters.map { Parameter($0.value.copy()) })
            try Checkpoint.load(into: resumed, from: path)
            XCTAssertEqual(resumed.stepCount, 3, name)
            try run(resumed, steps: 3..<5)
            for (a, b) in zip(uninterrupted.parameters, resumed.parameters) {
                XCTAssertNil(firstBitwiseDifference(a.value.values, b.value.values), name)
            }
            // Without the state the run differs, so the test can fail.
            let fresh = try make(first.parameters.map { Parameter($0.value.copy()) })
            try run(fresh, steps: 3..<5)
            XCTAssertNotNil(firstBitwiseDifference(uninterrupted.parameters[2].value.values,
                                                   fresh.parameters[2].value.values), name)
        }
    }

    func testMismatchedStateIsRejectedAndChangesNothing() throws {
        let adam = try Adam(parameters: try parameters(seed: 2), learningRate: 0.01)
        try run(adam, steps: 0..<2)
        let before = adam.stateDict().map { $0.tensor.values }
        let sgd = try SGD(parameters: try parameters(seed: 2), learningRate: 0.1, momentum: 0.9)
        try run(sgd, steps: 0..<1)
        let sgdState = Dictionary(uniqueKeysWithValues: sgd.stateDict().map { ($0.name, $0.tensor) })
        XCTAssertThrowsError(try adam.loadStateDict(sgdState)) { XCTAssertTrue("\($0)".contains("momentum_buffer"), "\($0)") }

        var state = Dictionary(uniqueKeysWithValues: adam.stateDict().map { ($0.name, $0.tensor.copy()) })
        state["2.exp_avg"] = Tensor.zeros([32])
        XCTAssertThrowsError(try adam.loadStateDict(state)) { XCTAssertTrue("\($0)".contains("2.exp_avg"), "\($0)") }
        state["2.exp_avg"] = Tensor.zeros([33])
        state["step"] = try Tensor(shape: [1], values: [1.5])
        XCTAssertThrowsError(try adam.loadStateDict(state))
        XCTAssertEqual(adam.stateDict().map { $0.tensor.values }, before)
        XCTAssertEqual(adam.stepCount, 2)
    }
}
