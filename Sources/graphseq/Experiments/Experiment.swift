import ArgumentParser
import GraphSeq

/// `graphseq experiment <name>`: the seed experiments on the bundled real data
/// (docs/experiments.md lists the commands and the measured results).
struct Experiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce the seed experiments on the bundled data.",
        subcommands: [Palindromes.self, CharLM.self, Vowels.self, Polblogs.self, Mutag.self, MovingMNIST.self]
    )

    /// Options every experiment takes.
    struct Options: ParsableArguments {
        @Option(help: "Seed of initialisation, data order and sampling.")
        var seed: UInt64 = 1

        @Option(help: "Threads per kernel call (default: GRAPHSEQ_NUM_THREADS or all CPUs).")
        var threads: Int?

        @Flag(help: "A short run (fewer epochs and samples): a smoke test, not the documented result.")
        var quick = false

        @Flag(help: "End with one JSON object of the results on the last line of stdout.")
        var json = false

        /// Applies the runtime options.
        func apply() throws { try applyRuntimeOptions(threads: threads, maxISA: nil) }
    }
}
