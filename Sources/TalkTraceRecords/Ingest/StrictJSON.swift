import Foundation

/// A strict RFC 8259 JSON parser over bytes that validates a whole record and keeps only the
/// fields asked for.
///
/// Why not `JSONSerialization`: it builds every value of every record (about 24 KB of objects
/// for a 2 KB CTR), and on Linux it accepts trailing commas, so a damaged record was copied into
/// `contacts.jsonl` as invalid JSON. This parser accepts exactly the JSON grammar (strings are
/// valid UTF-8 with no control characters, numbers as the grammar says, nesting at most
/// `maxDepth` deep), reports the first error with its byte offset, and tells "the bytes ran out"
/// (`incomplete`: read more, or the file is truncated) apart from a syntax error. Only the values
/// named by a `JSONWant` are decoded; everything else is validated and skipped.
public enum JSONWant: Sendable {
    /// Keep a string, number, bool or null; an object or array is kept as `.other`.
    case scalar
    /// Keep these members of an object (other members are validated and skipped); a non-object
    /// value is kept as a scalar.
    case object(JSONMembers)
    /// Keep every element of an array with `element`; a non-array value is kept as a scalar.
    indirect case array(JSONWant)
    /// Only whether the member is there: the value is validated and skipped, and kept as `.other`
    /// (a CTR's format version and initiation time are checked for, never read, when reading).
    case presence

    public static func object(_ members: [String: JSONWant]) -> JSONWant {
        .object(JSONMembers(members))
    }
}

/// The members a `JSONWant.object` keeps: their names as bytes (to compare with the input) and as
/// strings (made once here, not once per record), and what to keep of each.
public final class JSONMembers: @unchecked Sendable {
    let keys: [[UInt8]]
    let names: [String]
    let wants: [JSONWant]
    /// The names' bytes back to back, and each name's length and start in them: a member name in
    /// the input is compared by length first, then with one `memcmp` (immutable after init).
    let count: Int
    let storage: UnsafeMutablePointer<UInt8>
    let lengths: UnsafeMutablePointer<Int>
    let starts: UnsafeMutablePointer<Int>
    /// Bit `n` set when a name is `n` bytes long (names under 64 bytes; a longer one sets bit 63
    /// and is always compared): most members of a CTR are turned away by this one test.
    let lengthBits: UInt64

    public init(_ members: [String: JSONWant]) {
        let sorted = members.sorted { $0.key < $1.key }
        keys = sorted.map { Array($0.key.utf8) }
        names = sorted.map(\.key)
        wants = sorted.map(\.value)
        count = keys.count
        storage = .allocate(capacity: max(1, keys.reduce(0) { $0 + $1.count }))
        lengths = .allocate(capacity: max(1, count))
        starts = .allocate(capacity: max(1, count))
        lengthBits = keys.reduce(0) { $0 | (1 << UInt64(min($1.count, 63))) }
        var at = 0
        for (k, key) in keys.enumerated() {
            lengths[k] = key.count
            starts[k] = at
            for b in key { storage[at] = b; at += 1 }
        }
    }

    /// Where the member `name` is in a capture's `values` (members are kept sorted by name).
    func index(of name: String) -> Int? { names.firstIndex(of: name) }

    deinit {
        storage.deallocate()
        lengths.deallocate()
        starts.deallocate()
    }
}

/// The kept members of one object: a value (or nil, when absent) per wanted name. A dozen names
/// at most, so a scan beats hashing, and one array per object replaces a dictionary (hashing the
/// keys, allocating its storage: a third of the reader's time when captures were dictionaries).
public struct JSONObject: Sendable, Equatable {
    let names: [String]
    var values: [JSONCapture?]

    public subscript(key: String) -> JSONCapture? {
        let length = key.utf8.count
        for k in names.indices where names[k].utf8.count == length && names[k] == key { return values[k] }
        return nil
    }
}

/// What the parser kept of a value.
public enum JSONCapture: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case object(JSONObject)
    case array([JSONCapture])
    /// An object or array that was validated but not kept.
    case other

    public subscript(key: String) -> JSONCapture? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var number: Double? { if case .number(let n) = self { n } else { nil } }
    public var array: [JSONCapture]? { if case .array(let a) = self { a } else { nil } }
}

