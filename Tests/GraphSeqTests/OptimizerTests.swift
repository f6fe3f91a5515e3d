import GraphSeq
import TestSupport
import XCTest

/// Optimisers, clipping and schedules against double references of the
/// torch.optim / torch.nn.utils formulas.
final class OptimizerTests: XCTestCase {
    /// Sizes 1, 17 and 33 cover the zero-padded SIMD16 tail and full blocks.
    private let sizes = [1, 17, 33]

    /// Runs `steps` steps of `make`'s optimiser and of the reference on random
    /// gradients and checks every value after every step.
    private func checkAgainstReference(_ spec: OptimizerSpec, steps: Int = 6, rtol: Double = 2e-5,
                                       _ make: ([Parameter]) throws -> Optimizer) throws {
        var rng = TestRNG(seed: 5)
        let parameters = try sizes.map { Parameter(try Tensor(shape: [$0], values: rng.floats($0))) }
        let optimizer = try make(parameters)
        var references = sizes.map { ReferenceOptimizer(spec, count: $0) }
        var expected = parameters.map { doubles($0.value.values) }
        for step in 1...steps {
            for (k, p) in parameters.enumerated() {
                let g = rng.floats(p.value.count, -2, 2)
                setGradient(p, g)
                references[k].step(&expected[k], doubles(g))
            }
            try optimizer.step()
            for (k, p) in parameters.enumerated() {
                XCTAssertLessThanOrEqual(toleranceRatio(p.value.values, expected[k], rtol: rtol, atol: 1e-6), 1,
                                         "\(spec) size \(p.value.count) step \(step)")
            }
        }
    }

    func testSGDMatchesReference() throws {
        try checkAgainstReference(.sgd(lr: 0.1)) { try SGD(parameters: $0, learningRate: 0.1) }
        try checkAgainstReference(.sgd(lr: 0.1, momentum: 0.9)) {
            try SGD(parameters: $0, learningRate: 0.1, momentum: 0.9)
        }
        try checkAgainstReference(.sgd(lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01)) {
            try SGD(parameters: $0, learningRate: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01)
        }
        try checkAgainstReference(.sgd(lr: 0.05, momentum: 0.7, nesterov: true, weightDecay: 0.1)) {
            try SGD(parameters: $0, learningRate: 0.05, momentum: 0.7, nesterov: true, weightDecay: 0.1)
        }
    }

    func testRMSPropMatchesReference() throws {
        try checkAgainstReference(.rmsprop()) { try RMSProp(parameters: $0) }
        try checkAgainstReference(.rmsprop(lr: 0.02, alpha: 0.9, momentum: 0.5)) {
            try RMSProp(parameters: $0, learningRate: 0.02, alpha: 0.9, momentum: 0.5)
        }
        try checkAgainstReference(.rmsprop(centered: true)) { try RMSProp(parameters: $0, centered: true) }
        try checkAgainstReference(.rmsprop(lr: 0.01, alpha: 0.95, eps: 1e-6, momentum: 0.3, centered: true,
                                           weightDecay: 0.05)) {
            try RMSProp(parameters: $0, learningRate: 0.01, alpha: 0.95, epsilon: 1e-6, momentum: 0.3,
                        centered: true, weightDecay: 0.05)
        }
    }

    func testAdamAndAdamWMatchReference() throws {
        try checkAgainstReference(.adam()) { try Adam(parameters: $0) }
        try checkAgainstReference(.adam(lr: 0.01, beta1: 0.5, beta2: 0.9, eps: 1e-6, weightDecay: 0.1)) {
            try Adam(parameters: $0, learningRate: 0.01, beta1: 0.5, beta2: 0.9, epsilon: 1e-6, weightDecay: 0.1)
        }
        try checkAgainstReference(.adam(lr: 0.01, amsgrad: true)) {
            try Adam(parameters: $0, learningRate: 0.01, amsgrad: true)
        }
        try checkAgainstReference(.adam(weightDecay: 1e-2, decoupled: true)) { try AdamW(parameters: $0) }
        try checkAgainstReference(.adam(lr: 0.01, weightDecay: 0.5, amsgrad: true, decoupled: true)) {
            try AdamW(parameters: $0, learningRate: 0.01, weightDecay: 0.5, amsgrad: true)
        }
    }

