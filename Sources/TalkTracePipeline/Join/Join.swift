import Foundation
import TalkTraceAudio
import TalkTraceRecords

/// Stage 3 of a batch, the cheap part: every analysis (or error) onto the CTRs. The same code for
/// a one-machine `batch` (analyses straight from its workers) and for `talktrace join` (analyses
/// read from the shards' folders), so both write the same bytes.
public enum Join {
    /// What became of one recording before the join.
    enum Outcome {
        /// Analyzed by this process; `json` is the worker's encoding with this match, when made.
        indirect case analyzed(CallAnalysis, json: Data?)
        /// Analyzed by a shard: where its JSON is.
        case stored(StoredAnalysis)
        case failed(String)
        case missing

        init(_ entry: (AnalysisCache.Entry?, Data?)) {
            switch entry.0 {
            case .analysis(let a)?: self = .analyzed(a, json: entry.1)
            case .error(let e)?: self = .failed(e)
            case nil: self = .missing
            }
        }
    }

    /// Results in recording order, with the contact each belongs to and the cross-check.
    static func assemble(recordings: [RecordingFile], entries: [Outcome], reused: [Bool],
                         contacts: ContactStore, matcher: RecordingMatcher) -> (results: [RecordingResult], byContact: [String: [Int]]) {
        var out: [RecordingResult] = []
        out.reserveCapacity(recordings.count)
        var byContact: [String: [Int]] = [:]
        let encoder = CallAnalysis.encoder()
        for (i, file) in recordings.enumerated() {
            let match = matcher.matches[i]
            var r = RecordingResult(file: file, match: match)
            var duration: Double?
            switch entries[i] {
            case .analyzed(var a, let json):
                a.recording.path = file.relativePath
                a.recording.location = match?.location
                a.recording.contactId = match?.contactId
                r.analysis = a
                // The worker's encoding, unless the analysis came from the resume cache, whose
                // location and contact may predate these CTRs.
                r.analysisJSON = json ?? (try? encoder.encode(a))
                duration = a.recording.durationSeconds
            case .stored(let s):
                // Spliced with this match when the outputs are written (`BatchResult.analysisJSON`).
                r.stored = s
                duration = s.durationSeconds
            case .failed(let e):
                r.error = e
            case .missing:
                r.error = "\(file.relativePath): not analyzed (internal error)"
            }
            if let duration, let match, let contact = contacts.contact(id: match.contactId) {
                r.crossCheck = CrossCheck(recordingSeconds: duration, contact: contact)
            }
            r.reused = reused[i]
            if let match { byContact[match.contactId, default: []].append(i) }
            out.append(r)
        }
        return (out, byContact)
    }

    /// Reads the CTRs (into a spool in `spoolDirectory`) as a pipeline error.
    static func readContacts(_ paths: [String], spoolDirectory: String) throws(PipelineError) -> ContactStore {
        let started = Date(), cpu = Timing.threadCPU()
        let store: ContactStore
        do throws(RecordsError) { store = try ContactStore(paths: paths, spoolDirectory: spoolDirectory) } catch {
            throw PipelineError("CTRs: \(error.message)")
        }
        Timing.report("CTRs read", since: started, count: store.recordsRead + store.recordsSkipped, unit: "records", cpuSince: cpu)
        return store
    }

    /// `talktrace join`: checks that every shard of the manifest in `shardsRoot` is complete,
    /// reads their analyses, joins them onto the CTRs. The outputs written from the result are
    /// byte for byte those of a one-machine `batch` over the same recordings and CTRs (but for
    /// the wall time, speed and job count in summary.json).
    public static func run(shardsRoot: String, ctrPaths: [String], outputDirectory: String) throws(PipelineError) -> BatchResult {
        let started = Date()
        let outputs = try OutputDirectory.claim(outputDirectory)
        nonisolated(unsafe) var store: ContactStore?
        let reading = Background { () throws(PipelineError) in
            store = try readContacts(ctrPaths, spoolDirectory: outputDirectory)
        }
        var loadError: PipelineError?
        var loaded: ShardSet.Loaded?
        let loading = Date(), loadingCPU = Timing.threadCPU()
        do { loaded = try ShardSet.load(shardsRoot) } catch { loadError = error }
        Timing.report("shard analyses read", since: loading, count: loaded?.recordings.count, unit: "recordings", cpuSince: loadingCPU)
        try reading.wait()
        if let loadError { throw loadError }
        let shards = loaded!
        let contacts = store!
        let recordings = shards.recordings
        let joining = Date(), joiningCPU = Timing.threadCPU()
        let matcher = RecordingMatcher(recordings: recordings, contacts: contacts.keys)
        defer { Timing.report("matched and assembled", since: joining, count: recordings.count, unit: "recordings", cpuSince: joiningCPU) }
        let (results, byContact) = assemble(recordings: recordings, entries: shards.entries,
                                            reused: [Bool](repeating: false, count: recordings.count),
                                            contacts: contacts, matcher: matcher)
        return BatchResult(recordings: results, contacts: contacts, analysesByContact: byContact,
                           wallSeconds: Date().timeIntervalSince(started), jobs: shards.count,
                           analyzedSeconds: 0, outputDirectory: outputs, shardAnalyses: shards.analyses)
    }
}

/// Phase timings on standard error when `TALKTRACE_TIMINGS` is set (the README's measurements).
public enum Timing {
    static let enabled = ProcessInfo.processInfo.environment["TALKTRACE_TIMINGS"].map { !$0.isEmpty } ?? false

    /// CPU seconds (user + system) of the calling thread: what a phase costs on a machine where
    /// others' work makes wall time noisy.
    public static func threadCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    public static func report(_ what: String, since: Date, count: Int? = nil, unit: String = "", cpuSince: Double? = nil) {
        guard enabled else { return }
        let seconds = Date().timeIntervalSince(since)
        var line = String(format: "talktrace: timing: %@ in %.3f s", what, seconds)
        if let count, seconds > 0 { line += String(format: " (%d %@, %.0f/s)", count, unit, Double(count) / seconds) }
        if let cpuSince {
            let cpu = threadCPU() - cpuSince
            line += String(format: "; %.3f s of one core's CPU", cpu)
            if let count, cpu > 0 { line += String(format: " (%.0f %@/s per core)", Double(count) / cpu, unit) }
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
