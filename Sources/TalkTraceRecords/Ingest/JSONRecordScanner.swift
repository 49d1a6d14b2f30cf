import Foundation

/// Splits a CTR file into top-level JSON records as it streams, without trusting any delimiter.
///
/// Handles one object, a JSON array of objects, JSON Lines and Firehose's concatenation with no
/// delimiter (`}{`), in any mix; whitespace, NUL padding and a UTF-8 byte-order mark between
/// records are skipped. Every record is checked against the JSON grammar (`StrictJSONParser`), so
/// what reaches `contacts.jsonl` is always valid JSON.
///
/// Every byte of the file ends up in a record or in a `Damage`: a record that is not valid JSON,
/// or a top-level value that is not an object (`null`, `123`, `"x"`), is reported with its byte
/// offset and skipped *alone*. Scanning resumes at the next place a record can start: a `{` at the
/// start of a line (JSON Lines), or, at or after the error, a `{` right after a `}` (Firehose) or
/// after `},` inside a top-level array. A damaged record therefore never takes the valid records
/// after it down with it.
public enum JSONRecordScanner {
    /// A span that could not be read as a record.
    public struct Damage: Sendable, Equatable {
        /// Byte offset where the span starts (in the decompressed file) and its length.
        public var offset: Int
        public var length: Int
        public var problem: String
    }

    /// A record larger than this is reported and skipped rather than buffered (a CTR is a few KB).
    public static let maxRecordBytes = 64 << 20

    /// Streams `file`: `record(offset, bytes, capture)` for each valid top-level object (`bytes`
    /// valid only during the call), `damage` for everything else. Returns the file's own failure
    /// (read error, damaged gzip), if any, after everything before it was scanned.
    public static func scan(
        _ file: inout CTRFile, want: JSONWant,
        record: (Int, UnsafeBufferPointer<UInt8>, JSONCapture) -> Void, damage: (Damage) -> Void
    ) -> String? {
        var scanner = Scanner()
        scanner.run(refill: { file.read(appendingTo: &$0) }, want: want, record: record, damage: damage)
        return file.failure
    }

    /// The same over bytes in memory.
    public static func scan(_ data: Data, want: JSONWant = .scalar) -> (records: [(offset: Int, bytes: Data, capture: JSONCapture)], damage: [Damage]) {
        var records: [(offset: Int, bytes: Data, capture: JSONCapture)] = []
        var damages: [Damage] = []
        var scanner = Scanner()
        var given = false
        scanner.run(refill: { buffer in
            if given { return false }
            given = true
            buffer.append(contentsOf: data)
            return true
        }, want: want, record: { records.append(($0, Data($1), $2)) }, damage: { damages.append($0) })
        return (records, damages)
    }

    private struct Scanner {
        var buf: [UInt8] = []
        /// Absolute offset of `buf[0]`.
        var base = 0
        var pos = 0
        var eof = false
        var inArray = false

        mutating func compact(_ k: Int) {
            guard k > 0 else { return }
            buf.removeSubrange(0..<k)
            base += k
            pos -= k
        }

        /// Reads more (after dropping what is before `keep`); false at the end of the file.
        mutating func more(keep: Int, _ refill: (inout [UInt8]) -> Bool) -> Bool {
            if eof { return false }
            compact(keep)
            let before = buf.count
            while buf.count == before {
                if !refill(&buf) { eof = true; return buf.count > before }
            }
            return true
        }