struct StrictJSONParser {
    enum Failure: Error, Equatable {
        /// The bytes ended inside the value.
        case incomplete
        /// Not JSON: what is wrong, at which byte (relative to the buffer).
        case syntax(at: Int, message: String)
    }

    static let maxDepth = 512

    let bytes: UnsafeBufferPointer<UInt8>
    var i: Int
    /// Whether the last string `skipString` passed holds a backslash (then its text is decoded
    /// before it is compared or kept).
    var escaped = false

    init(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) {
        self.bytes = bytes
        self.i = start
    }

    // MARK: Values

    /// Parses one value at `i` and leaves `i` after it.
    mutating func value(_ want: JSONWant?, depth: Int = 0) throws(Failure) -> JSONCapture {
        guard let want else { try skipValue(depth: depth); return .other }
        if case .presence = want { try skipValue(depth: depth); return .other }
        try skipWhitespace()
        let c = bytes[i]
        switch c {
        case 0x7b: return try object(want, depth: depth + 1)
        case 0x5b: return try array(want, depth: depth + 1)
        case 0x22: return .string(try string())
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6e: try literal("null"); return .null
        case 0x2d, 0x30...0x39: return try number(keep: true)
        default: throw .syntax(at: i, message: "unexpected \(Self.describe(c)) where a value belongs")
        }
    }

    /// Validates the value at `i` and leaves `i` after it, keeping nothing (most of a CTR).
    mutating func skipValue(depth: Int) throws(Failure) {
        try skipWhitespace()
        let c = bytes[i]
        switch c {
        case 0x22: try skipString()
        case 0x7b: try skipObject(depth: depth + 1)
        case 0x5b: try skipArray(depth: depth + 1)
        case 0x74: try literal("true")
        case 0x66: try literal("false")
        case 0x6e: try literal("null")
        case 0x2d, 0x30...0x39: _ = try number(keep: false)
        default: throw .syntax(at: i, message: "unexpected \(Self.describe(c)) where a value belongs")
        }
    }

    private mutating func skipObject(depth: Int) throws(Failure) {
        if depth > Self.maxDepth { throw .syntax(at: i, message: "nested deeper than \(Self.maxDepth) levels") }
        i += 1  // {
        try skipWhitespace()
        if bytes[i] == 0x7d { i += 1; return }
        while true {
            try skipWhitespace()
            guard bytes[i] == 0x22 else {
                throw .syntax(at: i, message: "expected a member name (a string), found \(Self.describe(bytes[i]))")
            }
            try skipString()
            try skipWhitespace()
            guard bytes[i] == 0x3a else { throw .syntax(at: i, message: "expected ':' after a member name, found \(Self.describe(bytes[i]))") }
            i += 1
            try skipValue(depth: depth)
            try skipWhitespace()
            switch bytes[i] {
            case 0x2c: i += 1
            case 0x7d: i += 1; return
            default: throw .syntax(at: i, message: "expected ',' or '}' after an object member, found \(Self.describe(bytes[i]))")
            }
        }
    }

    private mutating func skipArray(depth: Int) throws(Failure) {
        if depth > Self.maxDepth { throw .syntax(at: i, message: "nested deeper than \(Self.maxDepth) levels") }
        i += 1  // [
        try skipWhitespace()
        if bytes[i] == 0x5d { i += 1; return }
        while true {
            try skipValue(depth: depth)
            try skipWhitespace()
            switch bytes[i] {
            case 0x2c: i += 1
            case 0x5d: i += 1; return
            default: throw .syntax(at: i, message: "expected ',' or ']' after an array element, found \(Self.describe(bytes[i]))")
            }
        }
    }

