import Foundation
import GraphSeq
import TestSupport
import XCTest

/// Checkpoint.save / load of a layer through safetensors.
final class CheckpointTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try FileManager.default.removeItem(at: directory) }

    func testLinearRoundTrip() throws {
        let file = directory.appendingPathComponent("linear.safetensors").path
        let saved = try Linear(inputSize: 17, outputSize: 3, seed: 1)
        try Checkpoint.save(saved, to: file, metadata: ["epoch": "4"])
        let loaded = try Linear(inputSize: 17, outputSize: 3, seed: 2)
        XCTAssertNotNil(firstBitwiseDifference(loaded.weight.value.values, saved.weight.value.values))
        try Checkpoint.load(into: loaded, from: file)
        for ((name, a), (_, b)) in zip(saved.stateDict(), loaded.stateDict()) {
            XCTAssertNil(firstBitwiseDifference(a.values, b.values), name)
        }
        let (tensors, metadata) = try SafeTensors.read(from: file)
        XCTAssertEqual(metadata, ["epoch": "4"])
        XCTAssertEqual(tensors["weight"]?.shape, [3, 17])
        XCTAssertEqual(tensors["bias"]?.shape, [3])
    }

    func testLoadIntoWrongShapeFailsAndChangesNothing() throws {
        let file = directory.appendingPathComponent("linear.safetensors").path
        try Checkpoint.save(try Linear(inputSize: 4, outputSize: 2, seed: 1), to: file)
        for other in [try Linear(inputSize: 5, outputSize: 2, seed: 3), try Linear(inputSize: 4, outputSize: 2, bias: false, seed: 3)] {
            let before = other.parameters.map { $0.value.values }
            XCTAssertThrowsError(try Checkpoint.load(into: other, from: file)) { error in
                XCTAssertTrue("\(error)".contains("loadStateDict"), "\(error)")
            }
            XCTAssertEqual(other.parameters.map { $0.value.values }, before)
        }
    }

    /// Saving replaces the file in one rename: no partial file is left beside
    /// it, and a failed save leaves nothing.
    func testSaveIsAtomic() throws {
        let file = directory.appendingPathComponent("model.safetensors").path
        let a = try Linear(inputSize: 3, outputSize: 2, seed: 1), b = try Linear(inputSize: 3, outputSize: 2, seed: 2)
        try Checkpoint.save(a, to: file)
        try Checkpoint.save(b, to: file)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"])
        let c = try Linear(inputSize: 3, outputSize: 2, seed: 3)
        try Checkpoint.load(into: c, from: file)
        XCTAssertEqual(c.weight.value.values, b.weight.value.values)
        XCTAssertThrowsError(try Checkpoint.save(a, to: directory.appendingPathComponent("missing/x.safetensors").path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"])
    }
}
