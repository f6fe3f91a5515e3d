import GraphSeq
import XCTest

final class StorageCacheTests: XCTestCase {
    func testFreedLargeBuffersAreReusedZeroedAndBounded() {
        let before = Runtime.tensorCacheLimit
        defer { Runtime.tensorCacheLimit = before }
        Runtime.tensorCacheLimit = 0
        XCTAssertEqual(Runtime.tensorCacheBytes, 0, "a zero limit frees every cached buffer")
        Runtime.tensorCacheLimit = 64 << 20
        let shape = [1024, 1024]  // 4 MiB
        do {
            let t = Tensor(shape: shape)
            t.fill(7)
        }
        XCTAssertEqual(Runtime.tensorCacheBytes, 4 << 20, "the freed buffer is kept")
        let reused = Tensor(shape: shape)
        XCTAssertEqual(Runtime.tensorCacheBytes, 0, "the next tensor of that size takes it")
        XCTAssertTrue(reused.values.allSatisfy { $0 == 0 }, "a reused buffer is zeroed")
        do { _ = Tensor(shape: [4096, 1024]) }  // 16 MiB
        XCTAssertEqual(Runtime.tensorCacheBytes, 16 << 20)
        _ = Tensor(shape: shape)  // too small for the 16 MiB buffer: a fresh one
        XCTAssertEqual(Runtime.tensorCacheBytes, 20 << 20, "no buffer over 1.25x the request is handed out")
        Runtime.tensorCacheLimit = 18 << 20
        XCTAssertEqual(Runtime.tensorCacheBytes, 4 << 20, "lowering the limit evicts the oldest first")
        do { _ = Tensor(shape: [8192, 1024]) }  // 32 MiB: over the limit, freed at once
        XCTAssertEqual(Runtime.tensorCacheBytes, 4 << 20)
        do { _ = Tensor(shape: [1000]) }  // small buffers are never cached
        XCTAssertEqual(Runtime.tensorCacheBytes, 4 << 20)
    }
}