    private mutating func object(_ want: JSONWant?, depth: Int) throws(Failure) -> JSONCapture {
        guard case .object(let members)? = want else { try skipObject(depth: depth); return .other }
        if depth > Self.maxDepth { throw .syntax(at: i, message: "nested deeper than \(Self.maxDepth) levels") }
        i += 1  // {
        var kept = JSONObject(names: members.names, values: [JSONCapture?](repeating: nil, count: members.count))
        try skipWhitespace()
        if bytes[i] == 0x7d { i += 1; return .object(kept) }
        while true {
            try skipWhitespace()
            guard bytes[i] == 0x22 else {
                throw .syntax(at: i, message: "expected a member name (a string), found \(Self.describe(bytes[i]))")
            }
            let keyStart = i
            try skipString()
            let keyEnd = i, keyEscaped = escaped
            try skipWhitespace()
            guard bytes[i] == 0x3a else { throw .syntax(at: i, message: "expected ':' after a member name, found \(Self.describe(bytes[i]))") }
            i += 1
            if let k = match(keyStart, keyEnd, escaped: keyEscaped, in: members) {
                kept.values[k] = try value(members.wants[k], depth: depth)  // a repeated name: the last wins
            } else {
                try skipValue(depth: depth)
            }
            try skipWhitespace()
            switch bytes[i] {
            case 0x2c: i += 1
            case 0x7d: i += 1; return .object(kept)
            default: throw .syntax(at: i, message: "expected ',' or '}' after an object member, found \(Self.describe(bytes[i]))")
            }
        }
    }

    private mutating func array(_ want: JSONWant?, depth: Int) throws(Failure) -> JSONCapture {
        guard case .array(let element)? = want else { try skipArray(depth: depth); return .other }
        if depth > Self.maxDepth { throw .syntax(at: i, message: "nested deeper than \(Self.maxDepth) levels") }
        i += 1  // [
        var kept: [JSONCapture] = []
        try skipWhitespace()
        if bytes[i] == 0x5d { i += 1; return .array(kept) }
        while true {
            kept.append(try value(element, depth: depth))
            try skipWhitespace()
            switch bytes[i] {
            case 0x2c: i += 1
            case 0x5d: i += 1; return .array(kept)
            default: throw .syntax(at: i, message: "expected ',' or ']' after an array element, found \(Self.describe(bytes[i]))")
            }
        }
    }

    /// The index of the wanted member whose name is the string at `start..<end` (quotes included;
    /// `escaped`: it holds a backslash, so its text is decoded first).
    private func match(_ start: Int, _ end: Int, escaped: Bool, in members: JSONMembers) -> Int? {
        if escaped {
            var copy = self
            copy.i = start
            guard let name = try? copy.string() else { return nil }
            for (k, key) in members.keys.enumerated() where key.elementsEqual(name.utf8) { return k }
            return nil
        }
        let length = end - start - 2
        guard members.lengthBits & (1 << UInt64(min(length, 63))) != 0 else { return nil }
        let text = bytes.baseAddress! + start + 1
        for k in 0..<members.count where members.lengths[k] == length {
            if memcmp(text, members.storage + members.starts[k], length) == 0 { return k }
        }
        return nil
    }

    // MARK: Tokens

    @inline(__always)
    mutating func skipWhitespace() throws(Failure) {
        while i < bytes.count {
            let c = bytes[i]
            guard c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 else { return }
            i += 1
        }
        throw .incomplete
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        // The common case in one comparison: the word, then a byte that ends it.
        if i + n < bytes.count, memcmp(bytes.baseAddress! + i, word.utf8Start, n) == 0, !Self.isIdentifierByte(bytes[i + n]) {
            i += n
            return
        }
        for k in 0..<n {
            guard i + k < bytes.count else { throw .incomplete }
            if bytes[i + k] != word.utf8Start[k] {
                throw .syntax(at: i, message: "unexpected \(Self.describe(bytes[i])) where a value belongs")
            }
        }
        i += n
        // A literal runs into the next token only through a delimiter.
        if i < bytes.count, Self.isIdentifierByte(bytes[i]) {
            throw .syntax(at: i, message: "unexpected \(Self.describe(bytes[i])) after \(word)")
        }
    }

