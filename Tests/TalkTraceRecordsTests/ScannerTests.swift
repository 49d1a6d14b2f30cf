import Foundation
import Testing
@testable import TalkTraceRecords

/// A CTR-shaped record: a ContactId and the fields that make it a CTR.
func ctr(_ id: String, _ extra: String = "") -> String {
    #"{"AWSContactTraceRecordFormatVersion":"2017-03-10","ContactId":"\#(id)","InitiationTimestamp":"2026-03-03T10:00:00Z"\#(extra)}"#
}

func tempDir(_ tag: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tt-\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("CTR ingestion")
struct ScannerTests {
    func ids(_ text: String) -> [String] {
        JSONRecordScanner.scan(Data(text.utf8), want: ContactRecord.wanted).records.compactMap { $0.capture["ContactId"]?.string }
    }

    @Test("One object, an array, JSON Lines and Firehose concatenation")
    func shapes() {
        #expect(ids(#"{"ContactId":"a"}"#) == ["a"])
        #expect(ids(#"[{"ContactId":"a"}, {"ContactId":"b"}]"#) == ["a", "b"])
        #expect(ids("[\n  {\n    \"ContactId\": \"a\"\n  },\n  {\n    \"ContactId\": \"b\"\n  }\n]\n") == ["a", "b"])
        #expect(ids("{\"ContactId\":\"a\"}\n{\"ContactId\":\"b\"}\n") == ["a", "b"])
        #expect(ids(#"{"ContactId":"a","X":{"Y":"}{"}}{"ContactId":"b"}{"ContactId":"c"}"#) == ["a", "b", "c"])
        // Pretty-printed records, concatenated, with NUL padding between them.
        #expect(ids("{\n  \"ContactId\": \"a\"\n}\0\0{\n  \"ContactId\": \"b\"\n}") == ["a", "b"])
        // A UTF-8 byte-order mark before the first record.
        #expect(ids("\u{FEFF}{\"ContactId\":\"a\"}\n{\"ContactId\":\"b\"}") == ["a", "b"])
    }

    @Test("A value missing its quote is reported with its offset; the records around it are read")
    func missingQuote() {
        let good1 = #"{"ContactId":"a","Channel":"VOICE"}"#
        let bad = #"{"ContactId":"b","Channel": VOICE","Queue":{"Name":"q"}}"#
        let good2 = #"{"ContactId":"c","Recordings":[{"Location":"x/y.wav"},{"Location":"x/z.wav"}]}"#
        let (records, damage) = JSONRecordScanner.scan(Data((good1 + bad + good2).utf8), want: ContactRecord.wanted)
        #expect(records.compactMap { $0.capture["ContactId"]?.string } == ["a", "c"])
        #expect(damage.count == 1)
        #expect(damage.first?.offset == good1.utf8.count)
        #expect(damage.first?.length == bad.utf8.count)
        #expect(damage.first?.problem == "invalid JSON at byte \(good1.utf8.count + 28): unexpected 'V' where a value belongs (ContactId b)")
    }

    @Test("A damaged record or a non-object line never takes its valid neighbours with it")
    func damagedNeighbours() {
        // The hostile run's reproducer: C and E used to vanish, and F's trailing comma was copied out.
        let text = "{\"ContactId\":\"A\"}\n{\"ContactId\":\"B\",\"Channel\":\"VO\n{\"ContactId\":\"C\"}\nnull\n{\"ContactId\":\"E\"}\n{\"ContactId\":\"F\",\"Channel\":\"VOICE\",}\n"
        let (records, damage) = JSONRecordScanner.scan(Data(text.utf8), want: ContactRecord.wanted)
        #expect(records.compactMap { $0.capture["ContactId"]?.string } == ["A", "C", "E"])
        #expect(damage.map(\.problem) == [
            "invalid JSON at byte 48: line break inside a string (unterminated string?) (ContactId B)",
            "not a JSON object (null)",
            "invalid JSON at byte 125: expected a member name (a string), found '}' (ContactId F)",
        ])
        // Every byte is a record, a damage or filler between them.
        #expect(damage.map(\.offset) == [18, 67, 90])
        for line in ["123", "\"x\"", "[1,2,3]", "true"] {
            let (r, d) = JSONRecordScanner.scan(Data("{\"ContactId\":\"A\"}\n\(line)\n{\"ContactId\":\"B\"}\n".utf8))
            #expect(r.count == 2, "\(line)")
            #expect(d.count == 1, "\(line)")
        }
        // A record missing its closing brace, followed by records on the next lines.
        let (r2, d2) = JSONRecordScanner.scan(Data("{\"ContactId\":\"A\",\"N\":1\n{\"ContactId\":\"B\"}{\"ContactId\":\"C\"}".utf8), want: ContactRecord.wanted)
        #expect(r2.compactMap { $0.capture["ContactId"]?.string } == ["B", "C"])
        #expect(d2.map(\.problem) == ["invalid JSON at byte 23: expected ',' or '}' after an object member, found '{' (ContactId A)"])
    }

    @Test("The parser is strict: what it accepts is JSON")
    func strict() {
        for bad in [#"{"a":1,}"#, #"{"a":[1,2,]}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":+1}"#, #"{"a":NaN}"#,
                    #"{"a":'x'}"#, #"{a:1}"#, #"{"a":tru}"#, #"{"a":"\x"}"#, #"{"a":"\u12"}"#, "{\"a\":\"\u{01}\"}",
                    "{\"a\":\"\u{FF}\"}".replacingOccurrences(of: "\u{FF}", with: "\\xff"), #"{"a":1 "b":2}"#, #"{"a" 1}"#] {
            let (records, damage) = JSONRecordScanner.scan(Data(bad.utf8))
            #expect(records.isEmpty, "\(bad)")
            #expect(damage.count == 1, "\(bad)")
        }
        // Invalid UTF-8 inside a string.
        let (r, d) = JSONRecordScanner.scan(Data([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]))
        #expect(r.isEmpty && d.first?.problem == "invalid JSON at byte 6: invalid UTF-8 (byte 0xff) in a string")
        for good in [#"{"a":-0.5e+10,"b":[true,false,null],"c":{"d":"\u00e9\ud83d\ude00\n"}}"#, "{}", #"{"":""}"#] {
            #expect(JSONRecordScanner.scan(Data(good.utf8)).records.count == 1, "\(good)")
        }
        // Nesting deeper than the limit is an error, not a stack overflow.
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(JSONRecordScanner.scan(Data(deep.utf8)).damage.first?.problem.contains("nested deeper than 512 levels") == true)
        // Escaped keys are decoded before they are compared.
        let escaped = JSONRecordScanner.scan(Data(#"{"Contact\u0049d":"x"}"#.utf8), want: ContactRecord.wanted)
        #expect(escaped.records.first?.capture["ContactId"]?.string == "x")
    }

    @Test("NUL bytes inside a record and a truncated last record are reported at the error")
    func nulAndTruncation() {
        let text = "{\"ContactId\":\"a\"}{\"ContactId\":\"b\0\"}{\"ContactId\":\"c\",\"Agent\":{"
        let (records, damage) = JSONRecordScanner.scan(Data(text.utf8))
        #expect(records.count == 1)
        #expect(damage.map(\.problem) == [
            "invalid JSON at byte 32: NUL byte inside a string",
            "truncated JSON: the file ends inside the record, 26 bytes in (ContactId c)",
        ])
        #expect(damage.map(\.offset) == [17, 35])
        // A syntax error in the last record is reported where it is, not as a truncation.
        let last = JSONRecordScanner.scan(Data("{\"ContactId\":\"a\"}{\"ContactId\":\"b\",\"N\":1,}".utf8)).damage
        #expect(last.map(\.problem) == ["invalid JSON at byte 40: expected a member name (a string), found '}' (ContactId b)"])
    }

    @Test("Gzip is recognized by its magic bytes and inflated as it streams, members concatenated")
    func gzip() throws {
        let dir = try tempDir("gz")
        let plain = dir.appendingPathComponent("firehose-object")
        try Data((ctr("a") + ctr("b")).utf8).write(to: plain)
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/sh")
        gz.arguments = ["-c", "gzip -c '\(plain.path)' > '\(plain.path)-z'; printf '%s' '\(ctr("c"))' | gzip -c >> '\(plain.path)-z'"]
        try gz.run(); gz.waitUntilExit()
        let data = try Data(contentsOf: URL(fileURLWithPath: plain.path + "-z"))
        #expect(Gzip.isCompressed(data))
        let (inflated, error) = Gzip.decompress(data)
        #expect(error == nil)
        #expect(String(decoding: inflated, as: UTF8.self) == ctr("a") + ctr("b") + ctr("c"))
        // Truncated gzip: what inflated is kept, the damage is named.
        let (partial, damage) = Gzip.decompress(data.prefix(data.count - 30))
        #expect(damage != nil)
        #expect(partial.count < inflated.count)
        let store = try ContactStore(paths: [plain.path + "-z"])
        #expect(store.contacts.map(\.contactId) == ["a", "b", "c"])
    }

    @Test("A small gzip that inflates to a large file streams through bounded memory")
    func gzipBomb() throws {
        let dir = try tempDir("bomb")
        let path = dir.appendingPathComponent("bomb").path
        // 64 MB of spaces after one record, then another record: about 64 KB compressed.
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        sh.arguments = ["-c", "(printf '%s' '\(ctr("a"))'; head -c 67108864 /dev/zero | tr '\\0' ' '; printf '%s' '\(ctr("b"))') | gzip -c > '\(path)'"]
        try sh.run(); sh.waitUntilExit()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(size < 200_000)
        var file = try CTRFile(path: path)
        var buffer: [UInt8] = []
        var largest = 0
        var total = 0
        while file.read(appendingTo: &buffer) {
            largest = max(largest, buffer.count)
            total += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }
        #expect(total == 67_108_864 + 2 * ctr("a").utf8.count)
        #expect(largest <= 4 * CTRFile.chunkSize)
        let store = try ContactStore(paths: [path])
        #expect(store.keys.map(\.contactId) == ["a", "b"])
    }
}

