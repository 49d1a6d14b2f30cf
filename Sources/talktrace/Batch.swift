import ArgumentParser
import Foundation
import TalkTraceAudio
import TalkTracePipeline
import TalkTraceRecords
import TalkTraceStorage

extension TalkTrace {
    struct Batch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Analyze a recordings directory and join the results onto contact records (CTRs).",
            discussion: """
                Walks RECORDINGS_DIR recursively for .wav files (any case), reads every CTR under the --ctr \
                paths (one JSON object, a JSON array, JSON Lines or Firehose concatenated records; gzip \
                detected by content), keeps the latest copy of each ContactId, matches recordings by the \
                CTR's recording location, then by the contact ID in the file name, analyzes every recording \
                and writes into OUT_DIR: recordings.jsonl, contacts.jsonl, recordings.csv, talktrace.sqlite \
                and summary.json (each written atomically). A recording or CTR record that cannot be read is \
                reported with its file and position and the batch goes on. One batch at a time per OUT_DIR (a \
                second is refused). Exits 0 when the batch ran, even if some recordings failed (see \
                summary.json); 1 when it could not run or an output could not be written. RECORDINGS_DIR and \
                --ctr may be s3://bucket/prefix (credentials, region and endpoint as the AWS CLI finds them; \
                outputs stay local; a recording's Path is its key after the prefix's last slash).
                """)

        @Argument(help: ArgumentHelp(
            "Directory of recordings, walked recursively, or s3://bucket/prefix. With --manifest: the folder the manifest's paths are relative to (default: its Root line).",
            valueName: "recordings-dir"))
        var recordingsDirectory: String?

        @Option(name: .customLong("manifest"), help: ArgumentHelp(
            "Analyze the recordings of this manifest (talktrace manifest) instead of walking a folder; needs --shard.", valueName: "manifest.jsonl"))
        var manifest: String?

        @Option(name: .customLong("shard"), help: ArgumentHelp(
            "With --manifest: analyze share INDEX (from 0) of COUNT, balanced by bytes, into OUT_DIR/shards/INDEX-of-COUNT/; then run talktrace join. COUNT alone takes INDEX from AWS_BATCH_JOB_ARRAY_INDEX, JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN).",
            valueName: "index/count"))
        var shard: String?

        @Option(name: .customLong("read-ahead"), help: ArgumentHelp(
            "Files read ahead of the workers into memory, for storage slow to the first byte (network file systems, object stores mounted with FUSE). Independent of --jobs. Default 0: none.",
            valueName: "n"))
        var readAhead: Int = 0

        @Option(name: .customLong("s3-reads"), help: ArgumentHelp(
            "S3 objects read at once ahead of the analysis, for recordings under s3:// (each holds at most 4 MiB in memory).", valueName: "n"))
        var s3Reads: Int = S3ReadAhead.defaultDepth

        @Option(name: .customLong("ctr"), help: ArgumentHelp(
            "A CTR file or a directory of them (walked recursively). Repeat for more. Optional: without CTRs every recording is unmatched.",
            valueName: "path"))
        var ctr: [String] = []

        @Option(name: .customLong("out"), help: ArgumentHelp("Output directory (created if missing).", valueName: "out-dir"))
        var out: String

        @Option(name: .customLong("jobs"), help: ArgumentHelp(
            "Recordings analyzed in parallel (default: all \(ProcessInfo.processInfo.activeProcessorCount) cores).", valueName: "n"))
        var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

        @Flag(help: "Skip recordings already analyzed into OUT_DIR by an earlier (possibly interrupted or killed) run: same relative path, same file (device, inode, size, modification time; links followed) and same analysis settings (S3: same key, size and ETag). A recording that crashed an earlier run is recorded as failed instead of analyzed again.")
        var resume = false

        @Flag(help: "Also write OUT_DIR/report.html: one self-contained page with the summary, distributions, every recording and a timeline per call.")
        var report = false

        @Flag(name: .customLong("quiet"), help: "No progress output on stderr.")
        var quiet = false

        @OptionGroup var channels: ChannelOptions

        func validate() throws {
            if jobs < 1 { throw ValidationError("--jobs must be at least 1 (got \(jobs))") }
            if readAhead < 0 { throw ValidationError("--read-ahead must be 0 or more (got \(readAhead))") }
            if s3Reads < 1 || s3Reads > 1024 { throw ValidationError("--s3-reads must be 1 to 1024 (got \(s3Reads))") }
            if manifest != nil || shard != nil {
                if manifest == nil { throw ValidationError("--shard needs --manifest (make one with talktrace manifest RECORDINGS_DIR --out manifest.jsonl)") }
                if shard == nil { throw ValidationError("--manifest needs --shard INDEX/COUNT (0/1 for all of it), then talktrace join") }
                if !ctr.isEmpty { throw ValidationError("a shard reads no CTRs: give --ctr to talktrace join") }
                if report { throw ValidationError("a shard writes no report: give --report to talktrace join") }
            } else if recordingsDirectory == nil {
                throw ValidationError("Missing expected argument '<recordings-dir>' (or --manifest with --shard)")
            }
        }

        func run() throws {
            if let manifest, let shard { return try runShard(manifest: manifest, shard: shard) }
            var options = BatchOptions(recordingsDirectory: recordingsDirectory!, ctrPaths: ctr, outputDirectory: out)
            options.jobs = jobs
            options.readAhead = readAhead
            options.s3Reads = s3Reads
            options.resume = resume
            options.analysis = AnalysisOptions(channelMap: channels.channelMap)
            let reporter = ProgressReporter(enabled: !quiet)
            let result: BatchResult
            do {
                result = try BatchRunner.run(options) { reporter.update($0) }
            } catch {
                reporter.finish()
                printError("talktrace: \(error)")
                throw ExitCode(1)
            }
            reporter.finish()
            try Self.finish(result, out: out, report: report)
        }

        func runShard(manifest: String, shard: String) throws {
            let spec: ShardSpec
            do { spec = try ShardSpec.parse(shard, environment: ProcessInfo.processInfo.environment) } catch {
                printError("talktrace: \(error)")
                throw ExitCode(1)
            }
            var options = Shard.Options(manifestPath: manifest, recordingsRoot: recordingsDirectory, shard: spec, outputDirectory: out)
            options.jobs = jobs
            options.readAhead = readAhead
            options.analysis = AnalysisOptions(channelMap: channels.channelMap)
            let reporter = ProgressReporter(enabled: !quiet)
            let outcome: Shard.Outcome
            do {
                outcome = try Shard.run(options) { reporter.update($0) }
            } catch {
                reporter.finish()
                printError("talktrace: \(error)")
                throw ExitCode(1)
            }
            reporter.finish()
            for e in outcome.errors { printError("talktrace: \(e)") }
            let m = outcome.marker
            Console.out.write("Shard \(m.index)/\(m.count)    \(m.recordings) recordings: \(m.recordings - m.failed) analyzed, \(m.failed) failed"
                + (outcome.reused > 0 ? " (\(outcome.reused) reused from an earlier run)" : "")
                + String(format: ", %.2f h audio in %.2f s\n", m.audioSeconds / 3600, m.wallSeconds)
                + "Outputs     \(outcome.folder)/{\(Shard.analysesName), \(Shard.markerName)}\n")
            try Console.finish()
        }

        /// Problems, outputs and the summary of a one-machine batch or a join.
        static func finish(_ result: BatchResult, out: String, report: Bool) throws {
            for p in result.contacts.problems { printError("talktrace: CTR \(p.description)") }
            if result.contacts.problemCount > result.contacts.problems.count {
                printError("talktrace: CTR problems: \(result.contacts.problemCount) in all, the first \(ContactStore.problemsListedPerFile) of each file listed (summary.json, talktrace.sqlite)")
            }
            for r in result.recordings where r.error != nil { printError("talktrace: \(r.error!)") }
            let summary: BatchSummary
            do {
                let writing = Date()
                summary = try OutputFiles.writeAll(result, to: out)
                Timing.report("outputs written", since: writing, count: result.contacts.count, unit: "contacts")
                if report { try OutputFiles.write(Data(BatchReport.html(try result.decodingStoredAnalyses(), summary: summary).utf8), to: out, name: "report.html") }
            } catch {
                printError("talktrace: \(error)")
                throw ExitCode(1)
            }
            for p in summary.databaseProblems { printError("talktrace: \(p.description)") }
            Console.out.write(Self.render(summary, out: out, report: report))
            try Console.finish()
        }

        static func render(_ s: BatchSummary, out: String, report: Bool = false) -> String {
            var t = ""
            func line(_ label: String, _ value: String) { t += label.padding(toLength: 26, withPad: " ", startingAt: 0) + value + "\n" }
            line("Recordings", "\(s.recordingsFound) found: \(s.recordingsAnalyzed) analyzed, \(s.recordingsFailed) failed"
                + (s.recordingsReused > 0 ? " (\(s.recordingsReused) reused from the last run)" : ""))
            line("Join", "\(s.matchedByLocation) by location, \(s.matchedByContactId) by contact ID, \(s.recordingsUnmatched) unmatched")
            line("CTRs", "\(s.ctrRecordsRead) records in \(s.ctrFiles) files -> \(s.contacts) contacts (\(s.ctrDuplicatesMerged) duplicates merged), \(s.ctrRecordsSkipped) records skipped")
            line("Contacts", "\(s.contactsWithRecording) with a recording, \(s.contactsWithoutRecording) without")
            if !s.crossCheckMismatches.isEmpty { line("Duration cross-check", "\(s.crossCheckMismatches.count) recordings disagree with their CTR") }
            // After --resume the speed is of what this run analyzed; with nothing analyzed there is
            // none (it would read "0 x real time").
            let allReused = s.recordingsReused > 0 && s.recordingsReused == s.recordingsFound
            let speed = allReused ? "" : String(format: "%.0f x real time", s.speedTimesRealTime)
                + (s.recordingsReused > 0 ? " on the audio analyzed in this run, " : ", ")
            line("Audio", String(format: "%.2f h", s.audioHours) + (allReused ? ", all reused from the last run," : "")
                 + String(format: " in %.2f s wall (", s.wallSeconds) + speed + (s.jobs == 1 ? "1 job)" : "\(s.jobs) jobs)"))
            line("Outputs", "\(out)/{recordings.jsonl, contacts.jsonl, recordings.csv, talktrace.sqlite, summary.json\(report ? ", report.html" : "")}")
            return t
        }
    }
}

