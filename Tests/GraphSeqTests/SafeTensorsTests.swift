import Foundation
import GraphSeq
import TestSupport
import XCTest

/// The safetensors reader and writer: round trips, the exact bytes of a known
/// file, dtype conversion, and malformed files that must throw, never crash.
final class SafeTensorsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try FileManager.default.removeItem(at: directory) }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func testRoundTripKeepsNamesShapesValuesAndMetadata() throws {
        let special = try Tensor(shape: [2, 2], values: [.nan, .infinity, -.infinity, -0.0])
        let tensors: [(name: String, tensor: Tensor)] = [
            ("weight", Tensor.uniform([3, 17], seed: 1)), ("bias", Tensor.uniform([17], seed: 2)),
            ("scalar", try Tensor(shape: [], values: [4.25])), ("empty", Tensor.zeros([0, 5])),
            ("layers.0.ünïcode", Tensor.uniform([1, 1, 2], seed: 3)), ("special", special),
        ]
        let metadata = ["quote\"": "back\\slash", "lines": "a\nb\tc\r\u{01}\u{1F}", "unicode": "é 漢 🎉", "": "empty key"]
        let file = path("round.safetensors")
        try SafeTensors.write(tensors, metadata: metadata, to: file)
        let (read, readMetadata) = try SafeTensors.read(from: file)
        XCTAssertEqual(readMetadata, metadata)
        XCTAssertEqual(Set(read.keys), Set(tensors.map(\.name)))
        for (name, tensor) in tensors {
            XCTAssertEqual(read[name]?.shape, tensor.shape, name)
            XCTAssertNil(firstBitwiseDifference(read[name]?.values ?? [], tensor.values), name)
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let headerLength = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(headerLength % 8, 0, "header padded to a multiple of 8")
        XCTAssertEqual(bytes.count, 8 + headerLength + tensors.reduce(0) { $0 + 4 * $1.tensor.count })
        XCTAssertThrowsError(try SafeTensors.write([("a", special), ("a", special)], to: path("dup.safetensors")))
        XCTAssertThrowsError(try SafeTensors.write([("__metadata__", special)], to: path("meta.safetensors")))
    }

