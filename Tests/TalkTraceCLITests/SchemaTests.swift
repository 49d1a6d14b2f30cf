import Foundation
import Testing
import _TestSupport

/// The published schema against every output the real executable writes, validated by Python's
/// `jsonschema` (scripts/validate_outputs.py, "number" read as "a float in the text"); and
/// `analyze --jsonl` as engines that pipe records call it.
/// Nested in `ReliabilityTests` (serialized): these suites start many talktrace processes, and
/// run beside the kill drill they starved it of the CPU its random kill times assume.
extension ReliabilityTests {
    @Suite("Schema and JSON lines", .serialized)
    struct SchemaTests {
        typealias R = ReliabilityTests

        /// Runs `sh -c 'exec talktrace ARGS < stdin'`.
        static func run(_ arguments: [String], stdin: String) throws -> R.Run {
            try R.run(arguments, stdinPath: stdin)
        }

        static func validate(_ schema: URL, _ pairs: [String]) throws -> (Int32, String, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", TestSupport.root.appendingPathComponent("scripts/validate_outputs.py").path, schema.path] + pairs
            let c = try TestSupport.capture(p)
            return (c.status, String(decoding: c.stdout, as: UTF8.self), String(decoding: c.stderr, as: UTF8.self))
        }

        @Test("Every line of every output validates against talktrace schema; floats are written as floats")
        func everyOutput() throws {
            let root = TestSupport.temporaryDirectory()
            let (rec, ctr) = try ReliabilityTests.ShardCLITests.inputs(root, calls: 6, seconds: 12)
            let schema = root.appendingPathComponent("talktrace.schema.json")
            let s = try R.run(["schema"])
            #expect(s.status == 0)
            try Data(s.stdout.utf8).write(to: schema)

            let single = root.appendingPathComponent("single")
            #expect(try R.run(["batch", rec.path, "--ctr", ctr.path, "--out", single.path, "--quiet"]).status == 0)
            let manifest = root.appendingPathComponent("manifest.jsonl"), out = root.appendingPathComponent("out")
            #expect(try R.run(["manifest", rec.path, "--out", manifest.path]).status == 0)
            for i in 0..<2 { #expect(try R.run(["batch", "--manifest", manifest.path, "--shard", "\(i)/2", "--out", out.path, "--quiet"]).status == 0) }
            // analyze --jsonl: paths on standard input, a missing file and an empty line included.
            let files = try FileManager.default.subpathsOfDirectory(atPath: rec.path).filter { $0.hasSuffix(".wav") }.sorted()
            let input = root.appendingPathComponent("paths.txt")
            let paths = files.map { rec.appendingPathComponent($0).path } + ["/nonexistent/x.wav", ""]
            try Data((paths.joined(separator: "\n") + "\n").utf8).write(to: input)
            let jsonl = try Self.run(["analyze", "--jsonl"], stdin: input.path)
            #expect(jsonl.status == 0)
            let lines = jsonl.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(lines.count == paths.count)   // one line per input line, errors included
            let parsed = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            #expect(parsed.map { $0["Path"] as? String } == paths)
            #expect(parsed[paths.count - 2]["Error"] as? String == "/nonexistent/x.wav: no such file")
            #expect(parsed[paths.count - 2]["Analysis"] is NSNull)
            #expect(parsed[paths.count - 1]["Error"] as? String == "empty line: no recording path")
            #expect(parsed.filter { $0["Analysis"] is [String: Any] }.count == 6)
            let jsonlFile = root.appendingPathComponent("analyze.jsonl")
            try Data(jsonl.stdout.utf8).write(to: jsonlFile)
            // analyze - --name: the WAV on standard input.
            let first = rec.appendingPathComponent(files[0])
            let piped = try Self.run(["analyze", "-", "--name", files[0], "--jsonl"], stdin: first.path)
            #expect(piped.status == 0, "\(piped.stderr)")
            let pipedObject = try JSONSerialization.jsonObject(with: Data(piped.stdout.utf8)) as! [String: Any]
            let direct = parsed[0]["Analysis"] as! [String: Any]
            var pipedAnalysis = pipedObject["Analysis"] as! [String: Any]
            #expect((pipedAnalysis["Recording"] as! [String: Any])["Path"] as? String == files[0])
            #expect((pipedAnalysis["Recording"] as! [String: Any])["ContactId"] as? String == "00000000-0000-4000-8000-000000000000")
            #expect(pipedObject["SizeBytes"] as? Int == parsed[0]["SizeBytes"] as? Int)
            // The same figures as the file analyzed by path (only Recording.Path differs).
            var directCopy = direct
            directCopy["Recording"] = nil
            pipedAnalysis["Recording"] = nil
            #expect(NSDictionary(dictionary: directCopy).isEqual(to: pipedAnalysis))
            let pipedFile = root.appendingPathComponent("piped.jsonl")
            try Data(piped.stdout.utf8).write(to: pipedFile)
            let damaged = try Self.run(["analyze", "-", "--name", "damaged.wav", "--jsonl"], stdin: rec.appendingPathComponent("connect/inst/CallRecordings/2026/03/03/damaged.wav").path)
            #expect(damaged.status == 1)
            #expect(damaged.stdout.hasSuffix(#","Analysis":null,"Error":"damaged.wav: not a readable audio file (libsndfile: Format not recognised.)"}"# + "\n"))
            let single1 = try R.run(["analyze", first.path, "--json"])
            let singleFile = root.appendingPathComponent("single.json")
            try Data(single1.stdout.utf8).write(to: singleFile)

            let (status, stdout, stderr) = try Self.validate(schema, [
                "RecordingLine=\(single.path)/recordings.jsonl", "ContactLine=\(single.path)/contacts.jsonl",
                "Summary=\(single.path)/summary.json", "AnalysisLine=\(out.path)/shards/0-of-2/analyses.jsonl",
                "AnalysisLine=\(out.path)/shards/1-of-2/analyses.jsonl", "ShardMarker=\(out.path)/shards/0-of-2/complete.json",
                "ManifestLine=\(manifest.path)", "AnalysisLine=\(jsonlFile.path)", "AnalysisLine=\(pipedFile.path)", "Analysis=\(singleFile.path)",
            ])
            #expect(status == 0, "\(stderr)")
            // 7 recordings, 7 contacts, summary, 7 analyses lines in two shards, marker, 7 manifest
            // entries and its header, 9 analyze --jsonl lines (7 files, a missing one, an empty line),
            // the piped one, analyze --json.
            let expected: Int = 7 + 7 + 1 + 7 + 1 + 8 + 9 + 1 + 1
            #expect(stdout.hasSuffix("\(expected) documents valid\n"), "\(stdout)")
            // An integer where the schema says float is caught (the check is live).
            let bad = root.appendingPathComponent("bad.jsonl")
            let text = try String(contentsOf: single.appendingPathComponent("recordings.jsonl"), encoding: .utf8)
            try Data(text.replacingOccurrences(of: "\"DurationSeconds\":12.0", with: "\"DurationSeconds\":12").utf8).write(to: bad)
            #expect(text.contains("\"DurationSeconds\":12.0"))
            let (badStatus, _, badError) = try Self.validate(schema, ["RecordingLine=\(bad.path)"])
            #expect(badStatus == 1)
            #expect(badError.contains("line 1: RecordingLine at Analysis/Recording/DurationSeconds: 12 is not of type 'number'"), "\(badError)")
        }

        @Test("talktrace schema --athena: one partitioned table per JSON Lines output, columns from the schema")
        func athena() throws {
            let r = try R.run(["schema", "--athena", "--location", "s3://calls-bucket/talktrace/"])
            #expect(r.status == 0)
            let ddl = r.stdout
            #expect(ddl.components(separatedBy: "CREATE EXTERNAL TABLE IF NOT EXISTS").count == 4)
            #expect(ddl.contains("CREATE EXTERNAL TABLE IF NOT EXISTS talktrace.recordings (\n  `path` STRING,\n  `contactid` STRING,\n  `matchedby` STRING,\n  `location` STRING,\n  `sizebytes` BIGINT,\n"))
            #expect(ddl.contains("`crosscheck` STRUCT<`recordingseconds`:DOUBLE,`agentinteractionduration`:DOUBLE,`customerholdduration`:DOUBLE,`differenceseconds`:DOUBLE,`consistent`:BOOLEAN>,"))
            #expect(ddl.contains("`segments`:ARRAY<ARRAY<DOUBLE>>"))
            #expect(ddl.contains("`persecond`:ARRAY<ARRAY<BIGINT>>"))
            #expect(ddl.contains("`backgroundspeech`:STRUCT<`agent`:STRUCT<`detected`:BOOLEAN,`seconds`:DOUBLE,`leveldb`:DOUBLE,`soundwhilelistening`:DOUBLE>"))
            #expect(ddl.contains("PARTITIONED BY (`call_date` STRING)"))
            #expect(ddl.contains("'storage.location.template' = 's3://calls-bucket/talktrace/contacts/call_date=${call_date}/'"))
            #expect(ddl.contains("CREATE EXTERNAL TABLE IF NOT EXISTS talktrace.contacts (\n  `contactid` STRING,\n  `recordinganalysis` ARRAY<STRUCT<`recording`:"))
            // Balanced type brackets in every column.
            for line in ddl.split(separator: "\n") where line.hasPrefix("  `") {
                #expect(line.filter { $0 == "<" }.count == line.filter { $0 == ">" }.count, "\(line.prefix(60))")
            }
        }
    }
}

