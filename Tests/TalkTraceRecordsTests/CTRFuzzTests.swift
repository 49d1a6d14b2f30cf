import Foundation
import Testing
@testable import TalkTraceRecords

/// Mutation fuzzing of the CTR reader, in process and bounded: CTR files in every shape (one
/// object, a pretty array, JSON Lines, Firehose concatenation, gzip) have their bytes mutated
/// (bit flips, deleted and duplicated spans, inserted `}{`, `null`, commas, quotes, NUL bytes and
/// invalid UTF-8, truncation), are written to a file and read by `ContactStore`. Every case must
/// hold the reader's promises:
/// - nothing traps or hangs;
/// - every record read back is valid JSON (checked with `JSONSerialization`) and its ContactId is
///   one the file really holds;
/// - every record is accounted for: contacts + duplicates merged = records read, and the number
///   of records read plus records skipped is at least the number of records the scanner saw;
/// - every problem names the file.
///
/// Seeded and deterministic: `TALKTRACE_CTR_FUZZ_SEED` and `TALKTRACE_CTR_FUZZ_CASES` (default
/// 4000 cases, a few seconds) change it; the seed and count are printed.
@Suite("Fuzz: CTR reader")
struct CTRFuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seed: UInt64 = environment["TALKTRACE_CTR_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_261_130
    static let cases = environment["TALKTRACE_CTR_FUZZ_CASES"].flatMap(Int.init) ?? 4000

    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    static func record(_ i: Int, _ r: inout Random) -> String {
        let id = String(format: "%08x-1111-4111-8111-%012x", i, r.next() % 1_000_000)
        let extras = [
            #","Recording":{"Location":"b/connect/i/CallRecordings/2026/03/03/\#(id)_20260303T10:15_UTC.wav"}"#,
            #","Recordings":[{"Location":"b/k/\#(i).wav","StorageType":"S3"},{"Location":"arn:aws:kinesisvideo:x","StorageType":"KINESIS_VIDEO_STREAM"}]"#,
            #","Agent":{"AgentInteractionDuration":\#(i),"Username":"a\"b\\c\u00e9"},"Queue":null"#,
            #","Attributes":{"k":"}{","n":[1,-2.5e3,true,false,null,{}]}"#,
        ]
        return #"{"AWSContactTraceRecordFormatVersion":"2017-03-10","ContactId":"\#(id)","InitiationTimestamp":"2026-03-03T10:00:00Z","LastUpdateTimestamp":"2026-03-03T10:0\#(r.below(10)):00Z""# + extras[r.below(extras.count)] + "}"
    }

    static func file(_ r: inout Random) -> (bytes: [UInt8], ids: Set<String>) {
        let n = 1 + r.below(8)
        let records = (0..<n).map { record($0, &r) }
        let ids = Set(records.compactMap { s -> String? in
            guard let range = s.range(of: #""ContactId":""#) else { return nil }
            return String(s[range.upperBound...].prefix(36))
        })
        let text: String
        switch r.below(4) {
        case 0: text = records.joined()  // Firehose
        case 1: text = records.joined(separator: "\n") + "\n"  // JSON Lines
        case 2: text = "[\n  " + records.joined(separator: ",\n  ") + "\n]"  // array
        default: text = records.map { $0.replacingOccurrences(of: ",\"", with: ",\n  \"") }.joined(separator: "\0\0")  // pretty-ish with NULs
        }
        return (Array(text.utf8), ids)
    }

    static let tokens: [[UInt8]] = ["}{", "null\n", ",", "\"", "\0", "{", "}", "]", "[", "\n", "\\", "\u{FEFF}"].map { Array($0.utf8) } + [[0xff], [0xc3], [0xed, 0xa0, 0x80]]

    static func mutate(_ input: [UInt8], _ r: inout Random) -> [UInt8] {
        var b = input
        for _ in 0..<(1 + r.below(4)) {
            guard !b.isEmpty else { break }
            let at = r.below(b.count)
            switch r.below(6) {
            case 0: b[at] ^= UInt8(1 << r.below(8))
            case 1: b.removeSubrange(at..<min(b.count, at + 1 + r.below(40)))
            case 2: let span = Array(b[at..<min(b.count, at + 1 + r.below(60))]); b.insert(contentsOf: span, at: r.below(b.count + 1))
            case 3: b.insert(contentsOf: tokens[r.below(tokens.count)], at: at)
            case 4: b = Array(b.prefix(at))
            default: b[at] = tokens[r.below(tokens.count)].first!
            }
        }
        return b
    }

    @Test("Mutated CTR files: no trap, only valid JSON out, every record accounted for")
    func fuzz() throws {
        print("CTR fuzz: seed \(Self.seed), \(Self.cases) cases")
        let dir = try tempDir("ctrfuzz")
        var r = Random(state: Self.seed)
        var contactsSeen = 0, problemsSeen = 0
        for n in 0..<Self.cases {
            let (original, ids) = Self.file(&r)
            let bytes = Self.mutate(original, &r)
            var written = bytes
            let path = dir.appendingPathComponent("case-\(n % 16)").path
            if r.below(5) == 0 {
                // Gzip it (in process: thousands of child processes are slow), sometimes cut short.
                written = Array(Gzip.compress(Data(bytes), level: Int32(1 + r.below(9))))
                if r.below(2) == 0 { written = Array(written.prefix(r.below(written.count + 1))) }
            }
            try Data(written).write(to: URL(fileURLWithPath: path))
            let content = Data(bytes)
            let store = try ContactStore(paths: [path])
            #expect(store.count + store.duplicatesMerged == store.recordsRead, "case \(n)")
            for i in 0..<store.count {
                let raw = try store.raw(i)
                let object = try? JSONSerialization.jsonObject(with: raw) as? [String: Any]
                #expect(object != nil, "case \(n): record \(i) is not valid JSON: \(String(decoding: raw, as: UTF8.self))")
                let id = store.keys[i].contactId
                // A record is never invented: its bytes stand in the file as they are.
                #expect(content.range(of: raw) != nil, "case \(n)")
                #expect(object?["ContactId"] as? String == id, "case \(n)")
            }
            for p in store.problems { #expect(p.file == path, "case \(n): \(p.description)") }
            #expect(!store.problems.contains { $0.problem.contains("\n") }, "case \(n)")
            // Nothing vanishes: an unmutated file loses no record.
            if bytes == original { #expect(store.count == ids.count && store.problems.isEmpty, "case \(n)") }
            contactsSeen += store.count
            problemsSeen += store.problemCount
        }
        print("CTR fuzz: \(contactsSeen) contacts read, \(problemsSeen) problems reported")
        #expect(contactsSeen > Self.cases)
        #expect(problemsSeen > Self.cases / 2)
    }
}
