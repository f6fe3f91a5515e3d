/// Saves and loads a layer's state dict as a safetensors file, under the
/// PyTorch peer's names and shapes (see each layer's doc), so a checkpoint
/// saved here loads with `safetensors.torch.load_file` into the peer's
/// `load_state_dict`, and the reverse (F64, F16 and BF16 files are converted
/// to float32 on load).
///
/// ```swift
/// try Checkpoint.save(model, to: "model.safetensors", metadata: ["epoch": "12"])
/// try Checkpoint.load(into: model, from: "model.safetensors")
/// ```
public enum Checkpoint {
    /// Writes `layer.stateDict()` atomically: a crash mid-save leaves the
    /// previous file (if any) intact, never a truncated one.
    public static func save(_ layer: Layer, to path: String, metadata: [String: String] = [:]) throws(GraphSeqError) {
        try SafeTensors.write(layer.stateDict(), metadata: metadata, to: path)
    }

    /// Reads `path` and loads it with `layer.loadStateDict`, which checks the
    /// names and shapes: on any error the layer is unchanged.
    public static func load(into layer: Layer, from path: String) throws(GraphSeqError) {
        try layer.loadStateDict(try SafeTensors.read(from: path).tensors)
    }

    /// Writes `optimizer.stateDict()` (moments, buffers, step count) atomically,
    /// so that a resumed run continues exactly.
    public static func save(_ optimizer: Optimizer, to path: String, metadata: [String: String] = [:]) throws(GraphSeqError) {
        try SafeTensors.write(optimizer.stateDict(), metadata: metadata, to: path)
    }

    /// Reads `path` into an optimiser of the same kind and options over the
    /// same parameter shapes; on any error the optimiser is unchanged.
    public static func load(into optimizer: Optimizer, from path: String) throws(GraphSeqError) {
        try optimizer.loadStateDict(try SafeTensors.read(from: path).tensors)
    }
}
