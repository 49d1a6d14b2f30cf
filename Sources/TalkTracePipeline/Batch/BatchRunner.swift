import Foundation
import TalkTraceAudio
import TalkTraceRecords

/// What the batch needs to know.
public struct BatchOptions: Sendable {
    public var recordingsDirectory: String
    public var ctrPaths: [String]
    public var outputDirectory: String
    /// Recordings analyzed at once (default: every core).
    public var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    /// Reuse analyses already in OUT_DIR for files with the same path, size and modification time.
    public var resume = false
    public var analysis = AnalysisOptions()

    public init(recordingsDirectory: String, ctrPaths: [String], outputDirectory: String) {
        self.recordingsDirectory = recordingsDirectory
        self.ctrPaths = ctrPaths
        self.outputDirectory = outputDirectory
    }
}

/// The outcome for one recording.
public struct RecordingResult: Sendable {
    public var file: RecordingFile
    public var match: RecordingMatcher.Match?
    /// The analysis, with `Recording.Path` relative and `Location`/`ContactId` from the join.
    public var analysis: CallAnalysis?
    /// Why it could not be analyzed (one line), when it could not.
    public var error: String?
    public var crossCheck: CrossCheck?
    /// Taken from a previous run (`--resume`).
    public var reused = false
    /// `analysis` as compact JSON, encoded once by the worker that made it (encoding is a large
    /// share of a short call's cost, and every output file wants it); nil when not encoded yet.
    public var analysisJSON: Data?

    /// `analysisJSON`, or the analysis encoded now.
    public func encodedAnalysis(_ encoder: AnalysisJSONEncoder) -> Data? {
        analysisJSON ?? analysis.flatMap { try? encoder.encode($0) }
    }
}

/// Progress as the batch goes, for a bar or periodic lines.
public struct BatchProgress: Sendable {
    public var done: Int
    public var total: Int
    public var failed: Int
    /// Seconds of audio analyzed so far.
    public var audioSeconds: Double
    /// Wall seconds since analysis started.
    public var elapsed: Double
    /// Bytes of recordings done and in total (for the ETA).
    public var bytesDone: Int64
    public var bytesTotal: Int64
}

/// Everything a batch produced, ready for the writers.
public struct BatchResult: Sendable {
    public var recordings: [RecordingResult]
    public var contacts: ContactStore
    /// Analyses per ContactId, in recording order.
    public var analysesByContact: [String: [Int]]
    public var wallSeconds: Double
    public var jobs: Int
}

/// Stage 8: the nightly job. Reads the CTRs, finds the recordings, joins them, analyzes every
/// recording on every core (one whole file per worker; each worker owns its buffers and FFT
/// arrays, plans are shared), then hands the results to the output writers.
public enum BatchRunner {
    public static let cacheName = ".talktrace-cache.jsonl"

