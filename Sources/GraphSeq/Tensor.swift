#if canImport(Glibc)
internal import Glibc
#endif

/// A dense, row-major float32 tensor with 64-byte aligned storage.
///
/// Reference semantics: a `Tensor` owns one buffer, and kernels write into the
/// tensors you pass them. Use `copy()` for an independent duplicate;
/// `reshaped(_:)` and `slice(_:)` give views that share the buffer. Raw
/// pointers are only reachable inside `withUnsafe...` closures.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
/// let y = Tensor.zeros([2, 3])
/// y.add(x, scaledBy: 2)          // y = 2 x
/// print(y[1, 2])                 // 12.0
/// ```
public final class Tensor: @unchecked Sendable {
    /// The extent of each dimension, outermost first.
    public let shape: [Int]
    /// The number of elements, the product of `shape`.
    public let count: Int
    fileprivate let storage: UnsafeMutablePointer<Float>
    /// For a view, the tensor that owns the buffer (kept alive by the view).
    private let owner: Tensor?
    /// The bytes allocated for `storage` (0 for a view).
    private let allocatedBytes: Int

    /// A tensor of the given shape with every element zero.
    public convenience init(shape: [Int]) {
        self.init(shape: shape, zeroed: true)
    }

    /// A tensor of the given shape whose elements are unspecified unless
    /// `zeroed`: for buffers a kernel overwrites entirely, where clearing
    /// would cost a pass over memory for nothing.
    init(shape: [Int], zeroed: Bool) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        let (count, overflow) = shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        precondition(!overflow, "Tensor: shape \(shape) overflows")
        self.shape = shape
        self.count = count
        // Large buffers are 2 MiB aligned and ask for transparent huge pages:
        // kernels that gather rows (SpMM, Chebyshev) then miss the TLB far less.
        // They are recycled through StorageCache.
        let hugePage = 2 << 20
        let bytes = max(64, (count * MemoryLayout<Float>.stride + 63) & ~63)
        let raw: UnsafeMutableRawPointer
        if bytes >= hugePage, let cached = StorageCache.shared.take(bytes: bytes) {
            (raw, allocatedBytes) = cached
        } else {
            raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: bytes >= hugePage ? hugePage : 64)
            allocatedBytes = bytes
            #if canImport(Glibc)
            if bytes >= hugePage { _ = madvise(raw, bytes, MADV_HUGEPAGE) }
            #endif
        }
        if zeroed {
            #if canImport(Glibc)
            memset(raw, 0, bytes)
            #else
            raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            #endif
        }
        storage = raw.bindMemory(to: Float.self, capacity: bytes / 4)
        owner = nil
    }

    /// A view of `count(shape)` elements of `base` from element `offset` on.
    private init(viewing base: Tensor, offset: Int, shape: [Int]) {
        self.shape = shape
        count = shape.reduce(1, *)
        storage = base.storage + offset
        owner = base.owner ?? base
        allocatedBytes = 0
    }

    /// A tensor holding `values` (row-major); throws if the count does not match.
    public convenience init(shape: [Int], values: [Float]) throws(GraphSeqError) {
        try require(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        let n = shape.reduce(1, *)
        try require(n == values.count, "Tensor: shape \(shape) needs \(n) values, got \(values.count)")
        self.init(shape: shape, zeroed: false)
        values.withUnsafeBufferPointer { storage.update(from: $0.baseAddress!, count: n) }
    }

    deinit {
        guard owner == nil else { return }
        if allocatedBytes >= 2 << 20 {
            StorageCache.shared.give(UnsafeMutableRawPointer(storage), bytes: allocatedBytes)
        } else {
            UnsafeMutableRawPointer(storage).deallocate()
        }
    }

    /// The same elements under another shape with the same count; the result
    /// shares this tensor's storage (a write through one shows in the other).
    public func reshaped(_ shape: [Int]) throws(GraphSeqError) -> Tensor {
        try require(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == count,
                    "Tensor.reshaped: \(shape) does not hold the \(count) elements of \(self.shape)")
        return Tensor(viewing: self, offset: 0, shape: shape)
    }

    /// The `index`-th slice along the first dimension (shape `shape.dropFirst()`),
    /// sharing storage: step t of a [T, B, F] sequence is `x.slice(t)`.
    public func slice(_ index: Int) -> Tensor {
        precondition(rank >= 1 && index >= 0 && index < shape[0],
                     "Tensor.slice: index \(index) out of range for \(shape)")
        let inner = Array(shape.dropFirst())
        return Tensor(viewing: self, offset: index * inner.reduce(1, *), shape: inner)
    }

    /// Slices `range` along the first dimension, as one tensor sharing storage.
    func slices(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "Tensor.slices: \(range) out of range for \(shape)")
        let inner = shape.dropFirst().reduce(1, *)
        return Tensor(viewing: self, offset: range.lowerBound * inner, shape: [range.count] + shape.dropFirst())
    }

    /// A zero tensor.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape) }

    /// Uniform random values in [low, high) from a seeded generator.
    public static func uniform(_ shape: [Int], low: Float = -1, high: Float = 1,
                               seed: UInt64) -> Tensor {
        let t = Tensor(shape: shape)
        var rng = SplitMix64(seed: seed)
        for i in 0..<t.count { t.storage[i] = low + (high - low) * rng.nextUnitFloat() }
        return t
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The elements as an array, row-major.
    public var values: [Float] { Array(UnsafeBufferPointer(start: storage, count: count)) }

    /// An independent copy.
    public func copy() -> Tensor {
        let t = Tensor(shape: shape)
        t.storage.update(from: storage, count: count)
        return t
    }

    /// Element access by multi-index (bounds-checked).
    public subscript(_ index: Int...) -> Float {
        get { storage[offset(index)] }
        set { storage[offset(index)] = newValue }
    }

    private func offset(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor: \(index.count) indices for rank \(shape.count)")
        var o = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "Tensor: index \(index) out of range for \(shape)")
            o = o * d + i
        }
        return o
    }

    /// Read access to the elements.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage, count: count))
    }

    /// Write access to the elements.
    public func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: storage, count: count))
    }

    // The element-wise helpers below do their vector work with Swift SIMD types.

    /// Sets every element to `value`.
    public func fill(_ value: Float) {
        simdApply { (v: inout SIMD16<Float>) in v = SIMD16(repeating: value) } scalar: { $0 = value }
    }

    /// Multiplies every element by `factor`.
    public func scale(by factor: Float) {
        simdApply { (v: inout SIMD16<Float>) in v *= factor } scalar: { $0 *= factor }
    }

    /// self += alpha * other (same element count).
    public func add(_ other: Tensor, scaledBy alpha: Float = 1) {
        precondition(other.count == count, "Tensor.add: \(other.shape) vs \(shape)")
        axpy(alpha, other.storage, storage, count: count)
    }

    /// The sum of squares of all elements, accumulated in double precision.
    public func squaredNorm() -> Double {
        var acc = SIMD8<Double>()
        let n8 = count / 8
        let src = UnsafeRawPointer(storage)
        for i in 0..<n8 {
            let v = SIMD8<Double>(src.loadUnaligned(fromByteOffset: i * 32, as: SIMD8<Float>.self))
            acc += v * v   // exact: a float's square fits a double
        }
        var s = acc.sum()
        for i in (n8 * 8)..<count { s += Double(storage[i]) * Double(storage[i]) }
        return s
    }

    private func simdApply(_ vector: (inout SIMD16<Float>) -> Void, scalar: (inout Float) -> Void) {
        let n16 = count / 16
        let p = UnsafeMutableRawPointer(storage)
        for i in 0..<n16 {
            var v = p.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
            vector(&v)
            p.storeBytes(of: v, toByteOffset: i * 64, as: SIMD16<Float>.self)
        }
        for i in (n16 * 16)..<count { scalar(&storage[i]) }
    }
}

