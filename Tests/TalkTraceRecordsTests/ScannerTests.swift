import Foundation
import Testing
@testable import TalkTraceRecords

@Suite("CTR ingestion")
struct ScannerTests {
    func ids(_ text: String) -> [String] {
        JSONRecordScanner.scan(Data(text.utf8)).records.compactMap { $0.1["ContactId"] as? String }
    }

    @Test("One object, an array, JSON Lines and Firehose concatenation")
    func shapes() {
        #expect(ids(#"{"ContactId":"a"}"#) == ["a"])
        #expect(ids(#"[{"ContactId":"a"}, {"ContactId":"b"}]"#) == ["a", "b"])
        #expect(ids("{\"ContactId\":\"a\"}\n{\"ContactId\":\"b\"}\n") == ["a", "b"])
        #expect(ids(#"{"ContactId":"a","X":{"Y":"}{"}}{"ContactId":"b"}{"ContactId":"c"}"#) == ["a", "b", "c"])
        // Pretty-printed records, concatenated, with NUL padding between them.
        #expect(ids("{\n  \"ContactId\": \"a\"\n}\0\0{\n  \"ContactId\": \"b\"\n}") == ["a", "b"])
    }

    @Test("A value missing its quote is reported with its offset; the records around it are read")
    func missingQuote() {
        let good1 = #"{"ContactId":"a","Channel":"VOICE"}"#
        let bad = #"{"ContactId":"b","Channel": VOICE","Queue":{"Name":"q"}}"#
        let good2 = #"{"ContactId":"c","Recordings":[{"Location":"x/y.wav"},{"Location":"x/z.wav"}]}"#
        let (records, damage) = JSONRecordScanner.scan(Data((good1 + bad + good2).utf8))
        #expect(records.compactMap { $0.1["ContactId"] as? String } == ["a", "c"])
        #expect(damage.count == 1)
        #expect(damage.first?.offset == good1.utf8.count)
        #expect(damage.first?.length == bad.utf8.count)
        #expect(damage.first?.problem.hasPrefix("invalid JSON") == true)
    }

    @Test("NUL bytes inside a record and a truncated last record are reported")
    func nulAndTruncation() {
        let text = "{\"ContactId\":\"a\"}{\"ContactId\":\"b\0\"}{\"ContactId\":\"c\",\"Agent\":{"
        let (records, damage) = JSONRecordScanner.scan(Data(text.utf8))
        #expect(records.count == 1)
        #expect(damage.map(\.problem) == ["NUL bytes inside the record", "truncated JSON (the file ends inside the record)"])
        #expect(damage.map(\.offset) == [17, 35])
    }

    @Test("Gzip is recognized by its magic bytes and inflated, members concatenated")
    func gzip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tt-gz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let plain = dir.appendingPathComponent("firehose-object")
        try Data(#"{"ContactId":"a"}{"ContactId":"b"}"#.utf8).write(to: plain)
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/sh")
        gz.arguments = ["-c", "gzip -c '\(plain.path)' > '\(plain.path)-z'; printf '{\"ContactId\":\"c\"}' | gzip -c >> '\(plain.path)-z'"]
        try gz.run(); gz.waitUntilExit()
        let data = try Data(contentsOf: URL(fileURLWithPath: plain.path + "-z"))
        #expect(Gzip.isCompressed(data))
        let (inflated, error) = Gzip.decompress(data)
        #expect(error == nil)
        #expect(String(decoding: inflated, as: UTF8.self) == #"{"ContactId":"a"}{"ContactId":"b"}{"ContactId":"c"}"#)
        // Truncated gzip: what inflated is kept, the damage is named.
        let (partial, damage) = Gzip.decompress(data.prefix(data.count - 30))
        #expect(damage != nil)
        #expect(partial.count < inflated.count)
        var store = ContactStore()
        store.read(file: plain.path + "-z")
        #expect(store.contacts.map(\.contactId) == ["a", "b", "c"])
    }
}

@Suite("Contact records")
struct ContactRecordTests {
    func record(_ json: String) -> ContactRecord? {
        let object = try! JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        return ContactRecord(object: object, raw: Data(json.utf8), source: "t", offset: 0)
    }

    @Test("Null, missing and Kinesis Video recordings")
    func locations() {
        #expect(record(#"{"ContactId":"a","Recording":null,"Recordings":null}"#)?.locations == [])
        #expect(record(#"{"ContactId":"a"}"#)?.locations == [])
        let kvs = record(#"{"ContactId":"a","Recordings":[{"Location":"arn:aws:kinesisvideo:us-east-1:1:stream/s/1","StorageType":"KINESIS_VIDEO_STREAM"}]}"#)
        #expect(kvs?.locations == [])
        #expect(kvs?.streamLocations.count == 1)
        let both = record(#"{"ContactId":"a","Recording":{"Location":"b/k/1.wav"},"Recordings":[{"Location":"b/k/1.wav"},{"Location":"b/k/2.wav","StorageType":"S3"}]}"#)
        #expect(both?.locations == ["b/k/1.wav", "b/k/2.wav"])
        #expect(record(#"{"Channel":"VOICE"}"#) == nil)
    }

    @Test("The output line keeps every original field and adds RecordingAnalysis")
    func jsonLine() throws {
        let raw = "{\n  \"ContactId\": \"a\",\n  \"Future\": {\"X\": [1, null, \"\\u00e9\"]}, \"N\": 1.50\n}"
        let r = record(raw)!
        let line = String(decoding: r.jsonLine(recordingAnalysis: Data("[]".utf8)), as: UTF8.self)
        #expect(!line.contains("\n"))
        #expect(line.contains(#""N": 1.50"#))  // number text untouched
        #expect(line.contains(#""\u00e9""#))
        #expect(line.hasSuffix(#","RecordingAnalysis":[]}"#))
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        #expect(Set(parsed.keys) == ["ContactId", "Future", "N", "RecordingAnalysis"])
    }

    @Test("Dedup keeps the latest LastUpdateTimestamp whatever the order")
    func dedup() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tt-dedup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(#"{"ContactId":"a","LastUpdateTimestamp":"2026-03-03T10:20:00Z","V":"new"}"#.utf8).write(to: dir.appendingPathComponent("1"))
        try Data(#"{"ContactId":"a","LastUpdateTimestamp":"2026-03-03T10:16:00Z","V":"old"}{"ContactId":"b"}"#.utf8).write(to: dir.appendingPathComponent("2"))
        try Data(#"{"ContactId":"a","LastUpdateTimestamp":"2026-03-03T10:20:00.5Z","V":"newest"}"#.utf8).write(to: dir.appendingPathComponent("0"))
        let store = ContactStore(paths: [dir.path])
        #expect(store.contacts.count == 2)
        #expect(store.recordsRead == 4)
        #expect(store.duplicatesMerged == 2)
        let a = try JSONSerialization.jsonObject(with: store.contact(id: "a")!.raw) as! [String: Any]
        #expect(a["V"] as? String == "newest")
    }

    @Test("Missing files, empty files and records without ContactId are reported, not dropped")
    func problems() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tt-prob-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data().write(to: dir.appendingPathComponent("empty"))
        try Data(#"{"Channel":"VOICE"}"#.utf8).write(to: dir.appendingPathComponent("noid"))
        let store = ContactStore(paths: [dir.path, "/nonexistent/ctr"])
        #expect(store.problems.map(\.description) == [
            "\(dir.path)/empty: empty file: no CTR records",
            "\(dir.path)/noid @ byte 0: record has no ContactId",
            "/nonexistent/ctr: no such file",
        ])
    }
}
