import Foundation
import GRDB
import Testing
import _TestSupport

/// What the hostile test run broke, each checked on the real executable with real files: write
/// errors, odd file names and files, concurrent batches, leftovers of killed runs, CSV
/// injection, NUL bytes, a recording that crashes the process, and kill -9 at random points.
@Suite("Reliability", .serialized)
struct ReliabilityTests {
    struct Run { var status: Int32; var reason: Process.TerminationReason; var stdout: String; var stderr: String }

    /// Runs talktrace; `stdoutPath`/`stderrPath` redirect its standard output/error to a file
    /// (e.g. /dev/full) through `sh -c 'exec …'`, so no descriptor of this process is handed to
    /// `Process` (Foundation closes a FileHandle it is given, and the handle closes it again:
    /// a double close that hits whatever descriptor reused the number in this test process).
    static func run(_ arguments: [String], stdinPath: String? = nil, stdoutPath: String? = nil, stderrPath: String? = nil,
                    environment: [String: String] = [:]) throws -> Run {
        let p = process(arguments, stdinPath: stdinPath, stdoutPath: stdoutPath, stderrPath: stderrPath, environment: environment)
        let c = try TestSupport.capture(p)
        return Run(status: c.status, reason: c.reason,
                   stdout: String(decoding: c.stdout, as: UTF8.self), stderr: String(decoding: c.stderr, as: UTF8.self))
    }

    static func process(_ arguments: [String], stdinPath: String? = nil, stdoutPath: String? = nil, stderrPath: String? = nil,
                        environment: [String: String] = [:]) -> Process {
        let p = Process()
        func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        var command = "exec " + ([CLITests.executable.path] + arguments).map(quote).joined(separator: " ")
        if let stdinPath { command += " <" + quote(stdinPath) }
        if let stdoutPath { command += " >" + quote(stdoutPath) }
        if let stderrPath { command += " 2>" + quote(stderrPath) }
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        return p
    }

    static let clean = TestSupport.fixture(CLITests.clean)

    /// A short call with talk on both sides (`seconds` long).
    static func call(_ url: URL, seconds: Double = 6, seed: UInt64 = 1) throws {
        var l = TestSupport.silence(seconds), r = TestSupport.silence(seconds)
        TestSupport.addNoise(&l, rms: 0.001, seed: seed); TestSupport.addNoise(&r, rms: 0.001, seed: seed + 1)
        var t = 0.5
        while t + 2 < seconds {
            TestSupport.addSpeechLike(&r, amplitude: 0.3, start: t, end: t + 1.2, seed: seed)
            TestSupport.addSpeechLike(&l, amplitude: 0.25, start: t + 1.5, end: min(seconds, t + 2.6), pitch: 200, seed: seed + 7)
            t += 3
        }
        try TestSupport.writeStereo(url, left: l, right: r)
    }

    func lines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    // MARK: - Write errors

    @Test("A write error is one line on stderr and exit 1, never a trap or a silent exit 0")
    func writeErrors() throws {
        let json = try Self.run(["analyze", Self.clean, "--json"], stdoutPath: "/dev/full")
        #expect(json.status == 1)
        #expect(json.reason == .exit)
        #expect(json.stderr == "talktrace: standard output: cannot write (No space left on device)\n")
        let table = try Self.run(["analyze", Self.clean], stdoutPath: "/dev/full")
        #expect(table.status == 1)
        #expect(table.stderr == "talktrace: standard output: cannot write (No space left on device)\n")
        // Standard error itself full: nothing can be said, but the exit status says it.
        let bad = try Self.run(["analyze", "/nonexistent.wav"], stderrPath: "/dev/full")
        #expect(bad.status == 1)
        #expect(bad.reason == .exit)
    }

    @Test("A full disk during a batch is one line naming the file, exit 1, and no half-written output")
    func fullDisk() throws {
        let root = TestSupport.temporaryDirectory()
        let rec = root.appendingPathComponent("rec")
        try FileManager.default.createDirectory(at: rec, withIntermediateDirectories: true)
        for i in 0..<4 { try Self.call(rec.appendingPathComponent("c\(i).wav"), seconds: 30, seed: UInt64(i)) }
        let out = root.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // A 12 KB file system: the resume cache of four 30 s calls does not fit.
        guard mountTmpfs(out.path, size: "12k") else {
            Issue.record("cannot mount a tmpfs here (needs root): the full-disk case is not checked")
            return
        }
        defer { _ = umount(out.path) }
        let r = try Self.run(["batch", rec.path, "--out", out.path, "--quiet", "--jobs", "1"])
        #expect(r.status == 1)
        #expect(r.reason == .exit)
        let errorLines = r.stderr.split(separator: "\n")
        #expect(errorLines.count == 1)
        #expect(errorLines.first == "talktrace: \(out.path)/.talktrace-cache.jsonl: cannot write (No space left on device)", "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("recordings.jsonl").path))
    }