    private mutating func number(keep: Bool) throws(Failure) -> JSONCapture {
        let start = i
        func digits(_ p: inout StrictJSONParser) throws(Failure) -> Int {
            var n = 0
            while p.i < p.bytes.count, (0x30...0x39).contains(p.bytes[p.i]) { p.i += 1; n += 1 }
            if p.i >= p.bytes.count { throw .incomplete }
            return n
        }
        if bytes[i] == 0x2d { i += 1; if i >= bytes.count { throw .incomplete } }
        if bytes[i] == 0x30 {
            i += 1
            if i >= bytes.count { throw .incomplete }
        } else if (0x31...0x39).contains(bytes[i]) {
            _ = try digits(&self)
        } else {
            throw .syntax(at: i, message: "a number needs a digit after '-'")
        }
        if bytes[i] == 0x2e {
            i += 1
            if i >= bytes.count { throw .incomplete }
            if try digits(&self) == 0 { throw .syntax(at: i, message: "a number needs digits after '.'") }
        }
        if bytes[i] == 0x65 || bytes[i] == 0x45 {
            i += 1
            if i >= bytes.count { throw .incomplete }
            if bytes[i] == 0x2b || bytes[i] == 0x2d { i += 1; if i >= bytes.count { throw .incomplete } }
            if try digits(&self) == 0 { throw .syntax(at: i, message: "a number needs digits in its exponent") }
        }
        if Self.isIdentifierByte(bytes[i]) || bytes[i] == 0x2e {
            throw .syntax(at: i, message: "unexpected \(Self.describe(bytes[i])) in a number")
        }
        guard keep else { return .other }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        return .number(Double(text) ?? .nan)
    }

