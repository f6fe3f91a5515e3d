import ArgumentParser
import GraphSeq

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print one JSON object per line.",
        subcommands: []
    )
}
