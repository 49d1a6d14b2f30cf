import Foundation
import TalkTraceAudio
import TalkTraceRecords
import TalkTraceStorage

/// What the batch needs to know.
public struct BatchOptions: Sendable {
    public var recordingsDirectory: String
    public var ctrPaths: [String]
    public var outputDirectory: String
    /// Recordings analyzed at once (default: every core).
    public var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    /// Reuse analyses already in OUT_DIR for the same recordings (see `AnalysisCache.Key`; S3
    /// objects: the same key, size and ETag).
    public var resume = false
    /// Files read ahead of the workers (slow-to-first-byte storage); 0: none.
    public var readAhead = 0
    /// S3 objects read at once ahead of the analysis (recordings under `s3://` only).
    public var s3Reads = S3ReadAhead.defaultDepth
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
    public var analysis: CallAnalysis? {
        get { box?.value }
        set { box = newValue.map(AnalysisBox.init) }
    }
    /// (Boxed: a `CallAnalysis` is about a kilobyte inline, and a join of 100,000 recordings holds
    /// a result for each, most without one.)
    private var box: AnalysisBox?
    /// Why it could not be analyzed (one line), when it could not.
    public var error: String?
    public var crossCheck: CrossCheck?
    /// Taken from a previous run (`--resume`).
    public var reused = false
    /// `analysis` as compact JSON, encoded once by the worker that made it (encoding is a large
    /// share of a short call's cost, and every output file wants it); nil when not encoded yet.
    public var analysisJSON: Data?

    /// Where the analysis is in a shard's analyses.jsonl, when `talktrace join` read it (the
    /// join keeps this, not the analysis: `BatchResult.analysisJSON` reads it back).
    public var stored: StoredAnalysis?

    public init(file: RecordingFile, match: RecordingMatcher.Match?, analysis: CallAnalysis? = nil, error: String? = nil) {
        self.file = file
        self.match = match
        self.error = error
        self.analysis = analysis
    }

    /// `analysisJSON`, or the analysis encoded now (nil for a stored one: see `BatchResult.analysisJSON`).
    public func encodedAnalysis(_ encoder: AnalysisJSONEncoder) -> Data? {
        analysisJSON ?? analysis.flatMap { try? encoder.encode($0) }
    }

    /// Whether there is an analysis (in memory or stored), i.e. the recording did not fail.
    public var isAnalyzed: Bool { analysis != nil || analysisJSON != nil || stored != nil }

    /// The recording's duration, when analyzed.
    public var durationSeconds: Double? { analysis?.recording.durationSeconds ?? stored?.durationSeconds }
}

final class AnalysisBox: Sendable {
    let value: CallAnalysis
    init(_ value: CallAnalysis) { self.value = value }
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
    /// Seconds of audio analyzed by this run (not taken from `--resume`'s cache).
    public var analyzedSeconds: Double = 0
    /// The claimed output folder: held (locked) while the result is alive, so the outputs are
    /// written under the same claim as the analysis.
    public var outputDirectory: OutputDirectory? = nil
    /// The shards' analyses files a join's stored analyses are read back from.
    public var shardAnalyses: ShardAnalyses? = nil

    /// Recording `i`'s analysis as every output carries it: its JSON, `Recording.Path`, `.Location`
    /// and `.ContactId` set by the join; nil when it failed.
    public func analysisJSON(_ i: Int, encoder: AnalysisJSONEncoder) throws(PipelineError) -> Data? {
        let r = recordings[i]
        if let s = r.stored {
            guard let shardAnalyses else { throw PipelineError("\(r.file.relativePath): the shards' analyses are not open") }
            return try shardAnalyses.json(s, path: r.file.relativePath, match: r.match, encoder: encoder)
        }
        return r.encodedAnalysis(encoder)
    }

