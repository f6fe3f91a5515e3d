/// A table of text fields: one record per line (ended by `\n`, `\r\n` or
/// `\r`), fields split by commas, by tabs, or by runs of spaces (whichever the
/// first record uses), optionally in double quotes (`""` inside quotes is a
/// quote). Blank lines and lines starting with `#` are skipped. Every error
/// names the file, the line and the problem.
///
///     let table = try DelimitedText(path: "data/polblogs/edges.csv", header: true)
///     for record in table.records { let src = try table.int(record, 0) }
public struct DelimitedText: Sendable {
    /// One line of the file: its 1-based line number and its fields.
    public struct Record: Sendable {
        public let line: Int
        public let fields: [String]
    }

    /// Where the text came from, used in error messages.
    public let path: String
    /// The first record's fields when read with `header: true`.
    public let header: [String]?
    /// The data records, in file order.
    public let records: [Record]

    /// Reads and splits the file at `path`.
    public init(path: String, header: Bool) throws(GraphSeqError) {
        let bytes = try BinaryFile.contents(of: path)
        try self.init(text: String(decoding: bytes, as: UTF8.self), path: path, header: header)
    }

    /// Splits `text`; `path` names it in errors.
    public init(text: String, path: String, header: Bool) throws(GraphSeqError) {
        self.path = path
        var text = text
        // Bytes, not Characters: every separator is ASCII, and grapheme
        // breaking made reading a 10 MB table take seconds.
        var records: [Record] = []
        var failure: GraphSeqError?
        text.withUTF8 { bytes in
            var separator: Separator? = nil
            var start = 0, number = 1
            while start <= bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != ASCII.newline, bytes[end] != ASCII.carriageReturn { end += 1 }
                let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
                if !(line.allSatisfy { $0 == ASCII.space || $0 == ASCII.tab } || line.first == ASCII.hash) {
                    let split = separator ?? Separator(detectingIn: line)
                    separator = split
                    do throws(GraphSeqError) {
                        records.append(Record(line: number, fields: try split.fields(of: line, path: path, line: number)))
                    } catch {
                        failure = error
                        return
                    }
                }
                if end + 1 < bytes.count, bytes[end] == ASCII.carriageReturn, bytes[end + 1] == ASCII.newline { end += 1 }
                start = end + 1
                number += 1
            }
        }
        if let failure { throw failure }
        if header, records.isEmpty { throw .invalidArgument("\(path): the file is empty, expected a header line") }
        self.header = header ? records.removeFirst().fields : nil
        self.records = records
    }

    private init(path: String, header: [String]?, records: [Record]) {
        self.path = path
        self.header = header
        self.records = records
    }

    /// The same table with its first record taken as the header, for files
    /// whose header is recognised only after reading them.
    public func withFirstRecordAsHeader() throws(GraphSeqError) -> DelimitedText {
        guard let first = records.first else { throw .invalidArgument("\(path): no data lines, expected a header line") }
        return DelimitedText(path: path, header: first.fields, records: Array(records.dropFirst()))
    }

    /// The error for `record`: "path:line: problem".
    public func error(_ record: Record, _ problem: String) -> GraphSeqError {
        .invalidArgument("\(path):\(record.line): \(problem)")
    }

    /// Field `column` of `record` as a finite float.
    public func float(_ record: Record, _ column: Int) throws(GraphSeqError) -> Float {
        let field = try self.field(record, column)
        guard let value = Float(field), value.isFinite else {
            throw error(record, "field \(column + 1) \"\(field)\" is not a finite number")
        }
        return value
    }

    /// Field `column` of `record` as an integer.
    public func int(_ record: Record, _ column: Int) throws(GraphSeqError) -> Int {
        let field = try self.field(record, column)
        guard let value = Int(field) else { throw error(record, "field \(column + 1) \"\(field)\" is not an integer") }
        return value
    }

    /// Field `column` of `record`, or an error if the record is shorter.
    public func field(_ record: Record, _ column: Int) throws(GraphSeqError) -> String {
        guard column < record.fields.count else {
            throw error(record, "has \(record.fields.count) fields, expected at least \(column + 1)")
        }
        return record.fields[column]
    }

    /// All records as a [rows, columns] matrix of finite floats, after dropping
    /// the first `skipping` fields of each record (row labels), or of the fields
    /// `columns` (0-based, in that order) when given. Every record must have the
    /// same number of fields. With `missing`, the fields "", "NA" and "NaN" read
    /// as that value instead of being an error.
    public func matrix(skipping: Int = 0, columns: [Int]? = nil, missing: Float? = nil) throws(GraphSeqError) -> Tensor {
        guard let first = records.first else { throw .invalidArgument("\(path): no data lines") }
        let width = first.fields.count
        guard width > skipping else { throw error(first, "has \(width) fields, expected more than \(skipping)") }
        let selected = columns ?? Array(skipping..<width)
        if let bad = selected.first(where: { !(0..<width).contains($0) }) {
            throw error(first, "has \(width) fields, there is no column \(bad + 1)")
        }
        var values: [Float] = []
        values.reserveCapacity(records.count * selected.count)
        for record in records {
            guard record.fields.count == width else {
                throw error(record, "has \(record.fields.count) fields, expected \(width) as on line \(first.line)")
            }
            for c in selected {
                let field = record.fields[c]
                if let missing, field.isEmpty || field == "NA" || field.lowercased() == "nan" {
                    values.append(missing)
                } else {
                    values.append(try float(record, c))
                }
            }
        }
        return try Tensor(shape: [records.count, selected.count], values: values)
    }
}

