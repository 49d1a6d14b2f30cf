import Foundation
import TalkTraceAudio

/// Where one analysis is in a shard's analyses.jsonl: what the join keeps of it (about 60 bytes)
/// instead of the decoded analysis, so a join's memory does not grow with the analyses' size.
public struct StoredAnalysis: Sendable {
    /// Index into `ShardAnalyses`' files.
    var file: Int32
    /// The analysis object's bytes in that file.
    var offset: Int64
    var length: Int32
    /// Within them, the values of `Recording.Path`, `.Location` and `.ContactId`: the members the
    /// join sets (the shard could not know the CTRs), in the order they appear.
    var members: (Int32, Int32, Int32, Int32, Int32, Int32)
    var durationSeconds: Double
}

/// The shards' analyses.jsonl files, open for reading back one analysis at a time while the
/// outputs are written. An analysis's bytes go into the outputs verbatim but for the three
/// members the join sets, which are spliced in: the same bytes the encoder writes for the
/// analysis with them set, as a one-machine batch writes it.
public final class ShardAnalyses: @unchecked Sendable {
    let paths: [String]
    private let fds: [Int32]

    init(paths: [String], fds: [Int32]) {
        self.paths = paths
        self.fds = fds
    }

    deinit { for fd in fds { close(fd) } }

    /// The analysis as it was written by the shard.
    func raw(_ s: StoredAnalysis) throws(PipelineError) -> [UInt8] {
        let fd = fds[Int(s.file)]
        let length = Int(s.length)
        var done = 0, failed: Int32 = 0
        // Not zero-filled first: every byte is read into (or the read fails).
        let bytes = [UInt8](unsafeUninitializedCapacity: length) { b, count in
            while done < length {
                let r = pread(fd, b.baseAddress! + done, length - done, off_t(s.offset) + off_t(done))
                if r < 0 && errno == EINTR { continue }
                if r < 0 { failed = errno }
                if r <= 0 { break }
                done += r
            }
            count = length
        }
        guard done == length else {
            throw PipelineError("\(paths[Int(s.file)]): cannot read back the analysis at byte \(s.offset) (\(failed != 0 ? String(cString: strerror(failed)) : "file shortened"))")
        }
        return bytes
    }

    /// `s` as a JSON string, exactly as `AnalysisJSONEncoder` writes one (its `writeString`, not
    /// public there: `"` and `\\` escaped, the short escapes for \b \f \n \r \t, \u00XX for the
    /// other control characters, everything else as its UTF-8 bytes; a test holds the two equal).
    /// The encoder itself costs a 64 KB buffer per call: most of a splice.
    static func jsonString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        // Most strings (paths, contact IDs, locations) need no escape: copied whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c }) {
            out.append(contentsOf: s.utf8)
            out.append(0x22)
            return
        }
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(contentsOf: [0x5c, 0x22])
            case 0x5c: out.append(contentsOf: [0x5c, 0x5c])
            case 0x0a: out.append(contentsOf: [0x5c, 0x6e])
            case 0x0d: out.append(contentsOf: [0x5c, 0x72])
            case 0x09: out.append(contentsOf: [0x5c, 0x74])
            case 0x08: out.append(contentsOf: [0x5c, 0x62])
            case 0x0c: out.append(contentsOf: [0x5c, 0x66])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5c, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }

    /// The analysis with `Recording.Path`, `.Location` and `.ContactId` set.
    func json(_ s: StoredAnalysis, path: String, match: RecordingMatcher.Match?, encoder: AnalysisJSONEncoder) throws(PipelineError) -> Data {
        let raw = try raw(s)
        func text(_ v: String?) -> [UInt8] {
            guard let v else { return Array("null".utf8) }
            var out: [UInt8] = []
            Self.jsonString(v, into: &out)
            return out
        }
        // The ranges are (ContactId, Location, Path) by name; the shard wrote them in key order,
        // but they are put back in whatever order the file has them.
        let m = s.members
        var ranges = [(Int(m.0), Int(m.1), 0), (Int(m.2), Int(m.3), 1), (Int(m.4), Int(m.5), 2)]
        ranges.sort { $0.0 < $1.0 }
        var out = Data()
        out.reserveCapacity(raw.count + 256)
        raw.withUnsafeBytes { raw in
            // (Copied as raw bytes: appending an array slice to Data went byte by byte.)
            var at = 0
            for (start, end, which) in ranges {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[at..<start]))
                out.append(contentsOf: which == 0 ? text(match?.contactId) : which == 1 ? text(match?.location) : text(path))
                at = end
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[at...]))
        }
        return out
    }
}

