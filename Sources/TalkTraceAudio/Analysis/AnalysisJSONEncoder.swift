import Foundation

/// The JSON encoder for everything TalkTrace writes: byte for byte what Foundation's
/// `JSONEncoder` writes with PascalCase keys, `.sortedKeys` and `.withoutEscapingSlashes`
/// (compact or `.prettyPrinted`), checked by `JSONEncoderTests`, with one deliberate difference:
/// a non-finite number (NaN, ±infinity) is written as `null`, never as a string where a number
/// belongs (Foundation's `.convertToString` wrote `"inf"`, which breaks every reader expecting a
/// number; its default throws and loses the whole document). The analysis sanitizes its input so
/// none should arise. What else differs is memory. `JSONEncoder` builds a tree of the whole document
/// before writing any of it: for a 10-hour call (16,000 segments, 29,000 loudness pairs) that is
/// 11 MB of peak memory for 2.7 MB of text. This encoder writes as it goes: an object's members
/// are collected as values (not encoded yet) and, once sorted, each is encoded straight into the
/// output; an array's items are encoded into the output as the array hands them over. What it
/// holds is one object's member list per level and an output buffer handed to `write` every
/// 64 KB.
///
/// `contract: true` (what `CallAnalysis.encoder` uses for every output) departs from Foundation
/// twice more, for the published schema (`talktrace schema`): a number whose type is
/// floating-point is always written as one (`12.0`, not `12`: engines that infer a column's type
/// from the first rows — Spark, Athena's crawler — would otherwise make it an integer and fail on
/// `12.5` later), and an optional member that is nil is written as `null` instead of left out, so
/// every column of the schema is in every line.
public final class AnalysisJSONEncoder {
    public let pretty: Bool
    public let contract: Bool

    public init(pretty: Bool = false, contract: Bool = false) {
        self.pretty = pretty
        self.contract = contract
    }

    public func encode<T: Encodable>(_ value: T) throws -> Data {
        var data = Data()
        try encode(value) { data.append(contentsOf: $0) }
        return data
    }

    /// Encodes `value`, handing the text to `write` in pieces of about 64 KB, in order.
    public func encode<T: Encodable>(_ value: T, write: ([UInt8]) -> Void) throws {
        try withoutActuallyEscaping(write) { write in
            let sink = JSONSink(pretty: pretty, contract: contract, write: write)
            try sink.value(value, path: [], depth: 0)
            sink.finish()
        }
    }

    /// `talkSeconds` -> `TalkSeconds`, as `CallAnalysis.encoder`'s key strategy always did.
    static func pascal(_ key: String) -> String {
        guard let first = key.utf8.first else { return key }
        if first < 0x80 && !(first >= 0x61 && first <= 0x7a) { return key }  // ASCII, not lowercase: unchanged
        return key.prefix(1).uppercased() + key.dropFirst()
    }
}

/// Where the text goes: a buffer handed to `write` whenever it passes 64 KB.
final class JSONSink {
    let pretty: Bool
    /// Floats written as floats, nil optionals as `null` (see `AnalysisJSONEncoder.contract`).
    let contract: Bool
    private let write: ([UInt8]) -> Void
    var out: [UInt8] = []

    init(pretty: Bool, contract: Bool, write: @escaping ([UInt8]) -> Void) {
        self.pretty = pretty
        self.contract = contract
        self.write = write
        out.reserveCapacity(1 << 16 + 4096)
    }

    @inline(__always)
    func flushIfFull() {
        if out.count >= 1 << 16 { write(out); out.removeAll(keepingCapacity: true) }
    }

    func finish() {
        if !out.isEmpty { write(out); out.removeAll() }
    }

    @inline(__always)
    func newline(_ depth: Int) {
        out.append(0x0a)
        for _ in 0..<(2 * depth) { out.append(0x20) }
    }

    /// Writes `value` at `depth`: scalars directly, `[String: V]` with its keys as they are (like
    /// `JSONEncoder`, which applies the key strategy to coding keys, not to dictionary keys),
    /// anything else through its `encode(to:)`.
    func value<T: Encodable>(_ value: T, path: [any CodingKey], depth: Int) throws {
        if writeScalar(value, into: &out, floatsAsFloats: contract) { return }
        // A cast to a concrete generic type, not to a protocol: the runtime checks the kind of
        // `T` first, where a protocol cast scans every conformance record once per type
        // (a third of a 1-minute call's instructions when this was `as? any Protocol`).
        if let dictionary = value as? [String: any Encodable] {
            try object(dictionary.map { key, value in
                Member(key: key) { sink, depth in try sink.value(value, path: [], depth: depth) }
            }, depth: depth)
            return
        }
        let frame = Frame()
        try value.encode(to: JSONTextEncoder(codingPath: path, frame: frame, sink: self, depth: depth))
        try frame.close(self, depth: depth)
    }

