import Foundation
import TalkTraceAudio
import TalkTraceRecords

/// Atomic output: everything is written to a temporary file in OUT_DIR and renamed into place, so
/// an interrupted run never leaves a half-written line, CSV or database.
public enum OutputFiles {
    static func makeDirectory(_ dir: String) throws(PipelineError) {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw PipelineError("\(dir): cannot create the output directory (\(error.localizedDescription))")
        }
    }

    /// Writes `data` to `dir/name` atomically.
    public static func write(_ data: Data, to dir: String, name: String) throws(PipelineError) {
        let output = try AtomicOutput(dir: dir, name: name)
        output.writer.write(data)
        try output.commit()
    }

    static func rename(_ temp: String, to final: String) throws(PipelineError) {
        if Foundation.rename(temp, final) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw PipelineError("\(final): cannot move into place (\(reason))")
        }
    }

    /// Writes every output of `result` into `dir`: recordings.jsonl, contacts.jsonl,
    /// recordings.csv, talktrace.sqlite, summary.json. Returns the summary. Each file is streamed
    /// to its temporary name (contacts are read back from the CTR spool one at a time, so a
    /// million CTRs never sit in memory as one document) and renamed into place when complete.
    @discardableResult
    public static func writeAll(_ result: BatchResult, to dir: String) throws(PipelineError) -> BatchSummary {
        let encoder = CallAnalysis.encoder()
        var summary = BatchSummary(result)
        // The database is the slowest output (30 ms for 300 calls): written on a thread of its own
        // while the text files are, since the whole batch waits for this.
        nonisolated(unsafe) var databaseProblems: [ContactStore.Problem] = []
        let counted = summary
        let database = Background { () throws(PipelineError) in
            databaseProblems = try SQLiteExport.write(result, summary: counted, to: dir)
        }
        // recordings.jsonl and recordings.csv in one pass: each analysis's JSON is made (or read
        // back from its shard) once for both, and never all held at once.
        let recordings = try AtomicOutput(dir: dir, name: "recordings.jsonl")
        let csv = try AtomicOutput(dir: dir, name: "recordings.csv")
        do throws(PipelineError) {
            csv.writer.write(CSVTable.header)
            for (i, r) in result.recordings.enumerated() {
                let json = try result.analysisJSON(i, encoder: encoder)
                recordings.writer.write(recordingLine(r, analysis: json, encoder: encoder))
                recordings.writer.write([0x0a])
                let row: AnalysisRow?
                do throws(PipelineError) { row = try json.map { j throws(PipelineError) in try AnalysisRow.read(j, details: false) } } catch {
                    throw PipelineError("recordings.csv: \(OneLine.sanitize(r.file.relativePath)): \(error.message)")
                }
                csv.writer.write(CSVTable.line(r, row))
            }
        } catch {
            recordings.abandon()
            csv.abandon()
            try? database.wait()
            throw error
        }
        try recordings.commit()
        try csv.commit()
        let contacts = try AtomicOutput(dir: dir, name: "contacts.jsonl")
        for c in 0..<result.contacts.count {
            let key = result.contacts.keys[c]
            var array = Data("[".utf8)
            for (k, i) in (result.analysesByContact[key.contactId] ?? []).enumerated() {
                let a: Data?
                do { a = try result.analysisJSON(i, encoder: encoder) } catch {
                    contacts.abandon()
                    try? database.wait()
                    throw error
                }
                guard let a else { continue }
                if array.count > 1 && k > 0 { array.append(0x2c) }
                array.append(a)
            }
            array.append(0x5d)
            let raw: Data
            do { raw = try result.contacts.raw(c) } catch {
                contacts.abandon()
                try? database.wait()
                throw PipelineError("contacts.jsonl: \(error.message)")
            }
            contacts.writer.write(ContactRecord.jsonLine(raw: raw, recordingAnalysis: array))
            contacts.writer.write([0x0a])
        }
        try contacts.commit()
        try database.wait()
        summary.databaseProblems = databaseProblems
        let summaryEncoder = CallAnalysis.encoder(pretty: true)
        guard let summaryData = try? summaryEncoder.encode(summary) else { throw PipelineError("summary.json: cannot encode") }
        try write(summaryData + Data("\n".utf8), to: dir, name: "summary.json")
        return summary
    }

    /// `{"Path":…,"ContactId":…,"MatchedBy":…,"Location":…,"SizeBytes":…,"CrossCheck":…,"Analysis":…,"Error":…}`:
    /// every member in every line (`null` when it does not apply), as the schema says.
    static func recordingLine(_ r: RecordingResult, analysis: Data?, encoder: AnalysisJSONEncoder) -> Data {
        func json<T: Encodable>(_ v: T) -> String {
            (try? encoder.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        }
        var s = "{\"Path\":\(json(r.file.relativePath)),\"ContactId\":\(json(r.match?.contactId)),"
        s += "\"MatchedBy\":\(json(r.match?.by.rawValue)),\"Location\":\(json(r.match?.location)),"
        s += "\"SizeBytes\":\(r.file.size),\"CrossCheck\":\(r.crossCheck.map { json($0) } ?? "null")"
        var out = Data(s.utf8)
        out.append(contentsOf: Array(",\"Analysis\":".utf8))
        out.append(analysis ?? Data("null".utf8))
        out.append(contentsOf: Array(",\"Error\":\(analysis == nil ? json(r.error ?? "not analyzed") : "null")}".utf8))
        return out
    }
}

