import Foundation
import TalkTraceAudio
import TalkTraceStorage

/// Stage 2 of a batch, the expensive part: analyzes a list of recordings on `jobs` threads (one
/// whole file per worker; each worker owns its buffers and FFT arrays, plans are shared), with the
/// resume cache written as it goes and the crash guard armed around every analysis. Used by the
/// one-machine `batch` (all recordings) and by a shard (its share of a manifest) alike.
enum AnalysisPool {
    /// What the pool is given.
    struct Work: @unchecked Sendable {
        var recordings: [RecordingFile]
        /// The cache key of each recording.
        var keys: [AnalysisCache.Key]
        /// Finished entries of earlier runs (`--resume`, a retried shard).
        var cached: [AnalysisCache.Key: AnalysisCache.Entry]
        var cache: AnalysisCache
        var options: AnalysisOptions
        var jobs: Int
        /// Files read ahead of the workers (into the page cache), for storage slow to the first
        /// byte; 0 reads nothing ahead.
        var readAhead: Int
        /// S3 objects (`s3://` paths) read at once ahead of the workers (`S3ReadAhead`).
        var s3Reads: Int = S3ReadAhead.defaultDepth
        /// Called by the worker on each analysis before it is encoded (the one-machine batch sets
        /// the CTR location and contact here; a shard knows no CTRs).
        var annotate: @Sendable (Int, inout CallAnalysis) -> Void
    }

    /// What came out, per recording.
    struct Outcome {
        var entries: [(AnalysisCache.Entry?, Data?)]
        var reused: [Bool]
        var jobs: Int
        /// Audio seconds analyzed by this run (not taken from the cache).
        var analyzedSeconds: Double
    }

    /// Test hook for the crash drill: a recording whose relative path contains this text traps
    /// the process as a bug in the analyzer would (`TALKTRACE_FAULT_CRASH_ON`).
    static let crashOn = ProcessInfo.processInfo.environment["TALKTRACE_FAULT_CRASH_ON"].flatMap { $0.isEmpty ? nil : $0 }

    static func run(_ work: Work, progress: @escaping @Sendable (BatchProgress) -> Void) throws(PipelineError) -> Outcome {
        let recordings = work.recordings
        let keys = work.keys
        let cache = work.cache
        let results = ResultSlots(count: recordings.count)
        var todo: [Int] = []
        var reused = [Bool](repeating: false, count: recordings.count)
        for (i, file) in recordings.enumerated() {
            if let problem = file.problem {
                results.set(i, .error("\(file.relativePath): \(problem)"), nil)
            } else if let entry = work.cached[keys[i]] {
                results.set(i, entry, nil)
                reused[i] = true
            } else {
                todo.append(i)
            }
        }
        let totalBytes = recordings.reduce(Int64(0)) { $0 + $1.size }
        let todoBytes = todo.reduce(Int64(0)) { $0 + recordings[$1].size }
        let counters = Counters(bytesDone: totalBytes - todoBytes, done: recordings.count - todo.count)
        let jobs = max(1, min(work.jobs, max(todo.count, 1)))
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
        let analysisOptions = work.options
        let todoList = todo
        let crashOn = Self.crashOn
        let annotate = work.annotate
        // Recordings in S3: their first bytes fetched ahead, many at once, in the order taken.
        let s3 = todoList.contains { S3Location.isS3(recordings[$0].path) }
        let s3ReadAhead = s3 ? S3ReadAhead(files: todoList.map { recordings[$0] }, depth: work.s3Reads) : nil
        defer { s3ReadAhead?.cancel() }
        let readAhead = ReadAhead(paths: todoList.map { recordings[$0].path }, depth: s3 ? 0 : work.readAhead)
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
                    readAhead.reached(k)
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
                    var unreadable = false
                    do {
                        if let crashOn, file.relativePath.contains(crashOn) { BatchRunner.trap() }
                        var a: CallAnalysis
                        if let s3ReadAhead {
                            let source: any ByteSource
                            do throws(StorageError) { source = try s3ReadAhead.take(k) } catch {
                                throw AudioInputError(path: file.path, problem: error.problem(of: file.path), unreadable: true)
                            }
                            a = try CallAnalyzer.analyze(source: source, options: analysisOptions)
                        } else {
                            a = try CallAnalyzer.analyze(path: file.path, options: analysisOptions)
                        }
                        a.recording.path = file.relativePath
                        annotate(i, &a)
                        json = try? encoder.encode(a)
                        entry = .analysis(a)
                    } catch {
                        entry = .error("\(error)")
                        unreadable = (error as? AudioInputError)?.unreadable ?? false
                    }
                    CrashGuard.disarm(slot: worker)
                    do throws(PipelineError) {
                        try cache.finish(keys[i], entry, analysisJSON: json, tryAgain: unreadable)
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
        readAhead.stop()
        if let error = stop.error { throw error }
        try cache.close()
        return Outcome(entries: (0..<recordings.count).map { results.get($0) }, reused: reused, jobs: jobs,
                       analyzedSeconds: counters.snapshot().audio)
    }
}

/// Reads the next `depth` files of the work list ahead of the workers, one thread per file in
/// flight, so storage that is slow to the first byte (a network file system, an object store
/// mounted with FUSE) is waiting in parallel while the workers compute. Each file is read whole
/// into the page cache (64 KiB at a time, the bytes dropped) with `POSIX_FADV_SEQUENTIAL`; the
/// worker's own read then comes from memory. Separate from `--jobs`: the best depth follows the
/// storage's latency, the best job count the cores.
final class ReadAhead: @unchecked Sendable {
    private let paths: [String]
    private let depth: Int
    private let lock = NSCondition()
    /// The highest work index a worker has reached, and the next to read ahead.
    private var reachedIndex = -1
    private var nextToRead = 0
    private var stopped = false

    init(paths: [String], depth: Int) {
        self.paths = paths
        self.depth = max(0, depth)
        for _ in 0..<min(self.depth, paths.count) {
            Thread.detachNewThread { [self] in loop() }
        }
    }

    func reached(_ k: Int) {
        guard depth > 0 else { return }
        lock.lock()
        if k > reachedIndex { reachedIndex = k }
        lock.broadcast()
        lock.unlock()
    }

    func stop() {
        lock.lock(); stopped = true; lock.broadcast(); lock.unlock()
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            lock.lock()
            while !stopped && nextToRead < paths.count && nextToRead > reachedIndex + depth { lock.wait() }
            if stopped || nextToRead >= paths.count { lock.unlock(); return }
            let k = nextToRead
            nextToRead += 1
            let behind = k <= reachedIndex
            lock.unlock()
            // A worker already on it (or past it): nothing to gain.
            if behind { continue }
            let fd = open(paths[k], O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { continue }
            var st = stat()
            if fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG {
                _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
                while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
            }
            close(fd)
        }
    }
}
