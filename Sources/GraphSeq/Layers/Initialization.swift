/// Parameter initialisation as the PyTorch peers do it, from a seeded
/// generator so a model is reproducible bit for bit.
public enum Initialization {
    /// Uniform in [-bound, bound): PyTorch's recurrent layers use
    /// bound = 1 / sqrt(hidden) for every weight and bias; `nn.Linear` uses
    /// 1 / sqrt(fanIn).
    public static func uniform(_ t: Tensor, bound: Float, using rng: inout SplitMix64) {
        t.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = bound * (2 * rng.nextUnitFloat() - 1) }
        }
    }

    /// Glorot (Xavier) uniform, bound = sqrt(6 / (fanIn + fanOut)): what
    /// PyTorch Geometric's GCNConv and ChebConv use for their weights.
    public static func glorotUniform(_ t: Tensor, fanIn: Int, fanOut: Int, using rng: inout SplitMix64) {
        uniform(t, bound: (6 / Float(max(fanIn + fanOut, 1))).squareRoot(), using: &rng)
    }
}
