internal import Synchronization

/// Recycles the buffers of large tensors (2 MiB and up).
///
/// Why: a training loop allocates the same large temporaries in every
/// forward and backward. A fresh buffer comes from `mmap`, so each of its
/// pages costs a fault and the kernel's zeroing on first touch; on a virtual
/// machine that is 10-20% of a GCRN layer's time. A freed buffer is kept here
/// instead and handed to the next tensor that fits it, up to
/// `Runtime.tensorCacheLimit` bytes in all, oldest evicted first.
final class StorageCache: Sendable {
    static let shared = StorageCache()

    /// A cached buffer: its address and allocated size.
    private struct Block: @unchecked Sendable {
        let address: UnsafeMutableRawPointer
        let bytes: Int
    }

    private struct State {
        var blocks: [Block] = []  // oldest first
        var bytes = 0
        var limit = 512 << 20
    }

    private let state = Mutex(State())

    /// The smallest cached buffer of `bytes` to 1.25 x `bytes`, removed from
    /// the cache, with its size; nil if none fits.
    func take(bytes: Int) -> (address: UnsafeMutableRawPointer, bytes: Int)? {
        state.withLock { s in
            var best: Int?
            for (i, b) in s.blocks.enumerated() where b.bytes >= bytes && b.bytes <= bytes + bytes / 4 {
                if best == nil || b.bytes < s.blocks[best!].bytes { best = i }
            }
            guard let best else { return nil }
            let b = s.blocks.remove(at: best)
            s.bytes -= b.bytes
            return (b.address, b.bytes)
        }
    }

    /// Keeps a freed buffer for reuse, or frees it if it exceeds the limit.
    func give(_ address: UnsafeMutableRawPointer, bytes: Int) {
        let evicted: [Block] = state.withLock { s in
            guard bytes <= s.limit else { return [Block(address: address, bytes: bytes)] }
            s.blocks.append(Block(address: address, bytes: bytes))
            s.bytes += bytes
            return StorageCache.evict(&s)
        }
        for b in evicted { b.address.deallocate() }
    }

    /// The most bytes kept; lowering it frees the oldest buffers at once.
    var limit: Int {
        get { state.withLock { $0.limit } }
        set {
            let evicted: [Block] = state.withLock { s in
                s.limit = max(0, newValue)
                return StorageCache.evict(&s)
            }
            for b in evicted { b.address.deallocate() }
        }
    }

    /// The bytes cached now.
    var cachedBytes: Int { state.withLock { $0.bytes } }

    /// Removes the oldest blocks until the total fits the limit.
    private static func evict(_ s: inout State) -> [Block] {
        var evicted: [Block] = []
        while s.bytes > s.limit, !s.blocks.isEmpty {
            let b = s.blocks.removeFirst()
            s.bytes -= b.bytes
            evicted.append(b)
        }
        return evicted
    }
}
