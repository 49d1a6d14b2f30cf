import Foundation
import GRDB
import Testing
@testable import TalkTraceAudio
@testable import TalkTracePipeline
import _TestSupport

/// The batch end to end on a directory made in the test: synthetic calls, CTRs in every shape.
@Suite("Batch", .serialized)
struct BatchTests {
    static let idA = "aaaaaaaa-1111-4111-8111-000000000001"
    static let idB = "bbbbbbbb-2222-4222-8222-000000000002"
    static let idOrphan = "cccccccc-3333-4333-8333-000000000003"
    static let idNone = "dddddddd-4444-4444-8444-000000000004"
    static let idBad = "eeeeeeee-5555-4555-8555-000000000005"

    /// Writes recordings and CTRs; returns (recordings dir, ctr dir).
    static func makeInputs(_ root: URL) throws -> (URL, URL) {
        let rec = root.appendingPathComponent("recordings/connect/inst/CallRecordings/2026/03/03")
        try FileManager.default.createDirectory(at: rec, withIntermediateDirectories: true)
        func call(_ name: String, agentAt: Double, customerAt: Double) throws {
            var l = TestSupport.silence(8), r = TestSupport.silence(8)
            TestSupport.addNoise(&l, rms: 0.001, seed: 1); TestSupport.addNoise(&r, rms: 0.001, seed: 2)
            TestSupport.addSpeechLike(&r, amplitude: 0.3, start: agentAt, end: agentAt + 2)
            TestSupport.addSpeechLike(&l, amplitude: 0.3, start: customerAt, end: customerAt + 2, pitch: 200)
            try TestSupport.writeStereo(rec.appendingPathComponent(name), left: l, right: r)
        }
        try call("\(idA)_20260303T10:15_UTC.wav", agentAt: 0.5, customerAt: 3)
        try call("renamed call 10:20.WAV", agentAt: 1, customerAt: 4)     // only B's Location names it
        try call("\(idOrphan)_20260303T10:40_UTC.wav", agentAt: 1, customerAt: 4)
        try Data("RIFF not really".utf8).write(to: rec.appendingPathComponent("\(idBad)_20260303T10:45_UTC.wav"))

        let ctr = root.appendingPathComponent("ctr/2026/03/03/10")
        try FileManager.default.createDirectory(at: ctr, withIntermediateDirectories: true)
        let loc = "bucket/connect/inst/CallRecordings/2026/03/03/"
        let a1 = #"{"InitiationTimestamp":"2026-03-03T10:00:00Z","ContactId":"\#(idA)","LastUpdateTimestamp":"2026-03-03T10:20:00Z","Recordings":[{"Location":"\#(loc)\#(idA)_20260303T10:15_UTC.wav","StorageType":"S3"}],"Agent":{"AgentInteractionDuration":8,"CustomerHoldDuration":0},"Attributes":{"wrapUp":"resolved"}}"#
        let a0 = #"{"InitiationTimestamp":"2026-03-03T10:00:00Z","ContactId":"\#(idA)","LastUpdateTimestamp":"2026-03-03T10:16:00Z","Recordings":[{"Location":"\#(loc)\#(idA)_20260303T10:15_UTC.wav"}]}"#
        let b = #"{"InitiationTimestamp":"2026-03-03T10:00:00Z","ContactId":"\#(idB)","LastUpdateTimestamp":"2026-03-03T10:25:00Z","Recording":{"Location":"\#(loc)renamed call 10:20.WAV"},"Future":{"X":[1,null]}}"#
        let none = #"{"InitiationTimestamp":"2026-03-03T10:00:00Z","ContactId":"\#(idNone)","Recording":null,"Recordings":null,"Agent":null}"#
        let bad = #"{"InitiationTimestamp":"2026-03-03T10:00:00Z","ContactId":"\#(idBad)","Recordings":[{"Location":"\#(loc)\#(idBad)_20260303T10:45_UTC.wav"}]}"#
        let broken = #"{"InitiationTimestamp":"2026-03-03T10:00:00Z","ContactId":"ffffffff-0000-4000-8000-000000000000","Channel": VOICE"}"#
        // Firehose: concatenated, newest copy of A first; the older copy arrives in a later file, gzipped.
        try Data((a1 + broken + b).utf8).write(to: ctr.appendingPathComponent("stream-1-2026-03-03-10-15-00-x"))
        try Data((none + "\n" + bad + "\n").utf8).write(to: ctr.appendingPathComponent("stream-1-2026-03-03-10-16-00-y"))
        let plain = ctr.appendingPathComponent("stream-1-2026-03-03-10-17-00-c")
        try Data(a0.utf8).write(to: plain)
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/sh")
        gz.arguments = ["-c", "gzip -n '\(plain.path)' && mv '\(plain.path).gz' '\(plain.path)'"]
        try gz.run(); gz.waitUntilExit()
        return (root.appendingPathComponent("recordings"), root.appendingPathComponent("ctr"))
    }

