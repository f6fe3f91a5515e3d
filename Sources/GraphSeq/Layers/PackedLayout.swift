/// How a batch of variable-length sequences is laid out inside the sequence
/// layers, as PyTorch's `PackedSequence`: the batch is sorted by length
/// (descending, stable), and step t holds the first `batchSizes[t]` sorted
/// rows at packed rows `offsets[t]...`. Finished sequences take no rows, so
/// no work is spent on them, and the active rows of a step are a prefix of
/// the previous step's.
struct PackedLayout {
    let steps: Int
    let batch: Int
    /// Sorted row i is batch entry `order[i]`.
    let order: [Int]
    /// The length of each sorted row (non-increasing).
    let lengths: [Int]
    /// The number of sequences longer than t, for each step t.
    let batchSizes: [Int]
    /// The first packed row of each step; `offsets[steps]` is the row count.
    let offsets: [Int]

    /// `lengths` in batch order, each in 1...steps.
    init(steps: Int, lengths batchLengths: [Int]) {
        self.steps = steps
        batch = batchLengths.count
        order = batchLengths.indices.sorted { a, b in
            batchLengths[a] != batchLengths[b] ? batchLengths[a] > batchLengths[b] : a < b
        }
        let sorted = order.map { batchLengths[$0] }
        lengths = sorted
        batchSizes = (0..<steps).map { t in sorted.prefix { $0 > t }.count }
        var offsets = [0]
        for size in batchSizes { offsets.append(offsets.last! + size) }
        self.offsets = offsets
    }

    /// The number of packed rows: the sum of the lengths.
    var rows: Int { offsets[steps] }

    /// The steps in the order a direction processes them.
    func steps(reverse: Bool) -> [Int] { reverse ? (0..<steps).reversed() : Array(0..<steps) }

    /// The step whose state feeds step t (nil: the initial state does).
    func predecessor(of t: Int, reverse: Bool) -> Int? {
        let p = reverse ? t + 1 : t - 1
        return p >= 0 && p < steps ? p : nil
    }

    /// The step that step t's state feeds (nil: none).
    func successor(of t: Int, reverse: Bool) -> Int? { predecessor(of: t, reverse: !reverse) }

    /// The packed row where sorted row i starts from its initial state.
    func initialRow(_ i: Int, reverse: Bool) -> Int { offsets[reverse ? lengths[i] - 1 : 0] + i }

    /// The packed row holding sorted row i's final state.
    func finalRow(_ i: Int, reverse: Bool) -> Int { initialRow(i, reverse: !reverse) }

    /// The element offset of (step t, batch entry b) in a [T, B, width]
    /// (or, batch-first, [B, T, width]) tensor.
    func unpackedOffset(_ t: Int, _ b: Int, width: Int, batchFirst: Bool) -> Int {
        (batchFirst ? b * steps + t : t * batch + b) * width
    }
}
