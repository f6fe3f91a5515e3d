/// y = x W^T + b in double precision: x [rows, in], W [out, in], b [out] or empty.
public func linearReference(_ x: [Double], _ w: [Double], _ b: [Double],
                            rows: Int, inputSize: Int, outputSize: Int) -> [Double] {
    var y = [Double](repeating: 0, count: rows * outputSize)
    for r in 0..<rows {
        for o in 0..<outputSize {
            var s = b.isEmpty ? 0 : b[o]
            for i in 0..<inputSize { s += x[r * inputSize + i] * w[o * inputSize + i] }
            y[r * outputSize + o] = s
        }
    }
    return y
}