/// One line of a shard's analyses.jsonl, checked but not decoded:
/// `{"Path":…,"SizeBytes":…,"Analysis":{…}|null,"Error":null|"…"}`.
struct ShardLine {
    var path: String
    var sizeBytes: Int64
    var error: String?
    /// The analysis object's range in the line, and its Recording's Path, Location and ContactId
    /// value ranges (relative to the analysis) and duration.
    var analysis: Range<Int>?
    var members: (Int32, Int32, Int32, Int32, Int32, Int32) = (0, 0, 0, 0, 0, 0)
    var durationSeconds = 0.0

    typealias Reader = StrictJSONReader
    typealias Failure = StrictJSONReader.Failure

    static func read(_ line: UnsafeRawBufferPointer) throws(Failure) -> ShardLine {
        var r = Reader(line)
        var path: String?, size: Int?, error: String?, sawError = false
        var analysis: Range<Int>?, sawAnalysis = false
        var recording: (path: Range<Int>?, location: Range<Int>?, contactId: Range<Int>?, duration: Double?) = (nil, nil, nil, nil)
        try r.object { (r: inout Reader, k: Range<Int>) throws(Failure) in
            if r.key(k, is: "Path") { path = try r.string() }
            else if r.key(k, is: "SizeBytes") { size = try r.int() }
            else if r.key(k, is: "Error") { sawError = true; error = try r.optionalString() }
            else if r.key(k, is: "Analysis") {
                sawAnalysis = true
                if try r.null() { return }
                r.space()
                let start = r.i
                try r.object(depth: 1) { (r: inout Reader, k: Range<Int>) throws(Failure) in
                    guard r.key(k, is: "Recording") else { try r.skip(depth: 2); return }
                    try r.object(depth: 2) { (r: inout Reader, k: Range<Int>) throws(Failure) in
                        if r.key(k, is: "Path") { recording.path = try r.valueRange() }
                        else if r.key(k, is: "Location") { recording.location = try r.valueRange() }
                        else if r.key(k, is: "ContactId") { recording.contactId = try r.valueRange() }
                        else if r.key(k, is: "DurationSeconds") { recording.duration = try r.double() }
                        else { try r.skip(depth: 3) }
                    }
                }
                analysis = start..<r.i
            } else {
                throw Failure(offset: k.lowerBound, problem: "unknown member")
            }
        }
        try r.finish()
        guard let path, let size, sawError, sawAnalysis else { throw Failure(offset: 0, problem: "a member is missing (Path, SizeBytes, Analysis, Error)") }
        var out = ShardLine(path: path, sizeBytes: Int64(size), error: error, analysis: analysis)
        if let analysis {
            guard let p = recording.path, let l = recording.location, let c = recording.contactId, let d = recording.duration else {
                throw Failure(offset: analysis.lowerBound, problem: "its Recording lacks Path, Location, ContactId or DurationSeconds")
            }
            guard analysis.count < Int(Int32.max) else {
                throw Failure(offset: analysis.lowerBound, problem: "an analysis of \(analysis.count) bytes, over the 2 GB the join takes")
            }
            let base = analysis.lowerBound
            func rel(_ x: Int) -> Int32 { Int32(x - base) }
            out.members = (rel(c.lowerBound), rel(c.upperBound), rel(l.lowerBound), rel(l.upperBound), rel(p.lowerBound), rel(p.upperBound))
            out.durationSeconds = d
        }
        return out
    }
}
