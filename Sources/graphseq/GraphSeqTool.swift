import ArgumentParser
import GraphSeq

@main
struct GraphSeqTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphseq",
        abstract: "GraphSeq: graph-structured sequence models on the CPU.",
        version: Runtime.version,
        subcommands: [Train.self, Evaluate.self, Predict.self, Info.self, Bench.self, Experiment.self, GraphCommand.self]
    )
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print version, ISA and threads.")
    func run() throws {
        print("graphseq \(Runtime.version)")
        print("isa: \(Runtime.isa) (cpu supports \(Runtime.cpuISA))")
        print("threads: \(Runtime.threadCount)")
    }
}
