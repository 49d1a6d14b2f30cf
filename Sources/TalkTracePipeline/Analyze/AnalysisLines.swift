import Foundation
import TalkTraceAudio

/// `talktrace analyze --jsonl`: one compact JSON line per recording, for engines that pipe
/// records through a command (Spark's `RDD.pipe`, Ray Data's `map_batches`, Dask's `map`):
/// `{"Path":…,"SizeBytes":…,"Analysis":{…}|null,"Error":null|"…"}`, the shape of a shard's
/// `analyses.jsonl` lines. A recording that cannot be analyzed is a line with its `Error`, never
/// a missing line, so the engine's output has exactly one row per input row.
public enum AnalysisLines {
    public struct Line: Sendable {
        public var json: Data
        public var failed: Bool
    }

    /// The line for `path` (an empty path, a missing file, a damaged file: an error line).
    public static func line(path: String, options: AnalysisOptions) -> Line {
        guard !path.isEmpty else { return make(path: path, size: 0, analysis: nil, error: "empty line: no recording path") }
        var st = stat()
        let size = stat(path, &st) == 0 ? Int64(st.st_size) : 0
        do {
            var a = try CallAnalyzer.analyze(path: path, options: options)
            a.recording.path = path
            return make(path: path, size: size, analysis: a, error: nil)
        } catch {
            return make(path: path, size: size, analysis: nil, error: "\(error)")
        }
    }

    /// The line for a recording read from standard input, named `name`.
    public static func standardInput(name: String, options: AnalysisOptions) -> Line {
        do {
            let (a, size) = try analyzeStandardInput(name: name, options: options)
            return make(path: name, size: size, analysis: a, error: nil)
        } catch {
            return make(path: name, size: 0, analysis: nil, error: "\(error)")
        }
    }

    /// Reads standard input to its end into a temporary file, unlinked at once (nothing is left
    /// behind, even after `kill -9`), and analyzes it through `/proc/self/fd/N`, which opens the
    /// unlinked file. A temporary file rather than libsndfile's virtual I/O over the pipe: a WAV
    /// written to a pipe often declares no length (ffmpeg writes 0xFFFFFFFF), and the reader's
    /// checks — truncation from the chunk layout against the file's size, the regular-file check,
    /// libsndfile seeking to the data chunk — all need a file with a size. The cost is one write
    /// of the recording into the page cache (about 1 MB a minute of call audio).
    public static func analyzeStandardInput(name: String, options: AnalysisOptions) throws(AudioInputError) -> (CallAnalysis, Int64) {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("talktrace-stdin-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw AudioInputError(path: name, problem: "cannot make a temporary file for standard input (\(String(cString: strerror(errno))))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var total: Int64 = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw AudioInputError(path: name, problem: "cannot read standard input (\(String(cString: strerror(errno))))") }
            if n == 0 { break }
            var done = 0
            while done < n {
                let w = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + done, n - done) }
                if w < 0 && errno == EINTR { continue }
                if w < 0 { throw AudioInputError(path: name, problem: "cannot write the temporary copy of standard input (\(String(cString: strerror(errno))))") }
                done += w
            }
            total += Int64(n)
        }
        if total == 0 { throw AudioInputError(path: name, problem: "standard input is empty: no recording") }
        let proc = "/proc/self/fd/\(fd)"
        do {
            var a = try CallAnalyzer.analyze(path: proc, options: options)
            a.recording.path = name
            a.recording.contactId = ContactIdInName.find(in: name)
            return (a, total)
        } catch {
            throw AudioInputError(path: name, problem: error.problem)
        }
    }

    static func make(path: String, size: Int64, analysis: CallAnalysis?, error: String?) -> Line {
        let encoder = CallAnalysis.encoder()
        var out = Data("{\"Path\":".utf8) + ((try? encoder.encode(path)) ?? Data("\"\"".utf8))
        out += Data(",\"SizeBytes\":\(size),\"Analysis\":".utf8)
        var failed = error != nil
        if let analysis, let json = try? encoder.encode(analysis) {
            out += json
        } else {
            out += Data("null".utf8)
            failed = true
        }
        out += Data(",\"Error\":".utf8) + (error.flatMap { try? encoder.encode($0) } ?? Data("null".utf8))
        out += Data("}\n".utf8)
        return Line(json: out, failed: failed)
    }
}