    /// Writes an object from its members, sorted by key, the last value for a key winning.
    func object(_ members: [Member], depth: Int) throws {
        var index: [String: Int] = [:]
        var unique: [Member] = []
        unique.reserveCapacity(members.count)
        for m in members where contract || !m.omittable {
            if let i = index[m.key] { unique[i] = m } else { index[m.key] = unique.count; unique.append(m) }
        }
        unique.sort { $0.key < $1.key }
        out.append(UInt8(ascii: "{"))
        if unique.isEmpty {
            if pretty { out.append(0x0a); newline(depth) }
            out.append(UInt8(ascii: "}"))
            return
        }
        for (i, m) in unique.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            if pretty { newline(depth + 1) }
            writeString(m.key, into: &out)
            if pretty { out.append(contentsOf: [0x20, 0x3a, 0x20]) } else { out.append(0x3a) }
            try m.write(self, depth + 1)
            flushIfFull()
        }
        if pretty { newline(depth) }
        out.append(UInt8(ascii: "}"))
    }
}

/// One member of an object, not yet written: a value to encode, `null`, or a nested container
/// its owner filled while encoding.
struct Member {
    let key: String
    /// A nil optional: written as `null` in contract mode, left out otherwise (as Foundation does).
    var omittable = false
    let write: (JSONSink, Int) throws -> Void
}

/// What one `encode(to:)` call asked for: nothing yet, an object (its members collected), an
/// array being written as it goes (`items` so far), an array or single value collected for later
/// (a nested container, filled before its place in the output comes), or a single value written.
final class Frame {
    enum Kind { case none, keyed, unkeyed, deferredArray, deferredSingle, single }
    var kind = Kind.none
    var members: [Member] = []
    /// Items of a written-as-it-goes array: `items` in all, of which the last `members.count`
    /// are held back. Once the array hands out a nested container, its owner may fill it at any
    /// time until the array is done, so from then on items are collected and written at the end.
    var items = 0
    var deferring = false

    func close(_ sink: JSONSink, depth: Int) throws {
        switch kind {
        case .none:
            sink.out.append(contentsOf: "{}".utf8)  // JSONEncoder writes an empty object for a value that encoded nothing
        case .keyed:
            try sink.object(members, depth: depth)
        case .deferredArray:
            sink.out.append(UInt8(ascii: "["))  // an array written as it goes opened when it began
            fallthrough
        case .unkeyed:
            let written = items - members.count
            for (k, m) in members.enumerated() {
                if written + k > 0 { sink.out.append(UInt8(ascii: ",")) }
                if sink.pretty { sink.newline(depth + 1) }
                try m.write(sink, depth + 1)
            }
            if items == 0 && sink.pretty { sink.out.append(0x0a) }
            if sink.pretty { sink.newline(depth) }
            sink.out.append(UInt8(ascii: "]"))
        case .deferredSingle:
            try members.last?.write(sink, depth)
        case .single:
            break
        }
    }

    /// Starts the next array item written now: the separator, the indent.
    func beginItem(_ sink: JSONSink, depth: Int) {
        if items > 0 { sink.out.append(UInt8(ascii: ",")) }
        if sink.pretty { sink.newline(depth + 1) }
        items += 1
    }

    /// Holds back the next array item: after `deferring` starts, and every item of a deferred array.
    func holdItem(_ write: @escaping (JSONSink, Int) throws -> Void) {
        members.append(Member(key: "", write: write))
        items += 1
    }
}

// MARK: - Scalars as JSONEncoder writes them

