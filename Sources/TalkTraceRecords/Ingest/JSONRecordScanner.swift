import Foundation

/// Splits a CTR file's bytes into top-level JSON records without trusting any delimiter.
///
/// Handles one object, a JSON array of objects, JSON Lines, and Firehose's concatenation with no
/// delimiter (`}{`), in any mix; NUL bytes and whitespace between records are skipped. A record
/// that is not valid JSON (truncated, a value missing its quote, NUL bytes inside) is reported with
/// its byte offset and skipped *alone*: scanning resumes at the next record boundary (`}` then
/// optional whitespace then `{`), so every other record of the file is still read.
public enum JSONRecordScanner {
    /// One top-level value: its bytes and where it started.
    public struct Piece: Sendable {
        public var offset: Int
        public var bytes: Data
    }

    /// A span that could not be read as JSON.
    public struct Damage: Sendable, Equatable {
        public var offset: Int
        public var length: Int
        public var problem: String
    }

    /// Scans `data` into objects (each with its parsed dictionary) and damaged spans.
    public static func scan(_ data: Data) -> (records: [(Piece, [String: Any])], damage: [Damage]) {
        let bytes = [UInt8](data)
        var records: [(Piece, [String: Any])] = []
        var damage: [Damage] = []
        var i = 0
        let n = bytes.count

        func skipFiller() {
            while i < n, bytes[i] == 0 || bytes[i] == 0x20 || bytes[i] == 0x0a || bytes[i] == 0x0d || bytes[i] == 0x09
                || bytes[i] == 0x2c /* , between array elements */ || bytes[i] == 0x5d /* ] closing an array */
            { i += 1 }
        }

        /// End (exclusive) of the value starting at `start` (an object or array), by bracket
        /// matching that respects strings; nil if the data ends first.
        func valueEnd(from start: Int) -> Int? {
            var depth = 0, j = start, inString = false
            while j < n {
                let c = bytes[j]
                if inString {
                    if c == 0x5c { j += 2; continue }  // backslash escape
                    if c == 0x22 { inString = false }
                } else {
                    switch c {
                    case 0x22: inString = true
                    case 0x7b, 0x5b: depth += 1
                    case 0x7d, 0x5d:
                        depth -= 1
                        if depth == 0 { return j + 1 }
                    default: break
                    }
                }
                j += 1
            }
            return nil
        }

        var inArray = false
        /// The next record boundary after `start`: a `{` preceded (after whitespace/NULs) by `}`
        /// (or by `},` inside a top-level array). Inside valid JSON `}` is never followed by `{`.
        func nextBoundary(after start: Int) -> Int {
            var j = start + 1
            while j < n {
                if bytes[j] == 0x7b {
                    var k = j - 1
                    while k > start, bytes[k] == 0x20 || bytes[k] == 0x0a || bytes[k] == 0x0d || bytes[k] == 0x09 || bytes[k] == 0 || (inArray && bytes[k] == 0x2c) { k -= 1 }
                    if bytes[k] == 0x7d { return j }
                }
                j += 1
            }
            return n
        }

        func parse(_ lo: Int, _ hi: Int) -> Any? {
            try? JSONSerialization.jsonObject(with: Data(bytes[lo..<hi]), options: [])
        }

        while true {
            skipFiller()
            guard i < n else { break }
            let start = i
            // A top-level array: step inside and read its elements as records.
            if bytes[i] == 0x5b {
                inArray = true
                i += 1
                continue
            }
            guard bytes[i] == 0x7b else {
                let end = nextBoundary(after: start)
                damage.append(Damage(offset: start, length: end - start, problem: "not a JSON object (starts with \(describe(bytes[start])))"))
                i = end
                continue
            }
            if let end = valueEnd(from: start), let object = parse(start, end) as? [String: Any] {
                records.append((Piece(offset: start, bytes: Data(bytes[start..<end])), object))
                i = end
                continue
            }
            // Damaged: the record runs to the next boundary. Find out what is wrong with it.
            let end = nextBoundary(after: start)
            let problem: String
            if bytes[start..<end].contains(0) {
                problem = "NUL bytes inside the record"
            } else if end == n && valueEnd(from: start) == nil {
                problem = "truncated JSON (the file ends inside the record)"
            } else {
                problem = "invalid JSON" + (jsonErrorDetail(Data(bytes[start..<end])).map { ": \($0)" } ?? "")
            }
            damage.append(Damage(offset: start, length: end - start, problem: problem))
            i = end
        }
        return (records, damage)
    }

    static func describe(_ c: UInt8) -> String {
        (0x21...0x7e).contains(c) ? "'\(Character(UnicodeScalar(c)))'" : String(format: "byte 0x%02x", c)
    }

    /// Foundation's own explanation, trimmed to one line.
    static func jsonErrorDetail(_ data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [])
            return nil
        } catch {
            let ns = error as NSError
            let text = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
            return text.split(whereSeparator: \.isNewline).joined(separator: " ")
        }
    }
}
