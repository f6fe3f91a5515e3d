import Foundation
import GraphSeq

/// One finished epoch.
struct EpochRecord: Codable, Equatable {
    var epoch: Int
    /// Mean training loss over the epoch's windows, in model space.
    var trainLoss: Double
    /// Validation errors in original units.
    var validationMAE: Double
    var validationRMSE: Double
    /// Wall time of the epoch (training and validation).
    var seconds: Double
}

/// The JSON sidecar of a checkpoint `X.safetensors`, stored as `X.json`:
/// the run's configuration and normalisation, and where training stands.
/// `model.safetensors` holds the weights of `bestEpoch`, `last.safetensors`
/// those of the last finished epoch; both sidecars hold the same record.
struct TrainingState: Codable, Equatable {
    var configuration: RunConfiguration
    var scaler: SeriesScaler
    /// Validation MAE of the initial weights (what training has to beat).
    var untrainedValidationMAE: Double?
    var history: [EpochRecord] = []
    /// 0 and nil before any epoch.
    var bestEpoch = 0
    var bestValidationMAE: Double?
    /// Early stopping fired or every epoch ran.
    var finished = false

    var epochsRun: Int { history.count }
    var trainingSeconds: Double { history.reduce(0) { $0 + $1.seconds } }

    /// The sidecar path of a checkpoint path.
    static func sidecarPath(of checkpoint: String) -> String {
        (checkpoint.hasSuffix(".safetensors") ? String(checkpoint.dropLast(".safetensors".count)) : checkpoint) + ".json"
    }

    /// Reads the sidecar of `checkpoint`, with an error naming the file.
    static func load(checkpoint: String) throws -> TrainingState {
        let path = sidecarPath(of: checkpoint)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GraphSeqError.invalidArgument("\(path): cannot read the checkpoint's sidecar (the run configuration)")
        }
        do {
            return try JSONDecoder().decode(TrainingState.self, from: data)
        } catch {
            throw GraphSeqError.invalidArgument("\(path): not a graphseq training sidecar: \(error)")
        }
    }

    /// Writes `weights` to `checkpoint` and this state to its sidecar, both atomically.
    func save(_ weights: any Layer, to checkpoint: String) throws {
        try Checkpoint.save(weights, to: checkpoint)
        try writeSidecar(of: checkpoint)
    }

    /// Writes this state to the sidecar of `checkpoint`, atomically.
    func writeSidecar(of checkpoint: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: TrainingState.sidecarPath(of: checkpoint)),
                                       options: .atomic)
    }
}
