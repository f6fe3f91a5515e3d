#if canImport(Glibc)
internal import Glibc
#endif

/// Moving MNIST sequences (Srivastava et al. 2015, the video benchmark of the
/// GCRN paper): square digit images moving in straight lines inside a square
/// canvas and bouncing off its edges, overlapping digits combined by the
/// pixel-wise maximum.
///
/// Each digit starts at a uniform position with a uniform direction and a
/// speed drawn from `speed` (pixels per frame); a coordinate that would leave
/// the canvas is reflected back, so every digit stays whole inside it. All
/// draws come from one seeded generator: the same seed gives the same batch.
///
/// ```swift
/// let mnist = try MovingDigits(digits: images, canvasSize: 32, speed: 1...2)   // images [count, 14, 14]
/// let batch = try mnist.sequences(count: 16, frames: 20, seed: 7)              // [20, 32 * 32, 16]
/// ```
public struct MovingDigits: Sendable {
    /// [count, size, size], intensities in [0, 1].
    public let digits: Tensor
    public let canvasSize: Int
    public let digitsPerSequence: Int
    public let speed: ClosedRange<Float>

    public init(digits: Tensor, canvasSize: Int, digitsPerSequence: Int = 2,
                speed: ClosedRange<Float>) throws(GraphSeqError) {
        try require(digits.rank == 3 && digits.shape[0] >= 1 && digits.shape[1] == digits.shape[2] && digits.shape[1] >= 1,
                    "MovingDigits: digits have shape \(digits.shape), expected [count, size, size]")
        let travel = canvasSize - digits.shape[1]
        try require(travel >= 1, "MovingDigits: canvas \(canvasSize) leaves no room to move \(digits.shape[1])-pixel digits")
        try require(digitsPerSequence >= 1, "MovingDigits: digitsPerSequence \(digitsPerSequence) must be positive")
        try require(speed.lowerBound >= 0 && speed.upperBound <= Float(travel),
                    "MovingDigits: speed \(speed) must lie in 0...\(travel) pixels per frame")
        self.digits = digits
        (self.canvasSize, self.digitsPerSequence, self.speed) = (canvasSize, digitsPerSequence, speed)
    }

    /// `count` sequences of `frames` frames, laid out [frames, canvasSize²,
    /// count] (node-major: pixel p of sequence b at [t, p, b]), so that
    /// `reshaped([frames, pixels, count, 1])` is a graph sequence batch.
    public func sequences(count: Int, frames: Int, seed: UInt64) throws(GraphSeqError) -> Tensor {
        try require(count >= 1 && frames >= 1, "MovingDigits.sequences: count \(count) and frames \(frames) must be positive")
        let (size, canvas) = (digits.shape[1], canvasSize)
        let travel = Float(canvas - size)
        let out = Tensor(shape: [frames, canvas * canvas, count])
        var rng = SplitMix64(seed: seed)
        withPointers([digits, out]) { p in
            for b in 0..<count {
                for _ in 0..<digitsPerSequence {
                    let digit = p[0] + Int(rng.next() % UInt64(digits.shape[0])) * size * size
                    var position = SIMD2(rng.nextUnitFloat(), rng.nextUnitFloat()) * travel
                    let angle = 2 * Float.pi * rng.nextUnitFloat()
                    let v = speed.lowerBound + (speed.upperBound - speed.lowerBound) * rng.nextUnitFloat()
                    var velocity = SIMD2(cos(angle), sin(angle)) * v
                    for t in 0..<frames {
                        let (x, y) = (Int(position.x.rounded()), Int(position.y.rounded()))
                        for r in 0..<size {
                            for c in 0..<size {
                                let o = (t * canvas * canvas + (y + r) * canvas + x + c) * count + b
                                p[1][o] = max(p[1][o], digit[r * size + c])
                            }
                        }
                        position += velocity
                        for axis in 0..<2 where position[axis] < 0 || position[axis] > travel {
                            position[axis] = position[axis] < 0 ? -position[axis] : 2 * travel - position[axis]
                            velocity[axis] = -velocity[axis]
                        }
                    }
                }
            }
        }
        return out
    }
}
