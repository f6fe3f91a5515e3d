internal import CGraphSeq

/// An error reported by GraphSeq. Each case carries the library's message,
/// which names the function and the offending argument.
public enum GraphSeqError: Error, Equatable, CustomStringConvertible {
    /// A NULL pointer, a negative or overflowing size, a bad stride or enum value,
    /// or shapes that do not fit together.
    case invalidArgument(String)
    /// An allocation failed; nothing was written.
    case outOfMemory(String)
    /// CSR or COO arrays are not well formed (unsorted, out of range, non-finite).
    case invalidGraph(String)
    /// A valid request this build or CPU cannot serve.
    case unsupported(String)
    /// An iterative estimate (such as the largest eigenvalue) did not converge.
    case notConverged(String)
    /// A bug in GraphSeq.
    case `internal`(String)

    public var description: String {
        switch self {
        case .invalidArgument(let m): "invalid argument: \(m)"
        case .outOfMemory(let m): "out of memory: \(m)"
        case .invalidGraph(let m): "invalid graph: \(m)"
        case .unsupported(let m): "unsupported: \(m)"
        case .notConverged(let m): "not converged: \(m)"
        case .internal(let m): "internal error: \(m)"
        }
    }
}

/// Turns a C status into a thrown `GraphSeqError` carrying `gsq_last_error()`.
@inline(__always)
func check(_ status: gsq_status_t) throws(GraphSeqError) {
    if status == GSQ_SUCCESS { return }
    let message = String(cString: gsq_last_error())
    switch status {
    case GSQ_ERR_INVALID_ARGUMENT: throw .invalidArgument(message)
    case GSQ_ERR_OUT_OF_MEMORY: throw .outOfMemory(message)
    case GSQ_ERR_INVALID_GRAPH: throw .invalidGraph(message)
    case GSQ_ERR_UNSUPPORTED: throw .unsupported(message)
    case GSQ_ERR_NOT_CONVERGED: throw .notConverged(message)
    default: throw .internal(message)
    }
}

/// Throws `.invalidArgument` unless `condition` holds; for checks made in Swift.
@inline(__always)
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(GraphSeqError) {
    if !condition { throw .invalidArgument(message()) }
}
