#if canImport(Glibc)
import Glibc
#endif

// Double-precision references of the losses: (value, dLoss/dprediction),
// with mean reduction, written from the definitions.

public func meanSquaredErrorReference(_ p: [Double], _ t: [Double]) -> (value: Double, gradient: [Double]) {
    let n = Double(p.count)
    return (zip(p, t).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / n, zip(p, t).map { 2 * ($0 - $1) / n })
}

/// Mean of |p - t| over entries with mask 1 (all without a mask); 0 when none.
public func meanAbsoluteErrorReference(_ p: [Double], _ t: [Double], mask: [Double]?) -> (value: Double, gradient: [Double]) {
    let counted = p.indices.filter { (mask?[$0] ?? 1) == 1 }
    guard !counted.isEmpty else { return (0, p.map { _ in 0 }) }
    let n = Double(counted.count)
    var g = p.map { _ in 0.0 }
    for i in counted { g[i] = (p[i] > t[i] ? 1 : p[i] < t[i] ? -1 : 0) / n }
    return (counted.reduce(0) { $0 + abs(p[$1] - t[$1]) } / n, g)
}

/// Mean over counted rows of -log softmax(row)[label]; gradient (softmax - onehot) / count.
public func softmaxCrossEntropyReference(_ logits: [Double], classes c: Int, labels: [Int32],
                                         mask: [Bool]?) -> (value: Double, gradient: [Double]) {
    let rows = (0..<labels.count).filter { mask?[$0] ?? true }
    var g = logits.map { _ in 0.0 }
    guard !rows.isEmpty else { return (0, g) }
    let n = Double(rows.count)
    var loss = 0.0
    for r in rows {
        let row = Array(logits[(r * c)..<((r + 1) * c)])
        let m = row.max()!
        let z = row.reduce(0) { $0 + exp($1 - m) }
        loss += -(row[Int(labels[r])] - m - log(z))
        for j in 0..<c { g[r * c + j] = (exp(row[j] - m) / z - (j == Int(labels[r]) ? 1 : 0)) / n }
    }
    return (loss / n, g)
}

/// Mean of -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) = t softplus(-x) + (1 - t) softplus(x).
public func binaryCrossEntropyWithLogitsReference(_ x: [Double], _ t: [Double]) -> (value: Double, gradient: [Double]) {
    let softplus = { (z: Double) in z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)) }
    let n = Double(x.count)
    let value = zip(x, t).reduce(0) { $0 + $1.1 * softplus(-$1.0) + (1 - $1.1) * softplus($1.0) } / n
    return (value, zip(x, t).map { (1 / (1 + exp(-$0)) - $1) / n })
}