@inline(__always)
func writeString(_ s: String, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "\""): out.append(contentsOf: [0x5c, 0x22])
        case UInt8(ascii: "\\"): out.append(contentsOf: [0x5c, 0x5c])
        case 0x0a: out.append(contentsOf: [0x5c, UInt8(ascii: "n")])
        case 0x0d: out.append(contentsOf: [0x5c, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5c, UInt8(ascii: "t")])
        case 0x08: out.append(contentsOf: [0x5c, UInt8(ascii: "b")])
        case 0x0c: out.append(contentsOf: [0x5c, UInt8(ascii: "f")])
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [0x5c, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
        default: out.append(b)
        }
    }
    out.append(UInt8(ascii: "\""))
}

@inline(__always)
func writeNumber<F: BinaryFloatingPoint & CustomStringConvertible>(_ x: F, into out: inout [UInt8], floatsAsFloats: Bool) {
    // JSON has no NaN or infinity: `null`, as for a value that is not there.
    if !x.isFinite { out.append(contentsOf: "null".utf8); return }
    let s = x.description
    // Swift writes `12.0`, `1e-07`, `1e+16`: always a float to a JSON reader. Foundation drops
    // the `.0`.
    out.append(contentsOf: !floatsAsFloats && s.hasSuffix(".0") ? s.utf8.dropLast(2) : s.utf8[...])
}

/// Writes the common scalars without going through `encode(to:)`; false for anything else.
@inline(__always)
func writeScalar<T: Encodable>(_ value: T, into out: inout [UInt8], floatsAsFloats: Bool) -> Bool {
    switch value {
    case let v as Double: writeNumber(v, into: &out, floatsAsFloats: floatsAsFloats)
    case let v as Float: writeNumber(v, into: &out, floatsAsFloats: floatsAsFloats)
    case let v as Int: out.append(contentsOf: String(v).utf8)
    case let v as String: writeString(v, into: &out)
    case let v as Bool: out.append(contentsOf: (v ? "true" : "false").utf8)
    // Concrete types, not `any BinaryInteger`: see `JSONSink.value`.
    case let v as Int32: out.append(contentsOf: String(v).utf8)
    case let v as Int64: out.append(contentsOf: String(v).utf8)
    case let v as UInt8: out.append(contentsOf: String(v).utf8)
    case let v as UInt: out.append(contentsOf: String(v).utf8)
    case let v as UInt32: out.append(contentsOf: String(v).utf8)
    case let v as UInt64: out.append(contentsOf: String(v).utf8)
    case let v as Int8: out.append(contentsOf: String(v).utf8)
    case let v as Int16: out.append(contentsOf: String(v).utf8)
    case let v as UInt16: out.append(contentsOf: String(v).utf8)
    default: return false
    }
    return true
}

// MARK: - The Encoder

struct JSONTextEncoder: Encoder {
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    let frame: Frame
    /// Where arrays and single values are written as they come; nil for a nested container,
    /// which its owner fills before its place in the output comes: it collects instead.
    let sink: JSONSink?
    /// Depth of the value being encoded (pretty printing indents by it).
    let depth: Int

    init(codingPath: [any CodingKey], frame: Frame, sink: JSONSink?, depth: Int) {
        self.codingPath = codingPath
        self.frame = frame
        self.sink = sink
        self.depth = depth
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if frame.kind == .none { frame.kind = .keyed }
        precondition(frame.kind == .keyed, "a value asked for an object after encoding something else")
        return KeyedEncodingContainer(KeyedText<Key>(codingPath: codingPath, frame: frame, sink: sink, depth: depth))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        guard let sink else {
            if frame.kind == .none { frame.kind = .deferredArray }
            precondition(frame.kind == .deferredArray, "a value asked for an array after encoding something else")
            return DeferredArray(codingPath: codingPath, frame: frame)
        }
        if frame.kind == .none {
            frame.kind = .unkeyed
            sink.out.append(UInt8(ascii: "["))
        }
        precondition(frame.kind == .unkeyed, "a value asked for an array after encoding something else")
        return UnkeyedText(codingPath: codingPath, frame: frame, sink: sink, depth: depth)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleText(codingPath: codingPath, frame: frame, sink: sink, depth: depth)
    }
}

struct KeyedText<Key: CodingKey>: KeyedEncodingContainerProtocol {
    var codingPath: [any CodingKey]
    let frame: Frame
    let sink: JSONSink?
    let depth: Int