    func mountTmpfs(_ path: String, size: String) -> Bool {
        mount("tmpfs", path, "tmpfs", 0, "size=\(size)") == 0
    }

    // MARK: - Odd names and files

    @Test("Error lines stay one line and cannot act on the terminal, whatever the file name")
    func sanitized() throws {
        let root = TestSupport.temporaryDirectory()
        let name = root.appendingPathComponent("evil\nname\u{1B}[2J\u{1B}]0;pwned\u{07}.wav")
        try Data("RIFF junk".utf8).write(to: name)
        let r = try Self.run(["analyze", name.path])
        #expect(r.status == 1)
        #expect(r.stderr.split(separator: "\n", omittingEmptySubsequences: false).count == 2)  // one line + final newline
        #expect(!r.stderr.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(r.stderr.contains("evil\\nname\\u{1B}[2J\\u{1B}]0;pwned\\u{7}.wav"))
    }

    @Test("Nothing under the recordings folder is left out: bad names, long paths, broken links and mount points appear")
    func nothingLeftOut() throws {
        let root = TestSupport.temporaryDirectory()
        let rec = root.appendingPathComponent("rec")
        try FileManager.default.createDirectory(at: rec, withIntermediateDirectories: true)
        try Self.call(rec.appendingPathComponent("good.wav"))
        // A name that is not UTF-8.
        var bytes = Array(rec.path.utf8) + Array("/bad-\u{00}".utf8)
        bytes.removeLast()
        bytes += [0xff, 0xfe] + Array(".wav".utf8) + [0]
        let fd = bytes.withUnsafeBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { open($0, O_WRONLY | O_CREAT, 0o644) }
        }
        #expect(fd >= 0)
        close(fd)
        // A path longer than PATH_MAX (4096 bytes), built folder by folder with mkdirat/openat.
        let deep = rec.appendingPathComponent("deep")
        try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
        let segment = String(repeating: "d", count: 200)
        var dfd = open(deep.path, O_RDONLY | O_DIRECTORY)
        for _ in 0..<22 {
            #expect(mkdirat(dfd, segment, 0o755) == 0)
            let next = openat(dfd, segment, O_RDONLY | O_DIRECTORY)
            close(dfd)
            dfd = next
        }
        let staged = root.appendingPathComponent("staged.wav")
        try Self.call(staged)
        #expect(renameat(AT_FDCWD, staged.path, dfd, "long.wav") == 0)
        close(dfd)
        // A symbolic link to nothing.
        #expect(symlink(root.appendingPathComponent("gone.wav").path, rec.appendingPathComponent("broken.wav").path) == 0)
        // A mount point inside the folder.
        let mnt = rec.appendingPathComponent("mnt")
        try FileManager.default.createDirectory(at: mnt, withIntermediateDirectories: true)
        let mounted = mountTmpfs(mnt.path, size: "4m")
        defer { if mounted { _ = umount(mnt.path) } }
        if mounted { try Self.call(mnt.appendingPathComponent("on-mount.wav")) } else { Issue.record("cannot mount a tmpfs here (needs root)") }

