import Foundation
import GraphSeq
import XCTest

/// The sktime .ts reader on the bundled JapaneseVowels files and on malformed
/// text, and short runs of the sequence experiments through the built
/// `graphseq` tool, which must learn something.
final class SequenceExperimentTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testJapaneseVowelsFilesHaveTheDocumentedShape() throws {
        let train = try TimeSeriesDataset(path: Self.root.appendingPathComponent("data/uea/JapaneseVowels_TRAIN.ts").path)
        let test = try TimeSeriesDataset(path: Self.root.appendingPathComponent("data/uea/JapaneseVowels_TEST.ts").path)
        XCTAssertEqual(train.cases.count, 270)
        XCTAssertEqual(test.cases.count, 370)
        XCTAssertEqual(train.problemName, "JapaneseVowels")
        XCTAssertEqual(train.classLabels, (1...9).map(String.init))
        let lengths = (train.cases + test.cases).map(\.length)
        XCTAssertEqual(lengths.min(), 7)
        XCTAssertEqual(lengths.max(), 29)
        XCTAssertTrue((train.cases + test.cases).allSatisfy { $0.values.shape[1] == 12 })
        // 30 utterances per speaker in training, in speaker order.
        XCTAssertEqual(train.cases.map(\.label), (0..<9).flatMap { Array(repeating: $0, count: 30) })
        // The first case as written: channel 1 then channel 2 of its first step.
        XCTAssertEqual(train.cases[0].values[0, 0], 1.860936)
        XCTAssertEqual(train.cases[0].values[0, 1], -0.207383)
        XCTAssertEqual(train.cases[0].line, 16)
    }

    func testMalformedTextNamesFileLineAndProblem() {
        let header = "@problemName p\n@dimensions 2\n@classLabel true a b\n@data\n"
        func message(_ text: String) -> String {
            do {
                _ = try TimeSeriesDataset(text: text, path: "bad.ts")
                return "no error"
            } catch { return "\(error)" }
        }
        let cases: [(String, String)] = [
            (header + "1,2:3,4:a\n1,2:b\n", "bad.ts:6: has 1 channels, expected 2"),
            (header + "1,x:3,4:a\n", "bad.ts:5: channel 1: \"x\" is not a finite number"),
            (header + "1,2:3,4:c\n", "bad.ts:5: label \"c\" is not one of @classLabel a b"),
            (header + "1,2:3:a\n", "bad.ts:5: channel 2 has 1 values, channel 1 has 2"),
            (header + "1,?:3,4:a\n", "bad.ts:5: channel 1: missing values"),
            (header + "1,nan:3,4:a\n", "bad.ts:5: channel 1: \"nan\" is not a finite number"),
            ("@dimensions 2\n1,2:3,4:a\n", "bad.ts:2: data before @data"),
            ("@dimensions 2\n@classLabel true a\n", "bad.ts: no @data line"),
            ("@dimensions 2\n@classLabel true a\n@data\n\n", "bad.ts: no cases after @data"),
            ("@dimensions 2\n@data\n", "bad.ts:2: @data before @classLabel"),
            ("# c\n@dimension 2\n", "bad.ts:2: unknown header @dimension"),
            ("@timeStamps true\n", "bad.ts:1: time stamps are not supported"),
            ("@dimensions two\n", "bad.ts:1: @dimensions expects a positive integer"),
            ("@classLabel false\n", "bad.ts:1: @classLabel must be true"),
            ("@seriesLength 3\n@classLabel true a\n@data\n1,2:a\n", "bad.ts:4: has length 2, @seriesLength is 3"),
        ]
        for (text, expected) in cases {
            XCTAssertTrue(message(text).contains(expected), "\(message(text)) does not contain \(expected)")
        }
        XCTAssertEqual(message("@univariate true\n@classLabel true a\n@data\n1, 2 ,3 : a\r\n"), "no error")
        XCTAssertThrowsError(try TimeSeriesDataset(path: "/nonexistent/x.ts")) {
            XCTAssertTrue("\($0)".contains("/nonexistent/x.ts"), "\($0)")
        }
    }

    func testQuickPalindromesBeatChance() throws {
        let results = try quickRun("palindromes")
        XCTAssertEqual(results.map { $0["model"] as? String }, ["rnn", "lstm"])
        for r in results { XCTAssertGreaterThan(r["test_accuracy"] as! Double, 0.3, "\(r)") }   // chance 0.1
    }

    func testQuickVowelsBeatChance() throws {
        let results = try quickRun("vowels")
        XCTAssertEqual(results.map { $0["model"] as? String }, ["lstm", "gru"])
        for r in results { XCTAssertGreaterThan(r["test_accuracy"] as! Double, 0.5, "\(r)") }   // chance 1/9
    }

    func testQuickCharLMBeatsTheUnigramModel() throws {
        var unigram = 0.0
        let results = try quickRun("charlm") { unigram = $0["unigram_bpc"] as! Double }
        XCTAssertEqual(results.map { $0["model"] as? String }, ["lstm", "gru", "gcrn-all", "gcrn-node"])
        // The add-one unigram bpc of the quick split, computed independently in Python: 4.8857.
        XCTAssertEqual(unigram, 4.8857, accuracy: 0.0001)
        for r in results {
            // The node readout learns slowly (see docs/experiments-sequences.md).
            let margin = r["model"] as? String == "gcrn-node" ? 0.005 : 0.15
            XCTAssertLessThan(r["test_bpc"] as! Double, unigram - margin, "\(r)")
        }
    }

    /// Runs `graphseq experiment <name> --quick --json` and returns its
    /// results; `check` sees the whole JSON object.
    private func quickRun(_ name: String, check: ([String: Any]) -> Void = { _ in }) throws -> [[String: Any]] {
        let result = try runTool(["experiment", name, "--quick", "--json", "--threads", "1"],
                                 env: ["GRAPHSEQ_DATA": Self.root.appendingPathComponent("data").path])
        XCTAssertEqual(result.status, 0, result.err)
        let last = result.out.split(separator: "\n").last.map(String.init) ?? ""
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], last)
        XCTAssertEqual(object["experiment"] as? String, name)
        XCTAssertEqual(object["quick"] as? Bool, true)
        check(object)
        return try XCTUnwrap(object["results"] as? [[String: Any]])
    }
}