    /// AdamW shrinks p by lr * wd * p outside the adaptive step; Adam's L2
    /// term goes through it. Without decay the two are the same algorithm.
    func testAdamWDecayIsDecoupled() throws {
        let start = Tensor.uniform([33], seed: 3), gradient = Tensor.uniform([33], seed: 4)
        func oneStep(_ make: ([Parameter]) throws -> Optimizer) throws -> [Float] {
            let p = Parameter(start.copy())
            setGradient(p, gradient.values)
            try make([p]).step()
            return p.value.values
        }
        let plain = try oneStep { try Adam(parameters: $0, learningRate: 0.01) }
        XCTAssertNil(firstBitwiseDifference(plain, try oneStep { try AdamW(parameters: $0, learningRate: 0.01, weightDecay: 0) }))
        let decoupled = try oneStep { try AdamW(parameters: $0, learningRate: 0.01, weightDecay: 0.5) }
        let l2 = try oneStep { try Adam(parameters: $0, learningRate: 0.01, weightDecay: 0.5) }
        for i in 0..<33 {
            XCTAssertEqual(decoupled[i] - plain[i], -0.01 * 0.5 * start.values[i], accuracy: 1e-6, "element \(i)")
        }
        XCTAssertNotNil(firstBitwiseDifference(l2, decoupled))
        XCTAssertNotNil(firstBitwiseDifference(l2, plain))
    }

    func testBadHyperParametersThrow() throws {
        let ps = [Parameter(Tensor.zeros([3]))]
        let bad: [(String, () throws -> Optimizer)] = [
            ("empty", { try SGD(parameters: [], learningRate: 0.1) }),
            ("duplicate", { try Adam(parameters: ps + ps) }),
            ("negative lr", { try SGD(parameters: ps, learningRate: -1) }),
            ("NaN lr", { try Adam(parameters: ps, learningRate: .nan) }),
            ("negative momentum", { try SGD(parameters: ps, learningRate: 0.1, momentum: -0.1) }),
            ("nesterov without momentum", { try SGD(parameters: ps, learningRate: 0.1, nesterov: true) }),
            ("nesterov with dampening", {
                try SGD(parameters: ps, learningRate: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true)
            }),
            ("negative weight decay", { try SGD(parameters: ps, learningRate: 0.1, weightDecay: -1) }),
            ("negative alpha", { try RMSProp(parameters: ps, alpha: -0.5) }),
            ("negative epsilon", { try RMSProp(parameters: ps, epsilon: -1) }),
            ("infinite momentum", { try RMSProp(parameters: ps, momentum: .infinity) }),
            ("beta1 = 1", { try Adam(parameters: ps, beta1: 1) }),
            ("negative beta2", { try AdamW(parameters: ps, beta2: -0.1) }),
            ("AdamW negative decay", { try AdamW(parameters: ps, weightDecay: -0.1) }),
        ]
        for (name, make) in bad {
            XCTAssertThrowsError(try make(), name) { error in
                XCTAssertFalse("\(error)".isEmpty, name)
            }
        }
        // A learning rate set to a bad value between steps: step throws, nothing changes.
        let p = Parameter(try Tensor(shape: [3], values: [1, 2, 3]))
        setGradient(p, [1, 1, 1])
        let optimizer = try SGD(parameters: [p], learningRate: 0.1)
        optimizer.learningRate = -0.1
        XCTAssertThrowsError(try optimizer.step())
        XCTAssertEqual(p.value.values, [1, 2, 3])
    }

    /// Non-finite gradients are not filtered: NaN reaches exactly its element (as torch).
    func testNonFiniteGradientPropagatesToItsElement() throws {
        let p = Parameter(try Tensor(shape: [17], values: [Float](repeating: 1, count: 17)))
        var g = [Float](repeating: 0.5, count: 17)
        g[16] = .nan
        setGradient(p, g)
        let optimizer = try SGD(parameters: [p], learningRate: 0.1)
        try optimizer.step()
        XCTAssertTrue(p.value.values[16].isNaN)
        XCTAssertEqual(Array(p.value.values[0..<16]), [Float](repeating: 0.95, count: 16))
        optimizer.zeroGradients()
        XCTAssertEqual(p.gradient.values, [Float](repeating: 0, count: 17))
    }