/// A progress bar on a terminal, plain lines every 10 s otherwise.
final class ProgressReporter: @unchecked Sendable {
    private let enabled: Bool
    private let tty = isatty(2) == 1
    private let lock = NSLock()
    private var lastLine = Date.distantPast
    private var drewBar = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ p: BatchProgress) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let rate = p.elapsed > 0 ? p.audioSeconds / p.elapsed : 0
        let fraction = p.bytesTotal > 0 ? Double(p.bytesDone) / Double(p.bytesTotal) : 1
        let eta = fraction > 0 && fraction < 1 ? p.elapsed / fraction * (1 - fraction) : 0
        let text = String(format: "%d/%d recordings, %.2f h audio, %.0f x real time, ETA %@%@",
                          p.done, p.total, p.audioSeconds / 3600, rate, SummaryTable.clock(eta),
                          p.failed > 0 ? ", \(p.failed) failed" : "")
        if tty {
            let width = 28
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
            Console.err.write("\r[\(bar)] \(text)\u{1B}[K")
            drewBar = true
        } else if Date().timeIntervalSince(lastLine) >= 10 || p.done == p.total {
            lastLine = Date()
            Console.err.write("talktrace: \(text)\n")
        }
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if drewBar { Console.err.write("\n"); drewBar = false }
    }
}
