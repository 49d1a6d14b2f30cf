import Foundation
import TalkTraceRecords
import TalkTraceStorage

/// What a batch has to do: the recordings, one JSON line each, in a stable order (sorted by path).
///
/// ```
/// {"TalkTraceManifest":1,"Root":"/data/recordings"}                 optional first line
/// {"Path":"connect/i/CallRecordings/2026/03/03/x_20260303T10:15_UTC.wav","SizeBytes":960044,"ModifiedTime":1772532900.25}
/// ```
///
/// `Path` is relative to the root (a folder, or what an S3 prefix was synced to), `SizeBytes` the
/// file's size and `ModifiedTime` seconds since 1970 (a number) or an ISO 8601 time (S3's
/// `LastModified`). A line may carry `"Problem":"…"`: a file the listing saw but cannot be read
/// (the batch records it as failed, never drops it). Lines are sorted by path when read, so a
/// manifest built from an S3 listing in any order gives the same shards. The manifest's identity
/// (`id`) is a hash of its entries: shard outputs carry it, and the join refuses a shard made from
/// another manifest.
public struct Manifest: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var sizeBytes: Int64
        /// Seconds since 1970.
        public var modifiedTime: Double
        public var problem: String?
        /// An S3 object's ETag (`"ETag"`; the manifest's root is then an `s3://` prefix): with the
        /// key and the size it says which object the shard must read.
        public var etag: String?

        public init(path: String, sizeBytes: Int64, modifiedTime: Double, problem: String? = nil, etag: String? = nil) {
            self.path = path
            self.sizeBytes = sizeBytes
            self.modifiedTime = modifiedTime
            self.problem = problem
            self.etag = etag
        }
    }

    /// Sorted by path, no duplicates.
    public private(set) var entries: [Entry]
    /// Where the paths are relative to, when the manifest says (`talktrace manifest` writes it).
    public var root: String?

    public init(entries: [Entry], root: String? = nil) {
        self.entries = entries.sorted { $0.path < $1.path }
        self.root = root
    }

    /// The recordings under `directory` (the same walk as a one-machine batch).
    public static func make(directory: String) throws(PipelineError) -> (Manifest, [RecordingFile]) {
        let files = try RecordingFinder.find(in: directory)
        let entries = files.map { Entry(path: $0.relativePath, sizeBytes: $0.size, modifiedTime: $0.modified, problem: $0.problem, etag: $0.etag) }
        // An S3 prefix's root is the folder its relative paths start from (`S3Listing.root`).
        let root = S3Location.isS3(directory) ? S3Listing.root(directory)
            : directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        return (Manifest(entries: entries, root: root), files)
    }

    /// 16 hex digits: FNV-1a (64 bit) of every entry in order. Two manifests with the same
    /// entries (in any order, any root) have the same id.
    public var id: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ s: String) { for b in s.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }; hash = (hash ^ 0x0a) &* 0x100_0000_01b3 }
        for e in entries {
            add(e.path); add("\(e.sizeBytes)"); add("\(e.modifiedTime)"); add(e.problem ?? "")
            if let etag = e.etag { add(etag) }  // S3 entries only: a local manifest's id is unchanged
        }
        let s = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    public var totalBytes: Int64 { entries.reduce(0) { $0 + $1.sizeBytes } }

    // MARK: Shares

    /// The entries shard `index` of `count` analyzes, in manifest order: every readable entry goes
    /// to exactly one shard. Balanced by bytes (analysis time follows the audio's length): largest
    /// first, each to the shard with the fewest bytes so far (ties to the lower index), a greedy
    /// rule that leaves the fullest shard at most one file above the mean. Depends only on the
    /// manifest and `count`, so a retried shard gets exactly the same files. Entries with a
    /// `problem` need no worker: the join records them.
    public func share(_ index: Int, of count: Int) -> [Int] { assignment(count: count).enumerated().compactMap { $0.element == index ? $0.offset : nil } }

    /// For every entry, its shard (or -1 for entries with a problem).
    public func assignment(count: Int) -> [Int] {
        var order = entries.indices.filter { entries[$0].problem == nil }
        order.sort { entries[$0].sizeBytes != entries[$1].sizeBytes ? entries[$0].sizeBytes > entries[$1].sizeBytes : $0 < $1 }
        var shard = [Int](repeating: -1, count: entries.count)
        // A binary min-heap of (bytes, shard index).
        var heap: [(Int64, Int)] = (0..<count).map { (0, $0) }
        func less(_ a: (Int64, Int), _ b: (Int64, Int)) -> Bool { a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
        for i in order {
            let (bytes, s) = heap[0]
            shard[i] = s
            heap[0] = (bytes + max(1, entries[i].sizeBytes), s)
            var k = 0
            while true {
                let l = 2 * k + 1, r = l + 1
                var m = k
                if l < heap.count && less(heap[l], heap[m]) { m = l }
                if r < heap.count && less(heap[r], heap[m]) { m = r }
                if m == k { break }
                heap.swapAt(k, m)
                k = m
            }
        }
        return shard
    }

    // MARK: Reading and writing

    /// The manifest as JSON Lines: the header (when there is a root), then one line per entry.
    public func jsonLines() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func json(_ s: String) -> String { (try? encoder.encode(s)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\"" }
        var out = ""
        if let root { out += "{\"Root\":\(json(root)),\"TalkTraceManifest\":1}\n" }
        for e in entries {
            out += "{" + (e.etag.map { "\"ETag\":\(json($0))," } ?? "") + "\"ModifiedTime\":\(e.modifiedTime),\"Path\":\(json(e.path))"
            if let p = e.problem { out += ",\"Problem\":\(json(p))" }
            out += ",\"SizeBytes\":\(e.sizeBytes)}\n"
        }
        return Data(out.utf8)
    }

    /// Reads a manifest file; any line that is not an entry is a one-line error naming the file
    /// and the line (nothing is skipped: a manifest is what the batch must do).
    public static func read(_ path: String) throws(PipelineError) -> Manifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError("\(path): cannot read the manifest (\(FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"))")
        }
        return try parse(data, name: path)
    }

    public static func parse(_ data: Data, name: String) throws(PipelineError) -> Manifest {
        var entries: [Entry] = []
        var root: String?
        var seen: [String: Int] = [:]
        var lineNumber = 0
        for raw in data.split(separator: 0x0a, omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.last == 0x0d ? raw.dropLast() : raw
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            func fail(_ why: String) -> PipelineError { PipelineError("\(name): line \(lineNumber): \(why)") }
            guard let object = Line(line) else {
                throw fail("not a manifest line: {\"Path\":…,\"SizeBytes\":…,\"ModifiedTime\":…} (a JSON object, numbers as numbers)")
            }
            if object.talkTraceManifest != nil {
                guard entries.isEmpty else { throw fail("the TalkTraceManifest header must be the first line") }
                root = object.root
                continue
            }
            guard let path = object.path, !path.isEmpty else { throw fail("no \"Path\" (a non-empty string)") }
            guard !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw fail("Path \(path) must be relative to the recordings root, without \"..\"")
            }
            guard let size = object.sizeBytes, size >= 0 else { throw fail("\(path): no \"SizeBytes\" (a whole number of bytes)") }
            let modified: Double
            switch object.modifiedTime {
            case .seconds(let n)?: modified = n
            case .text(let s)?:
                guard let ns = Timestamp.nanoseconds(s) else { throw fail("\(path): ModifiedTime \"\(s)\" is not an ISO 8601 time") }
                modified = Double(ns) / 1e9
            case nil:
                throw fail("\(path): no \"ModifiedTime\" (seconds since 1970, or an ISO 8601 time like S3's LastModified)")
            }
            if let earlier = seen[path] { throw fail("\(path) is listed twice (also line \(earlier))") }
            seen[path] = lineNumber
            entries.append(Entry(path: path, sizeBytes: size, modifiedTime: modified, problem: object.problem, etag: object.etag))
        }
        return Manifest(entries: entries, root: root)
    }
}