    private func name(_ key: Key) -> String {
        key.intValue != nil ? key.stringValue : AnalysisJSONEncoder.pascal(key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws {
        frame.members.append(Member(key: name(key)) { sink, _ in sink.out.append(contentsOf: "null".utf8) })
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        let path = codingPath + [key]
        frame.members.append(Member(key: name(key)) { sink, depth in try sink.value(value, path: path, depth: depth) })
    }

    /// A nil optional: `null` in contract mode, left out otherwise.
    private mutating func absent(_ key: Key) {
        frame.members.append(Member(key: name(key), omittable: true) { sink, _ in sink.out.append(contentsOf: "null".utf8) })
    }

    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { absent(key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { if let value { try encode(value, forKey: key) } else { absent(key) } }

    /// A nested container is filled by its owner now and written with the other members later.
    private func nested(_ key: Key) -> JSONTextEncoder {
        let nested = Frame()
        frame.members.append(Member(key: name(key)) { sink, depth in try nested.close(sink, depth: depth) })
        return JSONTextEncoder(codingPath: codingPath + [key], frame: nested, sink: nil, depth: depth + 1)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        nested(key).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        nested(key).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let s = Frame()
        frame.members.append(Member(key: "super") { sink, depth in try s.close(sink, depth: depth) })
        return JSONTextEncoder(codingPath: codingPath, frame: s, sink: nil, depth: depth + 1)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder { nested(key) }
}

/// An array filled before its place in the output comes (a nested container): items are kept
/// as members and written, in order, when the frame is closed.
struct DeferredArray: UnkeyedEncodingContainer {
    var codingPath: [any CodingKey]
    let frame: Frame
    var count: Int { frame.items }

    mutating func encodeNil() throws {
        frame.holdItem { sink, _ in sink.out.append(contentsOf: "null".utf8) }
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = codingPath + [IndexKey(count)]
        frame.holdItem { sink, depth in try sink.value(value, path: path, depth: depth) }
    }

    private mutating func nested() -> JSONTextEncoder {
        let path = codingPath + [IndexKey(count)]
        let nested = Frame()
        frame.holdItem { sink, depth in try nested.close(sink, depth: depth) }
        return JSONTextEncoder(codingPath: path, frame: nested, sink: nil, depth: 0)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        nested().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { nested().unkeyedContainer() }

    mutating func superEncoder() -> any Encoder { nested() }
}

struct IndexKey: CodingKey {
    var stringValue: String { String(intValue!) }
    var intValue: Int?
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

/// An array written as its items come.
struct UnkeyedText: UnkeyedEncodingContainer {
    var codingPath: [any CodingKey]
    let frame: Frame
    let sink: JSONSink
    let depth: Int
    var count: Int { frame.items }

    mutating func encodeNil() throws {
        if frame.deferring { frame.holdItem { sink, _ in sink.out.append(contentsOf: "null".utf8) }; return }
        frame.beginItem(sink, depth: depth)
        sink.out.append(contentsOf: "null".utf8)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = codingPath + [IndexKey(count)]
        if frame.deferring { frame.holdItem { sink, depth in try sink.value(value, path: path, depth: depth) }; return }
        frame.beginItem(sink, depth: depth)
        try sink.value(value, path: path, depth: depth + 1)
        sink.flushIfFull()
    }

    /// A nested container for the next item: its owner fills it when it likes, so it and every
    /// later item are written when the array closes.
    private mutating func nested() -> JSONTextEncoder {
        let path = codingPath + [IndexKey(count)]
        let nested = Frame()
        frame.deferring = true
        frame.holdItem { sink, depth in try nested.close(sink, depth: depth) }
        return JSONTextEncoder(codingPath: path, frame: nested, sink: nil, depth: depth + 1)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        nested().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        nested().unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { nested() }
}

struct SingleText: SingleValueEncodingContainer {
    var codingPath: [any CodingKey]
    let frame: Frame
    let sink: JSONSink?
    let depth: Int

    mutating func encodeNil() throws {
        guard let sink else {
            frame.kind = .deferredSingle
            frame.members = [Member(key: "") { sink, _ in sink.out.append(contentsOf: "null".utf8) }]
            return
        }
        frame.kind = .single
        sink.out.append(contentsOf: "null".utf8)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = codingPath
        guard let sink else {
            frame.kind = .deferredSingle
            frame.members = [Member(key: "") { sink, depth in try sink.value(value, path: path, depth: depth) }]
            return
        }
        frame.kind = .single
        try sink.value(value, path: path, depth: depth)
    }
}