    func lines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    @Test("Every recording and every CTR appears, matched, unmatched or failed")
    func endToEnd() throws {
        let root = TestSupport.temporaryDirectory()
        let (rec, ctr) = try Self.makeInputs(root)
        let out = root.appendingPathComponent("out")
        var options = BatchOptions(recordingsDirectory: rec.path, ctrPaths: [ctr.path], outputDirectory: out.path)
        options.jobs = 2
        let result = try BatchRunner.run(options)
        let summary = try OutputFiles.writeAll(result, to: out.path)

        let recs = try lines(out.appendingPathComponent("recordings.jsonl"))
        let byPath = Dictionary(uniqueKeysWithValues: recs.map { ($0["Path"] as! String, $0) })
        let dir = "connect/inst/CallRecordings/2026/03/03/"
        #expect(recs.count == 4)
        #expect(byPath[dir + "\(Self.idA)_20260303T10:15_UTC.wav"]?["MatchedBy"] as? String == "location")
        #expect(byPath[dir + "renamed call 10:20.WAV"]?["ContactId"] as? String == Self.idB)
        #expect(byPath[dir + "\(Self.idOrphan)_20260303T10:40_UTC.wav"]?["ContactId"] is NSNull)
        #expect(byPath[dir + "\(Self.idOrphan)_20260303T10:40_UTC.wav"]?["MatchedBy"] is NSNull)
        let failed = byPath[dir + "\(Self.idBad)_20260303T10:45_UTC.wav"]!
        #expect(failed["ContactId"] as? String == Self.idBad)
        #expect((failed["Error"] as? String)?.contains("not a readable audio file") == true)
        #expect(failed["Analysis"] is NSNull)
        let a = byPath[dir + "\(Self.idA)_20260303T10:15_UTC.wav"]!["Analysis"] as! [String: Any]
        let agent = a["Agent"] as! [String: Any]
        #expect((agent["Segments"] as! [[Double]]).count == 1)
        #expect(abs((agent["TalkSeconds"] as! Double) - 2) < 0.1)
        #expect((a["Recording"] as! [String: Any])["ContactId"] as? String == Self.idA)

        let contacts = try lines(out.appendingPathComponent("contacts.jsonl"))
        let cById = Dictionary(uniqueKeysWithValues: contacts.map { ($0["ContactId"] as! String, $0) })
        #expect(Set(cById.keys) == [Self.idA, Self.idB, Self.idNone, Self.idBad])
        #expect((cById[Self.idA]?["Attributes"] as? [String: Any])?["wrapUp"] as? String == "resolved")
        #expect((cById[Self.idA]?["RecordingAnalysis"] as? [Any])?.count == 1)
        #expect((cById[Self.idB]?["Future"] as? [String: Any]) != nil)
        #expect((cById[Self.idNone]?["RecordingAnalysis"] as? [Any])?.count == 0)
        #expect((cById[Self.idBad]?["RecordingAnalysis"] as? [Any])?.count == 0)

        #expect(summary.recordingsFound == 4)
        #expect(summary.recordingsAnalyzed == 3)
        #expect(summary.recordingsFailed == 1)
        #expect(summary.recordingsUnmatched == 1)
        #expect(summary.ctrRecordsRead == 5)
        #expect(summary.ctrDuplicatesMerged == 1)
        #expect(summary.contacts == 4)
        #expect(summary.contactsWithRecording == 3)   // A, B and the failed one (its recording was found)
        #expect(summary.ctrProblems.count == 1)
        #expect(summary.ctrProblems.first?.offset == a1Length())
        #expect(summary.ctrProblems.first?.file.hasSuffix("stream-1-2026-03-03-10-15-00-x") == true)

        // CSV: header + 4 rows; SQLite: real tables with the same rows.
        let csv = try String(contentsOf: out.appendingPathComponent("recordings.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\r\n").count == 5)
        let db = try DatabaseQueue(path: out.appendingPathComponent("talktrace.sqlite").path)
        let counts: [Int?] = try db.read { db in
            [
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM recordings"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contacts"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM channel_metrics"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM segments s JOIN recordings r USING (recording_id) WHERE r.contact_id = ?", arguments: [Self.idA]),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ctr_problems"),
            ]
        }
        #expect(counts == [4, 4, 6, 2, 1])
        let matchedB: String? = try db.read { db in
            try String.fetchOne(db, sql: "SELECT matched_by FROM recordings WHERE contact_id = ?", arguments: [Self.idB])
        }
        #expect(matchedB == "location")
        // No temporary files left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    func a1Length() -> Int {
        let loc = "bucket/connect/inst/CallRecordings/2026/03/03/"
        return #"{"InitiationTimestamp":"2026-03-03T10:00:00Z","ContactId":"\#(Self.idA)","LastUpdateTimestamp":"2026-03-03T10:20:00Z","Recordings":[{"Location":"\#(loc)\#(Self.idA)_20260303T10:15_UTC.wav","StorageType":"S3"}],"Agent":{"AgentInteractionDuration":8,"CustomerHoldDuration":0},"Attributes":{"wrapUp":"resolved"}}"#.utf8.count
    }

    @Test("--resume reuses finished recordings and produces the same outputs")
    func resume() throws {
        let root = TestSupport.temporaryDirectory()
        let (rec, ctr) = try Self.makeInputs(root)
        let full = root.appendingPathComponent("full"), resumed = root.appendingPathComponent("resumed")
        let fullResult = try BatchRunner.run(BatchOptions(recordingsDirectory: rec.path, ctrPaths: [ctr.path], outputDirectory: full.path))
        try OutputFiles.writeAll(fullResult, to: full.path)
        fullResult.outputDirectory?.release()

        // An interrupted run: only the cache of one finished recording, and a torn last line.
        try FileManager.default.createDirectory(at: resumed, withIntermediateDirectories: true)
        let cache = try String(contentsOf: full.appendingPathComponent(BatchRunner.cacheName), encoding: .utf8)
        let first = cache.split(separator: "\n").first { $0.contains(Self.idA) && $0.hasPrefix("{\"Analysis\"") }!
        try Data((first + "\n{\"Path\":\"torn").utf8).write(to: resumed.appendingPathComponent(BatchRunner.cacheName))
        var options = BatchOptions(recordingsDirectory: rec.path, ctrPaths: [ctr.path], outputDirectory: resumed.path)
        options.resume = true
        let result = try BatchRunner.run(options)
        let summary = try OutputFiles.writeAll(result, to: resumed.path)
        #expect(summary.recordingsReused == 1)
        for name in ["recordings.jsonl", "contacts.jsonl", "recordings.csv"] {
            let a = try Data(contentsOf: full.appendingPathComponent(name)), b = try Data(contentsOf: resumed.appendingPathComponent(name))
            #expect(a == b, "\(name) differs after --resume")
        }
        // A second resume reuses everything.
        result.outputDirectory?.release()
        let again = try BatchRunner.run(options)
        #expect(again.recordings.filter(\.reused).count == 4)
        #expect(try OutputFiles.writeAll(again, to: resumed.path).speedTimesRealTime == 0)  // nothing analyzed by this run
        again.outputDirectory?.release()
        // Another channel map is another result: nothing is reused.
        options.analysis = AnalysisOptions(channelMap: .agentLeft)
        let swapped = try BatchRunner.run(options)
        #expect(swapped.recordings.filter(\.reused).count == 0)
        #expect(swapped.recordings.compactMap(\.analysis).allSatisfy { $0.recording.agentChannel == "left" })
    }

    @Test("--resume keys a symlinked recording by its target: a replaced target is analyzed again, SizeBytes is the target's")
    func resumeSymlink() throws {
        let root = TestSupport.temporaryDirectory()
        let rec = root.appendingPathComponent("rec"), store = root.appendingPathComponent("store")
        try FileManager.default.createDirectory(at: rec, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        func call(_ url: URL, seconds: Double) throws {
            var l = TestSupport.silence(seconds), r = TestSupport.silence(seconds)
            TestSupport.addNoise(&l, rms: 0.001, seed: 1); TestSupport.addNoise(&r, rms: 0.001, seed: 2)
            TestSupport.addSpeechLike(&r, amplitude: 0.3, start: 0.5, end: 2.5)
            try TestSupport.writeStereo(url, left: l, right: r)
        }
        try call(store.appendingPathComponent("a.wav"), seconds: 4)
        try call(store.appendingPathComponent("b.wav"), seconds: 6)
        #expect(symlink(store.appendingPathComponent("a.wav").path, rec.appendingPathComponent("call.wav").path) == 0)
        var options = BatchOptions(recordingsDirectory: rec.path, ctrPaths: [], outputDirectory: root.appendingPathComponent("out").path)
        options.resume = true
        let first = try BatchRunner.run(options)
        first.outputDirectory?.release()
        #expect(first.recordings[0].file.size == 4 * 8000 * 4 + 44)
        #expect(first.recordings[0].analysis?.recording.durationSeconds == 4)
        // The link now points at another recording (same link, same link size).
        unlink(rec.appendingPathComponent("call.wav").path)
        #expect(symlink(store.appendingPathComponent("b.wav").path, rec.appendingPathComponent("call.wav").path) == 0)
        let second = try BatchRunner.run(options)
        #expect(second.recordings[0].reused == false)
        #expect(second.recordings[0].analysis?.recording.durationSeconds == 6)
    }

    @Test("A recording left unfinished by maxAttempts killed runs is failed, not tried again; fewer kills retry it")
    func unfinishedAttempts() throws {
        let dir = TestSupport.temporaryDirectory()
        let file = RecordingFile(relativePath: "a/b.wav", path: "/r/a/b.wav", size: 10, modified: 1.5, device: 1, inode: 2)
        let other = RecordingFile(relativePath: "a/c.wav", path: "/r/a/c.wav", size: 10, modified: 1.5, device: 1, inode: 3)
        let key = AnalysisCache.Key(file, settings: "s"), otherKey = AnalysisCache.Key(other, settings: "s")
        var lines: [UInt8] = []
        for _ in 0..<AnalysisCache.maxAttempts { lines += AnalysisCache.startedLine(key) }
        for _ in 0..<(AnalysisCache.maxAttempts - 1) { lines += AnalysisCache.startedLine(otherKey) }
        let path = dir.appendingPathComponent("cache.jsonl").path
        try Data(lines).write(to: URL(fileURLWithPath: path))
        let loaded = AnalysisCache.load(path)
        guard case .error(let e)? = loaded[key] else { Issue.record("not failed: \(String(describing: loaded[key]))"); return }
        #expect(e == "a/b.wav: the analysis did not finish in \(AnalysisCache.maxAttempts) earlier runs (the process was killed while analyzing it, e.g. out of memory); not tried again")
        #expect(loaded[otherKey] == nil)
        // Another file identity (replaced file) is a new key: tried again.
        #expect(loaded[AnalysisCache.Key(file, settings: "t")] == nil)
    }

    @Test("A missing recordings directory is a clear error")
    func missingDirectory() {
        #expect(throws: PipelineError.self) {
            try BatchRunner.run(BatchOptions(recordingsDirectory: "/nonexistent/recs", ctrPaths: [], outputDirectory: "/tmp/x"))
        }
    }
}
