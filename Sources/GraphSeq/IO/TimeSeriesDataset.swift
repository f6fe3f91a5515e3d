/// A labelled time-series classification dataset in sktime's `.ts` text
/// format, the format of the UEA/UCR archive:
///
///     # comment
///     @problemName JapaneseVowels
///     @dimensions 12
///     @equalLength false
///     @classLabel true 1 2 3 4 5 6 7 8 9
///     @data
///     1.86,1.89,1.94:-0.21,-0.19,-0.24: ... :1
///
/// After `@data`, one case per line: `dimensions` comma-separated series
/// separated by ':', then ':' and the class label. Cases may differ in length;
/// the channels of one case may not. Parsing is strict: an unknown header,
/// a wrong channel count, a non-finite number, a label not declared in
/// `@classLabel`, time stamps or missing values ('?') are errors naming the
/// file and line.
///
/// ```swift
/// let train = try TimeSeriesDataset(path: "data/uea/JapaneseVowels_TRAIN.ts")
/// let first = train.cases[0]       // first.values: [length, 12], first.label: 0..<9
/// ```
public struct TimeSeriesDataset: Sendable {
    /// One series and its class.
    public struct Case: Sendable {
        /// [length, dimensions], time-major as the sequence layers read it.
        public let values: Tensor
        /// Index into `classLabels`.
        public let label: Int
        /// The 1-based line of the file that held it.
        public let line: Int

        /// The number of time steps.
        public var length: Int { values.shape[0] }
    }

    /// Where the text came from, used in error messages.
    public let path: String
    /// `@problemName`, if given.
    public let problemName: String?
    /// Channels per time step.
    public let dimensions: Int
    /// The class labels in `@classLabel` order; a case's `label` indexes them.
    public let classLabels: [String]
    /// The cases in file order.
    public let cases: [Case]

    /// Reads the file at `path`.
    public init(path: String) throws(GraphSeqError) {
        let bytes = try BinaryFile.contents(of: path)
        try self.init(text: String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// Parses `text`; `path` names it in errors.
    public init(text: String, path: String) throws(GraphSeqError) {
        self.path = path
        var header = Header()
        var cases: [Case] = []
        var inData = false
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmed
            let number = index + 1
            func fail(_ problem: String) -> GraphSeqError { .invalidArgument("\(path):\(number): \(problem)") }
            if line.isEmpty || line.first == "#" { continue }
            if inData {
                cases.append(try Self.parseCase(line, header: header, line: number, fail: fail))
            } else if line.first == "@" {
                inData = try header.read(line, fail: fail)
            } else {
                throw fail("data before @data")
            }
        }
        guard inData else { throw .invalidArgument("\(path): no @data line") }
        guard !cases.isEmpty else { throw .invalidArgument("\(path): no cases after @data") }
        problemName = header.problemName
        dimensions = header.dimensions ?? cases[0].values.shape[1]
        classLabels = header.classLabels
        self.cases = cases
    }

    /// One data line: the channels' series, then the label.
    private static func parseCase(_ line: Substring, header: Header, line number: Int,
                                  fail: (String) -> GraphSeqError) throws(GraphSeqError) -> Case {
        let parts = line.split(separator: ":", omittingEmptySubsequences: false)
        let channels = parts.count - 1
        guard channels >= 1 else { throw fail("expected channels separated by ':' and a label") }
        if let expected = header.dimensions, channels != expected {
            throw fail("has \(channels) channels, expected \(expected)")
        }
        let labelText = parts[channels].trimmed
        guard let label = header.classLabels.firstIndex(where: { $0 == labelText }) else {
            throw fail("label \"\(labelText)\" is not one of @classLabel \(header.classLabels.joined(separator: " "))")
        }
        var series: [[Float]] = []
        for (c, part) in parts.dropLast().enumerated() {
            var values: [Float] = []
            for field in part.split(separator: ",", omittingEmptySubsequences: false) {
                let text = field.trimmed
                if text == "?" { throw fail("channel \(c + 1): missing values ('?') are not supported") }
                guard let value = Float(text), value.isFinite else {
                    throw fail("channel \(c + 1): \"\(text)\" is not a finite number")
                }
                values.append(value)
            }
            if let first = series.first, values.count != first.count {
                throw fail("channel \(c + 1) has \(values.count) values, channel 1 has \(first.count)")
            }
            series.append(values)
        }
        let length = series[0].count
        if let expected = header.seriesLength, length != expected {
            throw fail("has length \(length), @seriesLength is \(expected)")
        }
        // Transpose channel-major text into time-major [length, channels].
        var timeMajor = [Float](repeating: 0, count: length * channels)
        for (c, values) in series.enumerated() {
            for (t, v) in values.enumerated() { timeMajor[t * channels + c] = v }
        }
        return Case(values: try Tensor(shape: [length, channels], values: timeMajor), label: label, line: number)
    }
}

/// The `@` lines before `@data`.
private struct Header {
    var problemName: String?
    var dimensions: Int?
    var seriesLength: Int?
    var classLabels: [String] = []

    /// Reads one header line; returns true for `@data`.
    mutating func read(_ line: Substring, fail: (String) -> GraphSeqError) throws(GraphSeqError) -> Bool {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let keyword = words[0].lowercased(), arguments = Array(words.dropFirst())
        func flag() throws(GraphSeqError) -> Bool {
            guard arguments.count == 1, let value = Bool(arguments[0].lowercased()) else {
                throw fail("\(words[0]) expects true or false")
            }
            return value
        }
        func count() throws(GraphSeqError) -> Int {
            guard arguments.count == 1, let value = Int(arguments[0]), value >= 1 else {
                throw fail("\(words[0]) expects a positive integer")
            }
            return value
        }
        switch keyword {
        case "@problemname": problemName = arguments.joined(separator: " ")
        case "@timestamps": if try flag() { throw fail("time stamps are not supported") }
        case "@missing", "@equallength": _ = try flag()
        case "@univariate": if try flag() { dimensions = 1 }
        case "@dimensions": dimensions = try count()
        case "@serieslength": seriesLength = try count()
        case "@classlabel":
            guard arguments.first?.lowercased() == "true", arguments.count >= 2 else {
                throw fail("@classLabel must be true followed by the labels (only classification is supported)")
            }
            classLabels = Array(arguments.dropFirst())
            guard Set(classLabels).count == classLabels.count else { throw fail("@classLabel repeats a label") }
        case "@data":
            guard !classLabels.isEmpty else { throw fail("@data before @classLabel") }
            return true
        default: throw fail("unknown header \(words[0])")
        }
        return false
    }
}

private extension Substring {
    /// Without leading and trailing spaces and tabs.
    var trimmed: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[start...end]
    }
}