        let out = root.appendingPathComponent("out")
        let r = try Self.run(["batch", rec.path, "--out", out.path, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let recs = try lines(out.appendingPathComponent("recordings.jsonl"))
        let byPath = Dictionary(uniqueKeysWithValues: recs.map { ($0["Path"] as! String, $0) })
        #expect(byPath["good.wav"]?["Analysis"] is [String: Any])
        #expect(byPath["bad-\\xff\\xfe.wav"]?["Error"] as? String == "bad-\\xff\\xfe.wav: the file name is not valid UTF-8 (shown with \\xNN escapes): rename the file to analyze it")
        #expect(byPath["broken.wav"]?["Error"] as? String == "broken.wav: symbolic link to a missing file")
        let long = byPath.keys.first { $0.hasSuffix("long.wav") }
        #expect(long != nil)
        #expect((byPath[long ?? ""]?["Error"] as? String)?.contains("longer than the system's limit of 4095") == true)
        if mounted { #expect(byPath["mnt/on-mount.wav"]?["Analysis"] is [String: Any]) }
        #expect(recs.count == (mounted ? 5 : 4))
    }

    @Test("A symbolic link to a FIFO, and a FIFO, are refused at once with what they are")
    func fifo() throws {
        let root = TestSupport.temporaryDirectory()
        let fifo = root.appendingPathComponent("y.wav").path
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(symlink(fifo, root.appendingPathComponent("z.wav").path) == 0)
        let start = Date()
        let a = try Self.run(["analyze", root.appendingPathComponent("z.wav").path])
        #expect(a.status == 1)
        #expect(a.stderr.contains("FIFO"), "\(a.stderr)")
        let out = root.appendingPathComponent("out")
        let rec = root
        let b = try Self.run(["batch", rec.path, "--out", out.path, "--quiet"])
        #expect(b.status == 0)
        let recs = try lines(out.appendingPathComponent("recordings.jsonl"))
        #expect(recs.count == 2)
        #expect(recs.allSatisfy { ($0["Error"] as? String)?.contains("FIFO") == true })
        #expect(Date().timeIntervalSince(start) < 30)
    }

    // MARK: - Output directory

    @Test("A second batch into an output folder in use is refused; leftovers of killed runs are removed")
    func lockAndLeftovers() throws {
        let root = TestSupport.temporaryDirectory()
        let rec = root.appendingPathComponent("rec")
        try FileManager.default.createDirectory(at: rec, withIntermediateDirectories: true)
        try Self.call(rec.appendingPathComponent("a.wav"))
        let out = root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for name in [".recordings.jsonl.tmp-99999", ".talktrace.sqlite.tmp-4242", ".talktrace.sqlite.tmp-4242-journal",
                     ".dat.nosync1a2b.XyZ", ".keep-me", "notes.txt"] {
            try Data("x".utf8).write(to: out.appendingPathComponent(name))
        }
        // Another batch holds the folder (the same lock a running batch takes).
        let lockFD = open(out.appendingPathComponent(".talktrace.lock").path, O_RDWR | O_CREAT, 0o644)
        #expect(flock(lockFD, LOCK_EX) == 0)
        let refused = try Self.run(["batch", rec.path, "--out", out.path, "--quiet"])
        #expect(refused.status == 1)
        #expect(refused.stderr == "talktrace: \(out.path): another talktrace batch is writing into this output directory; wait for it to finish or choose another --out\n")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("recordings.jsonl").path))
        close(lockFD)
        let ok = try Self.run(["batch", rec.path, "--out", out.path, "--quiet"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
        #expect(left == [".keep-me", "notes.txt", ".talktrace.lock", ".talktrace-cache.jsonl", "recordings.jsonl", "contacts.jsonl",
                         "recordings.csv", "talktrace.sqlite", "summary.json"])
    }

    // MARK: - Hostile content

    @Test("CSV cells that a spreadsheet would run as formulas are neutralized; NUL bytes are stored whole in SQLite")
    func injectionAndNUL() throws {
        let root = TestSupport.temporaryDirectory()
        let rec = root.appendingPathComponent("rec")
        try FileManager.default.createDirectory(at: rec, withIntermediateDirectories: true)
        try Self.call(rec.appendingPathComponent("=HYPERLINK(\"http:x\",\"y\").wav"))
        try Self.call(rec.appendingPathComponent("-2+3.wav"))
        try Self.call(rec.appendingPathComponent("@SUM(1).wav"))
        let ctr = root.appendingPathComponent("ctr.json")
        let t = #""InitiationTimestamp":"2026-03-03T10:00:00Z""#
        try Data(#"{"ContactId":"a\u0000b",\#(t)}{"ContactId":"a\u0000c",\#(t)}{"ContactId":"+cmd|x",\#(t),"Recording":{"Location":"b/rec/-2+3.wav"}}"#.utf8).write(to: ctr)
        let out = root.appendingPathComponent("out")
        let r = try Self.run(["batch", rec.path, "--ctr", ctr.path, "--out", out.path, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let csv = try String(contentsOf: out.appendingPathComponent("recordings.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\r\n").dropFirst().map(String.init)
        #expect(rows.contains { $0.hasPrefix("'-2+3.wav,'+cmd|x,location,") })
        #expect(rows.contains { $0.hasPrefix("\"'=HYPERLINK(\"\"http:x\"\",\"\"y\"\").wav\",,,") })
        #expect(rows.contains { $0.hasPrefix("'@SUM(1).wav,,,") })
        // Numbers stay numbers (negative dBFS levels are not neutralized).
        #expect(rows.allSatisfy { $0.contains(",-") })
        let db = try DatabaseQueue(path: out.appendingPathComponent("talktrace.sqlite").path)
        let ids = try db.read { try Row.fetchAll($0, sql: "SELECT hex(contact_id) AS h, length(CAST(contact_id AS BLOB)) AS n FROM contacts ORDER BY h") }
        #expect(ids.map { $0["h"] as String } == ["2B636D647C78", "610062", "610063"])
        #expect(ids.map { $0["n"] as Int } == [6, 3, 3])
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as! [String: Any]
        #expect(summary["Contacts"] as? Int == 3)
        #expect((summary["DatabaseProblems"] as? [Any])?.isEmpty == true)
    }

    // MARK: - Crashes and kills

    @Test("A recording whose analysis crashes the process costs one recording: --resume records it as failed and finishes")
    func poison() throws {
        let root = TestSupport.temporaryDirectory()
        let rec = root.appendingPathComponent("rec")
        try FileManager.default.createDirectory(at: rec, withIntermediateDirectories: true)
        for i in 0..<6 { try Self.call(rec.appendingPathComponent("c\(i).wav"), seed: UInt64(i)) }
        let out = root.appendingPathComponent("out"), clean = root.appendingPathComponent("clean")
        let env = ["TALKTRACE_FAULT_CRASH_ON": "c3.wav"]
        let crashed = try Self.run(["batch", rec.path, "--out", out.path, "--quiet", "--jobs", "1"], environment: env)
        #expect(crashed.reason == .uncaughtSignal)
        #expect(crashed.status == SIGILL || crashed.status == SIGTRAP)
        #expect(crashed.stderr.contains("talktrace: c3.wav: the analysis crashed TalkTrace (a bug: please report it with this file); run the batch again with --resume to record it as failed and go on\n"))
        // Every resume from now on finishes, the crashing file failed with the reason.
        for round in 0..<2 {
            let resumed = try Self.run(["batch", rec.path, "--out", out.path, "--quiet", "--resume"], environment: env)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            // The second resume analyzes nothing: no "0 x real time" in its summary.
            if round == 1 {
                #expect(resumed.stdout.contains("6 found: 5 analyzed, 1 failed (6 reused from the last run)"), "\(resumed.stdout)")
                #expect(resumed.stdout.contains(" h, all reused from the last run, in "), "\(resumed.stdout)")
                #expect(!resumed.stdout.contains("x real time"), "\(resumed.stdout)")
            }
        }
        let recs = try lines(out.appendingPathComponent("recordings.jsonl"))
        #expect(recs.count == 6)
        let failed = recs.filter { !($0["Error"] is NSNull) }
        #expect(failed.map { $0["Path"] as! String } == ["c3.wav"])
        #expect(failed.first?["Error"] as? String == "c3.wav: the analysis crashed TalkTrace in an earlier run (a bug: please report it with this file); not tried again")
        // The others are exactly what an undisturbed run gives.
        let r = try Self.run(["batch", rec.path, "--out", clean.path, "--quiet"])
        #expect(r.status == 0)
        let good = try lines(clean.appendingPathComponent("recordings.jsonl"))
        for (a, b) in zip(recs, good) where a["Path"] as? String != "c3.wav" {
            #expect(NSDictionary(dictionary: a).isEqual(to: b), "\(a["Path"] ?? "")")
        }
    }

    /// Outputs of a batch folder, for comparing runs: the files byte for byte, summary.json without
    /// the fields that depend on how the run went (wall time, speed, reuse), the database's rows.
    func outputs(_ dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in ["recordings.jsonl", "contacts.jsonl", "recordings.csv"] {
            out[name] = try Data(contentsOf: dir.appendingPathComponent(name))
        }
        var summary = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as! [String: Any]
        for k in ["WallSeconds", "SpeedTimesRealTime", "RecordingsReused", "Jobs"] { summary[k] = nil }
        out["summary.json"] = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        let db = try DatabaseQueue(path: dir.appendingPathComponent("talktrace.sqlite").path)
        try db.read { db in
            for table in ["contacts", "recordings", "channel_metrics", "segments", "non_talk", "interruptions", "ctr_problems"] {
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid")
                out["sqlite:" + table] = Data(rows.map(\.description).joined(separator: "\n").utf8)
            }
        }
        return out
    }

    @Test("Drill: a batch killed with SIGKILL at random points and resumed until done equals an uninterrupted run",
          arguments: [false, true])
    func killDrill(poison: Bool) throws {
        let root = TestSupport.temporaryDirectory()
        let rec = root.appendingPathComponent("rec/connect/inst/CallRecordings/2026/03/03")
        try FileManager.default.createDirectory(at: rec, withIntermediateDirectories: true)
        var ctrs = ""
        for i in 0..<24 {
            let id = String(format: "%08x-0000-4000-8000-%012x", i, i)
            try Self.call(rec.appendingPathComponent("\(id)_20260303T10:\(String(format: "%02d", i))_UTC.wav"), seconds: 20, seed: UInt64(i))
            ctrs += #"{"AWSContactTraceRecordFormatVersion":"2017-03-10","ContactId":"\#(id)","InitiationTimestamp":"2026-03-03T10:00:00Z","LastUpdateTimestamp":"2026-03-03T10:30:00Z","Recording":{"Location":"b/connect/inst/CallRecordings/2026/03/03/\#(id)_20260303T10:\#(String(format: "%02d", i))_UTC.wav"}}"#
        }
        ctrs += #"{"ContactId":"broken","Channel": VOICE}"#
        let ctr = root.appendingPathComponent("ctr.json")
        try Data(ctrs.utf8).write(to: ctr)
        let reference = root.appendingPathComponent("reference"), drilled = root.appendingPathComponent("drilled")
        let args = ["batch", root.appendingPathComponent("rec").path, "--ctr", ctr.path, "--quiet"]
        // With a poison recording (its analysis traps), the reference is the crashed run resumed once.
        let env = poison ? ["TALKTRACE_FAULT_CRASH_ON": "0000000d-0000-4000-8000"] : [:]
        let referenceStart = Date()
        let r = try Self.run(args + ["--out", reference.path], environment: env)
        // Kill points are drawn over the time an uninterrupted run takes here, whatever the load.
        let runSeconds = max(0.2, Date().timeIntervalSince(referenceStart))
        if poison {
            #expect(r.reason == .uncaughtSignal)
            let again = try Self.run(args + ["--out", reference.path, "--resume"], environment: env)
            #expect(again.status == 0)
        } else {
            #expect(r.status == 0)
        }
        let expected = try outputs(reference)
        if poison {
            let failed = try lines(reference.appendingPathComponent("recordings.jsonl")).filter { $0["Error"] is String }
            #expect(failed.count == 1)
            #expect((failed.first?["Error"] as? String)?.hasSuffix("the analysis crashed TalkTrace in an earlier run (a bug: please report it with this file); not tried again") == true)
        }

        var generator = TestSupport.Random(seed: 20261130)
        var kills = 0
        var finished = false
        let deadline = Date().addingTimeInterval(240)
        for attempt in 0..<40 where Date() < deadline {
            // After 6 kills, runs go uninterrupted: the drill ends whatever the luck, and no
            // recording can reach the 8 unfinished attempts after which it is failed as a poison
            // (each kill leaves the recordings in flight unfinished, and the next run starts with them).
            let killThisRun = kills < 6
            let p = Self.process(args + ["--out", drilled.path] + (attempt == 0 ? [] : ["--resume"]),
                                 stdoutPath: "/dev/null", stderrPath: "/dev/null", environment: env)
            try p.run()
            // Kill somewhere in the first 40 % of what an uninterrupted run needs: each run then
            // finishes a few recordings at most, so there are several kills before the end.
            let delay = Double(generator.next() % 1000) / 1000 * 0.4 * runSeconds
            Thread.sleep(forTimeInterval: delay)
            if killThisRun && p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                if p.terminationReason == .uncaughtSignal { kills += 1; continue }
            }
            p.waitUntilExit()
            // The poison recording's trap ends a run by itself: resume as after a kill.
            if poison && p.terminationReason == .uncaughtSignal && p.terminationStatus != SIGKILL { continue }
            #expect(p.terminationStatus == 0)
            finished = true
            break
        }
        #expect(finished)
        #expect(kills >= 3, "only \(kills) kills landed: the drill did not interrupt the batch")
        let got = try outputs(drilled)
        for (name, data) in expected {
            #expect(got[name] == data, "\(name) differs after \(kills) kills and resumes")
        }
    }
}