    /// The exact bytes, written out by hand from the format spec.
    func testKnownFileIsByteExact() throws {
        let file = path("known.safetensors")
        try SafeTensors.write([("b", try Tensor(shape: [2], values: [1, -2])), ("a", try Tensor(shape: [], values: [0.5]))],
                              metadata: ["k": "v"], to: file)
        let header = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"#
            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}    "#   // 132 bytes + 4 spaces of padding
        let expected: [UInt8] = [0x88, 0, 0, 0, 0, 0, 0, 0] + Array(header.utf8)
            + [0x00, 0x00, 0x00, 0x3F]                                 // a = 0.5
            + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]         // b = 1, -2
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: file))), expected)
        let (tensors, metadata) = try SafeTensors.read(from: file)
        XCTAssertEqual(metadata, ["k": "v"])
        XCTAssertEqual(tensors["a"]?.values, [0.5])
        XCTAssertEqual(tensors["b"]?.values, [1, -2])
    }

    func testReadsF64F16AndBF16AsFloat32() throws {
        let f64: [Double] = [1.5, -0.1, 1e300, -3e-42]
        let f16: [UInt16] = [0x3C00, 0xC000, 0x0001, 0x7C00, 0x7E00, 0x3555]   // 1, -2, 2^-24, inf, NaN, ~1/3
        let bf16: [UInt16] = [0x3F80, 0xC040, 0x7F80, 0x0001]                   // 1, -3, inf, smallest subnormal
        let data = f64.flatMap { littleEndianBytes($0.bitPattern) } + f16.flatMap { littleEndianBytes($0) }
            + bf16.flatMap { littleEndianBytes($0) }
        let file = path("dtypes.safetensors")
        try write(file, safetensorsBytes(
            #"{"d":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]},"h":{"dtype":"F16","shape":[6],"#
                + #""data_offsets":[32,44]},"bf":{"dtype":"BF16","shape":[4],"data_offsets":[44,52]}}"#, data))
        let (tensors, _) = try SafeTensors.read(from: file)
        XCTAssertEqual(tensors["d"]?.shape, [2, 2])
        XCTAssertEqual(tensors["d"]?.values, [1.5, Float(-0.1), .infinity, Float(-3e-42)])
        let h = try XCTUnwrap(tensors["h"]?.values)
        XCTAssertEqual(Array(h[0..<4]), [1, -2, 0x1p-24, .infinity])
        XCTAssertTrue(h[4].isNaN)
        XCTAssertEqual(h[5], 0.333251953125)
        XCTAssertEqual(tensors["bf"]?.values, [1, -3, .infinity, Float(bitPattern: 0x0001_0000)])
    }

    func testMalformedFilesThrowWithAMessage() throws {
        let entry = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let eight = [UInt8](repeating: 0, count: 8)
        let cases: [(String, [UInt8])] = [
            ("empty file", []),
            ("shorter than the length", [1, 0, 0]),
            ("truncated header", littleEndianBytes(UInt64(100)) + Array("{\"a\":".utf8)),
            ("header length huge", littleEndianBytes(UInt64.max) + Array(entry.utf8) + eight),
            ("header length over 100 MB", littleEndianBytes(UInt64(200_000_000)) + Array(entry.utf8) + eight),
            ("unterminated JSON", safetensorsBytes(#"{"a":{"dtype":"F32""#, eight)),
            ("not an object", safetensorsBytes("[2]", [])),
            ("bare number", safetensorsBytes(#"{"a":1}"#, [])),
            ("trailing comma", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},}"#, eight)),
            ("trailing garbage", safetensorsBytes(entry + " x", eight)),
            ("duplicate key", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, eight)),
            ("duplicate field", safetensorsBytes(#"{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, eight)),
            ("bad escape", safetensorsBytes(#"{"\q":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, eight)),
            ("lone surrogate", safetensorsBytes(#"{"\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, eight)),
            ("control character", safetensorsBytes("{\"a\u{01}\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight)),
            ("invalid UTF-8", littleEndianBytes(UInt64(4)) + [0x7B, 0x22, 0xFF, 0x22]),
            ("float in shape", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, eight)),
            ("leading zero", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}}"#, eight)),
            ("integer overflow", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}"#, eight)),
            ("deep nesting", safetensorsBytes(String(repeating: #"{"a":"#, count: 40) + "{}" + String(repeating: "}", count: 40), [])),
            ("wrong dtype", safetensorsBytes(#"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, eight)),
            ("unknown dtype", safetensorsBytes(#"{"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}"#, eight)),
            ("missing field", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2]}}"#, eight)),
            ("extra field", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":"y"}}"#, eight)),
            ("negative dimension", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, eight)),
            ("overflowing shape", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, eight)),
            ("offsets mismatch shape", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, eight)),
            ("three offsets", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}"#, eight)),
            ("offsets beyond the data", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, eight)),
            ("overlap", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, eight + [0, 0, 0, 0])),
            ("gap", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, eight + [0, 0, 0, 0])),
            ("data not covered", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, eight)),
            ("metadata not strings", safetensorsBytes(#"{"__metadata__":{"k":[1]}}"#, [])),
        ]
        for (name, bytes) in cases {
            let file = path("bad.safetensors")
            try write(file, bytes)
            XCTAssertThrowsError(try SafeTensors.read(from: file), name) { error in
                XCTAssertTrue("\(error)".contains(file), "\(name): \(error)")
            }
        }
        XCTAssertThrowsError(try SafeTensors.read(from: path("missing.safetensors"))) { error in
            XCTAssertTrue("\(error)".contains("No such file"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensors.read(from: directory.path), "a directory")
        XCTAssertThrowsError(try SafeTensors.write([("a", Tensor.zeros([1]))], to: path("no/such/dir/x.safetensors")))
    }

    /// Random byte flips and truncations of a valid file only ever throw or succeed.
    func testFuzzedFilesNeverCrash() throws {
        let valid = path("valid.safetensors")
        try SafeTensors.write([("w", Tensor.uniform([3, 5], seed: 1)), ("b", Tensor.uniform([5], seed: 2)),
                               ("s", Tensor.zeros([]))], metadata: ["epoch": "7", "é": "\"x\""], to: valid)
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: valid)))
        var rng = TestRNG(seed: 42)
        var (failures, successes) = (0, 0)
        let file = path("fuzz.safetensors")
        for _ in 0..<500 {
            var bytes = original
            switch rng.int(3) {
            case 0: bytes = Array(bytes.prefix(rng.int(bytes.count)))
            case 1: for _ in 0..<1 + rng.int(4) { bytes[rng.int(bytes.count)] = UInt8(rng.int(256)) }
            default: bytes[rng.int(bytes.count)] ^= UInt8(1 << rng.int(8))
            }
            try write(file, bytes)
            do {
                _ = try SafeTensors.read(from: file)
                successes += 1
            } catch {
                XCTAssertFalse("\(error)".isEmpty)
                failures += 1
            }
        }
        XCTAssertGreaterThan(failures, 100)
        XCTAssertGreaterThan(successes, 10, "flips inside the data keep the file valid")
    }

    private func write(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// A safetensors file: the header's length (unpadded), the header, the data.
private func safetensorsBytes(_ header: String, _ data: [UInt8]) -> [UInt8] {
    littleEndianBytes(UInt64(header.utf8.count)) + Array(header.utf8) + data
}

private func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}
