import Foundation
import Testing
@testable import TalkTraceAudio
@testable import TalkTracePipeline
import _TestSupport

/// The join's strict reader: numbers read back as the very Doubles written, bad JSON refused, and
/// an analysis spliced from a shard's line equal to the analysis encoded with the join's members.
@Suite("Strict JSON reader")
struct StrictJSONReaderTests {
    func double(_ text: String) throws -> Double? {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { b in
            var r = StrictJSONReader(b)
            let v = try r.double()
            try r.finish()
            return v
        }
    }

    func refuses(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { b in
            var r = StrictJSONReader(b)
            do throws(StrictJSONReader.Failure) {
                try r.skip()
                try r.finish()
                return nil
            } catch { return "\(error.problem) at byte \(error.offset)" }
        }
    }

    @Test("Numbers read back bit for bit as Swift's parser reads them, fast path or not")
    func numbers() throws {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = [0, -0.0, 0.1, 0.355, -55.3, 1772532900.0, 1e-7, 1e16, 123456.789, 5e-324,
                                1.7976931348623157e308, 0.1 + 0.2, 9007199254740993, 1e22, 1e23, 4.35e-23]
        for _ in 0..<20_000 {
            let x = Double.random(in: -100_000...100_000, using: &rng)
            values.append(x)  // 17 significant digits: the fallback
            values.append((x * 1000).rounded() / 1000)  // what the analysis writes: the fast path
            values.append(Double(bitPattern: UInt64.random(in: 0...0x7fef_ffff_ffff_ffff, using: &rng)))
        }
        for v in values {
            let text = v.description
            let read = try double(text)
            #expect(read?.bitPattern == Double(text)!.bitPattern, "\(text)")
            #expect(read?.bitPattern == v.bitPattern, "\(text)")
        }
        #expect(try double("null") == nil)
        #expect(try double("2.5E+3") == 2500)
    }

    @Test("Bad JSON is refused with where")
    func refusals() {
        #expect(refuses(#"{"a":[1,2,{"b":null}],"c":"x\u00e9\n"}"#) == nil)
        #expect(refuses(#"{"a":01}"#) == "not a JSON value at byte 5")
        #expect(refuses(#"{"a":1.}"#) == "bad number at byte 7")
        #expect(refuses(#"[1,]"#) == "not a JSON value at byte 3")
        #expect(refuses("{\"a\":\"\u{01}\"}") == "control character in a string at byte 6")
        #expect(refuses(#"{"a":"\u12"}"#) == "bad \\u escape at byte 6")
        #expect(refuses(#"{"a":tru}"#) == "not a JSON value at byte 5")
        #expect(refuses(#"{"a":1} x"#) == "text after the JSON value at byte 8")
        #expect(refuses(#"{"a" 1}"#) == "expected ':' at byte 5")
        #expect(refuses(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)) == "nested too deep at byte 512")
        // Bytes that are not UTF-8 (an overlong NUL, a lone continuation byte), inside a string.
        for bad: [UInt8] in [[0xc0, 0x80], [0x80], [0xed, 0xa0, 0x80]] {
            let bytes = Array(#"{"a":""#.utf8) + bad + Array(#""}"#.utf8)
            let problem = bytes.withUnsafeBytes { b -> String? in
                var r = StrictJSONReader(b)
                do throws(StrictJSONReader.Failure) { try r.skip(); return nil } catch { return error.problem }
            }
            #expect(problem == "not UTF-8")
        }
    }

    @Test("A shard's line spliced with the join's members is the analysis encoded with them; its row reads its figures")
    func splice() throws {
        var a = try ReportTests.call("connect/x/2026/03/03/a \"quoted\" é.wav", duration: 95.5,
                                     agent: [ReportTests.seg(0.5, 4.25), ReportTests.seg(10, 20.5)], customer: [ReportTests.seg(4.5, 9.75)])
        a.recording.contactId = "from-the-name"
        a.recording.location = nil
        let encoder = CallAnalysis.encoder()
        let shardJSON = try encoder.encode(a)
        let line = Data(#"{"Path":"p.wav","SizeBytes":12,"Analysis":"#.utf8) + shardJSON + Data(#","Error":null}"#.utf8)
        let parsed = try line.withUnsafeBytes { b throws(StrictJSONReader.Failure) in try ShardLine.read(b) }
        #expect(parsed.path == "p.wav" && parsed.sizeBytes == 12 && parsed.error == nil && parsed.durationSeconds == 95.5)
        let dir = TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent("analyses.jsonl")
        let prefix = Data("junk line\n".utf8)
        try (prefix + line + Data("\n".utf8)).write(to: file)
        let fd = open(file.path, O_RDONLY)
        let analyses = ShardAnalyses(paths: [file.path], fds: [fd])
        let range = parsed.analysis!
        let stored = StoredAnalysis(file: 0, offset: Int64(prefix.count + range.lowerBound), length: Int32(range.count),
                                    members: parsed.members, durationSeconds: parsed.durationSeconds)
        #expect(try Data(analyses.raw(stored)) == shardJSON)

        for match in [RecordingMatcher.Match(contactId: "c-1 \"x\"", by: .location, location: "bucket/connect/x/a é.wav"), nil] {
            let spliced = try analyses.json(stored, path: "rel/a \"quoted\" é.wav", match: match, encoder: encoder)
            var expected = a
            expected.recording.path = "rel/a \"quoted\" é.wav"
            expected.recording.location = match?.location
            expected.recording.contactId = match?.contactId
            #expect(spliced == (try encoder.encode(expected)))
        }

        // The splice's string writer is the encoder's, byte for byte.
        var odd = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) }.joined()
        odd += "é/\u{2028}😀\u{FEFF}"
        for text in [odd, "", "plain", "a\"b\\c/d"] {
            var out: [UInt8] = []
            ShardAnalyses.jsonString(text, into: &out)
            #expect(Data(out) == (try encoder.encode(text)), "\(text.debugDescription)")
        }

        let row = try AnalysisRow.read(shardJSON, details: true)
        #expect(row.durationSeconds == 95.5 && row.sampleRate == a.recording.sampleRate && row.encoding == a.recording.encoding)
        #expect(row.agent.talkSeconds == a.agent.talkSeconds && row.customer.talkSeconds == a.customer.talkSeconds)
        #expect(row.agent.segments.map { [$0.0, $0.1] } == [[0.5, 4.25], [10, 20.5]])
        #expect(row.customer.segments.map { [$0.0, $0.1] } == [[4.5, 9.75]])
        #expect(row.talkSeconds == a.conversation.talkSeconds && row.silenceSeconds == a.conversation.silenceSeconds)
        #expect(row.nonTalkCount == a.conversation.nonTalk.instances.count && row.nonTalk.count == row.nonTalkCount)
        #expect(row.interruptions == a.conversation.interruptions.total && row.backchannels == a.conversation.backchannels.total)
        #expect(row.agent.speechLevelDbfs == a.agent.levels.speechLevelDbfs && row.customer.loudnessMean == a.customer.loudness.mean)
    }
}