private enum ASCII {
    static let newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), hash = UInt8(ascii: "#")
    static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
}

/// How a file's fields are separated.
private enum Separator {
    case byte(UInt8)
    case spaces

    init(detectingIn line: UnsafeBufferPointer<UInt8>) {
        self = line.contains(ASCII.comma) ? .byte(ASCII.comma) : line.contains(ASCII.tab) ? .byte(ASCII.tab) : .spaces
    }

    func fields(of line: UnsafeBufferPointer<UInt8>, path: String, line number: Int) throws(GraphSeqError) -> [String] {
        var fields: [String] = []
        var current: [UInt8] = []
        var quoted = false, wasQuoted = false
        func finish() {
            fields.append(wasQuoted ? String(decoding: current, as: UTF8.self) : trimmingSpaces(current))
            current.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        var i = 0
        while i < line.count {
            let c = line[i]
            i += 1
            if quoted {
                if c != ASCII.quote {
                    current.append(c)
                } else if i < line.count, line[i] == ASCII.quote {
                    current.append(c)
                    i += 1
                } else {
                    quoted = false
                }
                continue
            }
            switch self {
            case _ where c == ASCII.quote && current.allSatisfy({ $0 == ASCII.space }):
                quoted = true
                wasQuoted = true
                current.removeAll(keepingCapacity: true)
            case .byte(let s) where c == s:
                finish()
            case .spaces where c == ASCII.space || c == ASCII.tab:
                if !current.isEmpty || wasQuoted { finish() }
            default:
                current.append(c)
            }
        }
        if quoted { throw .invalidArgument("\(path):\(number): a quoted field is not closed") }
        if case .byte = self { finish() } else if !current.isEmpty || wasQuoted { finish() }
        return fields
    }
}

/// The field without leading and trailing spaces and tabs.
private func trimmingSpaces(_ field: [UInt8]) -> String {
    let isSpace: (UInt8) -> Bool = { $0 == ASCII.space || $0 == ASCII.tab }
    guard let start = field.firstIndex(where: { !isSpace($0) }), let end = field.lastIndex(where: { !isSpace($0) })
    else { return "" }
    return String(decoding: field[start...end], as: UTF8.self)
}
