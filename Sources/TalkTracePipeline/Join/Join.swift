import Foundation
import TalkTraceAudio
import TalkTraceRecords

/// Stage 3 of a batch, the cheap part: every analysis (or error) onto the CTRs. The same code for
/// a one-machine `batch` (analyses straight from its workers) and for `talktrace join` (analyses
/// read from the shards' folders), so both write the same bytes.
public enum Join {
    /// Results in recording order, with the contact each belongs to and the cross-check.
    /// `entries[i]` is recording `i`'s analysis or error and, when a worker of this process
    /// already encoded it with this match, its JSON.
    static func assemble(recordings: [RecordingFile], entries: [(AnalysisCache.Entry?, Data?)], reused: [Bool],
                         contacts: ContactStore, matcher: RecordingMatcher) -> (results: [RecordingResult], byContact: [String: [Int]]) {
        var out: [RecordingResult] = []
        out.reserveCapacity(recordings.count)
        var byContact: [String: [Int]] = [:]
        let encoder = CallAnalysis.encoder()
        for (i, file) in recordings.enumerated() {
            let match = matcher.matches[i]
            var r = RecordingResult(file: file, match: match)
            let (entry, json) = entries[i]
            switch entry {
            case .analysis(var a):
                a.recording.path = file.relativePath
                a.recording.location = match?.location
                a.recording.contactId = match?.contactId
                r.analysis = a
                // The worker's encoding, unless the analysis came from elsewhere (the resume
                // cache, a shard), whose location and contact may predate these CTRs.
                r.analysisJSON = json ?? (try? encoder.encode(a))
                if let match, let contact = contacts.contact(id: match.contactId) {
                    r.crossCheck = CrossCheck(recordingSeconds: a.recording.durationSeconds, contact: contact)
                }
            case .error(let e):
                r.error = e
            case nil:
                r.error = "\(file.relativePath): not analyzed (internal error)"
            }
            r.reused = reused[i]
            if let match { byContact[match.contactId, default: []].append(i) }
            out.append(r)
        }
        return (out, byContact)
    }

    /// Reads the CTRs (into a spool in `spoolDirectory`) as a pipeline error.
    static func readContacts(_ paths: [String], spoolDirectory: String) throws(PipelineError) -> ContactStore {
        do throws(RecordsError) { return try ContactStore(paths: paths, spoolDirectory: spoolDirectory) } catch {
            throw PipelineError("CTRs: \(error.message)")
        }
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
        do { loaded = try ShardSet.load(shardsRoot) } catch { loadError = error }
        try reading.wait()
        if let loadError { throw loadError }
        let shards = loaded!
        let contacts = store!
        let recordings = shards.recordings
        let matcher = RecordingMatcher(recordings: recordings, contacts: contacts.keys)
        let (results, byContact) = assemble(recordings: recordings, entries: shards.entries,
                                            reused: [Bool](repeating: false, count: recordings.count),
                                            contacts: contacts, matcher: matcher)
        return BatchResult(recordings: results, contacts: contacts, analysesByContact: byContact,
                           wallSeconds: Date().timeIntervalSince(started), jobs: shards.count,
                           analyzedSeconds: 0, outputDirectory: outputs)
    }
}
