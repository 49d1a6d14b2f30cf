import Foundation
import TalkTraceAudio
import TalkTraceStorage

/// One worker's share of a manifest: `talktrace batch --manifest M --shard INDEX/COUNT --out OUT`.
///
/// Writes, under `OUT/shards/INDEX-of-COUNT/`:
/// - `analyses.jsonl`: one line per recording of the share, in manifest order,
///   `{"Path":…,"SizeBytes":…,"Analysis":{…}|null,"Error":null|"…"}` (the lines
///   `analyze --jsonl` writes);
/// - `complete.json`, last: the manifest's id, the shard, the line count and the byte size of
///   `analyses.jsonl`. The join takes a shard only with this marker, and only if it matches.
///
/// and `OUT/manifest.jsonl`, the manifest the shards were made from (every shard writes the same
/// bytes; a shard refuses an OUT made for another manifest). The marker is removed first and
/// every file is written under a temporary name and renamed, so a retried shard (AWS Batch
/// `retryStrategy`, a Kubernetes pod restarted, `sbatch --requeue`) rewrites the same files and
/// a shard killed half-way is never taken as done. Finished recordings are in the shard's resume
/// cache, keyed by the manifest's path, size and modification time (not the node's device and
/// inode: a retry on another node reuses them), so a killed shard resumes where it stopped.
public enum Shard {
    public static let analysesName = "analyses.jsonl"
    public static let markerName = "complete.json"
    public static let manifestName = "manifest.jsonl"
    public static let folderName = "shards"

    public struct Options: Sendable {
        public var manifestPath: String
        /// Where the manifest's paths are relative to; nil: the manifest's own `Root`.
        public var recordingsRoot: String?
        public var shard: ShardSpec
        public var outputDirectory: String
        public var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
        public var readAhead: Int = 0
        public var analysis = AnalysisOptions()

        public init(manifestPath: String, recordingsRoot: String?, shard: ShardSpec, outputDirectory: String) {
            self.manifestPath = manifestPath
            self.recordingsRoot = recordingsRoot
            self.shard = shard
            self.outputDirectory = outputDirectory
        }
    }

    /// The completion marker.
    public struct Marker: Codable, Sendable, Equatable {
        public var manifestId: String
        public var index: Int
        public var count: Int
        public var recordings: Int
        public var analysesBytes: Int64
        public var failed: Int
        public var audioSeconds: Double
        public var wallSeconds: Double
        public var jobs: Int
    }

    /// What a shard did, for its summary line.
    public struct Outcome: Sendable {
        public var marker: Marker
        public var folder: String
        public var reused: Int
        /// The one-line errors of the recordings that failed.
        public var errors: [String]
    }

    public static func folder(_ out: String, _ spec: ShardSpec) -> String {
        ((out as NSString).appendingPathComponent(folderName) as NSString).appendingPathComponent(spec.folderName)
    }