    func testClipGradientNorm() throws {
        var rng = TestRNG(seed: 9)
        let parameters = sizes.map { Parameter(Tensor.zeros([$0])) }
        let gradients = sizes.map { rng.floats($0) }
        let all = doubles(gradients.flatMap { $0 })
        let l2 = all.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let reset = { for (p, g) in zip(parameters, gradients) { setGradient(p, g) } }

        reset()   // under the limit: nothing changes
        XCTAssertEqual(Double(try clipGradientNorm(parameters, maxNorm: Float(l2) * 2)), l2, accuracy: 1e-5 * l2)
        XCTAssertEqual(parameters.flatMap { $0.gradient.values }, gradients.flatMap { $0 })

        reset()   // over the limit: scaled by maxNorm / (norm + 1e-6)
        XCTAssertEqual(Double(try clipGradientNorm(parameters, maxNorm: 0.5)), l2, accuracy: 1e-5 * l2)
        let scale = 0.5 / (l2 + 1e-6)
        XCTAssertLessThanOrEqual(toleranceRatio(parameters.flatMap { $0.gradient.values }, all.map { $0 * scale },
                                                rtol: 1e-6, atol: 1e-7), 1)

        reset()   // other norms
        let maxAbs = all.map(abs).max()!
        XCTAssertEqual(Double(try clipGradientNorm(parameters, maxNorm: 100, normType: .infinity)), maxAbs, accuracy: 1e-7)
        let l1 = all.reduce(0) { $0 + abs($1) }
        XCTAssertEqual(Double(try clipGradientNorm(parameters, maxNorm: 100, normType: 1)), l1, accuracy: 1e-5 * l1)

        XCTAssertThrowsError(try clipGradientNorm(parameters, maxNorm: -1))
        XCTAssertThrowsError(try clipGradientNorm(parameters, maxNorm: 1, normType: 0))
    }

    func testSchedulesMatchClosedForms() throws {
        let step = try StepLR(baseLearningRate: 0.1, stepSize: 30, gamma: 0.5)
        for epoch in [0, 1, 29, 30, 59, 60, 95] {
            let expected = 0.1 * pow(0.5, Double(epoch / 30))
            XCTAssertEqual(Double(step.learningRate(atEpoch: epoch)), expected, accuracy: 1e-7 * expected, "\(epoch)")
        }
        let cosine = try CosineAnnealingLR(baseLearningRate: 0.1, totalEpochs: 10, minimumLearningRate: 0.001)
        for epoch in [0, 1, 3, 5, 9, 10, 15] {
            let expected = 0.001 + (0.1 - 0.001) * (1 + cos(Double.pi * Double(epoch) / 10)) / 2
            XCTAssertEqual(Double(cosine.learningRate(atEpoch: epoch)), expected, accuracy: 1e-8, "\(epoch)")
        }
        XCTAssertEqual(cosine.learningRate(atEpoch: 0), 0.1)
        XCTAssertEqual(cosine.learningRate(atEpoch: 10), 0.001)
        XCTAssertEqual(Double(cosine.learningRate(atEpoch: 5)), 0.0505, accuracy: 1e-8)
        XCTAssertThrowsError(try StepLR(baseLearningRate: 0.1, stepSize: 0))
        XCTAssertThrowsError(try CosineAnnealingLR(baseLearningRate: -1, totalEpochs: 10))
        XCTAssertThrowsError(try CosineAnnealingLR(baseLearningRate: 0.1, totalEpochs: 0))
    }

    /// Linear + a hand-written MSE trained with Adam: bit-for-bit the same on
    /// a rerun from the same seed and under 1 and 3 threads.
    func testTrainingIsBitwiseReproducible() throws {
        func train(threads: Int) throws -> (values: [Float], firstLoss: Double, lastLoss: Double) {
            try withEveryThread(threads) {
                let model = try Linear(inputSize: 5, outputSize: 3, seed: 7)
                let x = Tensor.uniform([17, 5], seed: 1), target = Tensor.uniform([17, 3], seed: 2)
                let adam = try Adam(parameters: model.parameters, learningRate: 0.05)
                var losses: [Double] = []
                for _ in 0..<20 {
                    adam.zeroGradients()
                    let y = try model.forward(x)
                    let diff = zip(y.values, target.values).map { $0 - $1 }
                    losses.append(diff.reduce(0) { $0 + Double($1 * $1) } / Double(diff.count))
                    _ = try model.backward(try Tensor(shape: y.shape, values: diff.map { 2 * $0 / Float(diff.count) }))
                    try adam.step()
                }
                return (model.parameters.flatMap { $0.value.values }, losses.first!, losses.last!)
            }
        }
        let reference = try train(threads: 1)
        XCTAssertLessThan(reference.lastLoss, reference.firstLoss * 0.8, "training reduces the loss")
        XCTAssertNil(firstBitwiseDifference(reference.values, try train(threads: 1).values), "rerun")
        XCTAssertNil(firstBitwiseDifference(reference.values, try train(threads: 3).values), "3 threads")
    }
}

/// Overwrites the gradient of `p` with `values`.
private func setGradient(_ p: Parameter, _ values: [Float]) {
    p.gradient.withUnsafeMutableBufferPointer { g in
        for i in g.indices { g[i] = values[i] }
    }
}
