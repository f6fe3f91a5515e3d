import Foundation
import GraphSeq

/// A run's data cut into windows in model space: the chronological split,
/// the series normalisation (fitted on the training steps only) and the
/// input channels of every step.
///
/// Input channels, in order: the normalised series; with `seasonalInputs`,
/// sin and cos of 2π t / period (the phase of the season, e.g. the week of
/// the year); then each extra feature, z-scored with its training-step mean
/// and deviation.
struct ForecastProblem {
    let data: ForecastData
    let split: ForecastSplit
    let scaler: SeriesScaler
    let windows: ForecastWindows

    /// `scaler` nil fits one on the training steps; a checkpoint passes its own.
    init(_ data: ForecastData, _ config: RunConfiguration, scaler: SeriesScaler? = nil) throws {
        split = try ForecastSplit(stepCount: data.stepCount, window: config.window, horizon: config.horizon,
                                  testFraction: config.testFraction, validationFraction: config.validationFraction)
        let scaler = try scaler ?? SeriesScaler(fitting: data.series, steps: split.train, method: config.normalization)
        let z = scaler.normalized(data.series)
        var channels = [z]
        if config.seasonalInputs {
            let phase = (0..<data.stepCount).map { 2 * Double.pi * Double($0 % config.period) / Double(config.period) }
            channels += try [sin, cos].map { f in try ForecastProblem.broadcast(phase.map { Float(f($0)) }, nodes: data.nodeCount) }
        }
        if let features = data.features {
            for f in 0..<features.shape[2] {
                let channel = try ForecastProblem.channel(f, of: features)
                channels.append(try SeriesScaler(fitting: channel, steps: split.train, method: .zscore).normalized(channel))
            }
        }
        windows = try ForecastWindows(inputs: ForecastProblem.stack(channels), targets: z,
                                      window: config.window, horizon: config.horizon)
        (self.data, self.scaler) = (data, scaler)
    }

    var featureCount: Int { windows.featureCount }

    /// The true values of the windows `starts` in original units, [horizon, N, B, 1].
    func truth(_ starts: [Int]) throws -> Tensor {
        let series = data.series
        return try ForecastWindows(inputs: series.reshaped(series.shape + [1]), targets: series,
                                   window: split.window, horizon: split.horizon).batch(starts).y
    }

    /// [T, N] with every node holding `values[t]`.
    private static func broadcast(_ values: [Float], nodes: Int) throws -> Tensor {
        try Tensor(shape: [values.count, nodes], values: values.flatMap { Array(repeating: $0, count: nodes) })
    }

    /// Channel `f` of [T, N, F] as [T, N].
    private static func channel(_ f: Int, of t: Tensor) throws -> Tensor {
        let F = t.shape[2], values = t.values
        return try Tensor(shape: [t.shape[0], t.shape[1]], values: stride(from: f, to: values.count, by: F).map { values[$0] })
    }

    /// [T, N] channels side by side as [T, N, C].
    private static func stack(_ channels: [Tensor]) -> Tensor {
        let (T, N, C) = (channels[0].shape[0], channels[0].shape[1], channels.count)
        let columns = channels.map(\.values)
        let out = Tensor(shape: [T, N, C])
        out.withUnsafeMutableBufferPointer { o in
            for i in 0..<(T * N) { for c in 0..<C { o[i * C + c] = columns[c][i] } }
        }
        return out
    }
}
