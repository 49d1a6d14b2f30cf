import Foundation
import Testing
@testable import TalkTraceAudio
@testable import TalkTracePipeline
import _TestSupport

/// Manifest → shards → join, in process, against the one-machine batch over the same files.
@Suite("Shards", .serialized)
struct ShardTests {
    /// The batch test's inputs plus calls of several lengths, so every shard gets more than one.
    static func inputs(_ root: URL) throws -> (URL, URL) {
        let (rec, ctr) = try BatchTests.makeInputs(root)
        let more = rec.appendingPathComponent("extra/2026/03/04")
        try FileManager.default.createDirectory(at: more, withIntermediateDirectories: true)
        for k in 0..<5 {
            let seconds = Double(4 + 3 * k)
            var l = TestSupport.silence(seconds), r = TestSupport.silence(seconds)
            TestSupport.addNoise(&l, rms: 0.001, seed: UInt64(10 + k)); TestSupport.addNoise(&r, rms: 0.001, seed: UInt64(20 + k))
            TestSupport.addSpeechLike(&r, amplitude: 0.3, start: 0.5, end: 2.5, seed: UInt64(k + 1))
            TestSupport.addSpeechLike(&l, amplitude: 0.25, start: 2.8, end: seconds - 0.5, pitch: 200, seed: UInt64(k + 3))
            try TestSupport.writeStereo(more.appendingPathComponent("call \(k).wav"), left: l, right: r)
        }
        return (rec, ctr)
    }

    static let outputs = ["recordings.jsonl", "contacts.jsonl", "recordings.csv", "talktrace.sqlite"]

    /// summary.json without what says how it ran (wall time, speed, jobs).
    static func summaryWithoutRun(_ dir: URL) throws -> [String: Any] {
        var s = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as! [String: Any]
        for k in ["WallSeconds", "SpeedTimesRealTime", "Jobs"] { s[k] = nil }
        return s
    }

    func runShards(manifest: String, out: URL, count: Int, jobs: Int = 1) throws {
        for i in 0..<count {
            var o = Shard.Options(manifestPath: manifest, recordingsRoot: nil, shard: ShardSpec(index: i, count: count), outputDirectory: out.path)
            o.jobs = jobs
            _ = try Shard.run(o)
        }
    }

