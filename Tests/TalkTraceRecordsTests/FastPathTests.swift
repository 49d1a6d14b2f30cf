import Foundation
import Testing
@testable import TalkTraceRecords

/// The CTR reader's fast paths against plain references, on seeded random inputs:
/// - `StrictJSONParser.skipString` jumps eight bytes at a time to the first special byte; a byte
///   loop that looks at every byte must agree with it on every string (where it ends, whether it
///   held an escape, where and why it is invalid, or that the bytes ran out);
/// - `IsalGzipInflater` (ISA-L) must give exactly what zlib gives, whatever the chunks it is fed
///   and the room it is given, and refuse what zlib refuses (a bad CRC-32 or length, garbage
///   after a member, a truncated stream), keeping only bytes that are really in the file.
@Suite("CTR reader fast paths")
struct FastPathTests {
    typealias Random = CTRFuzzTests.Random

    enum Outcome: Equatable {
        case end(Int, escaped: Bool)
        case incomplete
        case syntax(Int, String)
    }

    /// The string at `start` checked one byte at a time (RFC 8259 strings, RFC 3629 UTF-8).
    static func reference(_ b: [UInt8], _ start: Int) -> Outcome {
        var i = start + 1
        var escaped = false
        func hex(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c) }
        while true {
            guard i < b.count else { return .incomplete }
            let c = b[i]
            switch c {
            case 0x22: return .end(i + 1, escaped: escaped)
            case 0x5c:
                guard i + 1 < b.count else { return .incomplete }
                escaped = true
                if Array(#""\/bfnrt"#.utf8).contains(b[i + 1]) { i += 2; continue }
                guard b[i + 1] == 0x75 else { return .syntax(i, "escape") }
                guard i + 6 <= b.count else { return .incomplete }
                for k in 2..<6 where !hex(b[i + k]) { return .syntax(i + k, "hex") }
                i += 6
            case 0..<0x20: return .syntax(i, "control")
            case 0x20..<0x80: i += 1
            default:
                let length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2
                guard (0xc2...0xf4).contains(c) else { return .syntax(i, "utf8") }
                guard i + length <= b.count else { return .incomplete }
                let second = b[i + 1]
                let low: UInt8 = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80
                let high: UInt8 = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf
                guard second >= low && second <= high else { return .syntax(i + 1, "utf8") }
                for k in 2..<length where !(0x80...0xbf).contains(b[i + k]) { return .syntax(i + k, "utf8") }
                i += length
            }
        }
    }

    static func fast(_ b: [UInt8], _ start: Int) -> Outcome {
        b.withUnsafeBufferPointer { p in
            var parser = StrictJSONParser(p, at: start)
            do throws(StrictJSONParser.Failure) {
                try parser.skipString()
                return .end(parser.i, escaped: parser.escaped)
            } catch {
                switch error {
                case .incomplete: return .incomplete
                case .syntax(let at, let message):
                    let kind = message.contains("escape") ? "escape" : message.contains("hexadecimal") ? "hex"
                        : message.contains("UTF-8") ? "utf8" : "control"
                    return .syntax(at, kind)
                }
            }
        }
    }

    static let pieces: [[UInt8]] = [
        Array("abcdefgh".utf8), Array("x".utf8), Array("0123456789ABCDEF".utf8), Array(" ".utf8), Array("~".utf8),
        Array(#"\""#.utf8), Array(#"\\"#.utf8), Array(#"\n"#.utf8), Array(#"\u00e9"#.utf8), Array(#"\uD83D\uDE00"#.utf8),
        Array("é".utf8), Array("€".utf8), Array("😀".utf8), Array("\u{7f}".utf8),
        [0x22], [0x5c], [0x00], [0x1f], [0x0a], [0x5c, 0x71], [0x5c, 0x75, 0x31, 0x32, 0x67],
        [0x80], [0xc0, 0xaf], [0xc3], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5], [0xff],
        [0x21, 0x23, 0x5b, 0x5d, 0x7b, 0x7d],  // bytes next to the special ones
    ]

    @Test("Strings skipped a word at a time end, fail and run out exactly where a byte loop says")
    func strings() {
        var r = Random(state: 20_261_130)
        var outcomes: [String: Int] = [:]
        for _ in 0..<60_000 {
            var b: [UInt8] = Array(repeating: 0x20, count: r.below(20))
            let start = b.count
            b.append(0x22)
            // Mostly plain runs (the fast path), then one or two special pieces, sometimes a quote.
            for _ in 0..<(1 + r.below(6)) {
                if r.below(3) == 0 {
                    b += Self.pieces[r.below(Self.pieces.count)]
                } else {
                    b += (0..<r.below(40)).map { _ in UInt8(0x20 + r.below(0x5f)) }.map { $0 == 0x22 || $0 == 0x5c ? 0x41 : $0 }
                }
            }
            if r.below(4) != 0 { b.append(0x22) }
            b += Array(#",\"next\":1}"#.utf8).prefix(r.below(12))
            let expected = Self.reference(b, start)
            #expect(Self.fast(b, start) == expected, "bytes \(b) from \(start)")
            switch expected {
            case .end: outcomes["end", default: 0] += 1
            case .incomplete: outcomes["incomplete", default: 0] += 1
            case .syntax(_, let kind): outcomes[kind, default: 0] += 1
            }
        }
        // Every kind of outcome was exercised.
        #expect(Set(outcomes.keys) == ["end", "incomplete", "escape", "hex", "control", "utf8"])
        #expect(outcomes.values.allSatisfy { $0 > 300 }, "\(outcomes)")
    }

    /// Inflates `compressed` with ISA-L, fed `feed` bytes at a time into `room`-byte outputs.
    static func isal(_ compressed: [UInt8], feed: Int, room: Int) -> (bytes: [UInt8], error: String?) {
        var inflater = IsalGzipInflater()
        var out: [UInt8] = []
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: room)
        defer { buffer.deallocate() }
        var at = 0
        var error: String?
        var turns = 0
        while !inflater.isFinished {
            turns += 1
            if turns > 10_000_000 { return (out, "no progress") }
            if inflater.needsInput {
                let n = min(feed, compressed.count - at)
                compressed[at..<(at + n)].withUnsafeBufferPointer { inflater.feed($0, last: at + n >= compressed.count) }
                at += n
            }
            let (n, e) = inflater.inflate(into: buffer, capacity: room)
            out += UnsafeBufferPointer(start: buffer, count: n)
            if let e { error = e.message }
        }
        return (out, error)
    }

