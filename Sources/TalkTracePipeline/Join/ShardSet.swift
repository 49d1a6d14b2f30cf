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
        /// Every manifest entry, in manifest order, and its analysis or error.
        var recordings: [RecordingFile]
        var entries: [(AnalysisCache.Entry?, Data?)]
    }

    /// Decoded lines, filled from several threads.
    private final class DecodedLines: @unchecked Sendable {
        private var lines: [Line?]
        private let lock = NSLock()
        init(count: Int) { lines = Array(repeating: nil, count: count) }
        func set(_ k: Int, _ line: Line?) { lock.lock(); lines[k] = line; lock.unlock() }
        func get(_ k: Int) -> Line? { lock.lock(); defer { lock.unlock() }; return lines[k] }
    }

    private struct Line: Decodable, @unchecked Sendable {
        var path: String
        var sizeBytes: Int64
        var analysis: CallAnalysis?
        var error: String?
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
        var entries = [(AnalysisCache.Entry?, Data?)](repeating: (nil, nil), count: manifest.entries.count)
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
            guard let data = FileManager.default.contents(atPath: analysesPath) else {
                throw PipelineError("\(analysesPath): missing though the shard is marked complete: run shard \(spec) again")
            }
            if Int64(data.count) != marker.analysesBytes {
                throw PipelineError("\(analysesPath): \(data.count) bytes, but the shard wrote \(marker.analysesBytes): changed or damaged since; run shard \(spec) again")
            }
            let share = assignment.indices.filter { assignment[$0] == i }
            let lines = data.split(separator: 0x0a).filter { !$0.isEmpty }
            guard lines.count <= share.count else {
                throw PipelineError("\(analysesPath): more lines than the shard's \(share.count) recordings: run shard \(spec) again")
            }
            // Decoding is the join's main cost (Foundation's JSONDecoder, about 1 ms an
            // analysis here): every core takes a part.
            let decoded = DecodedLines(count: lines.count)
            DispatchQueue.concurrentPerform(iterations: min(lines.count, max(1, ProcessInfo.processInfo.activeProcessorCount * 4))) { part in
                let decoder = CallAnalysis.decoder()
                let parts = min(lines.count, max(1, ProcessInfo.processInfo.activeProcessorCount * 4))
                var k = part
                while k < lines.count {
                    decoded.set(k, try? decoder.decode(Line.self, from: Data(lines[k])))
                    k += parts
                }
            }
            var k = 0
            for _ in lines {
                guard k < share.count else { break }
                let e = manifest.entries[share[k]]
                guard let line = decoded.get(k) else {
                    throw PipelineError("\(analysesPath): line \(k + 1) does not read back as an analysis: run shard \(spec) again")
                }
                guard line.path == e.path else {
                    throw PipelineError("\(analysesPath): line \(k + 1) is \(line.path), but the shard's share has \(e.path) there: run shard \(spec) again")
                }
                if let a = line.analysis {
                    entries[share[k]] = (.analysis(a), nil)
                } else {
                    entries[share[k]] = (.error(line.error ?? "\(e.path): not analyzed"), nil)
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
            if let p = e.problem { entries[i] = (.error("\(e.path): \(p)"), nil) }
        }
        return Loaded(manifest: manifest, count: count, recordings: recordings, entries: entries)
    }
}