/// One manifest line as read (every member optional: what is missing is said in words), by the
/// join's strict reader: every shard and the join read the whole manifest, and Foundation's
/// `JSONDecoder` per line had been most of what sharding costs over one batch.
private struct Line {
    enum Time {
        case seconds(Double)
        case text(String)
    }
    var path: String?
    var sizeBytes: Int64?
    var modifiedTime: Time?
    var problem: String?
    var talkTraceManifest: Int?
    var root: String?
    var etag: String?

    /// nil when the line is not one JSON object of members of the right types.
    init?(_ line: Data.SubSequence) {
        var parsed: Line?
        Data(line).withUnsafeBytes { bytes in
            var r = StrictJSONReader(bytes)
            var l = Line()
            do throws(StrictJSONReader.Failure) {
                try r.object { (r: inout StrictJSONReader, key: Range<Int>) throws(StrictJSONReader.Failure) in
                    if r.key(key, is: "Path") { l.path = try r.optionalString() }
                    else if r.key(key, is: "SizeBytes") { l.sizeBytes = try r.int().map(Int64.init) }
                    else if r.key(key, is: "ModifiedTime") {
                        if r.peek() == 0x22 { l.modifiedTime = .text(try r.string()) }
                        else { l.modifiedTime = try r.double().map(Time.seconds) }
                    }
                    else if r.key(key, is: "Problem") { l.problem = try r.optionalString() }
                    else if r.key(key, is: "ETag") { l.etag = try r.optionalString() }
                    else if r.key(key, is: "TalkTraceManifest") { l.talkTraceManifest = try r.int() }
                    else if r.key(key, is: "Root") { l.root = try r.optionalString() }
                    else { try r.skip(depth: 1) }
                }
                try r.finish()
                parsed = l
            } catch {}
        }
        guard let parsed else { return nil }
        self = parsed
    }

