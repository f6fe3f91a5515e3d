import GraphSeq

/// The ISA caps this CPU can run, lowest first: tests sweep all of them.
public var testISAs: [ISA] { ISA.allCases.filter { $0.rawValue <= Runtime.cpuISA.rawValue } }

/// Thread counts every kernel is checked with (bitwise identical results).
public let testThreadCounts = [1, 2, 3, 8]

/// Runs `body` under every ISA cap and thread count, restoring the settings.
public func forEachConfiguration(_ body: (ISA, Int) throws -> Void) throws {
    for isa in testISAs {
        for threads in testThreadCounts {
            try withEveryThread(threads, maxISA: isa) { try body(isa, threads) }
        }
    }
}

/// `Runtime.with(threads:maxISA:)` where every call uses all the threads,
/// however small (no minimum work per thread), so the tests' small shapes
/// exercise the multi-threaded splits.
public func withEveryThread<T>(_ threads: Int, maxISA: ISA? = nil, _ body: () throws -> T) throws -> T {
    let minWork = Runtime.minWorkPerThread
    Runtime.minWorkPerThread = 0
    defer { Runtime.minWorkPerThread = minWork }
    return try Runtime.with(threads: threads, maxISA: maxISA, body)
}

/// The worst error of `actual` against `expected`, in units of the tolerance
/// atol + rtol * |expected|: <= 1 means every element is within tolerance.
/// NaN anywhere gives infinity; a length mismatch too.
public func toleranceRatio(_ actual: [Float], _ expected: [Double],
                           rtol: Double, atol: Double) -> Double {
    guard actual.count == expected.count else { return .infinity }
    var worst = 0.0
    for (a, e) in zip(actual, expected) {
        let err = abs(Double(a) - e)
        if err.isNaN || a.isNaN { return .infinity }
        worst = max(worst, err / (atol + rtol * abs(e)))
    }
    return worst
}

/// Index and values of the first difference between two arrays, bit for bit,
/// or nil when identical (for thread-count determinism checks).
public func firstBitwiseDifference(_ a: [Float], _ b: [Float]) -> String? {
    if a.count != b.count { return "lengths \(a.count) vs \(b.count)" }
    for i in a.indices where a[i].bitPattern != b[i].bitPattern {
        return "element \(i): \(a[i]) vs \(b[i])"
    }
    return nil
}
