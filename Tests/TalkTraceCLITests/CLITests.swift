import Foundation
import Testing
import _TestSupport

/// The `talktrace` executable end to end: real process, real files, output parsed and checked.
@Suite("Command line", .serialized)
struct CLITests {
    struct Run { var status: Int32; var stdout: String; var stderr: String }

    static var executable: URL {
        // The test bundle sits beside the products in .build/<triple>/<configuration>/.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("talktrace")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.appendingPathComponent("talktrace")
    }

    func run(_ arguments: [String]) throws -> Run {
        let p = Process()
        p.executableURL = Self.executable
        p.arguments = arguments
        let c = try TestSupport.capture(p)
        return Run(status: c.status, stdout: String(decoding: c.stdout, as: UTF8.self), stderr: String(decoding: c.stderr, as: UTF8.self))
    }

    static let clean = "recordings/connect/demo-instance/CallRecordings/2026/03/03/6beda5ed-5df4-42a1-b9b8-0364221dca9b_20260303T10:15_UTC.wav"

    @Test("analyze --json prints exactly one analysis object that matches the fixture's truth")
    func analyzeJSON() throws {
        let r = try run(["analyze", TestSupport.fixture(Self.clean), "--json"])
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(Set(object.keys).isSuperset(of: ["Recording", "Agent", "Customer", "Conversation", "Quality"]))
        let rec = object["Recording"] as! [String: Any]
        #expect(rec["ContactId"] as? String == "6beda5ed-5df4-42a1-b9b8-0364221dca9b")
        #expect(rec["DurationSeconds"] as? Double == 42.3)
        #expect(rec["SampleRate"] as? Int == 8000)
        #expect(rec["Channels"] as? Int == 2)
        #expect(rec["AgentChannel"] as? String == "right")
        #expect(rec["Location"] is NSNull)
        let truth = (try TestSupport.truth()["calls"] as! [String: [String: Any]])[Self.clean]!
        for who in ["Agent", "Customer"] {
            let ch = object[who] as! [String: Any]
            let segments = ch["Segments"] as! [[Double]]
            let expected = (truth[who.lowercased()] as! [String: Any])
            let f1 = TestSupport.frameF1(segments, expected["segments"] as! [[Double]], duration: 42.3)
            #expect(f1 > 0.98, "\(who) F1 \(f1)")
            #expect(abs((ch["TalkSeconds"] as! Double) - (expected["talkSeconds"] as! Double)) < 0.5)
        }
        let conv = object["Conversation"] as! [String: Any]
        let interruptions = conv["Interruptions"] as! [String: Any]
        #expect(interruptions["Total"] as? Int == 2)
        #expect(interruptions["ByAgent"] as? Int == 1)
        #expect(interruptions["ByCustomer"] as? Int == 1)
        let nonTalk = conv["NonTalk"] as! [String: Any]
        #expect(nonTalk["TotalSeconds"] is Double)
        #expect(nonTalk["Instances"] is [Any])
    }

    @Test("analyze prints the summary tables with m:ss durations")
    func analyzeTable() throws {
        let r = try run(["analyze", TestSupport.fixture(Self.clean)])
        #expect(r.status == 0)
        #expect(r.stdout.contains("0:42 (42.3 s), 8000 Hz, 2 channels, pcm_s16"))
        #expect(r.stdout.contains("agent = right channel, customer = left channel"))
        let talk = r.stdout.split(separator: "\n").first { $0.hasPrefix("Talk time") }
        #expect(talk?.split(separator: " ", omittingEmptySubsequences: true).suffix(2) == ["0:20", "0:14"])
        #expect(r.stdout.contains("Interruptions       2 (agent 1, customer 1)"))
        // A clean call: the quality section says in one line that nothing was found.
        #expect(r.stdout.contains("Quality               nothing found (echo, sidetone, background speech"))
        // The echo call: what was found, with its level and delay (the generator put the echo
        // 25 dB down at 40 ms: measured 26 dB), and nothing it does not have.
        let echo = try run(["analyze", TestSupport.fixture("recordings/connect/demo-instance/CallRecordings/2026/03/03/b9c8f9c2-6f22-4437-9aa7-3138368779c7_20260303T10:27_UTC.wav")])
        #expect(echo.status == 0)
        #expect(echo.stdout.contains("\nQuality\n  Echo                agent's voice in the customer channel, 26 dB down, 40 ms\n"), "\(echo.stdout)")
        #expect(echo.stdout.contains("  Sidetone            customer's voice in the agent channel, "))
        #expect(!echo.stdout.contains("Background speech") && !echo.stdout.contains("Music on hold"))
    }

