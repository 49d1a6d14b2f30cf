import Foundation
import Testing
@testable import TalkTraceAudio
import _TestSupport

/// `AnalysisJSONEncoder` must write exactly what Foundation's `JSONEncoder` wrote before it, with
/// the options TalkTrace used: the outputs are read by other tools.
@Suite("JSON output")
struct JSONEncoderTests {
    /// Foundation's encoder as TalkTrace configured it, the reference, except for one deliberate
    /// difference: `AnalysisJSONEncoder` writes a non-finite number as `null`, where Foundation
    /// can only write a string or throw. The reference writes the unique markers below as strings
    /// and `reference(_:pretty:)` turns them into `null`; no test value contains the markers.
    static func foundation(pretty: Bool) -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .custom { path in
            let key = path.last!
            if key.intValue != nil { return key }
            let s = key.stringValue
            return Key(stringValue: s.prefix(1).uppercased() + s.dropFirst())
        }
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: marker, negativeInfinity: marker, nan: marker)
        return e
    }

    static let marker = "non-finite-\u{1}marker"

    /// What `AnalysisJSONEncoder` must write for `value`: Foundation's bytes, each non-finite
    /// number `null`.
    static func reference<T: Encodable>(_ value: T, pretty: Bool) throws -> Data {
        let text = String(decoding: try foundation(pretty: pretty).encode(value), as: UTF8.self)
        let quoted = String(decoding: try JSONEncoder().encode(marker), as: UTF8.self)
        return Data(text.replacingOccurrences(of: quoted, with: "null").utf8)
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct Odd: Encodable {
        var emptyList: [Int] = []
        var emptyMap: [String: Int] = [:]
        var map = ["zeta": 1, "alpha": 2, "Beta": 3, "éclair": 4]
        var numbers: [Double] = [0, -0.0, 1, 12.04, -55.3, 1.0 / 3, 1e-7, 1e16, 1e21, 123_456_789_012_345_678, .nan, .infinity, -.infinity]
        var floats: [Float] = [0.1, 65.5, 1.0 / 3, 1e-8, .nan]
        var small: (Int32, UInt8, Int8, Int64) = (-7, 255, -128, .max)
        var text = "a/b \"q\" \\ \n\r\t\u{8}\u{c}\u{1}\u{1f} é 漢 🎧"
        var missing: String? = nil
        var flag = true
        var nested: [[String: [Int?]]] = [["b": [1, nil]], [:]]

        enum CodingKeys: String, CodingKey { case emptyList, emptyMap, map, numbers, floats, small, text, missing, flag, nested, explicitNull, _under }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(emptyList, forKey: .emptyList)
            try c.encode(emptyMap, forKey: .emptyMap)
            try c.encode(map, forKey: .map)
            try c.encode(numbers, forKey: .numbers)
            try c.encode(floats, forKey: .floats)
            var u = c.nestedUnkeyedContainer(forKey: .small)
            try u.encode(small.0); try u.encode(small.1); try u.encode(small.2); try u.encode(small.3)
            try c.encode(text, forKey: .text)
            try c.encodeIfPresent(missing, forKey: .missing)
            try c.encodeNil(forKey: .explicitNull)
            try c.encode(flag, forKey: .flag)
            try c.encode(nested, forKey: .nested)
            var k = c.nestedContainer(keyedBy: CodingKeys.self, forKey: ._under)
            try k.encode(1, forKey: .flag)
        }
    }

    /// Nested containers inside arrays, filled after being handed out, and empty ones.
    struct Nests: Encodable {
        enum K: String, CodingKey { case b, a }
        func encode(to encoder: any Encoder) throws {
            var u = encoder.unkeyedContainer()
            var k = u.nestedContainer(keyedBy: K.self)
            var inner = u.nestedUnkeyedContainer()
            try k.encode(1, forKey: .b)   // filled after the next item was started
            try inner.encode("x")
            _ = k.nestedContainer(keyedBy: K.self, forKey: .a)
            try u.encode([Double]())
            var deep = u.nestedUnkeyedContainer()
            var deeper = deep.nestedContainer(keyedBy: K.self)
            try deeper.encode([1.5, 2], forKey: .a)
            try deep.encodeNil()
            _ = u.nestedUnkeyedContainer()
        }
    }

    @Test("Nested containers inside arrays, filled late", arguments: [false, true])
    func nests(pretty: Bool) throws {
        let value = ["n": [Nests(), Nests()]]
        let ours = String(decoding: try AnalysisJSONEncoder(pretty: pretty).encode(value), as: UTF8.self)
        let theirs = String(decoding: try Self.reference(value, pretty: pretty), as: UTF8.self)
        #expect(ours == theirs)
    }

    @Test("Written in pieces of about 64 KB, which join to the whole")
    func pieces() throws {
        let big = Array(repeating: Odd(), count: 400)
        var pieces: [[UInt8]] = []
        try AnalysisJSONEncoder(pretty: true).encode(big) { pieces.append($0) }
        #expect(pieces.count > 3)
        #expect(pieces.dropLast().allSatisfy { $0.count >= 65_536 && $0.count < 80_000 })
        #expect(Data(pieces.joined()) == (try Self.reference(big, pretty: true)))
    }

    @Test("Edge cases: empty containers, key order, numbers, non-finite values, escapes, nesting", arguments: [false, true])
    func edgeCases(pretty: Bool) throws {
        let ours = String(decoding: try AnalysisJSONEncoder(pretty: pretty).encode(Odd()), as: UTF8.self)
        let theirs = String(decoding: try Self.reference(Odd(), pretty: pretty), as: UTF8.self)
        #expect(ours == theirs)
        if !pretty { #expect(ours.contains(#""Numbers":[0,-0,1,12.04,-55.3,0.3333333333333333,1e-07,1e+16,1e+21,1.2345678901234568e+17,null,null,null]"#)) }
        if !pretty { #expect(ours.contains(#""Floats":[0.1,65.5,0.33333334,1e-08,null]"#)) }
    }

    @Test("Every TestAudio call's analysis, compact and pretty, byte for byte", arguments: [false, true])
    func fixtures(pretty: Bool) throws {
        let calls = try TestSupport.truth()["calls"] as! [String: [String: Any]]
        var compared = 0
        for path in calls.keys.sorted() where path.hasPrefix("recordings/") {
            guard let a = try? CallAnalyzer.analyze(path: TestSupport.fixture(path)) else { continue }
            let ours = try AnalysisJSONEncoder(pretty: pretty).encode(a)
            let theirs = try Self.reference(a, pretty: pretty)
            #expect(ours == theirs, "\(path)")
            #expect(try CallAnalysis.decoder().decode(CallAnalysis.self, from: ours) == a)
            compared += 1
        }
        #expect(compared == 7)
    }
}
