import Foundation
import XCTest
import GraphSeq

/// NPY, MatrixFile and GraphFile on valid files (hand-made and the bundled
/// data) and on malformed ones, whose errors must name file, line and problem.
final class IOTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("io-tests-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Writes `contents` to a temporary file named `name` and returns its path.
    private func file(_ name: String, _ contents: String) throws -> String { try file(name, Array(contents.utf8)) }

    private func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("data").path

    /// The error `body` throws, as text, asserting that it names `path` and holds every fragment.
    private func assertError(_ fragments: [String], mentioning path: String,
                             file: StaticString = #filePath, line: UInt = #line,
                             _ body: () throws -> Any) {
        do {
            _ = try body()
            XCTFail("no error, expected \(fragments)", file: file, line: line)
        } catch {
            let message = "\(error)"
            XCTAssertTrue(message.contains(path), "\(message) does not name \(path)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "\(message) lacks \"\(fragment)\"", file: file, line: line)
            }
        }
    }

    // MARK: - NPY

    /// An NPY file: magic, version, header length, the dict padded to 64 bytes, data.
    private func npy(_ descr: String, _ shape: String, fortran: Bool = false, version: UInt8 = 1,
                     _ data: [UInt8]) -> [UInt8] {
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
        let prefix = version == 1 ? 10 : 12
        header += String(repeating: " ", count: 63 - (prefix + header.utf8.count) % 64) + "\n"
        let n = header.utf8.count
        let length: [UInt8] = version == 1 ? [UInt8(n & 255), UInt8(n >> 8)] : [UInt8(n & 255), UInt8(n >> 8), 0, 0]
        return [0x93] + Array("NUMPY".utf8) + [version, 0] + length + Array(header.utf8) + data
    }

    private func bytes<T: FixedWidthInteger>(_ values: [T], bigEndian: Bool) -> [UInt8] {
        values.flatMap { v -> [UInt8] in
            let le = (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
            return bigEndian ? le.reversed() : le
        }
    }

    func testNPYRoundTripKeepsShapeAndValues() throws {
        for shape in [[3, 4], [5], [2, 3, 4], [0, 3], []] {
            let t = Tensor.uniform(shape, seed: 7)
            let path = directory.appendingPathComponent("t.npy").path
            try NPY.write(t, to: path)
            let raw = try Data(contentsOf: URL(fileURLWithPath: path))
            let headerLength = Int(raw[8]) | Int(raw[9]) << 8
            XCTAssertEqual((10 + headerLength) % 64, 0, "data starts 64-byte aligned")
            XCTAssertEqual(raw[10 + headerLength - 1], UInt8(ascii: "\n"))
            let back = try NPY.read(path)
            XCTAssertEqual(back.shape, shape.isEmpty ? [1] : shape)
            XCTAssertEqual(back.values, t.values)
        }
    }

    func testNPYConvertsDtypesAndByteOrders() throws {
        let expected: [Float] = [1, -2, 3, 0, 5, -6]
        let ints = expected.map { Int64($0) }
        let cases: [(String, [UInt8])] = [
            ("<f4", bytes(expected.map(\.bitPattern), bigEndian: false)),
            (">f4", bytes(expected.map(\.bitPattern), bigEndian: true)),
            ("<f8", bytes(expected.map { Double($0).bitPattern }, bigEndian: false)),
            (">f8", bytes(expected.map { Double($0).bitPattern }, bigEndian: true)),
            ("<f2", bytes(expected.map { Float16($0).bitPattern }, bigEndian: false)),
            (">f2", bytes(expected.map { Float16($0).bitPattern }, bigEndian: true)),
            ("|i1", bytes(ints.map { Int8($0) }, bigEndian: false)),
            ("<i2", bytes(ints.map { Int16($0) }, bigEndian: false)),
            (">i2", bytes(ints.map { Int16($0) }, bigEndian: true)),
            ("<i4", bytes(ints.map { Int32($0) }, bigEndian: false)),
            (">i4", bytes(ints.map { Int32($0) }, bigEndian: true)),
            ("<i8", bytes(ints, bigEndian: false)),
            (">i8", bytes(ints, bigEndian: true)),
        ]
        for (version, (descr, data)) in zip([1, 2, 3].cycled(cases.count), cases) {
            let path = try file("d.npy", npy(descr, "(2, 3)", version: UInt8(version), data))
            XCTAssertEqual(try NPY.read(path).values, expected, descr)
            XCTAssertEqual(try NPY.read(path).shape, [2, 3], descr)
        }
        let unsigned: [UInt64] = [0, 1, 255, 7]
        for (descr, data) in [("|u1", bytes(unsigned.map { UInt8($0) }, bigEndian: false)),
                              ("<u2", bytes(unsigned.map { UInt16($0) }, bigEndian: false)),
                              (">u4", bytes(unsigned.map { UInt32($0) }, bigEndian: true)),
                              ("<u8", bytes(unsigned, bigEndian: false))] {
            XCTAssertEqual(try NPY.read(file("u.npy", npy(descr, "(4,)", data))).values, [0, 1, 255, 7], descr)
        }
        XCTAssertEqual(try NPY.read(file("b.npy", npy("|b1", "(3,)", [1, 0, 1]))).values, [1, 0, 1])
        XCTAssertEqual(try NPY.read(file("s.npy", npy("<f4", "()", bytes([Float(2.5).bitPattern], bigEndian: false)))).shape, [1])
    }

    func testNPYFortranOrderIsTransposedToRowMajor() throws {
        // The 2x3 matrix [[0, 1, 2], [3, 4, 5]] stored column by column.
        let data = bytes([0, 3, 1, 4, 2, 5].map { Float($0).bitPattern }, bigEndian: false)
        let m = try NPY.read(file("f.npy", npy("<f4", "(2, 3)", fortran: true, data)))
        XCTAssertEqual(m.shape, [2, 3])
        XCTAssertEqual(m.values, [0, 1, 2, 3, 4, 5])
        // Rank 3: element (i, j, k) sits at i + 2 j + 6 k in Fortran order.
        var fortran = [Float](repeating: 0, count: 24)
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { fortran[i + 2 * j + 6 * k] = Float(100 * i + 10 * j + k) } } }
        let t = try NPY.read(file("f3.npy", npy("<f4", "(2, 3, 4)", fortran: true, bytes(fortran.map(\.bitPattern), bigEndian: false))))
        XCTAssertEqual(t.shape, [2, 3, 4])
        XCTAssertEqual(t[1, 2, 3], 123)
        XCTAssertEqual(t[0, 1, 2], 12)
    }

    func testMalformedNPYNamesFileAndProblem() throws {
        let four = bytes([Float(1), 2, 3, 4].map(\.bitPattern), bigEndian: false)
        let good = npy("<f4", "(2, 2)", four)
        let cases: [([UInt8], String)] = [
            (Array("PK\u{3}\u{4}not numpy".utf8), "not an NPY file"),
            (Array(good.prefix(9)), "not an NPY file"),
            (Array(good.prefix(40)), "the header is truncated"),
            ([0x93] + Array("NUMPY".utf8) + [4, 0, 0, 0], "NPY version 4.0 is not supported"),
            (npy("<f4", "(2, 2", four), "not a valid dict literal"),
            (npy("<c8", "(2, 2)", four), "dtype '<c8' is not supported"),
            (npy("<f4", "(2, 3)", four), "needs 24 data bytes, the file has 16"),
            (npy("<f4", "(3,)", four), "needs 12 data bytes, the file has 16"),
            (npy("<f4", "(-1, 2)", four), "not a valid dict literal"),
            (npy("<f4", "(4,)", bytes([Float(1), .nan, 3, 4].map(\.bitPattern), bigEndian: false)),
             "element 1 (in file order) is nan"),
        ]
        for (index, (contents, problem)) in cases.enumerated() {
            let path = try file("bad\(index).npy", contents)
            assertError([problem], mentioning: path) { try NPY.read(path) }
        }
        XCTAssertTrue(try NPY.read(file("nan.npy", cases.last!.0), allowNonFinite: true).values[1].isNaN)
        assertError(["cannot open"], mentioning: "/nonexistent/x.npy") { try NPY.read("/nonexistent/x.npy") }
    }

    // MARK: - MatrixFile

    func testMatrixFileDetectsHeadersAndRowLabels() throws {
        let plain = try MatrixFile.read(file("plain.txt", "1 2 3\n4 5 6\n"))
        XCTAssertEqual(plain.shape, [2, 3])
        XCTAssertEqual(plain.values, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try MatrixFile.read(file("h.csv", "a,b,c\n1,2,3\n4,5,6\n")).values, [1, 2, 3, 4, 5, 6])
        // A corner cell in the header, labels in the first column.
        let corner = try MatrixFile.read(file("l.csv", "id,x,y\nn1,1,2\nn2,3,4\n"))
        XCTAssertEqual(corner.shape, [2, 2])
        XCTAssertEqual(corner.values, [1, 2, 3, 4])
        // R's write.table: numeric quoted header, one field fewer than the rows.
        let r = try MatrixFile.read(file("r.txt", "\"10\" \"20\"\n\"1\" 1 2\n\"2\" 3 4\n"))
        XCTAssertEqual(r.values, [1, 2, 3, 4])
        // Labels without a header.
        XCTAssertEqual(try MatrixFile.read(file("nl.tsv", "a\t1\t2\nb\t3\t4\n")).values, [1, 2, 3, 4])
        let selected = try file("sel.csv", "node,lon,lat\n0,-97.5,49\n1,-96.25,48.5\n")
        XCTAssertEqual(try MatrixFile.read(selected, columns: ["lat", "lon"]).values, [49, -97.5, 48.5, -96.25])
        XCTAssertEqual(try MatrixFile.read(selected, columns: ["2"]).values, [49, 48.5])
        XCTAssertEqual(try MatrixFile.read(file("na.csv", "1,NA\n,4\n"), missing: 0).values, [1, 0, 0, 4])
        let path = directory.appendingPathComponent("v.npy").path
        try NPY.write(try Tensor(shape: [3], values: [1, 2, 3]), to: path)
        XCTAssertEqual(try MatrixFile.read(path).shape, [3, 1])
        try NPY.write(try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), to: path)
        XCTAssertEqual(try MatrixFile.read(path, columns: ["2", "0"]).values, [3, 1, 6, 4])
    }

    func testMatrixFileReadsTheBundledData() throws {
        let counts = try MatrixFile.read(Self.data + "/flu-bybw/counts_flu_BYBW.txt")
        XCTAssertEqual(counts.shape, [416, 140])
        let adjacency = try MatrixFile.read(Self.data + "/flu-bybw/neighbourhood_BYBW.txt")
        XCTAssertEqual(adjacency.shape, [140, 140])
        XCTAssertEqual(adjacency.values.reduce(0, +), 672)
        let coordinates = try MatrixFile.read(Self.data + "/minnesota/coords.csv", columns: ["lon", "lat"])
        XCTAssertEqual(coordinates.shape, [2642, 2])
        XCTAssertEqual(coordinates[0, 0], -97.207, accuracy: 1e-4)
        XCTAssertEqual(coordinates[0, 1], 49.001, accuracy: 1e-4)
    }

    func testMalformedMatrixFilesNameFileLineAndProblem() throws {
        let short = try file("short.csv", "a,b,c\n1,2,3\n4,5\n")
        assertError([":3:", "has 2 fields, expected 3 as on line 2"], mentioning: short) { try MatrixFile.read(short) }
        let word = try file("word.csv", "1,2\n3,x\n")
        assertError([":2:", "field 2 \"x\" is not a finite number"], mentioning: word) { try MatrixFile.read(word) }
        let wide = try file("wide.csv", "a,b\n1,2,3,4\n")
        assertError([":2:", "has 4 fields but the header on line 1 has 2"], mentioning: wide) { try MatrixFile.read(wide) }
        let headerOnly = try file("header.csv", "a,b\n")
        assertError([":1:", "field 2 \"b\" is not a finite number"], mentioning: headerOnly) { try MatrixFile.read(headerOnly) }
        let named = try file("named.csv", "x,y\n1,2\n")
        assertError(["no column \"z\"", "the header has x, y"], mentioning: named) { try MatrixFile.read(named, columns: ["z"]) }
        let cube = directory.appendingPathComponent("cube.npy").path
        try NPY.write(Tensor.zeros([2, 2, 2]), to: cube)
        assertError(["expected a 1-D or 2-D array, found shape [2, 2, 2]"], mentioning: cube) { try MatrixFile.read(cube) }
    }

    // MARK: - GraphFile

    /// (row, column, weight) of every stored entry.
    private func entries(_ g: Graph) -> [[Float]] {
        let (offsets, columns, values) = g.csr
        return (0..<g.rowCount).flatMap { i in
            (Int(offsets[i])..<Int(offsets[i + 1])).map { [Float(i), Float(columns[$0]), values[$0]] }
        }
    }

    func testEdgeListsWithAndWithoutHeaderAndWeights() throws {
        // src -> dst is row dst, column src; the duplicate 0 -> 1 sums.
        let g = try GraphFile.read(file("e.csv", "src,dst,weight\n0,1,0.5\n2,0,2\n0,1,1\n"))
        XCTAssertEqual(g.rowCount, 3)
        XCTAssertEqual(entries(g), [[0, 2, 2], [1, 0, 1.5]])
        let plain = try GraphFile.read(file("e.txt", "0 1\n1 2\n"), nodeCount: 5, symmetrize: true)
        XCTAssertEqual(plain.rowCount, 5)
        XCTAssertEqual(entries(plain), [[0, 1, 1], [1, 0, 1], [1, 2, 1], [2, 1, 1]])
        // Symmetrizing keeps the larger weight of the two directions.
        let both = try GraphFile.read(file("b.csv", "0,1,3\n1,0,5\n1,1,2\n"), symmetrize: true)
        XCTAssertEqual(entries(both), [[0, 1, 5], [1, 0, 5], [1, 1, 2]])
    }

    func testDenseAndMatrixMarketGraphs() throws {
        let dense = try GraphFile.read(file("a.txt", "0 2 0 0\n2 0 1 0\n0 1 0 0\n0 0 0 0\n"))
        XCTAssertEqual(dense.rowCount, 4)
        XCTAssertEqual(entries(dense), [[0, 1, 2], [1, 0, 2], [1, 2, 1], [2, 1, 1]])
        // Three columns look like an edge list unless the format is given.
        let small = try file("a3.txt", "0 1 0\n1 0 1\n0 1 0\n")
        XCTAssertEqual(try GraphFile.read(small, format: .dense).nonzeroCount, 4)
        XCTAssertEqual(try GraphFile.read(small).rowCount, 2)
        let labelled = try GraphFile.read(file("l.csv", ",a,b\na,0,1\nb,1,0\n"))
        XCTAssertEqual(entries(labelled), [[0, 1, 1], [1, 0, 1]])
        let npyPath = directory.appendingPathComponent("a.npy").path
        try NPY.write(dense.denseMatrix(), to: npyPath)
        XCTAssertEqual(entries(try GraphFile.read(npyPath)), entries(dense))

        let general = try GraphFile.read(file("g.mtx", """
            %%MatrixMarket matrix coordinate real general
            % a comment
            3 3 2

            1 2 0.5
            3 1 -1e1
            """))
        XCTAssertEqual(entries(general), [[0, 1, 0.5], [2, 0, -10]])
        let symmetric = try GraphFile.read(file("s.txt", "%%MatrixMarket matrix coordinate pattern symmetric\n3 3 2\n2 1\n3 3\n"))
        XCTAssertEqual(entries(symmetric), [[0, 1, 1], [1, 0, 1], [2, 2, 1]])
        let skew = try GraphFile.read(file("k.mtx", "%%MatrixMarket matrix coordinate integer skew-symmetric\n2 2 1\n2 1 3\n"))
        XCTAssertEqual(entries(skew), [[0, 1, -3], [1, 0, 3]])
        let array = try GraphFile.read(file("r.mtx", "%%MatrixMarket matrix array real general\n2 2\n1\n0\n4\n0\n"))
        XCTAssertEqual(entries(array), [[0, 0, 1], [0, 1, 4]])
        let symmetricArray = try GraphFile.read(file("sa.mtx", "%%MatrixMarket matrix array real symmetric\n2 2\n0\n7\n0\n"))
        XCTAssertEqual(entries(symmetricArray), [[0, 1, 7], [1, 0, 7]])
    }

    func testWriteThenReadGivesTheSameGraph() throws {
        let g = try Graph(nodeCount: 4, rows: [0, 1, 1, 3, 2], columns: [1, 0, 2, 3, 0], weights: [0.25, 1, 3, 2, 1e-8])
        let symmetric = try g.symmetrized()
        for graph in [g, symmetric] {
            for format in GraphFile.Format.allCases {
                let path = directory.appendingPathComponent("w.\(format.rawValue)").path
                try GraphFile.write(graph, to: path, format: format)
                let back = try GraphFile.read(path, format: format, nodeCount: format == .edgeList ? 4 : nil)
                XCTAssertEqual(entries(back), entries(graph), "\(format)")
            }
        }
        let mtx = directory.appendingPathComponent("s.mtx").path
        try GraphFile.write(symmetric, to: mtx, format: .matrixMarket)
        let text = try String(contentsOfFile: mtx, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("%%MatrixMarket matrix coordinate real symmetric\n"), text)
        XCTAssertTrue(text.contains("\n4 4 4\n"), text)   // lower triangle only: (2,1), (3,2), (3,1), (4,4)
    }

    func testBundledGraphs() throws {
        let roads = try GraphFile.read(Self.data + "/minnesota/edges.csv", symmetrize: true)
        let summary = GraphSummary(roads)
        XCTAssertEqual(summary.nodes, 2642)
        XCTAssertEqual(summary.entries, 6606)
        XCTAssertTrue(summary.isSymmetric)
        XCTAssertEqual([summary.minDegree, summary.maxDegree, summary.components, summary.largestComponent], [1, 5, 2, 2640])
        let blogs = try GraphFile.read(Self.data + "/polblogs/edges.csv")
        XCTAssertEqual(blogs.rowCount, 1490)
        XCTAssertEqual(blogs.nonzeroCount, 19025)                   // 65 repeated lines summed
        XCTAssertEqual(blogs.csr.values.reduce(0, +), 19090)
        let districts = try GraphFile.read(Self.data + "/flu-bybw/neighbourhood_BYBW.txt")
        XCTAssertEqual([districts.rowCount, districts.nonzeroCount], [140, 672])
        XCTAssertTrue(districts.isSymmetric)
    }

    func testMalformedGraphFilesNameFileLineAndProblem() throws {
        let cases: [(String, String, Int?, [String])] = [
            ("range.csv", "src,dst\n0,1\n1,7\n", 5, [":3:", "node index 7 in field 2 is out of range 0..<5"]),
            ("negative.csv", "0,1\n-1,2\n", nil, [":2:", "node index -1 in field 1"]),
            ("float.csv", "0,1\n1.5,2\n", nil, [":2:", "field 1 \"1.5\" is not an integer"]),
            ("fields.csv", "0,1,1\n1,2\n", nil, [":2:", "has 2 fields, expected 3 as on line 1"]),
            ("weight.csv", "0,1,x\n", nil, [":1:", "field 3 \"x\" is not a finite number"]),
            ("square.txt", "0 1 0 1\n1 0 1 0\n", nil, ["must be square, this one has shape [2, 4]"]),
            ("count.txt", "0 1 1 1\n1 0 1 1\n1 1 0 1\n1 1 1 0\n", 3, ["the matrix has 4 nodes, expected 3"]),
            ("banner.mtx", "%%MatrixMarket vector coordinate real general\n", nil, [":1:", "expected \"%%MatrixMarket matrix"]),
            ("complex.mtx", "%%MatrixMarket matrix coordinate complex general\n", nil, [":1:", "field \"complex\" is not supported"]),
            ("rect.mtx", "%%MatrixMarket matrix coordinate real general\n2 3 0\n", nil, [":2:", "2 x 3; a graph needs a square matrix"]),
            ("index.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1\n", nil, [":3:", "index \"3\" in field 1 is not in 1...2"]),
            ("zero.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n0 1 1\n", nil, [":3:", "index \"0\""]),
            ("few.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 3\n1 2 1\n", nil, ["the size line (line 2) declares 3 entries, the file has 1"]),
            ("many.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 2 1\n2 1 1\n", nil, [":4:", "more entries than the 1"]),
            ("value.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 2 nan\n", nil, [":3:", "value \"nan\" is not a finite number"]),
            ("size.mtx", "%%MatrixMarket matrix coordinate real general\n2 2\n", nil, [":2:", "expected the size line"]),
        ]
        for (name, contents, nodeCount, fragments) in cases {
            let path = try file(name, contents)
            assertError(fragments, mentioning: path) { try GraphFile.read(path, nodeCount: nodeCount) }
        }
    }

    func testSummaryCountsDegreesWeightsAndComponents() throws {
        // A triangle 0-1-2 (symmetric), an isolated node 3 and a self loop on 4.
        let g = try Graph(nodeCount: 5, rows: [0, 1, 1, 2, 2, 0, 4], columns: [1, 0, 2, 1, 0, 2, 4],
                          weights: [1, 1, 0.5, 0.5, 2, 2, 3])
        let s = GraphSummary(g)
        XCTAssertEqual([s.nodes, s.entries, s.selfLoops, s.minDegree, s.maxDegree, s.components, s.largestComponent],
                       [5, 7, 1, 0, 2, 3, 3])
        XCTAssertEqual(s.meanDegree, 1.4)
        XCTAssertEqual([s.minWeight, s.maxWeight], [0.5, 3])
        XCTAssertEqual(g.connectedComponents(), [0, 0, 0, 1, 2])
        XCTAssertTrue(s.description.contains("edges: 7 stored entries (4 undirected), 1 self loops"), s.description)
        XCTAssertTrue(s.description.contains("degree: min 0, mean 1.40, max 2"), s.description)
    }
}

private extension Array {
    /// The array repeated until it has `count` elements.
    func cycled(_ count: Int) -> [Element] { (0..<count).map { self[$0 % self.count] } }
}
