/// The JSON subset a safetensors header uses: objects, strings and arrays of
/// integers. Anything else (numbers outside arrays, floats, booleans, null,
/// nested arrays) is rejected as unsupported, so the parser stays small.
enum JSONValue {
    case string(String)
    case integers([Int])
    /// Members in file order; keys are unique (the parser rejects duplicates).
    case object([(key: String, value: JSONValue)])

    /// The serialised value, compact, members in their given order: the bytes
    /// serde_json writes (raw UTF-8; `"`, `\` and control characters escaped).
    var bytes: [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    private func write(to out: inout [UInt8]) {
        switch self {
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .integers(let values):
            out.append(UInt8(ascii: "["))
            out += values.map(String.init).joined(separator: ",").utf8
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (n, member) in members.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ s: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
            case 0x08: out += Array("\\b".utf8)
            case 0x0C: out += Array("\\f".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Parses `bytes` as exactly one value (surrounding whitespace allowed);
    /// errors say what is wrong and at which byte, after `context`.
    static func parse(_ bytes: [UInt8], context: String) throws(GraphSeqError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, context: context)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.atEnd else { throw parser.error("unexpected content after the JSON value") }
        return value
    }
}

/// A strict recursive-descent parser over UTF-8 bytes (RFC 8259 for the
/// supported subset).
private struct JSONParser {
    let bytes: [UInt8]
    let context: String
    var position = 0
    /// Deeper nesting is rejected rather than risking the stack.
    static let maxDepth = 16

    var atEnd: Bool { position == bytes.count }

    func error(_ message: String) -> GraphSeqError {
        .invalidArgument("\(context): malformed JSON header: \(message) at byte \(position)")
    }

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    /// Consumes `byte` or throws.
    mutating func expect(_ byte: UInt8) throws(GraphSeqError) {
        guard position < bytes.count, bytes[position] == byte else {
            throw error("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        position += 1
    }

    func peek() throws(GraphSeqError) -> UInt8 {
        guard position < bytes.count else { throw error("unexpected end") }
        return bytes[position]
    }

    mutating func value(depth: Int) throws(GraphSeqError) -> JSONValue {
        guard depth < JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth)") }
        switch try peek() {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "["): return try integerArray()
        default: throw error("expected an object, a string or an array of integers")
        }
    }

    mutating func object(depth: Int) throws(GraphSeqError) -> JSONValue {
        try expect(UInt8(ascii: "{"))
        var members: [(key: String, value: JSONValue)] = []
        var keys = Set<String>()
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try string()
            guard keys.insert(key).inserted else { throw error("duplicate key \"\(key)\"") }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            if try peek() == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"))
            return .object(members)
        }
    }

    mutating func integerArray() throws(GraphSeqError) -> JSONValue {
        try expect(UInt8(ascii: "["))
        var values: [Int] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") { position += 1; return .integers(values) }
        while true {
            skipWhitespace()
            values.append(try integer())
            skipWhitespace()
            if try peek() == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"))
            return .integers(values)
        }
    }

    /// -?(0|[1-9][0-9]*), in range of Int; fractions and exponents are rejected.
    mutating func integer() throws(GraphSeqError) -> Int {
        let negative = try peek() == UInt8(ascii: "-")
        if negative { position += 1 }
        let start = position
        var magnitude = 0
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(bytes[position] - UInt8(ascii: "0")))
            guard !o1 && !o2 else { throw error("integer out of range") }
            magnitude = s
            position += 1
        }
        guard position > start else { throw error("expected an integer") }
        guard bytes[start] != UInt8(ascii: "0") || position == start + 1 else { throw error("leading zero") }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
            throw error("only integers are supported")
        }
        return negative ? -magnitude : magnitude
    }

    /// A string with its escapes decoded; the raw bytes must be valid UTF-8.
    mutating func string() throws(GraphSeqError) -> String {
        try expect(UInt8(ascii: "\""))
        var utf8: [UInt8] = []
        while true {
            let b = try peek()
            position += 1
            switch b {
            case UInt8(ascii: "\""):
                guard let s = String(validating: utf8, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return s
            case UInt8(ascii: "\\"):
                let e = try peek()
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8 += try unicodeEscape()
                default: throw error("invalid escape")
                }
            case 0..<0x20: throw error("unescaped control character in a string")
            default: utf8.append(b)
            }
        }
    }

    /// The UTF-8 of a \uXXXX escape (after the `u`), pairing surrogates.
    mutating func unicodeEscape() throws(GraphSeqError) -> [UInt8] {
        var code = UInt32(try hex4())
        if (0xD800..<0xDC00).contains(code) {
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                  bytes[position + 1] == UInt8(ascii: "u") else { throw error("unpaired surrogate") }
            position += 2
            let low = UInt32(try hex4())
            guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(code) else { throw error("unpaired surrogate") }
        return Array(String(Character(scalar)).utf8)
    }

    mutating func hex4() throws(GraphSeqError) -> UInt16 {
        var v: UInt16 = 0
        for _ in 0..<4 {
            let b = try peek()
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | UInt16(digit)
            position += 1
        }
        return v
    }
}
