import Foundation
import TalkTraceAudio

/// The shards under `OUT/`, checked before anything is joined: every shard of the manifest is
/// there, complete (its marker written last says so), made from this manifest, with this shard
/// count, and holds exactly its share. Anything else is one line naming what is wrong, and the
/// join does not run: a join never silently drops a recording.
enum ShardSet {
    struct Loaded {
        var manifest: Manifest
        var count: Int
        /// Every manifest entry, in manifest order, and where its analysis is or its error.
        var recordings: [RecordingFile]
        var entries: [Join.Outcome]
        var analyses: ShardAnalyses
    }

    static func load(_ out: String) throws(PipelineError) -> Loaded {
        let manifestPath = (out as NSString).appendingPathComponent(Shard.manifestName)
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            throw PipelineError("\(out): no \(Shard.manifestName): no shard has run into this folder (talktrace batch --manifest M --shard INDEX/COUNT --out \(out))")
        }
        let manifest = try Manifest.read(manifestPath)
        let shardsDir = (out as NSString).appendingPathComponent(Shard.folderName)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: shardsDir)) ?? []
        var counts: [Int: [String]] = [:]
        for name in names.sorted() where !name.hasPrefix(".") {
            let parts = name.components(separatedBy: "-of-")
            guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), i >= 0, i < n else {
                throw PipelineError("\(shardsDir)/\(name): not a shard folder (INDEX-of-COUNT): remove it")
            }
            counts[n, default: []].append(name)
        }
        guard !counts.isEmpty else { throw PipelineError("\(shardsDir): no shard folders: run the shards first") }
        if counts.count > 1 {
            let list = counts.keys.sorted().map { "COUNT \($0) (\(counts[$0]!.prefix(3).joined(separator: ", "))\(counts[$0]!.count > 3 ? ", …" : ""))" }
            throw PipelineError("\(shardsDir): shards of different counts: \(list.joined(separator: " and ")); a manifest is split one way: remove the folders of the stale count")
        }
        let count = counts.keys.first!
        let decoder = CallAnalysis.decoder()
        var missing: [String] = []
        var markers: [Shard.Marker?] = []
        for i in 0..<count {
            let spec = ShardSpec(index: i, count: count)
            let dir = Shard.folder(out, spec)
            let markerPath = (dir as NSString).appendingPathComponent(Shard.markerName)
            guard FileManager.default.fileExists(atPath: dir) else {
                missing.append("\(spec.folderName) (no folder: never ran)")
                markers.append(nil)
                continue
            }
            guard let data = FileManager.default.contents(atPath: markerPath) else {
                missing.append("\(spec.folderName) (no \(Shard.markerName): killed or still running)")
                markers.append(nil)
                continue
            }
            guard let marker = try? decoder.decode(Shard.Marker.self, from: data) else {
                throw PipelineError("\(markerPath): not a completion marker (damaged): run shard \(spec) again")
            }
            markers.append(marker)
        }
        if !missing.isEmpty {
            throw PipelineError("\(out): \(missing.count) of \(count) shards not complete: \(missing.joined(separator: ", ")); run \(missing.count == 1 ? "it" : "them") (again), then join")
        }
        let assignment = manifest.assignment(count: count)
        var shares = [[Int]](repeating: [], count: count)
        for (k, shard) in assignment.enumerated() where shard >= 0 { shares[shard].append(k) }
        var entries = [Join.Outcome](repeating: .missing, count: manifest.entries.count)
        var paths: [String] = [], fds: [Int32] = []
        defer { if fds.count < count { for fd in fds { close(fd) } } }
        for i in 0..<count {
            let marker = markers[i]!
            let spec = ShardSpec(index: i, count: count)
            let dir = Shard.folder(out, spec)
            if marker.manifestId != manifest.id {
                throw PipelineError("\(dir): made from another manifest (id \(marker.manifestId); \(manifestPath) is \(manifest.id)): run shard \(spec) again with this manifest")
            }
            if marker.index != i || marker.count != count {
                throw PipelineError("\(dir): its marker says shard \(marker.index)/\(marker.count), not \(spec): the folder was moved; run shard \(spec) again")
            }
            let analysesPath = (dir as NSString).appendingPathComponent(Shard.analysesName)
            let fd = open(analysesPath, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw PipelineError("\(analysesPath): missing though the shard is marked complete: run shard \(spec) again")
            }
            fds.append(fd)
            paths.append(analysesPath)
            var st = stat()
            let size = fstat(fd, &st) == 0 ? Int64(st.st_size) : -1
            if size != marker.analysesBytes {
                throw PipelineError("\(analysesPath): \(size) bytes, but the shard wrote \(marker.analysesBytes): changed or damaged since; run shard \(spec) again")
            }
            let share = shares[i]
            var k = 0
            // Line by line, a few MB at a time: only each analysis's place is kept, not its bytes.
            try forEachLine(fd: fd, path: analysesPath) { (line, offset) throws(PipelineError) in
                guard k < share.count else {
                    throw PipelineError("\(analysesPath): more lines than the shard's \(share.count) recordings: run shard \(spec) again")
                }
                let e = manifest.entries[share[k]]
                let parsed: ShardLine
                do throws(StrictJSONReader.Failure) { parsed = try ShardLine.read(line) } catch {
                    throw PipelineError("\(analysesPath): line \(k + 1) does not read back as an analysis (\(error.problem) at byte \(error.offset)): run shard \(spec) again")
                }
                guard parsed.path == e.path else {
                    throw PipelineError("\(analysesPath): line \(k + 1) is \(OneLine.sanitize(parsed.path)), but the shard's share has \(e.path) there: run shard \(spec) again")
                }
                if let a = parsed.analysis {
                    entries[share[k]] = .stored(StoredAnalysis(file: Int32(i), offset: offset + Int64(a.lowerBound), length: Int32(a.count),
                                                               members: parsed.members, durationSeconds: parsed.durationSeconds))
                } else {
                    entries[share[k]] = .failed(parsed.error ?? "\(e.path): not analyzed")
                }
                k += 1
            }
            if k != share.count {
                throw PipelineError("\(analysesPath): \(k) recordings, but the shard's share is \(share.count): run shard \(spec) again")
            }
        }
        let root = manifest.root ?? ""
        var recordings: [RecordingFile] = []
        recordings.reserveCapacity(manifest.entries.count)
        for (i, e) in manifest.entries.enumerated() {
            recordings.append(RecordingFile(relativePath: e.path, path: (root as NSString).appendingPathComponent(e.path),
                                            size: e.sizeBytes, modified: e.modifiedTime, problem: e.problem))
            if let p = e.problem { entries[i] = .failed("\(e.path): \(p)") }
        }
        let analyses = ShardAnalyses(paths: paths, fds: fds)
        fds = []
        return Loaded(manifest: manifest, count: count, recordings: recordings, entries: entries, analyses: analyses)
    }

    /// Calls `body` with each non-empty line of the file (newline excluded) and its byte offset,
    /// reading 1 MiB at a time (a longer line grows the buffer).
    static func forEachLine(fd: Int32, path: String, _ body: (UnsafeRawBufferPointer, Int64) throws(PipelineError) -> Void) throws(PipelineError) {
        // Not zero-filled: only what pread wrote is ever read.
        func uninitialized(_ n: Int) -> [UInt8] { [UInt8](unsafeUninitializedCapacity: n) { _, count in count = n } }
        var buffer = uninitialized(1 << 20)
        var filled = 0
        var base: Int64 = 0  // file offset of buffer[0]
        while true {
            if filled == buffer.count {
                var bigger = uninitialized(2 * buffer.count)
                bigger.withUnsafeMutableBytes { b in buffer.withUnsafeBytes { b.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<filled])) } }
                buffer = bigger
            }
            let n = buffer.withUnsafeMutableBytes { b in pread(fd, b.baseAddress! + filled, b.count - filled, off_t(base) + off_t(filled)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw PipelineError("\(path): cannot read (\(String(cString: strerror(errno))))") }
            let atEnd = n == 0
            filled += n
            var start = 0
            var failure: PipelineError?
            buffer.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
                do throws(PipelineError) {
                    var k = 0
                    while k < filled {
                        guard let nl = memchr(b.baseAddress! + k, 0x0a, filled - k) else {
                            k = filled
                            break
                        }
                        let end = b.baseAddress!.distance(to: UnsafeRawPointer(nl))
                        if end > start { try body(UnsafeRawBufferPointer(rebasing: b[start..<end]), base + Int64(start)) }
                        start = end + 1
                        k = start
                    }
                    if atEnd && filled > start {
                        try body(UnsafeRawBufferPointer(rebasing: b[start..<filled]), base + Int64(start))
                        start = filled
                    }
                } catch { failure = error }
            }
            if let failure { throw failure }
            if atEnd { return }
            // Keep the unfinished line at the front.
            if start > 0 {
                buffer.withUnsafeMutableBytes { b in _ = memmove(b.baseAddress!, b.baseAddress! + start, filled - start) }
                filled -= start
                base += Int64(start)
            }
        }
    }
}
