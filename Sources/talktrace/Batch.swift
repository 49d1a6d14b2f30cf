import ArgumentParser

extension TalkTrace {
    struct Batch: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Analyze a recordings directory and join the results onto CTRs.")
        func run() throws { throw ValidationError("not yet") }
    }
}