    @Test("n shards joined are byte-identical to a one-machine batch (n = 1, 3, 4)")
    func identical() throws {
        let root = TestSupport.temporaryDirectory()
        let (rec, ctr) = try Self.inputs(root)
        let single = root.appendingPathComponent("single")
        var options = BatchOptions(recordingsDirectory: rec.path, ctrPaths: [ctr.path], outputDirectory: single.path)
        options.jobs = 2
        let result = try BatchRunner.run(options)
        let summary = try OutputFiles.writeAll(result, to: single.path)
        result.outputDirectory?.release()
        #expect(summary.recordingsFound == 9)
        #expect(summary.recordingsFailed == 1)

        let (manifest, _) = try Manifest.make(directory: rec.path)
        let manifestPath = root.appendingPathComponent("manifest.jsonl")
        try manifest.jsonLines().write(to: manifestPath)
        #expect(try Manifest.read(manifestPath.path) == manifest)
        for count in [1, 3, 4] {
            let shards = root.appendingPathComponent("shards-\(count)"), final = root.appendingPathComponent("final-\(count)")
            try runShards(manifest: manifestPath.path, out: shards, count: count)
            let joined = try Join.run(shardsRoot: shards.path, ctrPaths: [ctr.path], outputDirectory: final.path)
            try OutputFiles.writeAll(joined, to: final.path)
            // The join keeps no analysis in memory; the report decodes them from the same bytes.
            #expect(joined.recordings.allSatisfy { $0.analysis == nil } && joined.recordings.filter(\.isAnalyzed).count == 8)
            let decoded = try joined.decodingStoredAnalyses()
            let encoder = CallAnalysis.encoder()
            for i in joined.recordings.indices where joined.recordings[i].isAnalyzed {
                #expect(try decoded.recordings[i].analysis.map { try encoder.encode($0) } == joined.analysisJSON(i, encoder: encoder))
            }
            joined.outputDirectory?.release()
            for name in Self.outputs {
                let a = try Data(contentsOf: single.appendingPathComponent(name)), b = try Data(contentsOf: final.appendingPathComponent(name))
                #expect(a == b, "\(name) differs with \(count) shards")
            }
            #expect(NSDictionary(dictionary: try Self.summaryWithoutRun(single)) == NSDictionary(dictionary: try Self.summaryWithoutRun(final)))
            // Every recording of the manifest is in exactly one shard.
            var lines = 0
            for i in 0..<count {
                let marker = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Shard.folder(shards.path, ShardSpec(index: i, count: count)))
                    .appendingPathComponent(Shard.markerName))) as! [String: Any]
                #expect(marker["ManifestId"] as? String == manifest.id)
                lines += marker["Recordings"] as! Int
            }
            #expect(lines == 9)
        }
    }

    @Test("Shares are balanced by bytes, largest first, and the same on every call")
    func shares() {
        let sizes: [(String, Int64)] = [("a", 100), ("b", 90), ("c", 50), ("d", 40), ("e", 30), ("f", 10)]
        let m = Manifest(entries: sizes.map { Manifest.Entry(path: $0.0, sizeBytes: $0.1, modifiedTime: 1) }
            + [Manifest.Entry(path: "g", sizeBytes: 0, modifiedTime: 0, problem: "not UTF-8")])
        // 100→0, 90→1, 50→1 (90 < 100), 40→0 (100 < 140), 30→0 (140 = 140: lower index), 10→1 (150 < 170).
        #expect(m.share(0, of: 2) == [0, 3, 4])
        #expect(m.share(1, of: 2) == [1, 2, 5])
        #expect(m.assignment(count: 2)[6] == -1)
        #expect(m.share(0, of: 1) == [0, 1, 2, 3, 4, 5])
        #expect(m.share(5, of: 8) == [5])
        #expect(m.share(7, of: 8) == [])
        // Order of the lines does not matter: same entries, same id and shares.
        let shuffled = Manifest(entries: m.entries.reversed())
        #expect(shuffled.id == m.id)
        #expect(shuffled.share(1, of: 2) == [1, 2, 5])
        #expect(Manifest(entries: [Manifest.Entry(path: "a", sizeBytes: 101, modifiedTime: 1)]).id != Manifest(entries: [Manifest.Entry(path: "a", sizeBytes: 100, modifiedTime: 1)]).id)
    }

    @Test("A manifest from an S3 listing: ISO 8601 times, any order; bad lines are one-line errors with the line number")
    func parsing() throws {
        let text = """
            {"Path":"b/2.wav","SizeBytes":20,"ModifiedTime":"2026-03-03T10:15:00.000Z"}
            {"Path":"a/1.wav","SizeBytes":10,"ModifiedTime":1772532900}
            """
        let m = try Manifest.parse(Data(text.utf8), name: "m.jsonl")
        #expect(m.entries.map(\.path) == ["a/1.wav", "b/2.wav"])
        #expect(m.entries[1].modifiedTime == 1772532900)
        #expect(m.root == nil)
        func error(_ s: String) -> String? {
            do { _ = try Manifest.parse(Data(s.utf8), name: "m.jsonl"); return nil } catch { return error.message }
        }
        #expect(error("{\"Path\":\"a.wav\",\"SizeBytes\":1}") == "m.jsonl: line 1: a.wav: no \"ModifiedTime\" (seconds since 1970, or an ISO 8601 time like S3's LastModified)")
        #expect(error("{\"Path\":\"a.wav\",\"SizeBytes\":1,\"ModifiedTime\":1}\n{\"Path\":\"a.wav\",\"SizeBytes\":1,\"ModifiedTime\":1}") == "m.jsonl: line 2: a.wav is listed twice (also line 1)")
        #expect(error("\n[1]") == "m.jsonl: line 2: not a manifest line: {\"Path\":…,\"SizeBytes\":…,\"ModifiedTime\":…} (a JSON object, numbers as numbers)")
        #expect(error("{\"Path\":\"a.wav\",\"SizeBytes\":1,\"ModifiedTime\":\"yesterday\"}") == "m.jsonl: line 1: a.wav: ModifiedTime \"yesterday\" is not an ISO 8601 time")
        #expect(error("{\"Path\":\"../x.wav\",\"SizeBytes\":1,\"ModifiedTime\":1}") == "m.jsonl: line 1: Path ../x.wav must be relative to the recordings root, without \"..\"")
    }

    @Test("The shard index comes from --shard or the array job's variable")
    func shardIndex() throws {
        #expect(try ShardSpec.parse("2/4", environment: [:]) == ShardSpec(index: 2, count: 4))
        #expect(try ShardSpec.parse("4", environment: ["AWS_BATCH_JOB_ARRAY_INDEX": "3"]) == ShardSpec(index: 3, count: 4))
        #expect(try ShardSpec.parse("4", environment: ["JOB_COMPLETION_INDEX": "0"]) == ShardSpec(index: 0, count: 4))
        #expect(try ShardSpec.parse("4", environment: ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1"]) == ShardSpec(index: 3, count: 4))
        func error(_ s: String, _ env: [String: String] = [:]) -> String? {
            do { _ = try ShardSpec.parse(s, environment: env); return nil } catch { return error.message }
        }
        #expect(error("4/4") == "--shard 4/4: index 4 is outside 0…3")
        #expect(error("4") == "--shard 4: no shard index: give --shard INDEX/4, or run as an array job (AWS_BATCH_JOB_ARRAY_INDEX, JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID)")
        #expect(error("4", ["AWS_BATCH_JOB_ARRAY_INDEX": "1", "JOB_COMPLETION_INDEX": "2"]) == "--shard 4: AWS_BATCH_JOB_ARRAY_INDEX says shard 1 but JOB_COMPLETION_INDEX says 2")
        #expect(error("x/4") == "--shard x/4: INDEX must be a whole number")
        #expect(error("0/0") == "--shard 0/0: expected INDEX/COUNT (e.g. 0/4) or COUNT with the index from AWS_BATCH_JOB_ARRAY_INDEX, JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID")
    }

    @Test("A retried shard rewrites the same bytes from its cache; a killed shard is not joined")
    func retry() throws {
        let root = TestSupport.temporaryDirectory()
        let (rec, ctr) = try Self.inputs(root)
        let manifestPath = root.appendingPathComponent("manifest.jsonl")
        try Manifest.make(directory: rec.path).0.jsonLines().write(to: manifestPath)
        let out = root.appendingPathComponent("out")
        try runShards(manifest: manifestPath.path, out: out, count: 2)
        let dir = URL(fileURLWithPath: Shard.folder(out.path, ShardSpec(index: 1, count: 2)))
        let before = try Data(contentsOf: dir.appendingPathComponent(Shard.analysesName))
        let again = try Shard.run(Shard.Options(manifestPath: manifestPath.path, recordingsRoot: nil, shard: ShardSpec(index: 1, count: 2), outputDirectory: out.path))
        #expect(again.reused == again.marker.recordings)
        #expect(try Data(contentsOf: dir.appendingPathComponent(Shard.analysesName)) == before)

        // Half-written: the marker is missing (killed before it was written).
        try FileManager.default.removeItem(at: dir.appendingPathComponent(Shard.markerName))
        let final = root.appendingPathComponent("final")
        #expect(joinError(out, ctr, final) == "\(out.path): 1 of 2 shards not complete: 1-of-2 (no complete.json: killed or still running); run it (again), then join")
        // A shard never started.
        try FileManager.default.removeItem(at: dir)
        #expect(joinError(out, ctr, final) == "\(out.path): 1 of 2 shards not complete: 1-of-2 (no folder: never ran); run it (again), then join")
    }

    func joinError(_ out: URL, _ ctr: URL, _ final: URL) -> String? {
        do {
            let r = try Join.run(shardsRoot: out.path, ctrPaths: [ctr.path], outputDirectory: final.path)
            r.outputDirectory?.release()
            return nil
        } catch { return error.message }
    }

    @Test("Bad input: another manifest's shard, two shard counts, a changed analyses file, a missing recording")
    func badInput() throws {
        let root = TestSupport.temporaryDirectory()
        let (rec, ctr) = try Self.inputs(root)
        let (manifest, _) = try Manifest.make(directory: rec.path)
        let manifestPath = root.appendingPathComponent("manifest.jsonl")
        try manifest.jsonLines().write(to: manifestPath)
        let out = root.appendingPathComponent("out"), final = root.appendingPathComponent("final")
        try runShards(manifest: manifestPath.path, out: out, count: 2)

        // A shard folder from another manifest (one recording fewer), copied in.
        var fewer = manifest
        fewer = Manifest(entries: Array(manifest.entries.dropFirst()), root: manifest.root)
        let otherPath = root.appendingPathComponent("other.jsonl"), otherOut = root.appendingPathComponent("other")
        try fewer.jsonLines().write(to: otherPath)
        try runShards(manifest: otherPath.path, out: otherOut, count: 2)
        let shard0 = Shard.folder(out.path, ShardSpec(index: 0, count: 2))
        try FileManager.default.moveItem(atPath: shard0, toPath: root.path + "/good-shard")
        try FileManager.default.copyItem(atPath: Shard.folder(otherOut.path, ShardSpec(index: 0, count: 2)), toPath: shard0)
        #expect(joinError(out, ctr, final) == "\(shard0): made from another manifest (id \(fewer.id); \(out.path)/manifest.jsonl is \(manifest.id)): run shard 0/2 again with this manifest")
        // And a shard of the other manifest refuses this OUT.
        do {
            _ = try Shard.run(Shard.Options(manifestPath: otherPath.path, recordingsRoot: nil, shard: ShardSpec(index: 1, count: 2), outputDirectory: out.path))
            Issue.record("a shard of another manifest ran into this OUT")
        } catch {
            #expect(error.message == "\(out.path): holds shards of another manifest (\(out.path)/manifest.jsonl is \(manifest.id), \(otherPath.path) is \(fewer.id)): use another --out, or remove it")
        }
        try FileManager.default.removeItem(atPath: shard0)
        try FileManager.default.moveItem(atPath: root.path + "/good-shard", toPath: shard0)

        // Two counts.
        try runShards(manifest: manifestPath.path, out: out, count: 3)
        #expect(joinError(out, ctr, final) == "\(out.path)/shards: shards of different counts: COUNT 2 (0-of-2, 1-of-2) and COUNT 3 (0-of-3, 1-of-3, 2-of-3); a manifest is split one way: remove the folders of the stale count")
        for i in 0..<3 { try FileManager.default.removeItem(atPath: Shard.folder(out.path, ShardSpec(index: i, count: 3))) }

        // analyses.jsonl changed after the marker.
        let analyses = URL(fileURLWithPath: shard0).appendingPathComponent(Shard.analysesName)
        let good = try Data(contentsOf: analyses)
        try good.dropLast(10).write(to: analyses)
        #expect(joinError(out, ctr, final) == "\(analyses.path): \(good.count - 10) bytes, but the shard wrote \(good.count): changed or damaged since; run shard 0/2 again")
        // Damaged inside an analysis, the size unchanged: the strict reader refuses the line.
        let text = String(decoding: good, as: UTF8.self)
        let damaged = text.replacingOccurrences(of: #""Agent":{"#, with: #""Agent":["#)
        #expect(damaged != text && damaged.utf8.count == good.count)
        try Data(damaged.utf8).write(to: analyses)
        let refused = joinError(out, ctr, final) ?? ""
        #expect(refused.hasPrefix("\(analyses.path): line 1 does not read back as an analysis (expected ',' or ']' at byte "), "\(refused)")
        #expect(refused.hasSuffix("): run shard 0/2 again"))
        try good.write(to: analyses)
        #expect(joinError(out, ctr, final) == nil)

        // A manifest naming a file that is not there: that recording fails with a one-line error, nothing dropped.
        var extra = manifest
        extra = Manifest(entries: manifest.entries + [Manifest.Entry(path: "gone/x.wav", sizeBytes: 5, modifiedTime: 1)], root: manifest.root)
        let extraPath = root.appendingPathComponent("extra.jsonl"), extraOut = root.appendingPathComponent("extra-out")
        try extra.jsonLines().write(to: extraPath)
        var errors: [String] = []
        for i in 0..<2 {
            errors += try Shard.run(Shard.Options(manifestPath: extraPath.path, recordingsRoot: nil, shard: ShardSpec(index: i, count: 2), outputDirectory: extraOut.path)).errors
        }
        #expect(errors.contains("gone/x.wav: no such file under \(rec.path) (the manifest names it: is the recordings folder mounted here, and is the manifest current?)"))
        let joined = try Join.run(shardsRoot: extraOut.path, ctrPaths: [ctr.path], outputDirectory: root.appendingPathComponent("extra-final").path)
        #expect(joined.recordings.count == 10)
        #expect(joined.recordings.first { $0.file.relativePath == "gone/x.wav" }?.error?.hasPrefix("gone/x.wav: no such file") == true)
    }
}