/// y[i] += alpha * x[i] for i < count, sixteen lanes at a time.
func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    let n16 = count / 16
    let src = UnsafeRawPointer(x), dst = UnsafeMutableRawPointer(y)
    for i in 0..<n16 {
        let a = src.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
        var b = dst.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
        b += SIMD16(repeating: alpha) * a   // not addProduct: a libm fma call per lane without -mfma
        dst.storeBytes(of: b, toByteOffset: i * 64, as: SIMD16<Float>.self)
    }
    for i in (n16 * 16)..<count { y[i] += alpha * x[i] }
}

/// SplitMix64: a small, fast, seedable generator, so runs are reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A float uniform in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }
}

/// The base addresses of `tensors`, valid for the duration of `body` (the
/// tensors are kept alive until it returns). For layer code that hands slices
/// of its buffers to the kernels; not API.
func withPointers<R, E: Error>(_ tensors: [Tensor],
                               _ body: ([UnsafeMutablePointer<Float>]) throws(E) -> R) throws(E) -> R {
    defer { withExtendedLifetime(tensors) {} }
    return try body(tensors.map { $0.baseAddress })
}

extension Tensor {
    /// The first element's address; only through `withPointers`.
    fileprivate var baseAddress: UnsafeMutablePointer<Float> { storage }
}
