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
        let scanner = Scanner()
        scanner.run(refill: { file.read(into: $0, capacity: $1) }, want: want, record: record, damage: damage)
        return file.failure
    }

    /// The same over bytes in memory.
    public static func scan(_ data: Data, want: JSONWant = .scalar) -> (records: [(offset: Int, bytes: Data, capture: JSONCapture)], damage: [Damage]) {
        var records: [(offset: Int, bytes: Data, capture: JSONCapture)] = []
        var damages: [Damage] = []
        let scanner = Scanner()
        var given = 0
        scanner.run(refill: { out, capacity in
            if given >= data.count { return nil }
            let n = min(capacity, data.count - given)
            data.withUnsafeBytes { out.update(from: $0.baseAddress!.assumingMemoryBound(to: UInt8.self) + given, count: n) }
            given += n
            return n
        }, want: want, record: { records.append(($0, Data($1), $2)) }, damage: { damages.append($0) })
        return (records, damages)
    }

    /// The scanner's window on the file: bytes read (or inflated) straight into one buffer it owns,
    /// the records parsed and handed out where they lie, and what is before the current record
    /// dropped before the next read. The buffer holds the current record and a chunk, so it grows
    /// only for a record longer than that (up to `maxRecordBytes`).
    private final class Scanner {
        typealias Refill = (UnsafeMutablePointer<UInt8>, Int) -> Int?
        var buf: UnsafeMutablePointer<UInt8>
        var capacity: Int
        var count = 0
        /// Absolute offset of `buf[0]`.
        var base = 0
        var pos = 0
        var eof = false
        var inArray = false

        init() {
            capacity = 2 * CTRFile.chunkSize
            buf = .allocate(capacity: capacity)
        }

        deinit { buf.deallocate() }

        func compact(_ k: Int) {
            guard k > 0 else { return }
            if count > k { memmove(buf, buf + k, count - k) }
            count -= k
            base += k
            pos -= k
        }

        /// Reads more (after dropping what is before `keep`); false at the end of the file.
        func more(keep: Int, _ refill: Refill) -> Bool {
            if eof { return false }
            compact(keep)
            let before = count
            while count == before {
                if capacity - count < CTRFile.chunkSize {
                    let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: max(2 * capacity, count + CTRFile.chunkSize))
                    grown.update(from: buf, count: count)
                    buf.deallocate()
                    buf = grown
                    capacity = max(2 * capacity, count + CTRFile.chunkSize)
                }
                guard let n = refill(buf + count, capacity - count) else { eof = true; return count > before }
                count += n
            }
            return true
        }

        func run(
            refill: Refill, want: JSONWant,
            record: (Int, UnsafeBufferPointer<UInt8>, JSONCapture) -> Void, damage: (Damage) -> Void
        ) {
            while true {
                // Filler between records.
                while true {
                    if pos >= count {
                        if !more(keep: pos, refill) { return }
                        continue
                    }
                    let c = buf[pos]
                    if c == 0xef && base + pos == 0 {
                        while count < 3 && more(keep: 0, refill) {}
                        if count >= 3 && buf[1] == 0xbb && buf[2] == 0xbf { pos = 3; continue }
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
                    var parser = StrictJSONParser(UnsafeBufferPointer(start: buf, count: count), at: pos)
                    let outcome: StrictJSONParser.Failure?
                    do throws(StrictJSONParser.Failure) {
                        let capture = try parser.value(want)
                        record(base + pos, UnsafeBufferPointer(start: buf + pos, count: parser.i - pos), capture)
                        outcome = nil
                    } catch { outcome = error }
                    switch outcome {
                    case nil:
                        pos = parser.i
                    case .incomplete?:
                        if count - pos > JSONRecordScanner.maxRecordBytes {
                            let hint = contactIdHint(from: pos)
                            let end = resync(from: pos, errorAt: base + count, refill)
                            damage(Damage(offset: startAbsolute, length: base + end - startAbsolute,
                                          problem: "record larger than \(JSONRecordScanner.maxRecordBytes >> 20) MiB: skipped" + hint))
                            pos = end
                        } else if more(keep: pos, refill) {
                            continue
                        } else {
                            let hint = contactIdHint(from: pos)
                            damage(Damage(offset: startAbsolute, length: count - pos,
                                          problem: "truncated JSON: the file ends inside the record, \(count - pos) bytes in" + hint))
                            pos = count
                        }
                    case .syntax(let at, let message)?:
                        let hint = contactIdHint(from: pos)
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
        /// (whose error is at absolute offset `errorAt`); `count` at the end of the file.
        func resync(from start: Int, errorAt: Int, _ refill: Refill) -> Int {
            var prev = buf[start], beforeComma: UInt8 = 0
            var lineStart = false
            var j = start + 1
            pos = start
            while true {
                if j >= count {
                    pos = j
                    if !more(keep: j, refill) { return count }
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

        /// ` (ContactId X)` when the damaged bytes from `start` name one, so the user can find the record.
        func contactIdHint(from start: Int) -> String {
            let key = Array(#""ContactId""#.utf8)
            let end = min(count, start + 65536)
            var k = start
            while k + key.count < end {
                if buf[k] == 0x22 && memcmp(buf + k, key, key.count) == 0 {
                    var j = k + key.count
                    while j < end, buf[j] == 0x20 || buf[j] == 0x3a || buf[j] == 0x09 { j += 1 }
                    guard j < end, buf[j] == 0x22 else { return "" }
                    let from = j + 1
                    var to = from
                    while to < end, to - from < 128, buf[to] != 0x22, buf[to] >= 0x20 { to += 1 }
                    guard to < end, buf[to] == 0x22 else { return "" }
                    return " (ContactId \(String(decoding: UnsafeBufferPointer(start: buf + from, count: to - from), as: UTF8.self)))"
                }
                k += 1
            }
            return ""
        }
    }
}
