import Foundation
import TalkTraceAudio

/// `--resume`'s memory: one JSON line per finished recording, appended as each finishes, keyed by
/// relative path, size and modification time. A run killed mid-write leaves at most one partial
/// last line, which loading ignores; the recording is then simply analyzed again.
final class AnalysisCache: @unchecked Sendable {
    struct Key: Hashable {
        var path: String, size: Int64, modified: Double
        init(_ f: RecordingFile) { path = f.relativePath; size = f.size; modified = f.modified }
        init(path: String, size: Int64, modified: Double) { self.path = path; self.size = size; self.modified = modified }
    }

    enum Entry: Sendable {
        case analysis(CallAnalysis)
        case error(String)
        var audioSeconds: Double { if case .analysis(let a) = self { a.recording.durationSeconds } else { 0 } }
        var isError: Bool { if case .error = self { true } else { false } }
    }

    private struct Line: Codable {
        var path: String
        var size: Int64
        var modified: Double
        var analysis: CallAnalysis?
        var error: String?
    }

    private let handle: FileHandle?
    private let lock = NSLock()

    /// Opens the cache for appending; `keep: false` starts it empty.
    init(path: String, keep: Bool) throws(PipelineError) {
        let fm = FileManager.default
        if !keep || !fm.fileExists(atPath: path) {
            guard fm.createFile(atPath: path, contents: nil) else { throw PipelineError("\(path): cannot create (is the output directory writable?)") }
        }
        handle = FileHandle(forWritingAtPath: path)
        guard let handle else { throw PipelineError("\(path): cannot open for writing") }
        // A partial last line from a killed run: start the next entry on a fresh line.
        let end = handle.seekToEndOfFile()
        if end > 0 { handle.write(Data("\n".utf8)) }
    }

    /// Appends `entry` for `file`. `analysisJSON`, the analysis already encoded, is spliced in
    /// rather than encoded again.
    func append(_ file: RecordingFile, _ entry: Entry, analysisJSON: Data? = nil) {
        var line = Line(path: file.relativePath, size: file.size, modified: file.modified)
        switch entry {
        case .analysis(let a): if analysisJSON == nil { line.analysis = a }
        case .error(let e): line.error = e
        }
        // Encoded outside the lock, with an encoder of its own: every worker calls this.
        guard var data = try? CallAnalysis.encoder().encode(line) else { return }
        if case .analysis = entry, let analysisJSON {
            data = Data("{\"Analysis\":".utf8) + analysisJSON + Data(",".utf8) + data.dropFirst()
        }
        data.append(0x0a)
        lock.lock()
        defer { lock.unlock() }
        handle?.write(data)
    }

    func close() { try? handle?.close() }

    static func load(_ path: String) -> [Key: Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        let decoder = CallAnalysis.decoder()
        var out: [Key: Entry] = [:]
        for line in data.split(separator: 0x0a) where !line.isEmpty {
            guard let l = try? decoder.decode(Line.self, from: Data(line)) else { continue }
            let key = Key(path: l.path, size: l.size, modified: l.modified)
            if let a = l.analysis { out[key] = .analysis(a) } else if let e = l.error { out[key] = .error(e) }
        }
        return out
    }
}