    static func text(_ r: inout Random, _ n: Int) -> [UInt8] {
        let words = [#"{"ContactId":""#, "abc-", #"","Channel":"VOICE"}"#, "x", "\n", #""Attributes":{}"#, "1234567890"]
        var b: [UInt8] = []
        while b.count < n { b += Array(words[r.below(words.count)].utf8) }
        if r.below(3) == 0 { for k in stride(from: 0, to: b.count, by: 1 + r.below(7)) { b[k] = UInt8(truncatingIfNeeded: r.next()) } }
        return Array(b.prefix(n))
    }

    @Test("ISA-L inflates exactly what zlib does, members concatenated, whatever the chunks")
    func inflateSame() {
        var r = Random(state: 7)
        for n in 0..<300 {
            let members = 1 + r.below(3)
            var plain: [UInt8] = [], compressed: [UInt8] = []
            for _ in 0..<members {
                let part = Self.text(&r, r.below(n < 20 ? 50 : 300_000))
                plain += part
                compressed += Gzip.compress(Data(part), level: Int32(1 + r.below(9)))
            }
            let feed = [1, 7, 100, 4096, 1 << 20][r.below(5)]
            let room = [1, 13, 4096, 65536, 1 << 20][r.below(5)]
            guard feed * 50 > compressed.count || feed > 64 else { continue }  // byte-at-a-time only on small inputs
            let (out, error) = Self.isal(compressed, feed: feed, room: room)
            #expect(error == nil, "case \(n): \(error ?? "")")
            #expect(out == plain, "case \(n): \(out.count) bytes of \(plain.count), feed \(feed), room \(room)")
            #expect(Gzip.decompress(Data(compressed)).data == Data(plain), "case \(n): zlib")
        }
    }

    @Test("Header fields, a bad CRC-32 or length, garbage after a member and truncation are refused as zlib refuses them")
    func inflateRefuses() {
        var r = Random(state: 11)
        let plain = Self.text(&r, 100_000)
        let gz = Array(Gzip.compress(Data(plain)))
        // A header with FEXTRA, FNAME and FCOMMENT (what `gzip -N` and Firehose tools may write).
        var fancy: [UInt8] = [0x1f, 0x8b, 8, 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 3, 3, 0, 0x41, 0x42, 0x43]
        fancy += Array("ctr-object\0a comment\0".utf8)
        fancy += gz[10...]
        for feed in [1, 5, 1 << 20] {
            let (out, error) = Self.isal(fancy, feed: feed, room: 4096)
            #expect(error == nil && out == plain, "feed \(feed): \(error ?? "")")
        }
        #expect(Gzip.decompress(Data(fancy)).data == Data(plain))

        func refused(_ bytes: [UInt8], _ what: String, _ words: String, intact: Bool = true) {
            let (out, error) = Self.isal(bytes, feed: 1000, room: 65536)
            #expect(error?.contains(words) == true, "\(what): \(error ?? "accepted")")
            // Damaged deflate data may inflate to other bytes before the CRC-32 catches it (so
            // with zlib too); otherwise what came out is the file's own beginning.
            if intact { #expect(out.count <= plain.count && Array(plain.prefix(out.count)) == out, "\(what): inflated bytes not in the file") }
            #expect(Gzip.decompress(Data(bytes)).error != nil, "\(what): zlib accepts it")
        }
        var crc = gz; crc[crc.count - 8] ^= 1
        refused(crc, "CRC-32", "incorrect data check")
        var size = gz; size[size.count - 2] ^= 1
        refused(size, "length", "incorrect data check")
        refused(gz + Array("garbage".utf8), "garbage after a member", "corrupt gzip data")
        var body = gz; body[body.count / 2] ^= 0x55
        refused(body, "damaged deflate data", "corrupt gzip data", intact: false)
        for cut in [2, 9, 10, 11, gz.count / 3, gz.count - 8, gz.count - 1] {
            let (out, error) = Self.isal(Array(gz.prefix(cut)), feed: 1 + r.below(5000), room: 65536)
            #expect(error?.contains("truncated gzip") == true, "cut at \(cut): \(error ?? "accepted")")
            #expect(Array(plain.prefix(out.count)) == out, "cut at \(cut)")
            // Everything before the cut that can be inflated is, as with zlib (give or take the
            // symbol the cut splits): the records there are read, not lost with the tail.
            let zlib = Gzip.decompress(Data(gz.prefix(cut))).data.count
            #expect(out.count >= zlib - 8, "cut at \(cut): \(out.count) bytes, zlib \(zlib)")
        }
    }
}
