import ArgumentParser
import Foundation
import GraphSeq

// What the sequence experiments (palindromes, charlm, vowels) share: the
// recurrent cells they compare, a classifier on the final hidden state, its
// training loop and evaluation, one-hot input, and the results output.

/// The recurrent cells the sequence experiments compare.
enum RecurrentKind: String, CaseIterable, ExpressibleByArgument {
    case rnn, lstm, gru

    /// The name in results tables.
    var title: String {
        switch self {
        case .rnn: "RNN (tanh)"
        case .lstm: "LSTM"
        case .gru: "GRU"
        }
    }

    /// A fresh layer of this cell, time-major, initialised from `seed`
    /// (PyTorch's initialisation). An LSTM's forget-gate biases then get
    /// `forgetBias` added (Gers et al. 2000; Jozefowicz et al. 2015 use 1),
    /// so that it starts out remembering; the other cells ignore it.
    func make(inputSize: Int, hiddenSize: Int, layers: Int = 1, forgetBias: Float = 0,
              seed: UInt64) throws -> any SequenceLayer {
        let options = RecurrentOptions(numLayers: layers)
        switch self {
        case .rnn: return try RNN(inputSize: inputSize, hiddenSize: hiddenSize, options: options, seed: seed)
        case .gru: return try GRU(inputSize: inputSize, hiddenSize: hiddenSize, options: options, seed: seed)
        case .lstm:
            let lstm = try LSTM(inputSize: inputSize, hiddenSize: hiddenSize, options: options, seed: seed)
            // Gate order i, f, g, o: the f rows of every layer's input bias.
            for (name, p) in lstm.namedParameters where name.hasPrefix("bias_ih") {
                for j in hiddenSize..<(2 * hiddenSize) { p.value[j] += forgetBias }
            }
            return lstm
        }
    }
}

/// Sequences to classify: x [T, batch, features]; `lengths` nil when all are T.
struct LabeledBatch {
    let x: Tensor
    let lengths: [Int]?
    let labels: [Int32]
}

/// A recurrent layer read out by a linear layer on the top layer's hidden
/// state at each sequence's last step (its length): logits [batch, classes].
final class SequenceClassifier: Layer {
    let recurrent: any SequenceLayer
    let readout: Linear
    /// The shapes of the last forward's output and final h, for backward.
    private var saved: (output: [Int], state: [Int])?

    init(_ kind: RecurrentKind, inputSize: Int, hiddenSize: Int, classes: Int, forgetBias: Float,
         seed: UInt64) throws {
        recurrent = try kind.make(inputSize: inputSize, hiddenSize: hiddenSize, forgetBias: forgetBias, seed: seed)
        readout = try Linear(inputSize: hiddenSize, outputSize: classes, seed: seed &+ 1)
    }

    var namedParameters: [(name: String, parameter: Parameter)] {
        recurrent.namedParameters.map { ("rnn.\($0.name)", $0.parameter) }
            + readout.namedParameters.map { ("readout.\($0.name)", $0.parameter) }
    }

    func forward(_ x: Tensor, lengths: [Int]?) throws -> Tensor {
        let (output, state) = try recurrent.forward(x, lengths: lengths, initialState: nil)
        saved = (output.shape, state.h.shape)
        return try readout.forward(state.h.slice(state.h.shape[0] - 1))
    }

    /// Backpropagates dLoss/dlogits through the readout into the final state.
    func backward(_ logitsGradient: Tensor) throws {
        guard let saved else { throw GraphSeqError.invalidArgument("SequenceClassifier.backward: called before forward") }
        let finalHidden = Tensor(shape: saved.state)
        finalHidden.slice(saved.state[0] - 1).add(try readout.backward(logitsGradient))
        try recurrent.backwardParameters(Tensor(shape: saved.output), stateGradient: RecurrentState(h: finalHidden))
    }
}

/// Trains `model` for `steps` minibatches, `batch(step)` giving each, with
/// Adam and gradient-norm clipping; progress on stderr shows the mean loss
/// and accuracy of the last 50 batches, which it returns.
@discardableResult
func train(_ model: SequenceClassifier, label: String, steps: Int, learningRate: Float, maxNorm: Float,
           batch: (Int) throws -> LabeledBatch) throws -> (loss: Double, accuracy: Double) {
    let optimizer = try Adam(parameters: model.parameters, learningRate: learningRate)
    let progress = ProgressBar(label, total: steps)
    var recent: [(loss: Double, accuracy: Double)] = []
    for step in 0..<steps {
        let b = try batch(step)
        optimizer.zeroGradients()
        let logits = try model.forward(b.x, lengths: b.lengths)
        let (loss, gradient) = try Loss.softmaxCrossEntropy(logits: logits, labels: b.labels)
        try model.backward(gradient)
        try clipGradientNorm(model.parameters, maxNorm: maxNorm)
        try optimizer.step()
        recent.append((Double(loss), accuracy(logits, b.labels)))
        if recent.count > 50 { recent.removeFirst() }
        let mean = meanOf(recent)
        progress.update(step + 1, status: String(format: "loss %.4f  acc %.3f", mean.loss, mean.accuracy))
    }
    return meanOf(recent)
}

/// Cross entropy and accuracy over `batches`, weighted by their sizes.
func evaluate(_ model: SequenceClassifier, _ batches: [LabeledBatch]) throws -> (loss: Double, accuracy: Double) {
    var loss = 0.0, correct = 0.0, count = 0
    for b in batches {
        let logits = try model.forward(b.x, lengths: b.lengths)
        loss += Double(try Loss.softmaxCrossEntropy(logits: logits, labels: b.labels).value) * Double(b.labels.count)
        correct += accuracy(logits, b.labels) * Double(b.labels.count)
        count += b.labels.count
    }
    return (loss / Double(count), correct / Double(count))
}

private func meanOf(_ values: [(loss: Double, accuracy: Double)]) -> (loss: Double, accuracy: Double) {
    let n = Double(values.count)
    return (values.reduce(0) { $0 + $1.loss } / n, values.reduce(0) { $0 + $1.accuracy } / n)
}

/// One-hot time-major input [T, batch, classes] of equally long sequences of class indices.
func oneHot(_ sequences: [[Int]], classes: Int) -> Tensor {
    let (steps, batch) = (sequences[0].count, sequences.count)
    let x = Tensor(shape: [steps, batch, classes])
    x.withUnsafeMutableBufferPointer { p in
        for (b, sequence) in sequences.enumerated() {
            for (t, c) in sequence.enumerated() { p[(t * batch + b) * classes + c] = 1 }
        }
    }
    return x
}
