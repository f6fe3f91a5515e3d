import Foundation
import GraphSeq

/// Trains one forecaster of a run: shuffled mini-batches of training
/// windows, MSE or MAE in model space, gradient clipping, Adam (or plain
/// SGD); after each epoch the validation MAE/RMSE in original units, early
/// stopping on the MAE with the best weights kept, and checkpoints in
/// `directory`: `model.safetensors` (best), `last.safetensors` (for
/// `--resume`), each with its JSON sidecar, and `optimizer.safetensors` (the
/// optimiser's moments and step count at the last epoch).
///
/// Reproducible: the weights come from the seed and epoch e's batch order
/// from SplitMix64(seed, e), so a resumed run draws the batches the
/// uninterrupted one would, and resumes bit for bit.
final class ForecastTrainer {
    let problem: ForecastProblem
    let configuration: RunConfiguration
    let directory: String
    /// Called after each batch: batches done in this call of `run`, the
    /// most it can do (the epochs left), and a status.
    var onProgress: (Int, Int, String) -> Void = { _, _, _ in }
    /// Called after each epoch with the state saved.
    var onEpoch: (TrainingState) throws -> Void = { _ in }

    init(_ problem: ForecastProblem, _ configuration: RunConfiguration, directory: String) {
        (self.problem, self.configuration, self.directory) = (problem, configuration, directory)
    }

    var bestCheckpoint: String { directory + "/model.safetensors" }
    var lastCheckpoint: String { directory + "/last.safetensors" }
    var optimizerCheckpoint: String { directory + "/optimizer.safetensors" }

    /// Trains (or, with `resume`, continues from `last.safetensors`) and
    /// returns the model with its best weights and the final state.
    func run(resume: Bool) throws -> (model: any Forecaster, state: TrainingState) {
        let c = configuration
        let model = try makeForecaster(c, inputSize: problem.featureCount)
        var state = TrainingState(configuration: c, scaler: problem.scaler)
        let optimizer: any Optimizer = c.optimizer == .adam
            ? try Adam(parameters: model.parameters, learningRate: c.learningRate)
            : try SGD(parameters: model.parameters, learningRate: c.learningRate)
        if resume, FileManager.default.fileExists(atPath: TrainingState.sidecarPath(of: lastCheckpoint)) {
            state = try TrainingState.load(checkpoint: lastCheckpoint)
            try Checkpoint.load(into: model, from: lastCheckpoint)
            try Checkpoint.load(into: optimizer, from: optimizerCheckpoint)
            state.configuration = c   // a resumed run may be given more epochs
            state.finished = state.epochsRun >= c.epochs || stoppedEarly(state)
        } else {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            state.untrainedValidationMAE = try evaluate(model, problem, .validation).meanAbsoluteError
        }
        let starts = problem.split.targetStarts(.train)
        let batches = (starts.count + c.batchSize - 1) / c.batchSize
        var status = state.history.last.map(describe) ?? ""
        let (resumedEpochs, plannedBatches) = (state.epochsRun, max(c.epochs - state.epochsRun, 0) * batches)
        while !state.finished {
            let epoch = state.epochsRun + 1
            let clock = ContinuousClock.now
            var lossSum = 0.0
            for (b, batch) in shuffled(starts, epoch: epoch).chunked(c.batchSize).enumerated() {
                let (x, y) = try problem.windows.batch(Array(batch))
                let prediction = try model.forward(x, graph: problem.data.graph)
                let (loss, gradient) = c.loss == .mse ? try Loss.meanSquaredError(prediction, y)
                                                      : try Loss.meanAbsoluteError(prediction, y)
                guard loss.isFinite else {
                    throw GraphSeqError.invalidArgument("\(c.model.rawValue): the training loss became \(loss) in epoch \(epoch); try a lower --lr")
                }
                try model.backward(gradient)
                try clipGradientNorm(model.parameters, maxNorm: c.clip)
                try optimizer.step()
                optimizer.zeroGradients()
                lossSum += Double(loss) * Double(batch.count)
                onProgress((epoch - 1 - resumedEpochs) * batches + b + 1, plannedBatches, "epoch \(epoch)  " + status)
            }
            let validation = try evaluate(model, problem, .validation)
            let record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(starts.count),
                                     validationMAE: validation.meanAbsoluteError,
                                     validationRMSE: validation.rootMeanSquaredError,
                                     seconds: (ContinuousClock.now - clock).seconds)
            state.history.append(record)
            status = describe(record)
            if record.validationMAE < state.bestValidationMAE ?? .infinity {
                (state.bestEpoch, state.bestValidationMAE) = (epoch, record.validationMAE)
            }
            state.finished = epoch >= c.epochs || stoppedEarly(state)
            if state.bestEpoch == epoch { try Checkpoint.save(model, to: bestCheckpoint) }
            try Checkpoint.save(optimizer, to: optimizerCheckpoint)
            try state.save(model, to: lastCheckpoint)
            if state.bestEpoch > 0 { try state.writeSidecar(of: bestCheckpoint) }
            try onEpoch(state)
        }
        if state.bestEpoch > 0 { try Checkpoint.load(into: model, from: bestCheckpoint) }
        return (model, state)
    }

    /// Patience epochs without a better validation MAE (patience 0: never).
    private func stoppedEarly(_ state: TrainingState) -> Bool {
        configuration.patience > 0 && state.epochsRun - state.bestEpoch >= configuration.patience
    }

    private func describe(_ r: EpochRecord) -> String {
        String(format: "loss %.4f  val MAE %.4f  RMSE %.4f", r.trainLoss, r.validationMAE, r.validationRMSE)
    }

    /// Epoch `epoch`'s order of the training windows: a Fisher-Yates shuffle
    /// driven by SplitMix64 seeded from the run's seed and the epoch.
    private func shuffled(_ starts: [Int], epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: configuration.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch))
        var order = starts
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return order
    }
}

extension Array {
    /// Consecutive pieces of at most `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
