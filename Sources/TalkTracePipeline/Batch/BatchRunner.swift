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
    /// Reuse analyses already in OUT_DIR for files with the same path, size and modification time
    /// (S3 objects: the same key, size and ETag).
    public var resume = false
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
    /// Seconds of audio analyzed by this run (not taken from `--resume`'s cache).
    public var analyzedSeconds: Double = 0
    /// The claimed output folder: held (locked) while the result is alive, so the outputs are
    /// written under the same claim as the analysis.
    public var outputDirectory: OutputDirectory? = nil
}

/// Stage 8: the nightly job. Reads the CTRs, finds the recordings, joins them, analyzes every
/// recording on every core (one whole file per worker; each worker owns its buffers and FFT
/// arrays, plans are shared), then hands the results to the output writers.
public enum BatchRunner {
    public static let cacheName = ".talktrace-cache.jsonl"

    /// Test hook for the crash drill: a recording whose relative path contains this text traps
    /// the process as a bug in the analyzer would (`TALKTRACE_FAULT_CRASH_ON`).
    static let crashOn = ProcessInfo.processInfo.environment["TALKTRACE_FAULT_CRASH_ON"].flatMap { $0.isEmpty ? nil : $0 }

    public static func run(
        _ options: BatchOptions, progress: @escaping @Sendable (BatchProgress) -> Void = { _ in }
    ) throws(PipelineError) -> BatchResult {
        let started = Date()
        let outputs = try OutputDirectory.claim(options.outputDirectory)
        // The CTRs are read while the recordings are listed: both come before any analysis.
        nonisolated(unsafe) var store: ContactStore?
        let reading = Background { () throws(PipelineError) in
            do throws(RecordsError) { store = try ContactStore(paths: options.ctrPaths, spoolDirectory: options.outputDirectory) } catch {
                throw PipelineError("CTRs: \(error.message)")
            }
        }
        // (Not `Result { … }`: its typed-throws initializer crashed here in Swift 6.3 debug builds.)
        var listingError: PipelineError?
        var listed: [RecordingFile] = []
        do { listed = try RecordingFinder.find(in: options.recordingsDirectory) } catch { listingError = error }
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

        let results = ResultSlots(count: recordings.count)
        var todo: [Int] = []
        var reused = [Bool](repeating: false, count: recordings.count)
        for (i, file) in recordings.enumerated() {
            if let problem = file.problem {
                results.set(i, .error("\(file.relativePath): \(problem)"), nil)
            } else if let entry = cached[keys[i]] {
                results.set(i, entry, nil)
                reused[i] = true
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
        let stop = Flag()
        let group = DispatchGroup()
        let analysisOptions = options.analysis
        let todoList = todo
        let crashOn = Self.crashOn
        // Recordings in S3: their first bytes fetched ahead, many at once, in the order taken.
        let readAhead = todoList.contains { S3Location.isS3(recordings[$0].path) }
            ? S3ReadAhead(files: todoList.map { recordings[$0] }, depth: options.s3Reads) : nil
        defer { readAhead?.cancel() }
        CrashGuard.install(workers: jobs, cacheFD: cache.fileDescriptor)
        defer { CrashGuard.uninstall() }
        for worker in 0..<jobs {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let altStack = CrashGuard.enterThread()
                defer { CrashGuard.leaveThread(altStack) }
                let encoder = CallAnalysis.encoder()
                while !stop.isSet {
                    let k = next.increment()
                    guard k < todoList.count else { return }
                    let i = todoList[k]
                    let file = recordings[i]
                    do throws(PipelineError) {
                        try cache.append(AnalysisCache.startedLine(keys[i]))
                    } catch {
                        stop.set(error)
                        return
                    }
                    CrashGuard.arm(slot: worker, line: AnalysisCache.crashedLine(keys[i]), message: Array(
                        "talktrace: \(OneLine.sanitize(file.relativePath)): the analysis crashed TalkTrace (a bug: please report it with this file); run the batch again with --resume to record it as failed and go on\n".utf8))
                    let entry: AnalysisCache.Entry
                    var json: Data?
                    do {
                        if let crashOn, file.relativePath.contains(crashOn) { Self.trap() }
                        var a: CallAnalysis
                        if let readAhead {
                            let source: any ByteSource
                            do throws(StorageError) { source = try readAhead.take(k) } catch {
                                throw AudioInputError(path: file.path, problem: error.problem(of: file.path))
                            }
                            a = try CallAnalyzer.analyze(source: source, options: analysisOptions)
                        } else {
                            a = try CallAnalyzer.analyze(path: file.path, options: analysisOptions)
                        }
                        let match = matcher.matches[i]
                        a.recording.path = file.relativePath
                        a.recording.location = match?.location
                        a.recording.contactId = match?.contactId
                        json = try? encoder.encode(a)
                        entry = .analysis(a)
                    } catch {
                        entry = .error("\(error)")
                    }
                    CrashGuard.disarm(slot: worker)
                    do throws(PipelineError) {
                        try cache.finish(keys[i], entry, analysisJSON: json)
                    } catch {
                        stop.set(error)
                        return
                    }
                    results.set(i, entry, json)
                    counters.add(bytes: file.size, audio: entry.audioSeconds, failed: entry.isError)
                }
            }
        }
        // Report while the workers run.
        while group.wait(timeout: .now() + 0.25) == .timedOut { report() }
        report()
        if let error = stop.error { throw error }
        try cache.close()

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
            r.reused = reused[i]
            if let match { byContact[match.contactId, default: []].append(i) }
            out.append(r)
        }
        return BatchResult(recordings: out, contacts: contacts, analysesByContact: byContact,
                           wallSeconds: Date().timeIntervalSince(started), jobs: jobs,
                           analyzedSeconds: counters.snapshot().audio, outputDirectory: outputs)
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
