import ArgumentParser
import Foundation
import TalkTraceAudio
import TalkTracePipeline

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
        subcommands: [Analyze.self, Batch.self, ManifestCommand.self, JoinCommand.self, SchemaCommand.self])
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

/// Standard output and error through `FileWriter`: a write that fails (a full disk, `/dev/full`,
/// a closed pipe) is noticed, never a trap, and the command exits 1.
enum Console {
    static let out = FileWriter(fd: 1, name: "standard output")
    static let err = FileWriter(fd: 2, name: "standard error", capacity: 0)

    /// Flushes standard output; on failure says so on standard error (if it can) and exits 1.
    static func finish() throws {
        do { try out.flush() } catch {
            printError("talktrace: \(error)")
            throw ExitCode(1)
        }
        if err.failure != nil { throw ExitCode(1) }
    }
}

/// Writes one line to stderr: control characters in it (from a file name, say) are escaped, so
/// it stays one line and cannot act on the terminal.
func printError(_ line: String) {
    Console.err.write(OneLine.sanitize(line) + "\n")
    try? Console.err.flush()
}