    /// The result with every stored analysis decoded into `RecordingResult.analysis`, for what
    /// wants whole analyses (the HTML report); a join's outputs do without.
    public func decodingStoredAnalyses() throws(PipelineError) -> BatchResult {
        var copy = self
        let encoder = CallAnalysis.encoder(), decoder = CallAnalysis.decoder()
        for i in recordings.indices where recordings[i].analysis == nil && recordings[i].stored != nil {
            guard let json = try analysisJSON(i, encoder: encoder) else { continue }
            do { copy.recordings[i].analysis = try decoder.decode(CallAnalysis.self, from: json) } catch {
                throw PipelineError("\(recordings[i].file.relativePath): its analysis does not decode (\(error))")
            }
        }
        return copy
    }
}

/// The nightly job on one machine: `Manifest/` (walk the recordings folder) → `Analyze/` (every
/// recording on every core: the pool a shard uses, given the whole manifest) → `Join/` (the same
/// join `talktrace join` runs over shards) → `Output/`. The CTRs are read while the folder is
/// walked, so the workers can already write each analysis with its contact; the bytes are the
/// same as when the join sets it afterwards.
public enum BatchRunner {
    public static let cacheName = ".talktrace-cache.jsonl"

    public static func run(
        _ options: BatchOptions, progress: @escaping @Sendable (BatchProgress) -> Void = { _ in }
    ) throws(PipelineError) -> BatchResult {
        let started = Date()
        let outputs = try OutputDirectory.claim(options.outputDirectory)
        // The CTRs are read while the recordings are listed: both come before any analysis.
        nonisolated(unsafe) var store: ContactStore?
        let reading = Background { () throws(PipelineError) in
            store = try Join.readContacts(options.ctrPaths, spoolDirectory: options.outputDirectory)
        }
        // (Not `Result { … }`: its typed-throws initializer crashed here in Swift 6.3 debug builds.)
        var listingError: PipelineError?
        var listed: [RecordingFile] = []
        do { listed = try Manifest.make(directory: options.recordingsDirectory).1 } catch { listingError = error }
        try reading.wait()
        if let listingError { throw listingError }
        let recordings = listed
        let contacts = store!
        let matcher = RecordingMatcher(recordings: recordings, contacts: contacts.keys)

        let cachePath = (options.outputDirectory as NSString).appendingPathComponent(cacheName)
        let cached = options.resume ? AnalysisCache.load(cachePath) : [:]
        let cache = try AnalysisCache(path: cachePath, keep: options.resume)
        let settings = AnalysisCache.settings(options.analysis)
        let keys = recordings.map { AnalysisCache.Key($0, settings: settings) }
        let matches = matcher.matches
        let outcome = try AnalysisPool.run(AnalysisPool.Work(
            recordings: recordings, keys: keys, cached: cached, cache: cache, options: options.analysis,
            jobs: options.jobs, readAhead: options.readAhead, s3Reads: options.s3Reads, annotate: { i, a in
                a.recording.location = matches[i]?.location
                a.recording.contactId = matches[i]?.contactId
            }), progress: progress)
        let (results, byContact) = Join.assemble(recordings: recordings, entries: outcome.entries.map(Join.Outcome.init), reused: outcome.reused,
                                                 contacts: contacts, matcher: matcher)
        return BatchResult(recordings: results, contacts: contacts, analysesByContact: byContact,
                           wallSeconds: Date().timeIntervalSince(started), jobs: outcome.jobs,
                           analyzedSeconds: outcome.analyzedSeconds, outputDirectory: outputs)
    }

    /// What a trap in the analyzer does (the crash drill's fault).
    @inline(never)
    static func trap() -> Never {
        fatalError("fault injected by TALKTRACE_FAULT_CRASH_ON")
    }
}

/// Set once by the first worker that cannot go on (the cache cannot be written): the others stop.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value: PipelineError?
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value != nil }
    var error: PipelineError? { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ e: PipelineError) { lock.lock(); if value == nil { value = e }; lock.unlock() }
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
