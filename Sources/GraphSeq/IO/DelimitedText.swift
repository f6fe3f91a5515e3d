/// A table of text fields: one record per line, fields split by commas, by tabs,
/// or by runs of spaces (whichever the first record uses), optionally in double
/// quotes (`""` inside quotes is a quote). Blank lines and lines starting with
/// `#` are skipped. Every error names the file, the line and the problem.
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
        var records: [Record] = []
        var separator: Separator? = nil
        // "\r\n" is one Character in Swift, and a newline.
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.first == "#" { continue }
            let split = separator ?? Separator(detectingIn: line)
            separator = split
            records.append(Record(line: index + 1, fields: try split.fields(of: line, path: path, line: index + 1)))
        }
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

/// How a file's fields are separated.
private enum Separator {
    case character(Character)
    case spaces

    init(detectingIn line: Substring) {
        self = line.contains(",") ? .character(",") : line.contains("\t") ? .character("\t") : .spaces
    }

    func fields(of line: Substring, path: String, line number: Int) throws(GraphSeqError) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false, wasQuoted = false
        var iterator = line.makeIterator()
        var pending: Character? = nil
        func finish() {
            fields.append(wasQuoted ? current : current.trimmingSpaces())
            current = ""
            wasQuoted = false
        }
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    let next = iterator.next()
                    if next == "\"" { current.append("\"") } else { quoted = false; pending = next }
                } else {
                    current.append(c)
                }
                continue
            }
            switch (self, c) {
            case (_, "\"") where current.allSatisfy({ $0 == " " }):
                quoted = true
                wasQuoted = true
                current = ""
            case (.character(let s), _) where c == s:
                finish()
            case (.spaces, " "), (.spaces, "\t"):
                if !current.isEmpty || wasQuoted { finish() }
            default:
                current.append(c)
            }
        }
        if quoted { throw .invalidArgument("\(path):\(number): a quoted field is not closed") }
        if case .character = self { finish() } else if !current.isEmpty || wasQuoted { finish() }
        return fields
    }
}

private extension String {
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
