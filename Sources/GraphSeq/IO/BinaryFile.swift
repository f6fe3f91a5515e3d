#if canImport(Glibc)
internal import Glibc
#endif

/// A C stdio file whose errors name the path and the system's reason.
final class BinaryFile {
    #if canImport(Glibc)
    private var handle: UnsafeMutablePointer<FILE>?
    #endif
    private let context: String

    init(_ path: String, mode: String, context: String) throws(GraphSeqError) {
        self.context = context
        #if canImport(Glibc)
        handle = fopen(path, mode)
        if handle == nil { throw systemError(context, "cannot open") }
        #else
        throw .unsupported("\(context): file I/O needs Glibc")
        #endif
    }

    deinit {
        #if canImport(Glibc)
        if let handle { fclose(handle) }
        #endif
    }

    /// The file's length in bytes (the position is left at the start).
    func size() throws(GraphSeqError) -> Int {
        #if canImport(Glibc)
        guard fseeko(handle, 0, SEEK_END) == 0 else { throw systemError(context, "cannot seek") }
        let size = ftello(handle)
        guard size >= 0, fseeko(handle, 0, SEEK_SET) == 0 else { throw systemError(context, "cannot seek") }
        return Int(size)
        #else
        return 0
        #endif
    }

    /// The whole file at `path`; errors name `path`.
    static func contents(of path: String) throws(GraphSeqError) -> [UInt8] {
        let file = try BinaryFile(path, mode: "rb", context: path)
        return try file.read(count: file.size())
    }

    /// Writes through `body` into a temporary file next to `path`, flushes it to
    /// disk and renames it over `path`: a crash never leaves a truncated file at
    /// `path`. On error the temporary file is removed.
    static func writeAtomically(_ path: String, context: String,
                                _ body: (BinaryFile) throws(GraphSeqError) -> Void) throws(GraphSeqError) {
        #if canImport(Glibc)
        let temporary = "\(path).partial-\(getpid())"
        do throws(GraphSeqError) {
            let file = try BinaryFile(temporary, mode: "wb", context: context)
            try body(file)
            try file.close(sync: true)
            guard rename(temporary, path) == 0 else { throw systemError(context, "cannot rename \(temporary)") }
        } catch {
            unlink(temporary)
            throw error
        }
        #else
        throw .unsupported("\(context): file I/O needs Glibc")
        #endif
    }

    /// The next `count` bytes, or throws (truncated file).
    func read(count: Int) throws(GraphSeqError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let done = bytes.withUnsafeMutableBytes { transfer($0.baseAddress, $0.count, reading: true) }
        try checkTransfer(done, count, reading: true)
        return bytes
    }

    /// Fills `tensor` with the next bytes (float32, little-endian host).
    func read(into tensor: Tensor) throws(GraphSeqError) {
        let count = tensor.count * MemoryLayout<Float>.size
        let done = tensor.withUnsafeMutableBufferPointer { transfer($0.baseAddress, count, reading: true) }
        try checkTransfer(done, count, reading: true)
    }

    func write(_ bytes: [UInt8]) throws(GraphSeqError) {
        let done = bytes.withUnsafeBytes { transfer(UnsafeMutableRawPointer(mutating: $0.baseAddress), $0.count, reading: false) }
        try checkTransfer(done, bytes.count, reading: false)
    }

    /// Writes the tensor's float32 elements (little-endian host).
    func write(_ tensor: Tensor) throws(GraphSeqError) {
        let count = tensor.count * MemoryLayout<Float>.size
        let done = tensor.withUnsafeBufferPointer { transfer(UnsafeMutableRawPointer(mutating: $0.baseAddress), count, reading: false) }
        try checkTransfer(done, count, reading: false)
    }

    /// fread or fwrite of `count` bytes; returns how many were transferred.
    private func transfer(_ p: UnsafeMutableRawPointer?, _ count: Int, reading: Bool) -> Int {
        #if canImport(Glibc)
        guard count > 0, let p else { return count }
        return reading ? fread(p, 1, count, handle) : fwrite(p, 1, count, handle)
        #else
        return 0
        #endif
    }

    private func checkTransfer(_ done: Int, _ count: Int, reading: Bool) throws(GraphSeqError) {
        #if canImport(Glibc)
        if done == count { return }
        if reading && ferror(handle) == 0 { throw .invalidArgument("\(context): the file ended early") }
        throw systemError(context, reading ? "read failed" : "write failed")
        #endif
    }

    /// Flushes (and with `sync`, forces to disk) and closes, reporting any error.
    func close(sync: Bool) throws(GraphSeqError) {
        #if canImport(Glibc)
        guard let h = handle else { return }
        handle = nil
        let flushed = fflush(h) == 0 && (!sync || fsync(fileno(h)) == 0)
        let reason = flushed ? nil : systemError(context, "write failed")
        if fclose(h) != 0 || reason != nil { throw reason ?? systemError(context, "close failed") }
        #endif
    }
}

#if canImport(Glibc)
/// `context: what: strerror(errno)`.
func systemError(_ context: String, _ what: String) -> GraphSeqError {
    .invalidArgument("\(context): \(what): \(String(cString: strerror(errno)))")
}
#endif