    private init() {}
}

/// `INDEX/COUNT`: which share of the manifest one worker analyzes (index from 0).
public struct ShardSpec: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// The folder name under `OUT/shards/`: `INDEX-of-COUNT`.
    public var folderName: String { "\(index)-of-\(count)" }
    public var description: String { "\(index)/\(count)" }

    /// Environment variables array-job schedulers set to the task's index: AWS Batch array jobs,
    /// Kubernetes Indexed Jobs (both from 0), Slurm job arrays (from `SLURM_ARRAY_TASK_MIN`,
    /// subtracted here so `--array=1-4` gives shards 0–3).
    public static let indexVariables = ["AWS_BATCH_JOB_ARRAY_INDEX", "JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"]

    /// Parses `INDEX/COUNT`, or `COUNT` alone with the index from the scheduler's variable.
    public static func parse(_ text: String, environment: [String: String]) throws(PipelineError) -> ShardSpec {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        func number(_ s: Substring) -> Int? { s.allSatisfy(\.isASCII) ? Int(s) : nil }
        guard parts.count <= 2, let count = number(parts.last!), count >= 1 else {
            throw PipelineError("--shard \(text): expected INDEX/COUNT (e.g. 0/4) or COUNT with the index from \(indexVariables.joined(separator: ", "))")
        }
        let index: Int
        if parts.count == 2 {
            guard let i = number(parts[0]) else { throw PipelineError("--shard \(text): INDEX must be a whole number") }
            index = i
        } else {
            var found: [(String, Int)] = []
            for name in indexVariables {
                guard let value = environment[name], !value.isEmpty else { continue }
                guard var i = Int(value) else { throw PipelineError("\(name)=\(value) is not a whole number") }
                if name == "SLURM_ARRAY_TASK_ID", let min = environment["SLURM_ARRAY_TASK_MIN"].flatMap({ Int($0) }) { i -= min }
                found.append((name, i))
            }
            guard let first = found.first else {
                throw PipelineError("--shard \(text): no shard index: give --shard INDEX/\(count), or run as an array job (\(indexVariables.joined(separator: ", ")))")
            }
            if let other = found.first(where: { $0.1 != first.1 }) {
                throw PipelineError("--shard \(text): \(first.0) says shard \(first.1) but \(other.0) says \(other.1)")
            }
            index = first.1
        }
        guard index >= 0 && index < count else { throw PipelineError("--shard \(text): index \(index) is outside 0…\(count - 1)") }
        return ShardSpec(index: index, count: count)
    }
}
