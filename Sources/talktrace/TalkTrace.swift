import ArgumentParser
import Foundation
import TalkTraceAudio

@main
struct TalkTrace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "talktrace",
        abstract: "Conversation metrics from Amazon Connect call recordings, joined onto their contact records.",
        discussion: """
            Recordings are stereo WAV files (Amazon Connect: 8 kHz pcm_s16le; any format libsndfile reads \
            works). The customer is on the left channel and the agent on the right unless --agent-channel \
            says otherwise. All times are seconds from the start of the recording; levels are dBFS \
            (a full-scale sine is 0 dBFS).
            """,
        version: CallAnalysis.version,
        subcommands: [Analyze.self, Batch.self])
}

/// Options shared by `analyze` and `batch`.
struct ChannelOptions: ParsableArguments {
    @Option(
        name: .customLong("agent-channel"),
        help: ArgumentHelp(
            "Channel carrying the agent; the customer is on the other. Amazon Connect records the agent on the right.",
            valueName: "left|right"))
    var agentChannel: AgentChannel = .right

    enum AgentChannel: String, ExpressibleByArgument, CaseIterable {
        case left, right
    }

    var channelMap: ChannelMap { agentChannel == .left ? .agentLeft : .connect }
}

/// Writes one line to stderr.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
