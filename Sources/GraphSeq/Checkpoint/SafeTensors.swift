#if canImport(Glibc)
internal import Glibc
#endif

/// Reads and writes the safetensors format (https://huggingface.co/docs/safetensors):
/// an 8-byte little-endian header length N, N bytes of JSON header, then the
/// tensor data, little-endian and row-major. The header maps each tensor name
/// to {"dtype", "shape", "data_offsets": [begin, end]} (byte offsets into the
/// data that follows the header) and may hold a "__metadata__" string map.
///
/// Writing produces float32 ("F32") tensors, names sorted by their UTF-8
/// bytes and laid out in that order, the header padded with spaces to a
/// multiple of 8, atomically (a temporary file renamed over `path`).
/// Reading accepts F32 and converts F64, F16 and BF16 (what PyTorch users
/// often save) to float32; any other dtype is an error. A file is fully
/// validated before any tensor is allocated: header size (at most 100 MB),
/// strict JSON, fields, shapes, dtype sizes, and data offsets that cover the
/// data exactly, without gap or overlap. Non-finite values are kept.
/// Every error is a thrown `GraphSeqError` naming the path.
///
/// ```swift
/// try SafeTensors.write([("weight", w), ("bias", b)], metadata: ["epoch": "3"], to: "model.safetensors")
/// let (tensors, metadata) = try SafeTensors.read(from: "model.safetensors")
/// ```
public enum SafeTensors {
    /// The largest header accepted, as the reference implementation's limit.
    public static let maxHeaderBytes = 100_000_000

    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             to path: String) throws(GraphSeqError) {
        let context = "SafeTensors.write: \(path)"
        let names = tensors.map(\.name)
        try require(Set(names).count == names.count, "\(context): a tensor name appears more than once")
        try require(!names.contains(metadataKey), "\(context): \"\(metadataKey)\" is reserved for metadata")
        let sorted = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let header = headerBytes(sorted, metadata: metadata)
        try BinaryFile.writeAtomically(path, context: context) { (file) throws(GraphSeqError) in
            try file.write((0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) })
            try file.write(header)
            for (_, tensor) in sorted { try file.write(tensor) }
        }
    }

    public static func read(from path: String) throws(GraphSeqError)
        -> (tensors: [String: Tensor], metadata: [String: String]) {
        let context = "SafeTensors.read: \(path)"
        let file = try BinaryFile(path, mode: "rb", context: context)
        let size = try file.size()
        try require(size >= 8, "\(context): \(size) bytes is too short for a safetensors file")
        let length = try file.read(count: 8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        try require(length <= UInt64(maxHeaderBytes) && length <= UInt64(size - 8),
                    "\(context): header length \(length) exceeds the file (\(size) bytes) or \(maxHeaderBytes) bytes")
        let header = try file.read(count: Int(length))
        let (entries, metadata) = try parseHeader(header, dataBytes: size - 8 - Int(length), context: context)
        var tensors: [String: Tensor] = [:]
        for entry in entries {   // in file order: one sequential pass
            let tensor = Tensor(shape: entry.shape)
            try entry.dtype.read(from: file, into: tensor)
            tensors[entry.name] = tensor
        }
        return (tensors, metadata)
    }

    static let metadataKey = "__metadata__"

    /// The JSON header, padded with spaces to a multiple of 8 bytes.
    private static func headerBytes(_ sorted: [(name: String, tensor: Tensor)],
                                    metadata: [String: String]) -> [UInt8] {
        var members: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            members.append((metadataKey, .object(pairs.map { ($0.key, .string($0.value)) })))
        }
        var offset = 0
        for (name, tensor) in sorted {
            let end = offset + tensor.count * MemoryLayout<Float>.size
            members.append((name, .object([("dtype", .string("F32")), ("shape", .integers(tensor.shape)),
                                           ("data_offsets", .integers([offset, end]))])))
            offset = end
        }
        var bytes = JSONValue.object(members).bytes
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8)
        return bytes
    }

    private struct Entry {
        let name: String
        let dtype: DType
        let shape: [Int]
        let begin: Int, end: Int
    }

    /// The tensor entries sorted by data offset and the metadata, after
    /// checking every field and that the entries tile 0..<dataBytes exactly.
    private static func parseHeader(_ header: [UInt8], dataBytes: Int, context: String)
        throws(GraphSeqError) -> ([Entry], [String: String]) {
        guard case .object(let members) = try JSONValue.parse(header, context: context) else {
            throw .invalidArgument("\(context): the header is not a JSON object")
        }
        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        for (name, value) in members {
            if name == metadataKey {
                guard case .object(let pairs) = value else {
                    throw .invalidArgument("\(context): \(metadataKey) is not an object")
                }
                for (key, v) in pairs {
                    guard case .string(let s) = v else {
                        throw .invalidArgument("\(context): metadata \"\(key)\" is not a string")
                    }
                    metadata[key] = s
                }
            } else {
                entries.append(try entry(name, value, context: "\(context): tensor \"\(name)\""))
            }
        }
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        for e in entries {
            try require(e.begin == covered,
                        "\(context): tensor \"\(e.name)\" data_offsets [\(e.begin), \(e.end)] "
                            + (e.begin < covered ? "overlap the tensor ending at byte" : "leave a gap after byte") + " \(covered)")
            covered = e.end
        }
        try require(covered == dataBytes,
                    "\(context): the tensors cover \(covered) bytes of data, the file holds \(dataBytes)")
        return (entries, metadata)
    }

    private static func entry(_ name: String, _ value: JSONValue, context: String) throws(GraphSeqError) -> Entry {
        guard case .object(let fields) = value else { throw .invalidArgument("\(context) is not an object") }
        let keys = fields.map(\.key).sorted()
        try require(keys == ["data_offsets", "dtype", "shape"],
                    "\(context) has fields \(keys), expected dtype, shape and data_offsets")
        let field = { (key: String) in fields.first { $0.key == key }!.value }
        guard case .string(let dtypeName) = field("dtype") else { throw .invalidArgument("\(context): dtype is not a string") }
        guard case .integers(let shape) = field("shape") else {
            throw .invalidArgument("\(context): shape is not an array of integers")
        }
        guard case .integers(let offsets) = field("data_offsets"), offsets.count == 2 else {
            throw .invalidArgument("\(context): data_offsets is not [begin, end]")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw .unsupported("\(context) has dtype \(dtypeName); GraphSeq reads F32, F64, F16 and BF16")
        }
        try require(shape.allSatisfy { $0 >= 0 }, "\(context): negative dimension in shape \(shape)")
        var bytes = dtype.size
        for d in shape {
            let (b, overflow) = bytes.multipliedReportingOverflow(by: d)
            try require(!overflow, "\(context): shape \(shape) overflows")
            bytes = b
        }
        let (begin, end) = (offsets[0], offsets[1])
        try require(begin >= 0 && end >= begin && end - begin == bytes,
                    "\(context): data_offsets [\(begin), \(end)] do not hold \(bytes) bytes of \(dtypeName) \(shape)")
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }
}

/// The element types GraphSeq reads, all converted to float32.
private enum DType: String {
    case f32 = "F32", f64 = "F64", f16 = "F16", bf16 = "BF16"

    var size: Int {
        switch self {
        case .f32: 4
        case .f64: 8
        case .f16, .bf16: 2
        }
    }

    /// Reads `tensor.count` elements from the file's position into `tensor`.
    func read(from file: BinaryFile, into tensor: Tensor) throws(GraphSeqError) {
        if self == .f32 { return try file.read(into: tensor) }
        let bytes = try file.read(count: tensor.count * size)
        bytes.withUnsafeBytes { raw in
            tensor.withUnsafeMutableBufferPointer { out in
                for i in out.indices {
                    switch self {
                    case .f64: out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(
                        fromByteOffset: 8 * i, as: UInt64.self))))
                    case .f16: out[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(
                        fromByteOffset: 2 * i, as: UInt16.self))))
                    case .bf16: out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(
                        fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                    case .f32: break
                    }
                }
            }
        }
    }
}
