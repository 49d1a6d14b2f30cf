import ArgumentParser
import Foundation
import TalkTraceAudio

extension TalkTrace {
    struct Analyze: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Analyze one call recording and print its conversation metrics.",
            discussion: """
                Prints a summary table (durations as m:ss) or, with --json, exactly one JSON analysis \
                object: Recording, Agent, Customer, Conversation (PascalCase keys; seconds and dBFS). \
                Exits 1 with a one-line error naming the file if it cannot be analyzed.
                """)

        @Argument(help: ArgumentHelp("The recording (stereo WAV or any format libsndfile reads).", valueName: "file"))
        var file: String

        @Flag(help: "Print one JSON analysis object instead of the summary table.")
        var json = false

        @OptionGroup var channels: ChannelOptions

        func run() throws {
            let analysis: CallAnalysis
            do {
                analysis = try CallAnalyzer.analyze(path: file, options: AnalysisOptions(channelMap: channels.channelMap))
            } catch {
                printError("talktrace: \(error)")
                throw ExitCode(1)
            }
            if json {
                let data = try CallAnalysis.encoder(pretty: true).encode(analysis)
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(SummaryTable.render(analysis), terminator: "")
            }
        }
    }
}
