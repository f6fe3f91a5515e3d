import GraphSeq

/// Seeded random test data.
public struct TestRNG {
    private var g: SplitMix64
    public init(seed: UInt64) { g = SplitMix64(seed: seed) }
    /// Uniform in [low, high).
    public mutating func float(_ low: Float = -1, _ high: Float = 1) -> Float {
        low + (high - low) * g.nextUnitFloat()
    }
    public mutating func floats(_ n: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<n).map { _ in float(low, high) }
    }
    /// Uniform integer in 0..<bound.
    public mutating func int(_ bound: Int) -> Int { Int(g.next() % UInt64(bound)) }
}
