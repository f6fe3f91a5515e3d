import GraphSeq

/// Everything that defines a forecasting run: the data, the problem, the
/// model and its training. Saved in every checkpoint's JSON sidecar, so
/// `evaluate`, `predict` and `--resume` rebuild the same run from it.
struct RunConfiguration: Codable, Equatable {
    enum ModelKind: String, Codable, CaseIterable {
        case gconvgru, gconvlstm, lstm
        /// The GCRN cell, nil for the per-node LSTM.
        var cell: GCRNCell? { self == .gconvgru ? .gru : self == .gconvlstm ? .lstm : nil }
    }
    enum LossKind: String, Codable, CaseIterable { case mse, mae }
    enum OptimizerKind: String, Codable, CaseIterable { case adam, sgd }

    // Data: nil paths mean the bundled flu-bybw files.
    var series: String?
    var graph: String?
    /// A `GraphFile.Format` name; nil infers it from the file.
    var graphFormat: String?
    var features: String?
    var symmetrize: Bool

    // The forecasting problem.
    var window: Int
    var horizon: Int
    var testFraction: Double
    var validationFraction: Double
    var normalization: SeriesScaler.Method
    /// Season length in steps (52 for weekly data): the historical-average
    /// baseline's phases and the seasonal input channels.
    var period: Int
    var seasonalInputs: Bool

    // The model.
    var model: ModelKind
    var hidden: Int
    var layers: Int
    /// Chebyshev order K of the GCRN cells.
    var order: Int

    // Training.
    var loss: LossKind
    var optimizer: OptimizerKind
    var learningRate: Float
    var clip: Float
    var batchSize: Int
    var epochs: Int
    var patience: Int
    var seed: UInt64
    /// Also train the per-node LSTM with the same settings, for comparison.
    var compareLSTM: Bool

    /// The same run with the per-node LSTM in place of the model (the comparison).
    var asLSTM: RunConfiguration {
        var c = self
        (c.model, c.compareLSTM) = (.lstm, false)
        return c
    }
}
