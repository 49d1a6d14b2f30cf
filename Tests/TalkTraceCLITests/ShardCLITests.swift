import Foundation
import Testing
import _TestSupport

/// The cluster contract on the real executable: `manifest`, shards indexed the way AWS Batch,
/// Kubernetes and Slurm index array tasks, a shard killed with SIGKILL half-way and retried, a
/// completed shard retried, then `join` — byte for byte the one-machine `batch`.
/// Nested in `ReliabilityTests` (serialized): these suites start many talktrace processes, and
/// run beside the kill drill they starved it of the CPU its random kill times assume.
extension ReliabilityTests {
    @Suite("Shards on the command line", .serialized)
    struct ShardCLITests {
        typealias R = ReliabilityTests

        static func inputs(_ root: URL, calls: Int, seconds: Double) throws -> (rec: URL, ctr: URL) {
            let rec = root.appendingPathComponent("rec/connect/inst/CallRecordings/2026/03/03")
            try FileManager.default.createDirectory(at: rec, withIntermediateDirectories: true)
            var ctrs = ""
            for i in 0..<calls {
                let id = String(format: "%08x-0000-4000-8000-%012x", i, i)
                let name = "\(id)_20260303T10:\(String(format: "%02d", i % 60))_UTC.wav"
                try R.call(rec.appendingPathComponent(name), seconds: seconds + Double(i % 5), seed: UInt64(i))
                ctrs += #"{"AWSContactTraceRecordFormatVersion":"2017-03-10","ContactId":"\#(id)","InitiationTimestamp":"2026-03-03T10:00:00Z","LastUpdateTimestamp":"2026-03-03T10:30:00Z","Agent":{"AgentInteractionDuration":\#(Int(seconds))},"Recording":{"Location":"b/connect/inst/CallRecordings/2026/03/03/\#(name)"}}"#
            }
            ctrs += #"{"ContactId":"nobody-recorded","InitiationTimestamp":"2026-03-03T10:00:00Z"}{"ContactId":"broken","Channel": VOICE}"#
            try Data("RIFF damaged".utf8).write(to: rec.appendingPathComponent("damaged.wav"))
            let ctr = root.appendingPathComponent("ctr/firehose-1-2026-03-03-10-00-00-x")
            try FileManager.default.createDirectory(at: ctr.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(ctrs.utf8).write(to: ctr)
            return (root.appendingPathComponent("rec"), ctr.deletingLastPathComponent())
        }

        /// Only the given scheduler variables (a test run inside a Slurm or Kubernetes job has its own).
        static func scheduler(_ vars: [String: String]) -> [String: String] {
            var env = ["AWS_BATCH_JOB_ARRAY_INDEX": "", "JOB_COMPLETION_INDEX": "", "SLURM_ARRAY_TASK_ID": "", "SLURM_ARRAY_TASK_MIN": ""]
            for (k, v) in vars { env[k] = v }
            return env
        }

        static let files = ["recordings.jsonl", "contacts.jsonl", "recordings.csv", "talktrace.sqlite"]

        @Test("manifest, 4 shards (index from each scheduler's variable, one killed half-way and retried), join = batch, byte for byte")
        func cluster() throws {
            let root = TestSupport.temporaryDirectory()
            let (rec, ctr) = try Self.inputs(root, calls: 24, seconds: 20)
            let single = root.appendingPathComponent("single")
            let b = try R.run(["batch", rec.path, "--ctr", ctr.path, "--out", single.path, "--quiet"])
            #expect(b.status == 0, "\(b.stderr)")

            let manifest = root.appendingPathComponent("manifest.jsonl")
            let m = try R.run(["manifest", rec.path, "--out", manifest.path])
            #expect(m.status == 0)
            #expect(m.stderr.hasPrefix("talktrace: \(manifest.path): 25 recordings, "))
            let lines = try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 26)
            #expect(lines[0] == "{\"Root\":\"\(rec.path)\",\"TalkTraceManifest\":1}")
            #expect(lines[1].hasPrefix("{\"ModifiedTime\":") && lines[1].contains("\"Path\":\"connect/inst/CallRecordings/2026/03/03/00000000-0000-4000-8000-000000000000_20260303T10:00_UTC.wav\""))

            let out = root.appendingPathComponent("out")
            let shardArgs = ["batch", "--manifest", manifest.path, "--out", out.path, "--quiet", "--jobs", "1"]
            // Shard 1 of 4 (JOB_COMPLETION_INDEX, Kubernetes), killed once it has finished a recording.
            let killed = R.process(shardArgs + ["--shard", "4"], stdoutPath: "/dev/null", stderrPath: "/dev/null",
                                   environment: Self.scheduler(["JOB_COMPLETION_INDEX": "1"]))
            try killed.run()
            let cache = out.appendingPathComponent("shards/1-of-4/.talktrace-cache.jsonl")
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, killed.isRunning {
                if let text = try? String(contentsOf: cache, encoding: .utf8), text.contains("{\"Analysis\"") { break }
                Thread.sleep(forTimeInterval: 0.01)
            }
            #expect(killed.isRunning, "the shard finished before it could be killed")
            kill(killed.processIdentifier, SIGKILL)
            killed.waitUntilExit()
            #expect(killed.terminationReason == .uncaughtSignal)
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("shards/1-of-4/complete.json").path))

