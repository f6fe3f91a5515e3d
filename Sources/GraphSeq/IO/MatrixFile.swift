/// A 2-D numeric matrix from a `.npy` file or a delimited text file: node time
/// series [T, N], node features [N, F], node coordinates [N, D].
///
/// Text files (read by `DelimitedText`: commas, tabs or spaces, quotes, `#`
/// comments) may carry
/// - a header line, recognised when a field of the first record is not a
///   number but the field below it is, or when the first record has one field
///   fewer than the second (R's `write.table`, whose header of quoted district
///   ids is numeric), and
/// - a row-label column, recognised when data records have one field more than
///   the header (R again) or when the first field of every data record is not a
///   number; it is dropped.
///
/// `columns` selects and orders columns by header name, or by 0-based index
/// among the data columns; without it every data column is read. A 1-D `.npy`
/// array reads as one column.
///
/// ```swift
/// let counts = try MatrixFile.read("data/flu-bybw/counts_flu_BYBW.txt")   // [416, 140]
/// let xy = try MatrixFile.read("data/minnesota/coords.csv", columns: ["lon", "lat"])   // [2642, 2]
/// ```
public enum MatrixFile {
    /// The matrix in the file at `path`. With `missing`, text fields "", "NA"
    /// and "NaN" read as that value instead of being an error.
    public static func read(_ path: String, columns: [String]? = nil,
                            missing: Float? = nil) throws(GraphSeqError) -> Tensor {
        if path.lowercased().hasSuffix(".npy") {
            var matrix = try NPY.read(path, allowNonFinite: missing != nil)
            if matrix.rank == 1 { matrix = try matrix.reshaped([matrix.count, 1]) }
            try require(matrix.rank == 2, "\(path): expected a 1-D or 2-D array, found shape \(matrix.shape)")
            if let missing { matrix.withUnsafeMutableBufferPointer { for i in $0.indices where $0[i].isNaN { $0[i] = missing } } }
            guard let columns else { return matrix }
            let indices = try columnIndices(columns, names: nil, count: matrix.shape[1], path: path)
            return try select(indices, of: matrix)
        }
        let table = try TableLayout(detectingIn: DelimitedText(path: path, header: false), missing: missing)
        let dataColumns = table.width - table.labelColumns
        let indices = try columns.map { (names) throws(GraphSeqError) in
            try columnIndices(names, names: table.text.header.map { Array($0.suffix(dataColumns)) },
                              count: dataColumns, path: path).map { $0 + table.labelColumns }
        }
        return try table.text.matrix(skipping: table.labelColumns, columns: indices, missing: missing)
    }

    /// The 0-based data-column indices `selection` names.
    private static func columnIndices(_ selection: [String], names: [String]?, count: Int,
                                      path: String) throws(GraphSeqError) -> [Int] {
        var indices: [Int] = []
        for wanted in selection {
            if let at = names?.firstIndex(of: wanted) {
                indices.append(at)
            } else if let at = Int(wanted), (0..<count).contains(at) {
                indices.append(at)
            } else {
                let known = names.map { "the header has " + $0.joined(separator: ", ") } ?? "there is no header"
                throw .invalidArgument("\(path): no column \"\(wanted)\" (\(known); indices 0..<\(count) work too)")
            }
        }
        return indices
    }

    private static func select(_ columns: [Int], of matrix: Tensor) throws(GraphSeqError) -> Tensor {
        let (rows, width) = (matrix.shape[0], matrix.shape[1])
        let values = matrix.values
        return try Tensor(shape: [rows, columns.count],
                          values: (0..<rows).flatMap { r in columns.map { values[r * width + $0] } })
    }
}

/// How a text table is laid out: header or not, row labels or not.
struct TableLayout {
    /// The table, its header split off when it has one.
    let text: DelimitedText
    /// The fields per data record.
    let width: Int
    /// 1 when the first field of each data record is a row label, else 0.
    let labelColumns: Int

    init(detectingIn table: DelimitedText, missing: Float? = nil) throws(GraphSeqError) {
        guard let first = table.records.first else { throw .invalidArgument("\(table.path): no data lines") }
        func isNumber(_ field: String) -> Bool {
            Float(field) != nil || missing != nil && (field.isEmpty || field == "NA" || field.lowercased() == "nan")
        }
        // A header needs data below it: a field that is not a number above one that is.
        let second = table.records.dropFirst().first?.fields ?? []
        let rHeader = second.count == first.fields.count + 1
        let hasHeader = rHeader || zip(first.fields, second).contains { !isNumber($0) && isNumber($1) }
        text = hasHeader ? try table.withFirstRecordAsHeader() : table
        guard let data = text.records.first else { throw .invalidArgument("\(table.path): no data lines after the header") }
        width = data.fields.count
        let labelled = rHeader || text.records.allSatisfy { !isNumber($0.fields[0]) }
        labelColumns = labelled ? 1 : 0
        if let header = text.header, header.count != width, !(rHeader && header.count + 1 == width) {
            throw text.error(data, "has \(width) fields but the header on line \(first.line) has \(header.count)")
        }
    }
}