    @Test("--agent-channel left swaps who is who")
    func agentLeft() throws {
        let r = try run(["analyze", TestSupport.fixture("formats/agent-left.wav"), "--json", "--agent-channel", "left"])
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect((object["Recording"] as! [String: Any])["AgentChannel"] as? String == "left")
        let agent = (object["Agent"] as! [String: Any])["TalkSeconds"] as! Double
        #expect(abs(agent - 9.791) < 0.4)
    }

    @Test("Bad input: one line on stderr naming the file, exit status 1, nothing on stdout",
          arguments: ["bad/not-audio.wav", "bad/empty.wav", "bad/truncated.wav", "bad/mono.wav", "bad/three-channel.wav", "bad/nope.wav"])
    func badInput(_ file: String) throws {
        let path = TestSupport.fixture(file)
        let r = try run(["analyze", path, "--json"])
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("talktrace: \(path): ") == true)
    }

    @Test("A symbolic link to a FIFO (it hung for ever) and a poison float sample (it trapped): exact outcomes, no hang")
    func hostileInputs() throws {
        let dir = TestSupport.temporaryDirectory()
        let fifo = dir.appendingPathComponent("y.wav").path, link = dir.appendingPathComponent("z.wav").path
        #expect(mkfifo(fifo, 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "y.wav")
        let start = Date()
        let r = try run(["analyze", link])
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(r.status == 1)
        #expect(r.stderr == "talktrace: \(link): is a FIFO (named pipe), not a recording (through a symbolic link)\n")

        // 3 s of float noise, one sample of 1e20 on the customer (left) channel.
        var left = TestSupport.silence(3), right = TestSupport.silence(3)
        TestSupport.addNoise(&left, rms: 0.1, seed: 1)
        TestSupport.addNoise(&right, rms: 0.1, seed: 2)
        left[12000] = 1e20
        let poison = dir.appendingPathComponent("p.wav")
        try TestSupport.writeStereo(poison, left: left, right: right, encoding: 0x0006)  // SF_FORMAT_FLOAT
        let p = try run(["analyze", poison.path, "--json"])
        #expect(p.status == 0, "\(p.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(p.stdout.utf8)) as! [String: Any]
        let levels = (object["Customer"] as! [String: Any])["Levels"] as! [String: Any]
        #expect(levels["PeakDbfs"] as? Double == 30)
    }

    @Test("--help explains options with units and defaults")
    func help() throws {
        let top = try run(["--help"])
        #expect(top.stdout.contains("analyze") && top.stdout.contains("batch"))
        #expect(top.stdout.contains("dBFS"))
        let batch = try run(["batch", "--help"])
        #expect(batch.stdout.contains("--jobs"))
        #expect(batch.stdout.contains("--resume"))
        #expect(batch.stdout.contains("default"))
        let analyze = try run(["analyze", "--help"])
        #expect(analyze.stdout.contains("--agent-channel <left|right>"))
        #expect(analyze.stdout.contains("default: right"))
    }

    @Test("batch on TestAudio: every recording and CTR accounted for, as ctr-expectations.json says")
    func batch() throws {
        let out = TestSupport.temporaryDirectory()
        let r = try run(["batch", TestSupport.fixture("recordings"), "--ctr", TestSupport.fixture("ctr"), "--out", out.path, "--jobs", "2"])
        #expect(r.status == 0)
        let expect = try JSONSerialization.jsonObject(with: Data(contentsOf: TestSupport.testAudio.appendingPathComponent("ctr-expectations.json"))) as! [String: Any]
        let contacts = expect["contacts"] as! [String: [String: Any]]

        let lines = try String(contentsOf: out.appendingPathComponent("recordings.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(lines.count == 8)
        for (id, c) in contacts {
            guard let rec = c["recording"] as? String else { continue }
            let line = try #require(lines.first { $0["Path"] as? String == rec }, "\(rec)")
            #expect(line["ContactId"] as? String == id)
            #expect(line["MatchedBy"] as? String == c["matchBy"] as? String, "\(rec)")
        }
        for orphan in expect["orphanRecordings"] as! [String] {
            let line = try #require(lines.first { $0["Path"] as? String == orphan })
            #expect(line["ContactId"] is NSNull)
            #expect(line["Analysis"] is [String: Any])
        }
        for corrupt in expect["corruptRecordings"] as! [String] {
            let line = try #require(lines.first { $0["Path"] as? String == corrupt })
            #expect((line["Error"] as? String)?.contains("truncated") == true)
        }

        let ctrs = try String(contentsOf: out.appendingPathComponent("contacts.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(Set(ctrs.map { $0["ContactId"] as! String }) == Set(expect["expectedContactIds"] as! [String]))
        let byId = Dictionary(uniqueKeysWithValues: ctrs.map { ($0["ContactId"] as! String, $0) })
        for id in expect["ctrsWithoutRecording"] as! [String] {
            #expect((byId[id]?["RecordingAnalysis"] as? [Any])?.isEmpty == true)
        }
        let dup = (expect["duplicates"] as! [[String: Any]])[0]
        let kept = byId[dup["contactId"] as! String]!
        #expect(kept["LastUpdateTimestamp"] as? String == (dup["kept"] as! [String: Any])["LastUpdateTimestamp"] as? String)
        let unknown = expect["unknownFieldsKeptVerbatim"] as! [String: Any]
        let withUnknown = byId[unknown["contactId"] as! String]!
        for (field, value) in unknown["fields"] as! [String: Any] {
            #expect(NSDictionary(dictionary: [field: withUnknown[field] as Any]).isEqual(to: [field: value]), "\(field)")
        }

        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as! [String: Any]
        #expect(summary["CtrRecordsRead"] as? Int == expect["rawRecordsRead"] as? Int)
        #expect(summary["Contacts"] as? Int == expect["recordsAfterDedup"] as? Int)
        let problems = summary["CtrProblems"] as! [[String: Any]]
        let malformed = expect["malformed"] as! [String: Any]
        #expect(problems.count == 1)
        #expect(problems.first?["Offset"] as? Int == malformed["byteOffset"] as? Int)
        #expect((problems.first?["File"] as? String)?.hasSuffix(malformed["file"] as! String) == true)
        #expect(r.stdout.contains("8 found: 7 analyzed, 1 failed"))
        #expect(r.stderr.contains("@ byte \(malformed["byteOffset"] as! Int)"))
    }

    @Test("--plot writes the timeline (SVG; PNG when rsvg-convert is there) and batch --report writes report.html")
    func plotAndReport() throws {
        let dir = TestSupport.temporaryDirectory()
        let svg = dir.appendingPathComponent("call.svg")
        let r = try run(["analyze", TestSupport.fixture(Self.clean), "--plot", svg.path])
        #expect(r.status == 0)
        let text = try String(contentsOf: svg, encoding: .utf8)
        #expect(text.hasPrefix("<svg"))
        #expect(text.contains("6beda5ed-5df4-42a1-b9b8-0364221dca9b_20260303T10:15_UTC.wav"))
        let bad = try run(["analyze", TestSupport.fixture(Self.clean), "--plot", dir.appendingPathComponent("x.gif").path])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains(".svg or .png"))
        let out = dir.appendingPathComponent("out")
        let b = try run(["batch", TestSupport.fixture("recordings"), "--ctr", TestSupport.fixture("ctr"), "--out", out.path, "--report", "--quiet"])
        #expect(b.status == 0)
        #expect(b.stdout.contains("summary.json, report.html}"))  // the summary lists every file written
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("ivr-leg 10:20 export.wav"))
        #expect(html.contains("TalkTrace batch report"))
    }
}
