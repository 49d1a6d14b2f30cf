// AWS Signature Version 4: the one file that signs requests, and owns every libcrypto call.
import CCurl
import Foundation

/// Signs an HTTP request with AWS Signature Version 4 (header form), as documented in "Create a
/// signed AWS API request" and checked against AWS's published test suite
/// (`Tests/TalkTraceStorageTests/Fixtures/sigv4-testsuite.json`).
///
/// Paths and query parameters are given *decoded* (an S3 key exactly as stored); the signer
/// encodes each byte outside `A–Z a–z 0–9 - _ . ~` as `%XY` once, keeping `/` in the path. That
/// single encoding is what S3 wants; other services also normalize the path (`.`/`..` segments,
/// repeated slashes), which `normalizePath` does and S3 must not (a key may contain `//` or `..`).
public enum SigV4 {
    /// A request as the signer sees it.
    public struct Request: Sendable {
        public var method: String
        /// Decoded path, starting with `/`.
        public var path: String
        /// Decoded query parameters, in any order (repeats allowed).
        public var query: [(String, String)]
        /// Headers to sign (and send), any case; `host` must be among them.
        public var headers: [(String, String)]
        /// Hex SHA-256 of the body (or `UNSIGNED-PAYLOAD`).
        public var payloadHash: String

        public init(method: String, path: String, query: [(String, String)] = [], headers: [(String, String)],
                    payloadHash: String = SigV4.emptyPayloadHash) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// SHA-256 of no bytes, in hex.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// `20150830T123600Z` for `date`, the form of `X-Amz-Date`.
    public static func amzDate(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// Percent-encodes every byte of `s` except the unreserved characters (and `/` when `keepSlash`).
    public static func uriEncode(_ s: String, keepSlash: Bool = false) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(b)
            case UInt8(ascii: "/") where keepSlash:
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `path` with `.` and `..` segments resolved and repeated slashes collapsed (RFC 3986
    /// section 5.2.4), a trailing slash kept: what non-S3 services sign.
    static func normalize(_ path: String) -> String {
        var segments: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { _ = segments.popLast(); continue }
            segments.append(part)
        }
        let trailing = path.hasSuffix("/") && !segments.isEmpty
        return "/" + segments.joined(separator: "/") + (trailing ? "/" : "")
    }

    /// The canonical query string: names and values encoded, sorted by name then value.
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (uriEncode($0.0), uriEncode($0.1)) }
            .sorted { $0.0 != $1.0 ? Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) : Array($0.1.utf8).lexicographicallyPrecedes(Array($1.1.utf8)) }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// The canonical request and the signed header names (`host;x-amz-date`).
    public static func canonicalRequest(_ r: Request, normalizePath: Bool) -> (text: String, signedHeaders: String) {
        var byName: [String: [String]] = [:]
        var order: [String] = []
        for (name, value) in r.headers {
            let n = name.lowercased()
            // Trim, and collapse runs of spaces to one (the suite's get-header-value-trim).
            let v = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                .trimmingCharacters(in: .whitespaces)
            if byName[n] == nil { order.append(n) }
            byName[n, default: []].append(v)
        }
        let names = order.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let headerLines = names.map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }.joined()
        let signed = names.joined(separator: ";")
        let path = uriEncode(normalizePath ? normalize(r.path) : r.path, keepSlash: true)
        let text = [r.method, path, canonicalQuery(r.query), headerLines, signed, r.payloadHash].joined(separator: "\n")
        return (text, signed)
    }

    /// The `Authorization` header value for `r`, whose headers must already hold `X-Amz-Date`
    /// (and `X-Amz-Security-Token` when the credentials have a session token).
    public static func authorization(_ r: Request, accessKeyId: String, secretAccessKey: String, region: String,
                                     service: String, normalizePath: Bool = false) -> String {
        let amzDate = r.headers.first { $0.0.lowercased() == "x-amz-date" }?.1 ?? ""
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let (canonical, signed) = canonicalRequest(r, normalizePath: normalizePath)
        let toSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(hex(sha256(Array(canonical.utf8))))"
        var key = hmac(Array("AWS4\(secretAccessKey)".utf8), Array(day.utf8))
        key = hmac(key, Array(region.utf8))
        key = hmac(key, Array(service.utf8))
        key = hmac(key, Array("aws4_request".utf8))
        let signature = hex(hmac(key, Array(toSign.utf8)))
        return "AWS4-HMAC-SHA256 Credential=\(accessKeyId)/\(scope), SignedHeaders=\(signed), Signature=\(signature)"
    }

    /// The string to sign's last line for `r`: the hex SHA-256 of its canonical request.
    public static func canonicalRequestHash(_ r: Request, normalizePath: Bool) -> String {
        hex(sha256(Array(canonicalRequest(r, normalizePath: normalizePath).text.utf8)))
    }

    // MARK: - libcrypto

    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        data.withUnsafeBytes { d in
            _ = EVP_Digest(d.baseAddress, d.count, &out, &length, EVP_sha256(), nil)
        }
        return out
    }

    public static func hmac(_ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count, &out, &length)
            }
        }
        return out
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
