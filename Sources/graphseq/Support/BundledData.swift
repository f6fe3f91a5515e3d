import Foundation
import GraphSeq

/// The datasets in the repository's data/ folder (see data/README.md).
enum BundledData {
    /// The data folder: $GRAPHSEQ_DATA, else ./data, else the checkout this
    /// tool was built from.
    static var root: String {
        if let env = ProcessInfo.processInfo.environment["GRAPHSEQ_DATA"], !env.isEmpty { return env }
        if FileManager.default.fileExists(atPath: "data/README.md") { return "data" }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("data").path
    }

    /// The path of `relative` inside the data folder, or an error naming where it looked.
    static func path(_ relative: String) throws -> String {
        let path = root + "/" + relative
        guard FileManager.default.fileExists(atPath: path) else {
            throw GraphSeqError.invalidArgument("bundled data file \(path) not found; set GRAPHSEQ_DATA to the repository's data/ folder")
        }
        return path
    }

    /// The decompressed bytes of a gzip file (through the system's gzip, which
    /// every Debian machine has).
    static func gunzip(_ path: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec gzip -dc \"$0\"", path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw GraphSeqError.invalidArgument("\(path): cannot decompress: \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return [UInt8](bytes)
    }
}
