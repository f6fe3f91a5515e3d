#if canImport(Glibc)
internal import Glibc
#endif

/// The peak resident-set growth of `body` in bytes, measured as
/// scripts/peers.py measures its peers: free heap memory is returned to the
/// system first (so the run cannot reuse pages already resident), the
/// kernel's high-water mark is reset (`/proc/self/clear_refs`), and the result
/// is VmHWM after the run minus VmRSS before it. nil where /proc is missing.
func peakResidentGrowth(_ body: () throws -> Void) rethrows -> Int? {
    #if canImport(Glibc)
    _ = mallocTrim(0)
    guard let before = procStatusBytes("VmRSS:"), resetHighWaterMark() else { try body(); return nil }
    try body()
    return procStatusBytes("VmHWM:").map { $0 - before }
    #else
    try body()
    return nil
    #endif
}

#if canImport(Glibc)
/// glibc's malloc_trim (malloc.h is not part of the Glibc module).
@_silgen_name("malloc_trim")
private func mallocTrim(_ pad: Int) -> Int32

/// A "Vm...:  123 kB" field of /proc/self/status, in bytes.
private func procStatusBytes(_ field: String) -> Int? {
    guard let f = fopen("/proc/self/status", "r") else { return nil }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), f) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix(field) {
            return Int(text.dropFirst(field.count).filter(\.isNumber)).map { $0 * 1024 }
        }
    }
    return nil
}

/// Writes "5" to /proc/self/clear_refs: VmHWM restarts from the current RSS.
private func resetHighWaterMark() -> Bool {
    guard let f = fopen("/proc/self/clear_refs", "w") else { return false }
    defer { fclose(f) }
    return fputs("5", f) >= 0
}
#endif