    public static func run(
        _ options: BatchOptions, progress: @escaping @Sendable (BatchProgress) -> Void = { _ in }
    ) throws(PipelineError) -> BatchResult {
        let started = Date()
        // The CTRs are read while the recordings are listed: both come before any analysis.
        nonisolated(unsafe) var store: ContactStore?
        let reading = Background { () throws(PipelineError) in store = ContactStore(paths: options.ctrPaths) }
        let found = Result { () throws(PipelineError) in try RecordingFinder.find(in: options.recordingsDirectory) }
        try reading.wait()
        let recordings = try found.get()
        let contacts = store!
        let matcher = RecordingMatcher(recordings: recordings, contacts: contacts.contacts)

        try OutputFiles.makeDirectory(options.outputDirectory)
        let cachePath = (options.outputDirectory as NSString).appendingPathComponent(cacheName)
        let cached = options.resume ? AnalysisCache.load(cachePath) : [:]
        let cache = try AnalysisCache(path: cachePath, keep: options.resume)

        let results = ResultSlots(count: recordings.count)
        var todo: [Int] = []
        for (i, file) in recordings.enumerated() {
            if let entry = cached[AnalysisCache.Key(file)] {
                results.set(i, entry, nil)
            } else {
                todo.append(i)
            }
        }
        let totalBytes = recordings.reduce(Int64(0)) { $0 + $1.size }
        let todoBytes = todo.reduce(Int64(0)) { $0 + recordings[$1].size }
        let counters = Counters(bytesDone: totalBytes - todoBytes, done: recordings.count - todo.count)
        let jobs = max(1, min(options.jobs, max(todo.count, 1)))
        let analysisStart = Date()
        let report: @Sendable () -> Void = {
            let s = counters.snapshot()
            progress(BatchProgress(done: s.done, total: recordings.count, failed: s.failed, audioSeconds: s.audio,
                                   elapsed: Date().timeIntervalSince(analysisStart), bytesDone: s.bytes, bytesTotal: totalBytes))
        }
        report()
        let next = Counter()
        let group = DispatchGroup()
        let analysisOptions = options.analysis
        let todoList = todo
        for _ in 0..<jobs {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let encoder = CallAnalysis.encoder()
                while true {
                    let k = next.increment()
                    guard k < todoList.count else { return }
                    let i = todoList[k]
                    let file = recordings[i]
                    let entry: AnalysisCache.Entry
                    var json: Data?
                    do {
                        var a = try CallAnalyzer.analyze(path: file.path, options: analysisOptions)
                        let match = matcher.matches[i]
                        a.recording.path = file.relativePath
                        a.recording.location = match?.location
                        a.recording.contactId = match?.contactId
                        json = try? encoder.encode(a)
                        entry = .analysis(a)
                    } catch {
                        entry = .error("\(error)")
                    }
                    cache.append(file, entry, analysisJSON: json)
                    results.set(i, entry, json)
                    counters.add(bytes: file.size, audio: entry.audioSeconds, failed: entry.isError)
                }
            }
        }
        // Report while the workers run.
        while group.wait(timeout: .now() + 0.25) == .timedOut { report() }
        report()
        cache.close()

        var out: [RecordingResult] = []
        var byContact: [String: [Int]] = [:]
        let encoder = CallAnalysis.encoder()
        for (i, file) in recordings.enumerated() {
            let match = matcher.matches[i]
            var r = RecordingResult(file: file, match: match)
            let (entry, json) = results.get(i)
            switch entry {
            case .analysis(var a):
                a.recording.path = file.relativePath
                a.recording.location = match?.location
                a.recording.contactId = match?.contactId
                r.analysis = a
                // The worker's encoding, unless the analysis came from --resume's cache (whose
                // location and contact may predate these CTRs).
                r.analysisJSON = json ?? (try? encoder.encode(a))
                if let match, let contact = contacts.contact(id: match.contactId) {
                    r.crossCheck = CrossCheck(recordingSeconds: a.recording.durationSeconds, contact: contact)
                }
            case .error(let e):
                r.error = e
            case nil:
                r.error = "\(file.relativePath): not analyzed (internal error)"
            }
            r.reused = cached[AnalysisCache.Key(file)] != nil
            if let match { byContact[match.contactId, default: []].append(i) }
            out.append(r)
        }
        return BatchResult(recordings: out, contacts: contacts, analysesByContact: byContact,
                           wallSeconds: Date().timeIntervalSince(started), jobs: jobs)
    }
}

/// Thread-safe slots for worker results, with the analysis's JSON when the worker encoded it.
final class ResultSlots: @unchecked Sendable {
    private var slots: [(AnalysisCache.Entry?, Data?)]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: (nil, nil), count: count) }
    func set(_ i: Int, _ e: AnalysisCache.Entry, _ json: Data?) { lock.lock(); slots[i] = (e, json); lock.unlock() }
    func get(_ i: Int) -> (AnalysisCache.Entry?, Data?) { lock.lock(); defer { lock.unlock() }; return slots[i] }
}

final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func increment() -> Int { lock.lock(); defer { value += 1; lock.unlock() }; return value }
}

final class Counters: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: Int64, done: Int, failed = 0, audio = 0.0
    init(bytesDone: Int64, done: Int) { self.bytes = bytesDone; self.done = done }
    func add(bytes b: Int64, audio a: Double, failed f: Bool) {
        lock.lock(); bytes += b; done += 1; audio += a; if f { failed += 1 }; lock.unlock()
    }
    func snapshot() -> (bytes: Int64, done: Int, failed: Int, audio: Double) {
        lock.lock(); defer { lock.unlock() }; return (bytes, done, failed, audio)
    }
}
