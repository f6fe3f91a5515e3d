internal import CGraphSeq

// The Swift half of the C ABI reports errors through the C runtime's
// thread-local message (CSupport/runtime.c). Declared here rather than in a
// header so that nothing beyond include/graphseq.h is public; the function is
// hidden inside the library.
@_silgen_name("gsq__set_last_error")
private func setLastError(_ message: UnsafePointer<CChar>?)

extension GraphSeqError {
    /// The C status code of this error.
    var status: gsq_status_t {
        switch self {
        case .invalidArgument: GSQ_ERR_INVALID_ARGUMENT
        case .outOfMemory: GSQ_ERR_OUT_OF_MEMORY
        case .invalidGraph: GSQ_ERR_INVALID_GRAPH
        case .unsupported: GSQ_ERR_UNSUPPORTED
        case .notConverged: GSQ_ERR_NOT_CONVERGED
        case .internal: GSQ_ERR_INTERNAL
        }
    }

    /// The message without the case name (the status code carries that).
    var message: String {
        switch self {
        case .invalidArgument(let m), .outOfMemory(let m), .invalidGraph(let m),
             .unsupported(let m), .notConverged(let m), .internal(let m): m
        }
    }
}

/// Runs the body of the C entry point `function`: success is GSQ_SUCCESS; a
/// thrown error becomes its status code and the thread's gsq_last_error()
/// message, prefixed with `function`.
func cEntry(_ function: String, _ body: () throws(GraphSeqError) -> Void) -> gsq_status_t {
    do {
        try body()
        return GSQ_SUCCESS
    } catch {
        reportError("\(function): \(error.message)")
        return error.status
    }
}

/// Sets gsq_last_error() for C entry points that return no status.
func reportError(_ message: String) {
    message.withCString { setLastError($0) }
}

/// Throws unless the C pointer `name` is non-NULL; returns it unwrapped.
func nonNull<P>(_ pointer: P?, _ name: String) throws(GraphSeqError) -> P {
    guard let pointer else { throw .invalidArgument("\(name) is NULL") }
    return pointer
}

/// The largest element count the C ABI accepts for one tensor (as the C
/// kernels' gsq__check_size): larger requests are errors, never traps.
let maximumElementCount = 1 << 40

/// A C shape (`rank` extents) validated for a Tensor: every extent >= 0, the
/// product at most `maximumElementCount`.
func tensorShape(_ shape: UnsafePointer<Int64>?, rank: Int64, name: String,
                 ranks: ClosedRange<Int> = 1...4) throws(GraphSeqError) -> [Int] {
    try require(ranks.contains(Int(clamping: rank)),
                "rank of \(name) is \(rank), expected \(ranks.lowerBound)...\(ranks.upperBound)")
    let extents = try nonNull(shape, "shape of \(name)")
    let dims = (0..<Int(rank)).map { Int(extents[$0]) }
    try require(dims.allSatisfy { $0 >= 0 }, "\(name) has a negative extent in \(dims)")
    try require(elementCount(dims) <= maximumElementCount, "\(name) of shape \(dims) is too large")
    return dims
}

/// The product of `dims` (non-negative), saturating at Int.max.
func elementCount(_ dims: [Int]) -> Int {
    dims.reduce(1) { acc, d in
        let (p, overflow) = acc.multipliedReportingOverflow(by: d)
        return overflow ? Int.max : p
    }
}

/// A new tensor of `shape` (already validated) holding a copy of the C array
/// `data`, which must be non-NULL unless the tensor is empty.
func tensorCopy(_ data: UnsafePointer<Float>?, shape: [Int], name: String) throws(GraphSeqError) -> Tensor {
    let n = elementCount(shape)
    try require(n <= maximumElementCount, "\(name) of shape \(shape) is too large")
    try require(data != nil || n == 0, "\(name) is NULL")
    let t = Tensor(shape: shape)
    if let data, n > 0 {
        t.withUnsafeMutableBufferPointer { $0.baseAddress?.update(from: data, count: n) }
    }
    return t
}

/// Writes a tensor's rank and shape into the optional C outputs (rank <= 4).
func exportShape(_ tensor: Tensor, rank: UnsafeMutablePointer<Int64>?,
                 shape: UnsafeMutablePointer<Int64>?) throws(GraphSeqError) {
    try require(tensor.rank <= 4, "tensor of shape \(tensor.shape) has rank > 4")
    rank?.pointee = Int64(tensor.rank)
    if let shape { for (i, d) in tensor.shape.enumerated() { shape[i] = Int64(d) } }
}
