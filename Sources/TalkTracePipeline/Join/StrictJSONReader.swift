import Foundation

/// A small strict reader of JSON text, for the join: it checks the grammar of every byte it
/// passes (RFC 8259: structure, string escapes, control characters, UTF-8, number syntax, nesting
/// depth) but builds nothing, and hands out only the members asked for. The join splices each
/// analysis's bytes verbatim into the outputs and reads just the few members the CSV, the database
/// and the summary need, instead of decoding every analysis with Foundation's `JSONDecoder` and
/// encoding it again (which was about two thirds of a join's CPU time).
///
/// Works on a byte buffer that outlives the reader (`withUnsafeBytes`); offsets are into it.
struct StrictJSONReader {
    struct Failure: Error {
        var offset: Int
        var problem: String
    }

    let bytes: UnsafeRawBufferPointer
    var i: Int
    let end: Int
    static let maximumDepth = 512

    init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        i = start
        self.end = end ?? bytes.count
    }

    func fail(_ problem: String) -> Failure { Failure(offset: i, problem: problem) }

    @inline(__always)
    mutating func space() {
        while i < end {
            let b = bytes[i]
            guard b == 0x20 || b == 0x0a || b == 0x0d || b == 0x09 else { return }
            i += 1
        }
    }

    /// The next byte after white space, not consumed; nil at the end.
    @inline(__always)
    mutating func peek() -> UInt8? {
        space()
        return i < end ? bytes[i] : nil
    }

    @inline(__always)
    mutating func expect(_ b: UInt8) throws(Failure) {
        space()
        guard i < end, bytes[i] == b else { throw fail("expected '\(Character(UnicodeScalar(b)))'") }
        i += 1
    }

    /// Calls `member` with each key's byte range (inside the quotes); `member` must read or skip
    /// the value.
    mutating func object(depth: Int = 0, _ member: (inout StrictJSONReader, Range<Int>) throws(Failure) -> Void) throws(Failure) {
        guard depth < Self.maximumDepth else { throw fail("nested too deep") }
        try expect(0x7b)
        if peek() == 0x7d { i += 1; return }
        while true {
            space()
            let key = try stringRange()
            try expect(0x3a)
            try member(&self, (key.lowerBound + 1)..<(key.upperBound - 1))
            space()
            guard i < end else { throw fail("unterminated object") }
            if bytes[i] == 0x2c { i += 1; continue }
            if bytes[i] == 0x7d { i += 1; return }
            throw fail("expected ',' or '}'")
        }
    }

    /// Calls `item` for each element; `item` must read or skip it.
    mutating func array(depth: Int = 0, _ item: (inout StrictJSONReader) throws(Failure) -> Void) throws(Failure) {
        guard depth < Self.maximumDepth else { throw fail("nested too deep") }
        try expect(0x5b)
        if peek() == 0x5d { i += 1; return }
        while true {
            try item(&self)
            space()
            guard i < end else { throw fail("unterminated array") }
            if bytes[i] == 0x2c { i += 1; continue }
            if bytes[i] == 0x5d { i += 1; return }
            throw fail("expected ',' or ']'")
        }
    }

    /// Whether the key at `range` is `name` (keys are compared as written, escapes and all).
    @inline(__always)
    func key(_ range: Range<Int>, is name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        return memcmp(bytes.baseAddress! + range.lowerBound, name.utf8Start, range.count) == 0
    }

    /// Skips any value, checking it.
    mutating func skip(depth: Int = 0) throws(Failure) {
        guard let b = peek() else { throw fail("expected a value") }
        switch b {
        case 0x7b: try object(depth: depth) { (r: inout StrictJSONReader, _: Range<Int>) throws(Failure) in try r.skip(depth: depth + 1) }
        case 0x5b: try array(depth: depth) { (r: inout StrictJSONReader) throws(Failure) in try r.skip(depth: depth + 1) }
        case 0x22: _ = try stringRange()
        case 0x74: try literal("true")
        case 0x66: try literal("false")
        case 0x6e: try literal("null")
        default: _ = try numberRange()
        }
    }

    /// Skips a value and returns its byte range (white space around it excluded).
    mutating func valueRange() throws(Failure) -> Range<Int> {
        space()
        let start = i
        try skip()
        return start..<i
    }

    mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard end - i >= n, memcmp(bytes.baseAddress! + i, word.utf8Start, n) == 0 else { throw fail("not a JSON value") }
        i += n
    }

    /// `null` if it is next (consumed), else false.
    @inline(__always)
    mutating func null() throws(Failure) -> Bool {
        guard peek() == 0x6e else { return false }
        try literal("null")
        return true
    }

    /// A string's range, quotes included, checked: escapes, no raw control characters, UTF-8.
    mutating func stringRange() throws(Failure) -> Range<Int> {
        space()
        let start = i
        guard i < end, bytes[i] == 0x22 else { throw fail("expected a string") }
        i += 1
        while i < end {
            let b = bytes[i]
            if b == 0x22 { i += 1; return start..<i }
            if b == 0x5c {
                guard i + 1 < end else { break }
                switch bytes[i + 1] {
                case 0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74: i += 2
                case 0x75:
                    guard i + 6 <= end, (2..<6).allSatisfy({ Self.hex(bytes[i + $0]) != nil }) else { throw fail("bad \\u escape") }
                    i += 6
                default: throw fail("bad escape")
                }
            } else if b < 0x20 {
                throw fail("control character in a string")
            } else if b < 0x80 {
                i += 1
            } else {
                try utf8Sequence()
            }
        }
        throw fail("unterminated string")
    }

    /// One multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
    private mutating func utf8Sequence() throws(Failure) {
        let b = bytes[i]
        let n: Int, low: UInt8, high: UInt8
        switch b {
        case 0xc2...0xdf: n = 2; low = 0x80; high = 0xbf
        case 0xe0: n = 3; low = 0xa0; high = 0xbf
        case 0xe1...0xec, 0xee, 0xef: n = 3; low = 0x80; high = 0xbf
        case 0xed: n = 3; low = 0x80; high = 0x9f
        case 0xf0: n = 4; low = 0x90; high = 0xbf
        case 0xf1...0xf3: n = 4; low = 0x80; high = 0xbf
        case 0xf4: n = 4; low = 0x80; high = 0x8f
        default: throw fail("not UTF-8")
        }
        guard i + n <= end, bytes[i + 1] >= low, bytes[i + 1] <= high else { throw fail("not UTF-8") }
        for k in 2..<n where bytes[i + k] & 0xc0 != 0x80 { throw fail("not UTF-8") }
        i += n
    }

    static func hex(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: UInt32(b - 0x30)
        case 0x41...0x46: UInt32(b - 0x41 + 10)
        case 0x61...0x66: UInt32(b - 0x61 + 10)
        default: nil
        }
    }

    /// A string's value.
    mutating func string() throws(Failure) -> String {
        let r = try stringRange()
        let body = UnsafeRawBufferPointer(rebasing: bytes[(r.lowerBound + 1)..<(r.upperBound - 1)])
        if !body.contains(0x5c) { return String(decoding: body, as: UTF8.self) }  // checked UTF-8 already
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var k = 0
        while k < body.count {
            let b = body[k]
            guard b == 0x5c else { out.append(b); k += 1; continue }
            let e = body[k + 1]
            k += 2
            switch e {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0c)
            case 0x6e: out.append(0x0a)
            case 0x72: out.append(0x0d)
            case 0x74: out.append(0x09)
            case 0x75:
                var u = (0..<4).reduce(UInt32(0)) { $0 << 4 | Self.hex(body[k + $1])! }
                k += 4
                if u >= 0xd800 && u < 0xdc00, k + 6 <= body.count, body[k] == 0x5c, body[k + 1] == 0x75 {
                    let lo = (2..<6).reduce(UInt32(0)) { $0 << 4 | (Self.hex(body[k + $1]) ?? 0) }
                    if lo >= 0xdc00 && lo < 0xe000 {
                        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00)
                        k += 6
                    }
                }
                // A lone surrogate cannot be a character: U+FFFD, as JSONDecoder reads it.
                let scalar = Unicode.Scalar(u) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(e)  // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A number's range, its syntax checked: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    mutating func numberRange() throws(Failure) -> (range: Range<Int>, integral: Bool) {
        space()
        let start = i
        if i < end, bytes[i] == 0x2d { i += 1 }
        func digits(_ r: inout StrictJSONReader) -> Int {
            let s = r.i
            while r.i < r.end, r.bytes[r.i] >= 0x30, r.bytes[r.i] <= 0x39 { r.i += 1 }
            return r.i - s
        }
        let first = i
        let n = digits(&self)
        guard n > 0, !(n > 1 && bytes[first] == 0x30) else { i = start; throw fail("not a JSON value") }
        var integral = true
        if i < end, bytes[i] == 0x2e {
            i += 1
            integral = false
            guard digits(&self) > 0 else { throw fail("bad number") }
        }
        if i < end, bytes[i] == 0x65 || bytes[i] == 0x45 {
            i += 1
            integral = false
            if i < end, bytes[i] == 0x2b || bytes[i] == 0x2d { i += 1 }
            guard digits(&self) > 0 else { throw fail("bad number") }
        }
        return (start..<i, integral)
    }

    /// A number as a Double (correctly rounded, so the text TalkTrace wrote gives back the Double
    /// it was written from); nil for `null` (a non-finite number is written as `null`).
    mutating func double() throws(Failure) -> Double? {
        if try null() { return nil }
        let (r, _) = try numberRange()
        return Self.fastDouble(bytes, r) ?? Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self))
    }

    static let powersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { x, _ in x * 10 } }

    /// Clinger's fast path: at most 15 significant digits and a power of ten up to 1e22 are both
    /// exact Doubles, so one multiplication or division of them is correctly rounded: the value
    /// Swift's own parser gives (which the rest falls back to). TalkTrace's numbers (`-55.3`,
    /// `0.355`, `1772532900.0`) all take it.
    @inline(__always)
    static func fastDouble(_ bytes: UnsafeRawBufferPointer, _ r: Range<Int>) -> Double? {
        var k = r.lowerBound
        let negative = bytes[k] == 0x2d
        if negative { k += 1 }
        var mantissa: UInt64 = 0, digits = 0, exponent = 0
        while k < r.upperBound, bytes[k] >= 0x30, bytes[k] <= 0x39 {
            mantissa = mantissa &* 10 &+ UInt64(bytes[k] - 0x30)
            if mantissa != 0 { digits += 1 }
            k += 1
        }
        if k < r.upperBound, bytes[k] == 0x2e {
            k += 1
            while k < r.upperBound, bytes[k] >= 0x30, bytes[k] <= 0x39 {
                mantissa = mantissa &* 10 &+ UInt64(bytes[k] - 0x30)
                if mantissa != 0 { digits += 1 }
                exponent -= 1
                k += 1
            }
        }
        guard digits <= 15 else { return nil }
        if k < r.upperBound {  // an exponent
            k += 1
            var sign = 1, e = 0
            if bytes[k] == 0x2d { sign = -1; k += 1 } else if bytes[k] == 0x2b { k += 1 }
            while k < r.upperBound {
                e = e * 10 + Int(bytes[k] - 0x30)
                if e > 400 { return nil }
                k += 1
            }
            exponent += sign * e
        }
        guard exponent >= -22, exponent <= 22 else { return nil }
        var v = Double(mantissa)
        v = exponent < 0 ? v / powersOfTen[-exponent] : v * powersOfTen[exponent]
        return negative ? -v : v
    }

    /// An integer; nil for `null`.
    mutating func int() throws(Failure) -> Int? {
        if try null() { return nil }
        let (r, integral) = try numberRange()
        guard integral else { throw Failure(offset: r.lowerBound, problem: "expected an integer") }
        var v = 0
        var negative = false
        for k in r {
            let b = bytes[k]
            if b == 0x2d { negative = true; continue }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(b - 0x30))
            guard !o1, !o2 else { throw Failure(offset: r.lowerBound, problem: "integer out of range") }
            v = s
        }
        return negative ? -v : v
    }

    /// A string or `null`.
    mutating func optionalString() throws(Failure) -> String? {
        if try null() { return nil }
        return try string()
    }

    /// Checks that nothing but white space is left.
    mutating func finish() throws(Failure) {
        space()
        guard i == end else { throw fail("text after the JSON value") }
    }
}