    public static func run(_ options: Options, progress: @escaping @Sendable (BatchProgress) -> Void = { _ in }) throws(PipelineError) -> Outcome {
        let started = Date()
        let manifest = try Manifest.read(options.manifestPath)
        guard let root = options.recordingsRoot ?? manifest.root else {
            throw PipelineError("\(options.manifestPath): the manifest has no Root line: give the recordings folder (batch RECORDINGS_DIR --manifest …)")
        }
        let out = options.outputDirectory
        try OutputFiles.makeDirectory(out)
        try publishManifest(manifest, in: out, from: options)
        let dir = folder(out, options.shard)
        let claim = try OutputDirectory.claim(dir)
        defer { claim.release() }
        // The marker goes first: from here until it is written again the shard is not done.
        let markerPath = (dir as NSString).appendingPathComponent(markerName)
        if unlink(markerPath) != 0 && errno != ENOENT {
            throw PipelineError("\(markerPath): cannot remove the old completion marker (\(String(cString: strerror(errno))))")
        }

        let share = manifest.share(options.shard.index, of: options.shard.count)
        let settings = AnalysisCache.settings(options.analysis)
        var recordings: [RecordingFile] = []
        var keys: [AnalysisCache.Key] = []
        for i in share {
            let e = manifest.entries[i]
            // (An s3:// root is joined as text: NSString would fold its "//".)
            let path = S3Location.isS3(root) ? (root.hasSuffix("/") ? root : root + "/") + e.path
                : (root as NSString).appendingPathComponent(e.path)
            var file = RecordingFile(relativePath: e.path, path: path, size: e.sizeBytes, modified: e.modifiedTime, etag: e.etag)
            file.problem = check(file, root: root)
            recordings.append(file)
            keys.append(AnalysisCache.Key(file, settings: settings))
        }
        let cachePath = (dir as NSString).appendingPathComponent(BatchRunner.cacheName)
        let cache = try AnalysisCache(path: cachePath, keep: true)
        let outcome = try AnalysisPool.run(AnalysisPool.Work(
            recordings: recordings, keys: keys, cached: AnalysisCache.load(cachePath), cache: cache,
            options: options.analysis, jobs: options.jobs, readAhead: options.readAhead, annotate: { _, _ in }), progress: progress)

        let encoder = CallAnalysis.encoder()
        let analyses = try AtomicOutput(dir: dir, name: analysesName)
        var failed = 0, audio = 0.0
        var errors: [String] = []
        for (k, file) in recordings.enumerated() {
            let (entry, json) = outcome.entries[k]
            var line = Data("{\"Path\":".utf8) + ((try? encoder.encode(file.relativePath)) ?? Data("\"\"".utf8))
            line += Data(",\"SizeBytes\":\(file.size)".utf8)
            var analysisJSON = Data("null".utf8), error: String?
            switch entry {
            case .analysis(let a)?:
                audio += a.recording.durationSeconds
                analysisJSON = json ?? (try? encoder.encode(a)) ?? analysisJSON
            case .error(let e)?:
                error = e
            case nil:
                error = "\(file.relativePath): not analyzed (internal error)"
            }
            if let error { failed += 1; errors.append(error) }
            line += Data(",\"Analysis\":".utf8) + analysisJSON
            line += Data(",\"Error\":".utf8) + (error.flatMap { try? encoder.encode($0) } ?? Data("null".utf8))
            line.append(contentsOf: [0x7d, 0x0a])
            analyses.writer.write(line)
        }
        let bytes = analyses.writer.bytesWritten
        try analyses.commit()
        let size = fileSize((dir as NSString).appendingPathComponent(analysesName)) ?? bytes
        let marker = Marker(manifestId: manifest.id, index: options.shard.index, count: options.shard.count,
                            recordings: recordings.count, analysesBytes: size, failed: failed,
                            audioSeconds: (audio * 1000).rounded() / 1000,
                            wallSeconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000, jobs: outcome.jobs)
        guard let data = try? CallAnalysis.encoder(pretty: true).encode(marker) else { throw PipelineError("\(markerPath): cannot encode") }
        try OutputFiles.write(data + Data("\n".utf8), to: dir, name: markerName)
        return Outcome(marker: marker, folder: dir, reused: outcome.reused.filter { $0 }.count, errors: errors)
    }

    /// Why a manifest entry cannot be analyzed on this node, or nil.
    static func check(_ file: RecordingFile, root: String) -> String? {
        if let p = file.problem { return p }
        if S3Location.isS3(file.path) { return nil }  // read (and its ETag checked) when analyzed
        var st = stat()
        guard stat(file.path, &st) == 0 else {
            let e = errno
            return e == ENOENT ? "no such file under \(root) (the manifest names it: is the recordings folder mounted here, and is the manifest current?)"
                : "cannot look at the file (\(String(cString: strerror(e))))"
        }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG else { return "\(DirectoryWalker.describe(kind)), not a regular file" }
        if Int64(st.st_size) != file.size {
            return "is \(st.st_size) bytes but the manifest says \(file.size): the file changed after the manifest was made (make the manifest again)"
        }
        return nil
    }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : nil
    }

    /// Writes `OUT/manifest.jsonl` (normalized: sorted, one form of each number) unless it is
    /// there already with the same id; refuses an OUT made for another manifest.
    static func publishManifest(_ manifest: Manifest, in out: String, from options: Options) throws(PipelineError) {
        let path = (out as NSString).appendingPathComponent(manifestName)
        let lines = manifest.jsonLines()
        if FileManager.default.fileExists(atPath: path) {
            // The same bytes are the same manifest: parsing it again only to compare ids cost as
            // much as a third of what sharding adds to a batch (a JSON decode per line, in every
            // shard but the first).
            if FileManager.default.contents(atPath: path) == lines { return }
            let existing = try Manifest.read(path)
            if existing.id != manifest.id {
                throw PipelineError("\(out): holds shards of another manifest (\(path) is \(existing.id), \(options.manifestPath) is \(manifest.id)): use another --out, or remove it")
            }
            return
        }
        // Several shards may start at once, on several nodes: each writes the same bytes under a
        // name of its own and renames (atomic; the last rename wins with identical content).
        let temp = (out as NSString).appendingPathComponent(".\(manifestName).tmp-\(options.shard.folderName)-\(getpid())")
        let writer = try FileWriter(path: temp)
        writer.write(lines)
        do { try writer.close() } catch { unlink(temp); throw error }
        try OutputFiles.rename(temp, to: path)
    }
}