        mutating func run(
            refill: (inout [UInt8]) -> Bool, want: JSONWant,
            record: (Int, UnsafeBufferPointer<UInt8>, JSONCapture) -> Void, damage: (Damage) -> Void
        ) {
            while true {
                // Filler between records.
                while true {
                    if pos >= buf.count {
                        if !more(keep: pos, refill) { return }
                        continue
                    }
                    let c = buf[pos]
                    if c == 0xef && base + pos == 0 {
                        while buf.count < 3 && more(keep: 0, refill) {}
                        if buf.count >= 3 && buf[1] == 0xbb && buf[2] == 0xbf { pos = 3; continue }
                    }
                    if c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 || c == 0 || c == 0x2c { pos += 1; continue }
                    if c == 0x5b { inArray = true; pos += 1; continue }
                    if c == 0x5d { inArray = false; pos += 1; continue }
                    break
                }
                let start = pos
                let startAbsolute = base + start
                guard buf[start] == 0x7b else {
                    let what = StrictJSONParser.describe(buf[start])
                    let kind = buf[start] == 0x6e ? "null" : buf[start] == 0x22 ? "a string"
                        : (buf[start] == 0x74 || buf[start] == 0x66) ? "a boolean"
                        : (buf[start] == 0x2d || (0x30...0x39).contains(buf[start])) ? "a number" : "starts with \(what)"
                    let end = resync(from: start, errorAt: startAbsolute, refill)
                    damage(Damage(offset: startAbsolute, length: base + end - startAbsolute, problem: "not a JSON object (\(kind))"))
                    pos = end
                    continue
                }
                // Parse, reading more while the record runs past the buffer.
                while true {
                    let outcome: Result<(Int, JSONCapture), StrictJSONParser.Failure> = buf.withUnsafeBufferPointer { b in
                        var parser = StrictJSONParser(b, at: pos)
                        do throws(StrictJSONParser.Failure) {
                            let capture = try parser.value(want)
                            record(base + pos, UnsafeBufferPointer(rebasing: b[pos..<parser.i]), capture)
                            return .success((parser.i, capture))
                        } catch { return .failure(error) }
                    }
                    switch outcome {
                    case .success(let (end, _)):
                        pos = end
                    case .failure(.incomplete):
                        if buf.count - pos > JSONRecordScanner.maxRecordBytes {
                            let hint = Self.contactIdHint(buf, from: pos)
                            let end = resync(from: pos, errorAt: base + buf.count, refill)
                            damage(Damage(offset: startAbsolute, length: base + end - startAbsolute,
                                          problem: "record larger than \(JSONRecordScanner.maxRecordBytes >> 20) MiB: skipped" + hint))
                            pos = end
                        } else if more(keep: pos, refill) {
                            continue
                        } else {
                            let hint = Self.contactIdHint(buf, from: pos)
                            damage(Damage(offset: startAbsolute, length: buf.count - pos,
                                          problem: "truncated JSON: the file ends inside the record, \(buf.count - pos) bytes in" + hint))
                            pos = buf.count
                        }
                    case .failure(.syntax(let at, let message)):
                        let hint = Self.contactIdHint(buf, from: pos)
                        let errorAbsolute = base + at
                        let end = resync(from: pos, errorAt: errorAbsolute, refill)
                        damage(Damage(offset: startAbsolute, length: base + end - startAbsolute,
                                      problem: "invalid JSON at byte \(errorAbsolute): \(message)" + hint))
                        pos = end
                    }
                    break
                }
            }
        }

        /// Index in `buf` of the next place a record can start after the damaged one at `start`
        /// (whose error is at absolute offset `errorAt`); `buf.count` at the end of the file.
        mutating func resync(from start: Int, errorAt: Int, _ refill: (inout [UInt8]) -> Bool) -> Int {
            var prev = buf[start], beforeComma: UInt8 = 0
            var lineStart = false
            var j = start + 1
            pos = start
            while true {
                if j >= buf.count {
                    pos = j
                    if !more(keep: j, refill) { return buf.count }
                    j = pos
                    continue
                }
                let b = buf[j]
                if b == 0x7b {
                    if lineStart { return j }
                    if base + j >= errorAt && (prev == 0x7d || (inArray && prev == 0x2c && beforeComma == 0x7d)) { return j }
                }
                if b == 0x0a {
                    lineStart = true
                } else {
                    lineStart = false
                    if !(b == 0x20 || b == 0x0d || b == 0x09 || b == 0) {
                        if b == 0x2c { beforeComma = prev }
                        prev = b
                    }
                }
                j += 1
            }
        }

        /// ` (ContactId X)` when the damaged bytes name one, so the user can find the record.
        static func contactIdHint(_ buf: [UInt8], from start: Int) -> String {
            let key = Array(#""ContactId""#.utf8)
            let end = min(buf.count, start + 65536)
            var k = start
            while k + key.count < end {
                if buf[k] == 0x22 && Array(buf[k..<(k + key.count)]) == key {
                    var j = k + key.count
                    while j < end, buf[j] == 0x20 || buf[j] == 0x3a || buf[j] == 0x09 { j += 1 }
                    guard j < end, buf[j] == 0x22 else { return "" }
                    let from = j + 1
                    var to = from
                    while to < end, to - from < 128, buf[to] != 0x22, buf[to] >= 0x20 { to += 1 }
                    guard to < end, buf[to] == 0x22 else { return "" }
                    return " (ContactId \(String(decoding: buf[from..<to], as: UTF8.self)))"
                }
                k += 1
            }
            return ""
        }
    }
}