            // Shard 0 (AWS Batch), 2 (Slurm, --array=1-4 so task 3 is shard 2), 3 given outright.
            for (env, shard) in [(["AWS_BATCH_JOB_ARRAY_INDEX": "0"], "4"), (["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1"], "4"), ([:], "3/4")] {
                let r = try R.run(shardArgs + ["--shard", shard], environment: Self.scheduler(env))
                #expect(r.status == 0, "\(r.stderr)")
            }
            let final = root.appendingPathComponent("final")
            let early = try R.run(["join", out.path, "--ctr", ctr.path, "--out", final.path])
            #expect(early.status == 1)
            #expect(early.stderr == "talktrace: \(out.path): 1 of 4 shards not complete: 1-of-4 (no complete.json: killed or still running); run it (again), then join\n")
            #expect(!FileManager.default.fileExists(atPath: final.appendingPathComponent("recordings.jsonl").path))

            // The killed shard, retried: resumes from its cache.
            let retried = try R.run(shardArgs + ["--shard", "1/4"])
            #expect(retried.status == 0)
            #expect(retried.stdout.contains(" reused from an earlier run"), "\(retried.stdout)")
            // A completed shard retried rewrites the same bytes.
            let analyses3 = out.appendingPathComponent("shards/3-of-4/analyses.jsonl")
            let before = try Data(contentsOf: analyses3)
            #expect(try R.run(shardArgs + ["--shard", "3/4"]).status == 0)
            #expect(try Data(contentsOf: analyses3) == before)

            let join = try R.run(["join", out.path, "--ctr", ctr.path, "--out", final.path])
            #expect(join.status == 0, "\(join.stderr)")
            #expect(join.stdout.contains("Recordings                25 found: 24 analyzed, 1 failed"))
            #expect(join.stderr.contains("talktrace: \(rec.path)/connect/inst/CallRecordings/2026/03/03/damaged.wav: not a readable audio file"))
            for name in Self.files {
                #expect(try Data(contentsOf: single.appendingPathComponent(name)) == Data(contentsOf: final.appendingPathComponent(name)), "\(name) differs")
            }
            #expect(try ShardTestsSupport.summary(single) == ShardTestsSupport.summary(final))
        }

        @Test("Shard options that do not go together are refused in one line")
        func usage() throws {
            let r = try R.run(["batch", "--shard", "0/2", "--out", "/tmp/x"])
            #expect(r.status != 0)
            #expect(r.stderr.contains("--shard needs --manifest"))
            let c = try R.run(["batch", "--manifest", "/nonexistent.jsonl", "--shard", "0/2", "--ctr", "x", "--out", "/tmp/x"])
            #expect(c.stderr.contains("a shard reads no CTRs: give --ctr to talktrace join"))
            let missing = try R.run(["batch", "--manifest", "/nonexistent.jsonl", "--shard", "0/2", "--out", TestSupport.temporaryDirectory().path])
            #expect(missing.status == 1)
            #expect(missing.stderr == "talktrace: /nonexistent.jsonl: cannot read the manifest (no such file)\n")
            let noIndex = try R.run(["batch", "--manifest", "/nonexistent.jsonl", "--shard", "2", "--out", "/tmp/x"], environment: Self.scheduler([:]))
            #expect(noIndex.stderr == "talktrace: --shard 2: no shard index: give --shard INDEX/2, or run as an array job (AWS_BATCH_JOB_ARRAY_INDEX, JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID)\n")
        }
    }
}

enum ShardTestsSupport {
    /// summary.json without the fields that say how the run went.
    static func summary(_ dir: URL) throws -> Data {
        var s = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as! [String: Any]
        for k in ["WallSeconds", "SpeedTimesRealTime", "Jobs"] { s[k] = nil }
        return try JSONSerialization.data(withJSONObject: s, options: [.sortedKeys])
    }
}
