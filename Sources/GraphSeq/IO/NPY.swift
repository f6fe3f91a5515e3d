/// NumPy's `.npy` format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
/// the magic `\x93NUMPY`, a version byte pair, a little-endian header length
/// (2 bytes in version 1, 4 in versions 2 and 3), a Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`, then the data.
///
/// Reading accepts versions 1–3, little-, big- or native-endian `f2 f4 f8 i1 i2 i4
/// i8 u1 u2 u4 u8 b1` and converts them to float32 (64-bit integers above 2^24
/// round). A Fortran-order array is transposed into row-major order, so the
/// element at a given index is the same; a 0-d array becomes shape [1]. NaN and
/// infinity are an error unless `allowNonFinite`. Writing produces version 1,
/// `<f4`, C order, atomically (a temporary file renamed over `path`).
///
/// ```swift
/// try NPY.write(series, to: "series.npy")      // np.load("series.npy")
/// let x = try NPY.read("features.npy")         // np.save(..., x.astype(np.float64)) works too
/// ```
public enum NPY {
    /// The array in the `.npy` file at `path` as float32, row-major. Every
    /// error is `.invalidArgument("path: problem")`.
    public static func read(_ path: String, allowNonFinite: Bool = false) throws(GraphSeqError) -> Tensor {
        try decode(BinaryFile.contents(of: path), path: path, allowNonFinite: allowNonFinite)
    }