@Suite("Contact records")
struct ContactRecordTests {
    func record(_ json: String) -> ContactRecord? { ContactRecord(json: Data(json.utf8)) }

    @Test("Null, missing and Kinesis Video recordings")
    func locations() {
        #expect(record(ctr("a", #","Recording":null,"Recordings":null"#))?.locations == [])
        #expect(record(ctr("a"))?.locations == [])
        let kvs = record(ctr("a", #","Recordings":[{"Location":"arn:aws:kinesisvideo:us-east-1:1:stream/s/1","StorageType":"KINESIS_VIDEO_STREAM"}]"#))
        #expect(kvs?.locations == [])
        #expect(kvs?.streamLocations.count == 1)
        let both = record(ctr("a", #","Recording":{"Location":"b/k/1.wav"},"Recordings":[{"Location":"b/k/1.wav"},{"Location":"b/k/2.wav","StorageType":"S3"}]"#))
        #expect(both?.locations == ["b/k/1.wav", "b/k/2.wav"])
        #expect(record(#"{"Channel":"VOICE"}"#) == nil)
    }

    @Test("Only contact trace records are contacts: a Contact Lens event with a ContactId is not")
    func notACTR() {
        let event = #"{"Version":"1.0.0","Channel":"VOICE","ContactId":"c1","EventType":"STARTED"}"#
        #expect(record(event) == nil)
        let capture = JSONRecordScanner.scan(Data(event.utf8), want: ContactRecord.wanted).records[0].capture
        #expect(ContactRecord.rejection(capture) == "not a contact trace record: ContactId c1 but neither AWSContactTraceRecordFormatVersion nor InitiationTimestamp")
        #expect(record(#"{"ContactId":"c1","InitiationTimestamp":"2026-03-03T10:00:00Z"}"#)?.contactId == "c1")
        #expect(record(#"{"ContactId":"c1","AWSContactTraceRecordFormatVersion":"2017-03-10"}"#)?.contactId == "c1")
        #expect(record(#"{"ContactId":7,"InitiationTimestamp":"2026-03-03T10:00:00Z"}"#) == nil)
    }

    @Test("The output line keeps every original field and adds RecordingAnalysis")
    func jsonLine() throws {
        let raw = "{\n  \"ContactId\": \"a\", \"InitiationTimestamp\": \"2026-03-03T10:00:00Z\",\n  \"Future\": {\"X\": [1, null, \"\\u00e9\"]}, \"N\": 1.50\n}"
        let r = record(raw)!
        let line = String(decoding: r.jsonLine(recordingAnalysis: Data("[]".utf8)), as: UTF8.self)
        #expect(!line.contains("\n"))
        #expect(line.contains(#""N": 1.50"#))  // number text untouched
        #expect(line.contains(#""\u00e9""#))
        #expect(line.hasSuffix(#","RecordingAnalysis":[]}"#))
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        #expect(Set(parsed.keys) == ["ContactId", "InitiationTimestamp", "Future", "N", "RecordingAnalysis"])
    }

    @Test("Timestamps parse as instants: offsets, fractions, no zone")
    func timestamps() {
        let z = Timestamp.nanoseconds("2026-03-03T11:00:00Z")!
        #expect(z == 1_772_535_600 * 1_000_000_000)
        #expect(Timestamp.nanoseconds("2026-03-03T12:00:00+02:00")! == z - 3600 * 1_000_000_000)
        #expect(Timestamp.nanoseconds("2026-03-03T13:30:00+0230")! == z)
        #expect(Timestamp.nanoseconds("2026-03-03T10:00:00-01")! == z)
        #expect(Timestamp.nanoseconds("2026-03-03T11:00:00.5Z")! == z + 500_000_000)
        #expect(Timestamp.nanoseconds("2026-03-03T11:00:00.123456789Z")! == z + 123_456_789)
        #expect(Timestamp.nanoseconds("2026-03-03 11:00:00")! == z)
        #expect(Timestamp.nanoseconds("2024-02-29T00:00:00Z") != nil)
        for bad in ["not-a-time", "2026-02-30T00:00:00Z", "2026-03-03T25:00:00Z", "2026-03-03", "2026-03-03T11:00:00Zjunk", "", "2026-13-01T00:00:00Z"] {
            #expect(Timestamp.nanoseconds(bad) == nil, "\(bad)")
        }
    }

    @Test("Dedup keeps the latest LastUpdateTimestamp as an instant, whatever the order; unparseable times lose and are reported")
    func dedup() throws {
        let dir = try tempDir("dedup")
        try Data(ctr("a", #","LastUpdateTimestamp":"2026-03-03T10:20:00Z","V":"new""#).utf8).write(to: dir.appendingPathComponent("1"))
        try Data((ctr("a", #","LastUpdateTimestamp":"2026-03-03T10:16:00Z","V":"old""#) + ctr("b")).utf8).write(to: dir.appendingPathComponent("2"))
        try Data(ctr("a", #","LastUpdateTimestamp":"2026-03-03T10:20:00.5Z","V":"newest""#).utf8).write(to: dir.appendingPathComponent("0"))
        // Written as text, these beat every real time; as instants they are older or unknown.
        try Data((ctr("a", #","LastUpdateTimestamp":"not-a-time","V":"bad""#) + "\n"
            + ctr("a", #","LastUpdateTimestamp":"2026-03-03T12:20:00+02:00","V":"offset""#)).utf8).write(to: dir.appendingPathComponent("3"))
        let store = try ContactStore(paths: [dir.path])
        #expect(store.count == 2)
        #expect(store.recordsRead == 6)
        #expect(store.duplicatesMerged == 4)
        let a = try JSONSerialization.jsonObject(with: store.contact(id: "a")!.raw) as! [String: Any]
        #expect(a["V"] as? String == "newest")
        #expect(store.problems.map(\.description) == [
            "\(dir.path)/3 @ byte 0: LastUpdateTimestamp \"not-a-time\" is not an ISO 8601 time: this copy of ContactId a loses to any copy with a time",
        ])
        #expect(store.problems.first?.recordSkipped == false)
        #expect(store.recordsSkipped == 0)
    }

    @Test("Missing files, FIFOs, empty files and records without ContactId are reported, not dropped")
    func problems() throws {
        let dir = try tempDir("prob")
        try Data().write(to: dir.appendingPathComponent("empty"))
        try Data(#"{"Channel":"VOICE"}"#.utf8).write(to: dir.appendingPathComponent("noid"))
        #expect(mkfifo(dir.appendingPathComponent("pipe").path, 0o644) == 0)
        #expect(symlink(dir.appendingPathComponent("gone").path, dir.appendingPathComponent("link").path) == 0)
        let store = try ContactStore(paths: [dir.path, "/nonexistent/ctr"])
        #expect(store.problems.map(\.description) == [
            "\(dir.path)/empty: empty file: no CTR records",
            "\(dir.path)/link: symbolic link to a missing file",
            "\(dir.path)/noid @ byte 0: record has no ContactId",
            "\(dir.path)/pipe: is a FIFO (named pipe), not a regular file",
            "/nonexistent/ctr: no such file",
        ])
    }

    @Test("Problems are capped per file with a count of the rest; `}{` repeated costs neither memory nor time")
    func problemCap() throws {
        let dir = try tempDir("cap")
        let path = dir.appendingPathComponent("junk").path
        // 2 MB of `}{` (the hostile run used 20 MB: 10.5 million problems, 4.85 GB), one record at the end.
        var junk = Data(repeating: 0, count: 0)
        junk.append(contentsOf: Array(String(repeating: "}{", count: 1_000_000).utf8))
        junk.append(contentsOf: Array(("}\n" + ctr("z")).utf8))
        try junk.write(to: URL(fileURLWithPath: path))
        let store = try ContactStore(paths: [path])
        #expect(store.keys.map(\.contactId) == ["z"])
        #expect(store.problems.count == ContactStore.problemsListedPerFile + 1)
        // The first `}` is not an object; then a million `{}`, none a CTR.
        #expect(store.problems.first?.problem == "not a JSON object (starts with '}')")
        #expect(store.problems[1].problem == "record has no ContactId")
        #expect(store.problemCount == 1_000_001)
        #expect(store.problems.last?.problem == "... and 999901 more problems in this file, not listed (999901 records skipped)")
        #expect(store.recordsSkipped == 1_000_001)
    }
}