    /// Validates the string at `i` (its opening quote) and leaves `i` after the closing quote;
    /// `escaped` says whether it held a backslash.
    @inline(__always)
    mutating func skipString() throws(Failure) {
        i += 1
        escaped = false
        let n = bytes.count
        let base = UnsafeRawPointer(bytes.baseAddress!)
        while true {
            // Eight bytes at a time, sixteen per turn, up to the first special byte (a quote, a
            // backslash, a control character, non-ASCII): the long attribute values of a CTR are
            // most of its bytes. A word's flags are exact up to its first special byte (a borrow
            // only runs upwards from a byte that is flagged itself), so the lowest flag is where
            // the next special byte is, and the loop jumps straight to it.
            while i + 16 <= n {
                let a = Self.special(base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let b = Self.special(base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                if a != 0 { i += a.trailingZeroBitCount >> 3; break }
                if b != 0 { i += 8 + b.trailingZeroBitCount >> 3; break }
                i += 16
            }
            guard i < n else { throw .incomplete }
            let c = bytes[i]
            if c == 0x22 { i += 1; return }
            if c >= 0x20 && c < 0x80 && c != 0x5c { i += 1; continue }  // near the buffer's end only
            if c == 0x5c {
                guard i + 1 < n else { throw .incomplete }
                escaped = true
                switch bytes[i + 1] {
                case 0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74: i += 2
                case 0x75:
                    guard i + 6 <= n else { throw .incomplete }
                    for k in 2..<6 where Self.hexValue(bytes[i + k]) == nil {
                        throw .syntax(at: i + k, message: "\\u needs four hexadecimal digits")
                    }
                    i += 6
                default: throw .syntax(at: i, message: "invalid escape \\\(Self.describe(bytes[i + 1]).trimmingQuotes) in a string")
                }
                continue
            }
            if c < 0x20 {
                throw .syntax(at: i, message: c == 0 ? "NUL byte inside a string" : c == 0x0a
                    ? "line break inside a string (unterminated string?)" : "control character \(Self.describe(c)) inside a string")
            }
            // Multi-byte UTF-8: lead byte, then continuation bytes in the ranges RFC 3629 allows.
            let (length, low, high): (Int, UInt8, UInt8)
            switch c {
            case 0xc2...0xdf: (length, low, high) = (2, 0x80, 0xbf)
            case 0xe0: (length, low, high) = (3, 0xa0, 0xbf)
            case 0xed: (length, low, high) = (3, 0x80, 0x9f)
            case 0xe1...0xef: (length, low, high) = (3, 0x80, 0xbf)
            case 0xf0: (length, low, high) = (4, 0x90, 0xbf)
            case 0xf4: (length, low, high) = (4, 0x80, 0x8f)
            case 0xf1...0xf3: (length, low, high) = (4, 0x80, 0xbf)
            default: throw .syntax(at: i, message: "invalid UTF-8 (\(Self.describe(c))) in a string")
            }
            guard i + length <= n else { throw .incomplete }
            guard (low...high).contains(bytes[i + 1]) else { throw .syntax(at: i + 1, message: "invalid UTF-8 sequence in a string") }
            for k in 2..<length where !(0x80...0xbf).contains(bytes[i + k]) {
                throw .syntax(at: i + k, message: "invalid UTF-8 sequence in a string")
            }
            i += length
        }
    }

    /// The high bit of each byte of `w` (little-endian) that is special inside a string: a quote,
    /// a backslash, a control character or non-ASCII. Exact for the lowest flagged byte; bytes
    /// above it may be flagged by a borrow. Without the usual `& ~x` terms: a byte whose own high
    /// bit is set is flagged anyway (non-ASCII), and below 0x80 the subtractions set the high bit
    /// only for a byte under 0x20 or equal to the quote or backslash.
    @inline(__always)
    static func special(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = w ^ (0x22 &* ones), backslash = w ^ (0x5c &* ones)
        return (w | (w &- 0x20 &* ones) | (quote &- ones) | (backslash &- ones)) & (0x80 &* ones)
    }

    /// Validates and decodes the string at `i`.
    mutating func string() throws(Failure) -> String {
        let start = i
        try skipString()
        let body = UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(i - 1)])
        guard escaped else { return String(decoding: body, as: UTF8.self) }
        var out = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        func flush() { if !utf8.isEmpty { out.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars); utf8.removeAll() } }
        var k = 0
        while k < body.count {
            let c = body[k]
            guard c == 0x5c else { utf8.append(c); k += 1; continue }
            let e = body[k + 1]
            switch e {
            case 0x75:
                flush()
                var code = Self.hex4(body, k + 2)
                k += 6
                if (0xd800...0xdbff).contains(code), k + 6 <= body.count, body[k] == 0x5c, body[k + 1] == 0x75 {
                    let low = Self.hex4(body, k + 2)
                    if (0xdc00...0xdfff).contains(low) { code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00); k += 6 }
                }
                out.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                continue
            case 0x62: utf8.append(0x08)
            case 0x66: utf8.append(0x0c)
            case 0x6e: utf8.append(0x0a)
            case 0x72: utf8.append(0x0d)
            case 0x74: utf8.append(0x09)
            default: utf8.append(e)  // " \ /
            }
            k += 2
        }
        flush()
        return String(out)
    }

    // MARK: Helpers

    static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: UInt32(c - 0x30)
        case 0x41...0x46: UInt32(c - 0x41 + 10)
        case 0x61...0x66: UInt32(c - 0x61 + 10)
        default: nil
        }
    }

    static func hex4(_ b: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32 {
        (0..<4).reduce(0) { ($0 << 4) | (hexValue(b[at + $1]) ?? 0) }
    }

    static func isIdentifierByte(_ c: UInt8) -> Bool {
        (0x30...0x39).contains(c) || (0x41...0x5a).contains(c) || (0x61...0x7a).contains(c) || c == 0x5f || c >= 0x80
    }

    /// A byte as a user reads it: `'x'` for printable ASCII, `byte 0x1f` otherwise.
    static func describe(_ c: UInt8) -> String {
        (0x21...0x7e).contains(c) ? "'\(Character(UnicodeScalar(c)))'" : c == 0x20 ? "a space" : "byte 0x" + String(c, radix: 16, uppercase: false).leftPadded(2)
    }
}

extension String {
    fileprivate var trimmingQuotes: String { hasPrefix("'") && hasSuffix("'") && count >= 2 ? String(dropFirst().dropLast()) : self }
    fileprivate func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
