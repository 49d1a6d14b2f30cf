import Foundation
import TalkTraceAudio

/// `--resume`'s memory: `OUT_DIR/.talktrace-cache.jsonl`, one JSON line per event, appended as it
/// happens and never rewritten:
/// - `{"Started":true,…key}` when a worker starts on a recording;
/// - `{"Analysis":{…},…key}` or `{"Error":"…",…key}` when it finishes (`"TryAgain":true` with an
///   error when the recording's bytes could not be read — a storage, network or permission fault,
///   `AudioInputError.unreadable` — which the next `--resume` tries again; a recording whose bytes
///   were read and refused is not);
/// - `{"Crashed":true,…key}`, written by `CrashGuard` if the analysis crashed the process.
///
/// The key is everything that decides the result: the relative path, the file itself (device,
/// inode, size and modification time to the nanosecond, symbolic links followed, so a replaced
/// file or link target is analyzed again) and the analysis settings (analyzer version, channel
/// map, detector parameters). A run killed mid-write leaves at most one partial last line, which
/// loading ignores.
final class AnalysisCache: @unchecked Sendable {
    /// A recording started this many times without finishing (the process killed each time while
    /// it was being analyzed, by something no handler sees: SIGKILL, the out-of-memory killer) is
    /// recorded as failed instead of tried again. Not lower: a run killed from outside (a spot
    /// instance reclaimed, a drill) also leaves the recordings it had in flight unfinished, and
    /// the next run starts with them, so a few unlucky kills in a row must not fail a good file.
    static let maxAttempts = 8

    struct Key: Hashable, Codable {
        var path: String
        var size: Int64
        var modified: Double
        var device: UInt64
        var inode: UInt64
        /// An S3 object's ETag (its key is `path`, its size `size`); nil for a local file.
        var etag: String?
        var settings: String

        init(_ f: RecordingFile, settings: String) {
            path = f.relativePath
            size = f.size
            modified = f.modified
            device = f.device
            inode = f.inode
            etag = f.etag
            self.settings = settings
        }
    }

    enum Entry: Sendable {
        case analysis(CallAnalysis)
        case error(String)
        var audioSeconds: Double { if case .analysis(let a) = self { a.recording.durationSeconds } else { 0 } }
        var isError: Bool { if case .error = self { true } else { false } }
    }

    private struct Line: Codable {
        var key: Key
        var analysis: CallAnalysis?
        var error: String?
        var started: Bool?
        var crashed: Bool?
        var tryAgain: Bool?
    }

    private let writer: FileWriter
    private let lock = NSLock()
    let path: String

    /// The settings part of the key for `options`.
    static func settings(_ options: AnalysisOptions) -> String {
        // FNV-1a (64 bit) of everything that shapes the result, after the analyzer's version.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in "\(options.channelMap)|\(options.parameters)".utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "\(CallAnalysis.version)/\(String(hash, radix: 16))"
    }

    /// Opens the cache for appending; `keep: false` starts it empty.
    init(path: String, keep: Bool) throws(PipelineError) {
        self.path = path
        if !keep { unlink(path) }
        writer = try FileWriter(path: path, append: true, capacity: 0)
        // A partial last line from a killed run: start the next entry on a fresh line.
        var st = stat()
        if stat(path, &st) == 0, st.st_size > 0 { writer.write([0x0a]) }
        try writer.flush()
    }

    var fileDescriptor: Int32 { writer.descriptor }

    /// The JSON of `key`'s members, without braces, to splice into a line.
    static func keyMembers(_ key: Key) -> Data {
        let data = (try? CallAnalysis.encoder().encode(["Key": key])) ?? Data("{}".utf8)
        return data.dropFirst().dropLast()
    }

    static func startedLine(_ key: Key) -> [UInt8] { Array("{\"Started\":true,".utf8) + keyMembers(key) + [0x7d, 0x0a] }
    static func crashedLine(_ key: Key) -> [UInt8] { Array("{\"Crashed\":true,".utf8) + keyMembers(key) + [0x7d, 0x0a] }

    /// Appends a line (whole lines, under a lock: every worker calls this).
    func append(_ line: [UInt8]) throws(PipelineError) {
        lock.lock()
        defer { lock.unlock() }
        writer.write(line)
        try writer.flush()
    }

    /// Appends `entry` for `key`. `analysisJSON`, the analysis already encoded, is spliced in
    /// rather than encoded again.
    func finish(_ key: Key, _ entry: Entry, analysisJSON: Data?, tryAgain: Bool = false) throws(PipelineError) {
        var line: [UInt8] = []
        switch entry {
        case .analysis(let a):
            let json = analysisJSON ?? (try? CallAnalysis.encoder().encode(a)) ?? Data("null".utf8)
            line = Array("{\"Analysis\":".utf8) + json + [0x2c]
        case .error(let e):
            let json = (try? CallAnalysis.encoder().encode(["Error": e])) ?? Data("{}".utf8)
            line = Array(json.dropLast()) + [0x2c]
            line.removeFirst()
            line = [0x7b] + line
            if tryAgain { line += Array("\"TryAgain\":true,".utf8) }
        }
        line += Self.keyMembers(key) + [0x7d, 0x0a]
        try append(line)
    }

    func close() throws(PipelineError) { try writer.close(sync: false) }

    /// What earlier runs left: finished entries, and the recordings not to try again (crashed
    /// the process, or started `maxAttempts` times without finishing) as errors.
    static func load(_ path: String) -> [Key: Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        let decoder = CallAnalysis.decoder()
        var out: [Key: Entry] = [:]
        var crashed: Set<Key> = []
        var attempts: [Key: Int] = [:]
        for line in data.split(separator: 0x0a) where !line.isEmpty {
            guard let l = try? decoder.decode(Line.self, from: Data(line)) else { continue }
            if let a = l.analysis {
                out[l.key] = .analysis(a)
            } else if let e = l.error {
                out[l.key] = l.tryAgain == true ? nil : .error(e)
            }
            if l.crashed == true { crashed.insert(l.key) }
            // Runs that started the recording and did not finish it: a finished run resets the
            // count (a recording read again after a storage fault is not "killed 8 times").
            if l.started == true { attempts[l.key, default: 0] += 1 }
            if l.analysis != nil || l.error != nil { attempts[l.key] = 0 }
        }
        for key in crashed where out[key] == nil {
            out[key] = .error("\(key.path): the analysis crashed TalkTrace in an earlier run (a bug: please report it with this file); not tried again")
        }
        for (key, n) in attempts where n >= maxAttempts && out[key] == nil {
            out[key] = .error("\(key.path): the analysis did not finish in \(n) earlier runs (the process was killed while analyzing it, e.g. out of memory); not tried again")
        }
        return out
    }
}
