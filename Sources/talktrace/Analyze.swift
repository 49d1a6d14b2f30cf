import ArgumentParser
import Foundation
import TalkTraceAudio
import TalkTracePipeline
import TalkTraceStorage

extension TalkTrace {
    struct Analyze: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Analyze one call recording and print its conversation metrics.",
            discussion: """
                Prints a summary table (durations as m:ss) or, with --json, exactly one JSON analysis \
                object: Recording, Agent, Customer, Conversation (PascalCase keys; seconds and dBFS). \
                Exits 1 with a one-line error naming the file if it cannot be analyzed.
                """)

        @Argument(help: ArgumentHelp(
            "The recording (stereo WAV or any format libsndfile reads), or s3://bucket/key (read as it is analyzed, nothing written to disk); - reads it from standard input. With --jsonl and no file: paths are read from standard input, one a line.",
            valueName: "file"))
        var file: String?

        @Flag(help: "Print one JSON analysis object instead of the summary table.")
        var json = false

        @Flag(help: ArgumentHelp(
            "One compact JSON line per recording: {\"Path\",\"SizeBytes\",\"Analysis\",\"Error\"} (the one that does not apply is null). Without a file, reads recording paths from standard input, one a line, and writes one line for each, an error included (Spark RDD.pipe, Ray Data, Dask). Exit 0 unless standard output fails."))
        var jsonl = false

        @Option(help: ArgumentHelp(
            "The recording's name in the output (Recording.Path; the contact ID is looked for in it) when it is read from standard input (-).",
            valueName: "name"))
        var name: String?

        @Option(help: ArgumentHelp(
            "Also draw the call's timeline (talk lanes, loudness, overlap, non-talk, interruptions, music on hold) to this file: .svg, or .png when rsvg-convert (librsvg2-bin) is installed.",
            valueName: "file"))
        var plot: String?

        @OptionGroup var channels: ChannelOptions

        func validate() throws {
            if file == nil && !jsonl { throw ValidationError("Missing expected argument '<file>' (or --jsonl to read paths from standard input)") }
            if name != nil && file != "-" { throw ValidationError("--name names a recording read from standard input: give - as the file") }
            if jsonl && (json || plot != nil) { throw ValidationError("--jsonl writes JSON lines: leave out --json and --plot") }
            if let plot, !(plot.lowercased().hasSuffix(".svg") || plot.lowercased().hasSuffix(".png")) {
                throw ValidationError("--plot needs a file name ending in .svg or .png (got \(plot))")
            }
        }

        var analysisOptions: AnalysisOptions {
            AnalysisOptions(channelMap: channels.channelMap, threads: min(2, ProcessInfo.processInfo.activeProcessorCount))
        }

        func run() throws {
            if jsonl {
                if let file {
                    let line = file == "-" ? AnalysisLines.standardInput(name: name ?? "-", options: analysisOptions)
                        : AnalysisLines.line(path: file, options: analysisOptions)
                    Console.out.write(line.json)
                    try Console.finish()
                    if line.failed { throw ExitCode(1) }
                    return
                }
                while let path = readLine(strippingNewline: true) {
                    Console.out.write(AnalysisLines.line(path: path, options: analysisOptions).json)
                    try Console.finish()
                }
                return
            }
            let analysis: CallAnalysis
            do {
                if file == "-" {
                    analysis = try AnalysisLines.analyzeStandardInput(name: name ?? "-", options: analysisOptions).0
                } else if S3Location.isS3(file!) {
                    // Read as it is analyzed: ranged GETs into memory, nothing on disk.
                    analysis = try CallAnalyzer.analyze(source: S3ObjectSource(url: file!), options: analysisOptions)
                } else {
                    analysis = try CallAnalyzer.analyze(path: file!, options: analysisOptions)
                }
            } catch {
                printError("talktrace: \(error)")
                throw ExitCode(1)
            }
            if let plot { try Self.writePlot(analysis, to: plot) }
            if json {
                // Written a top-level member at a time: a 10-hour call's JSON is never held twice.
                try CallAnalysis.encoder(pretty: true).encode(analysis) { Console.out.write($0) }
                Console.out.write([0x0a])
            } else {
                Console.out.write(SummaryTable.render(analysis))
            }
            try Console.finish()
        }

        static func writePlot(_ analysis: CallAnalysis, to path: String) throws {
            let svg = TimelineSVG.svg(analysis)
            if path.lowercased().hasSuffix(".png") {
                do {
                    if try TimelineSVG.writePNG(svg: svg, to: path) { return }
                } catch {
                    printError("talktrace: \(error)")
                    throw ExitCode(1)
                }
                let fallback = String(path.dropLast(4)) + ".svg"
                printError("talktrace: no PNG rasterizer (install librsvg2-bin for rsvg-convert); wrote \(fallback) instead")
                try Data(svg.utf8).write(to: URL(fileURLWithPath: fallback))
                return
            }
            do { try Data(svg.utf8).write(to: URL(fileURLWithPath: path)) } catch {
                printError("talktrace: \(path): cannot write the plot (\(error.localizedDescription))")
                throw ExitCode(1)
            }
        }
    }
}