/// summary.json: the batch in numbers.
public struct BatchSummary: Sendable, Codable, Equatable {
    public var recordingsFound: Int
    public var recordingsAnalyzed: Int
    public var recordingsFailed: Int
    /// Recordings no CTR names or shares a contact ID with.
    public var recordingsUnmatched: Int
    public var matchedByLocation: Int
    public var matchedByContactId: Int
    /// Taken from a previous run by `--resume`.
    public var recordingsReused: Int
    public var ctrFiles: Int
    public var ctrRecordsRead: Int
    public var ctrDuplicatesMerged: Int
    public var contacts: Int
    public var contactsWithRecording: Int
    public var contactsWithoutRecording: Int
    public var audioHours: Double
    public var wallSeconds: Double
    /// Audio seconds analyzed by this run per wall second (audio reused by `--resume` not counted).
    public var speedTimesRealTime: Double
    public var jobs: Int
    public var failures: [Failure]
    /// CTR problems: the first `ContactStore.problemsListedPerFile` of each file (then one line
    /// counting the rest), and the totals, listed or not.
    public var ctrProblems: [ContactStore.Problem]
    public var ctrProblemCount: Int
    /// CTR records not read as contacts (damaged, not a CTR), listed or not.
    public var ctrRecordsSkipped: Int
    /// Rows the database could not take (the rest of the database is written).
    public var databaseProblems: [ContactStore.Problem] = []
    /// Matched recordings whose duration disagrees with the CTR's interaction + hold time.
    public var crossCheckMismatches: [String]

    public struct Failure: Sendable, Codable, Equatable {
        public var path: String
        public var error: String
    }

    init(_ r: BatchResult) {
        let rec = r.recordings
        recordingsFound = rec.count
        recordingsAnalyzed = rec.filter(\.isAnalyzed).count
        recordingsFailed = rec.filter { !$0.isAnalyzed }.count
        recordingsUnmatched = rec.filter { $0.match == nil }.count
        matchedByLocation = rec.filter { $0.match?.by == .location }.count
        matchedByContactId = rec.filter { $0.match?.by == .contactId }.count
        recordingsReused = rec.filter(\.reused).count
        ctrFiles = r.contacts.files.count
        ctrRecordsRead = r.contacts.recordsRead
        ctrDuplicatesMerged = r.contacts.duplicatesMerged
        contacts = r.contacts.count
        contactsWithRecording = r.contacts.keys.filter { r.analysesByContact[$0.contactId] != nil }.count
        contactsWithoutRecording = contacts - contactsWithRecording
        let audio = rec.reduce(0.0) { $0 + ($1.durationSeconds ?? 0) }
        audioHours = (audio / 3600 * 10000).rounded() / 10000
        wallSeconds = (r.wallSeconds * 1000).rounded() / 1000
        // Only what this run analyzed: audio reused from --resume's cache took no time.
        speedTimesRealTime = r.wallSeconds > 0 ? (r.analyzedSeconds / r.wallSeconds).rounded() : 0
        jobs = r.jobs
        failures = rec.compactMap { x in x.error.map { Failure(path: x.file.relativePath, error: $0) } }
        ctrProblems = r.contacts.problems
        ctrProblemCount = r.contacts.problemCount
        ctrRecordsSkipped = r.contacts.recordsSkipped
        crossCheckMismatches = rec.compactMap { x in
            guard let c = x.crossCheck, c.consistent == false else { return nil }
            return x.file.relativePath
        }
    }
}

/// Work started on a thread of its own; `wait` returns when it is done and rethrows its error.
final class Background: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var error: PipelineError?

    init(_ work: @escaping @Sendable () throws(PipelineError) -> Void) {
        Thread.detachNewThread { [self] in
            do throws(PipelineError) { try work() } catch { self.error = error }
            done.signal()
        }
    }

    func wait() throws(PipelineError) {
        done.wait()
        if let error { throw error }
    }
}