    /// Writes `tensor` as a version-1 `<f4` C-order array (shape kept).
    public static func write(_ tensor: Tensor, to path: String) throws(GraphSeqError) {
        let shape = tensor.shape.map(String.init).joined(separator: ", ") + (tensor.rank == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape)), }"
        // Magic, version and length take 10 bytes; the header ends in "\n" and
        // pads the data's start to a multiple of 64 bytes, as NumPy does.
        header += String(repeating: " ", count: 63 - (10 + header.utf8.count) % 64) + "\n"
        let length = header.utf8.count
        try require(length <= Int(UInt16.max), "\(path): shape \(tensor.shape) has too many dimensions for NPY")
        try BinaryFile.writeAtomically(path, context: path) { (file) throws(GraphSeqError) in
            try file.write(magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8))
            try file.write(tensor)
        }
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Parses a whole `.npy` file's bytes; `path` names it in errors.
    static func decode(_ bytes: [UInt8], path: String, allowNonFinite: Bool) throws(GraphSeqError) -> Tensor {
        func fail(_ problem: String) -> GraphSeqError { .invalidArgument("\(path): \(problem)") }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw fail("not an NPY file (it does not start with \\x93NUMPY)")
        }
        let major = bytes[6]
        guard (1...3).contains(major) else { throw fail("NPY version \(major).\(bytes[7]) is not supported (1 to 3 are)") }
        let lengthBytes = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthBytes else { throw fail("the header length is truncated") }
        let length = bytes[8..<(8 + lengthBytes)].reversed().reduce(0) { $0 << 8 | Int($1) }
        let start = 8 + lengthBytes + length
        guard start <= bytes.count else {
            throw fail("the header is truncated: it declares \(length) bytes, the file has \(bytes.count - 8 - lengthBytes) after the length")
        }
        let header = try Header(parsing: String(decoding: bytes[(8 + lengthBytes)..<start], as: UTF8.self), fail: fail)
        let count = header.shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let (dataBytes, overflow) = count.multipliedReportingOverflow(by: header.type.size)
        guard !overflow, dataBytes == bytes.count - start else {
            throw fail("shape \(header.shape) of \(header.descr) needs \(overflow ? "too many" : String(dataBytes)) data bytes, the file has \(bytes.count - start)")
        }
        let stored = Tensor(shape: header.fortranOrder ? header.shape.reversed() : header.shape)
        bytes.withUnsafeBytes { raw in
            stored.withUnsafeMutableBufferPointer { out in
                header.type.convert(raw.baseAddress! + start, count: count, bigEndian: header.bigEndian, into: out.baseAddress!)
            }
        }
        if !allowNonFinite, let bad = stored.values.firstIndex(where: { !$0.isFinite }) {
            throw fail("element \(bad) (in file order) is \(stored.values[bad]); NaN and infinity are not accepted")
        }
        let tensor = header.fortranOrder ? reversingAxes(stored) : stored
        return header.shape.isEmpty ? try tensor.reshaped([1]) : tensor
    }

    /// A Fortran-order array of shape S is a C-order array of shape reversed(S);
    /// reversing its axes gives the C-order array of shape S.
    private static func reversingAxes(_ t: Tensor) -> Tensor {
        guard t.rank > 1 else { return t }
        let shape = Array(t.shape.reversed())
        let out = Tensor(shape: shape)
        guard out.count > 0 else { return out }
        // Strides of the source for each destination axis.
        var sourceStrides = [Int](repeating: 1, count: t.rank)
        for axis in stride(from: t.rank - 2, through: 0, by: -1) { sourceStrides[axis] = sourceStrides[axis + 1] * t.shape[axis + 1] }
        let strides = Array(sourceStrides.reversed())
        var index = [Int](repeating: 0, count: shape.count)
        t.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var from = 0
                for to in 0..<dst.count {
                    dst[to] = src[from]
                    var axis = shape.count - 1
                    while axis >= 0 {   // odometer increment
                        index[axis] += 1
                        from += strides[axis]
                        if index[axis] < shape[axis] { break }
                        from -= strides[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return out
    }
}

/// An NPY element type and its conversion to float32.
private enum ElementType: String {
    case f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8, b1

    var size: Int { Int(rawValue.dropFirst())! }

    func convert(_ raw: UnsafeRawPointer, count: Int, bigEndian: Bool, into out: UnsafeMutablePointer<Float>) {
        @inline(__always) func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
            let v = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
            return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
        }
        for i in 0..<count {
            out[i] = switch self {
            case .f2: Float(Float16(bitPattern: load(i, UInt16.self)))
            case .f4: Float(bitPattern: load(i, UInt32.self))
            case .f8: Float(Double(bitPattern: load(i, UInt64.self)))
            case .i1: Float(load(i, Int8.self))
            case .i2: Float(load(i, Int16.self))
            case .i4: Float(load(i, Int32.self))
            case .i8: Float(load(i, Int64.self))
            case .u1, .b1: Float(load(i, UInt8.self))
            case .u2: Float(load(i, UInt16.self))
            case .u4: Float(load(i, UInt32.self))
            case .u8: Float(load(i, UInt64.self))
            }
        }
    }
}

/// The header dict: exactly the keys descr, fortran_order and shape.
private struct Header {
    let descr: String
    let type: ElementType
    let bigEndian: Bool
    let fortranOrder: Bool
    let shape: [Int]

    init(parsing text: String, fail: (String) -> GraphSeqError) throws(GraphSeqError) {
        var parser = DictParser(text: text)
        guard let dict = parser.parseDict() else {
            throw fail("the header is not a valid dict literal: \(text.split(separator: "\n").first ?? "")")
        }
        guard case .string(let descr)? = dict["descr"] else { throw fail("the header has no 'descr' string") }
        guard case .bool(let fortran)? = dict["fortran_order"] else { throw fail("the header has no 'fortran_order' True/False") }
        guard case .tuple(let shape)? = dict["shape"] else { throw fail("the header has no 'shape' tuple") }
        guard dict.count == 3 else { throw fail("the header has keys \(dict.keys.sorted()), expected descr, fortran_order and shape") }
        var code = Substring(descr)
        let order = code.first.flatMap { "<>|=".contains($0) ? $0 : nil }
        if order != nil { code = code.dropFirst() }
        let type = code == "?" ? ElementType.b1 : ElementType(rawValue: String(code))
        guard let type else {
            throw fail("dtype '\(descr)' is not supported (f2, f4, f8, i1–i8, u1–u8 and b1 are)")
        }
        self.descr = descr
        self.type = type
        bigEndian = order == ">" && type.size > 1
        fortranOrder = fortran
        self.shape = shape
    }
}

/// The few Python literals an NPY header uses: strings, True/False, tuples
/// of non-negative integers, in a dict with string keys.
private struct DictParser {
    enum Value { case string(String), bool(Bool), tuple([Int]) }

    private let chars: [Character]
    private var at = 0

    init(text: String) { chars = Array(text) }

    mutating func parseDict() -> [String: Value]? {
        guard take("{") else { return nil }
        var dict: [String: Value] = [:]
        while !take("}") {
            guard let key = parseString(), take(":"), let value = parseValue(), dict[key] == nil else { return nil }
            dict[key] = value
            if !take(",") { guard take("}") else { return nil }; break }
        }
        skipSpaces()
        return at == chars.count ? dict : nil
    }

    private mutating func parseValue() -> Value? {
        if let s = parseString() { return .string(s) }
        if take("True") { return .bool(true) }
        if take("False") { return .bool(false) }
        guard take("(") else { return nil }
        var items: [Int] = []
        while !take(")") {
            guard let n = parseInt() else { return nil }
            items.append(n)
            if !take(",") { guard take(")") else { return nil }; break }
        }
        return .tuple(items)
    }

    private mutating func parseString() -> String? {
        skipSpaces()
        guard at < chars.count, chars[at] == "'" || chars[at] == "\"" else { return nil }
        let quote = chars[at]
        guard let end = chars[(at + 1)...].firstIndex(of: quote) else { return nil }
        defer { at = end + 1 }
        return String(chars[(at + 1)..<end])
    }

    private mutating func parseInt() -> Int? {
        skipSpaces()
        let start = at
        while at < chars.count, chars[at].isASCII, chars[at].isNumber { at += 1 }
        if at < chars.count, chars[at] == "L" { defer { at += 1 }; return Int(String(chars[start..<at])) }   // Python 2 longs
        return Int(String(chars[start..<at]))
    }

    private mutating func take(_ token: String) -> Bool {
        skipSpaces()
        let t = Array(token)
        guard at + t.count <= chars.count, Array(chars[at..<(at + t.count)]) == t else { return false }
        at += t.count
        return true
    }

    private mutating func skipSpaces() {
        while at < chars.count, chars[at] == " " || chars[at] == "\n" || chars[at] == "\t" { at += 1 }
    }
}
