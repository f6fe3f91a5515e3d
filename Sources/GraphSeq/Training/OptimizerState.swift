/// Saving and restoring an optimiser's state, so that a resumed run continues
/// exactly. Names follow torch.optim's state dict: `"<i>.<slot>"` for
/// parameter i's buffer (Adam/AdamW `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`;
/// SGD `momentum_buffer`; RMSProp `square_avg`, `grad_avg`, `momentum_buffer`)
/// and `"step"`, the number of steps taken, as a one-element tensor.
///
/// ```swift
/// try Checkpoint.save(adam, to: "adam.safetensors")
/// try Checkpoint.load(into: adam, from: "adam.safetensors")   // same parameters and options
/// ```
extension Optimizer {
    /// The state under its torch.optim names (the live tensors, not copies).
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        var entries = [(name: "step", tensor: try! Tensor(shape: [1], values: [Float(stepCount)]))]
        for (slot, tensors) in stateSlots {
            for (i, t) in tensors.enumerated() { if let t { entries.append(("\(i).\(slot)", t)) } }
        }
        return entries
    }

    /// Restores the state dict of an optimiser of the same kind and options
    /// over parameters of the same shapes. Validates every name and shape
    /// first: on error, nothing changes.
    public func loadStateDict(_ tensors: [String: Tensor]) throws(GraphSeqError) {
        let owner = String(describing: Self.self)
        let expected = stateDict()
        try require(tensors["step"].map { $0.count == 1 && $0[0] >= 0 && $0[0] == $0[0].rounded() } ?? true,
                    "\(owner).loadStateDict: step is not a non-negative integer")
        try load(tensors, into: expected, owner: owner)
        stepCount = Int(expected[0].tensor[0])
    }
}
