import XCTest
import GraphSeq

final class DelimitedTextTests: XCTestCase {
    func testSeparatorsQuotesAndComments() throws {
        let comma = try DelimitedText(text: "a,b\n# note\n1, \"x,\"\"y\"\"\"\n\n2,3\r\n", path: "t.csv", header: true)
        XCTAssertEqual(comma.header, ["a", "b"])
        XCTAssertEqual(comma.records.map(\.fields), [["1", "x,\"y\""], ["2", "3"]])
        XCTAssertEqual(comma.records.map(\.line), [3, 5])
        let spaces = try DelimitedText(text: "\"w\"  1 2\n\"x y\"\t3 4 \n", path: "t.txt", header: false)
        XCTAssertEqual(spaces.records.map(\.fields), [["w", "1", "2"], ["x y", "3", "4"]])
        XCTAssertEqual(try spaces.matrix(skipping: 1).values, [1, 2, 3, 4])
        // \r\n, lone \r and \n all end a line; other bytes, UTF-8 included, are field text.
        let endings = try DelimitedText(text: "é,ü\r\n1,2\r3,\"ä\"\n\n# x\r\n4,5", path: "t.csv", header: true)
        XCTAssertEqual(endings.header, ["é", "ü"])
        XCTAssertEqual(endings.records.map(\.fields), [["1", "2"], ["3", "ä"], ["4", "5"]])
        XCTAssertEqual(endings.records.map(\.line), [2, 3, 6])
    }

    func testBundledFluCountsHaveTheDocumentedShape() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let table = try DelimitedText(path: root.appendingPathComponent("data/flu-bybw/counts_flu_BYBW.txt").path, header: true)
        let counts = try table.matrix(skipping: 1)
        XCTAssertEqual(table.header?.count, 140)
        XCTAssertEqual(counts.shape, [416, 140])
    }

    func testMalformedInputNamesFileLineAndProblem() {
        func message(_ text: String, missing: Float? = nil) -> String {
            do {
                _ = try DelimitedText(text: text, path: "bad.csv", header: false).matrix(missing: missing)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(message("1,2\n3\n").contains("bad.csv:2: has 1 fields, expected 2"), message("1,2\n3\n"))
        XCTAssertTrue(message("1,2\n3,x\n").contains("bad.csv:2: field 2 \"x\" is not a finite number"))
        XCTAssertTrue(message("1,inf\n").contains("bad.csv:1:"))
        XCTAssertTrue(message("1,\"2\n").contains("bad.csv:1: a quoted field is not closed"))
        XCTAssertTrue(message("").contains("bad.csv: no data lines"))
        XCTAssertEqual(message("1,NA\n", missing: -1), "no error")
        XCTAssertThrowsError(try DelimitedText(path: "/nonexistent/file.csv", header: true)) {
            XCTAssertTrue("\($0)".contains("/nonexistent/file.csv: cannot open"), "\($0)")
        }
    }
}
