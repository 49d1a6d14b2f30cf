import Foundation
import Testing
@testable import TalkTraceStorage

/// The signer against AWS's published Signature Version 4 test suite (`Fixtures/`).
@Suite struct SigV4Tests {
    struct Suite: Decodable {
        var accessKeyId: String
        var secretAccessKey: String
        var region: String
        var service: String
        var vectors: [Vector]
    }
    struct Vector: Decodable {
        var name: String
        var method: String
        var path: String
        var query: String
        var headers: [[String]]
        var body: String
        var canonicalRequestSHA256: String
        var authorization: String
    }

    static func suite() throws -> Suite {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/sigv4-testsuite", withExtension: "json"))
        return try JSONDecoder().decode(Suite.self, from: Data(contentsOf: url))
    }

    @Test func publishedTestSuite() throws {
        let suite = try Self.suite()
        #expect(suite.vectors.count == 20)
        for v in suite.vectors {
            let query: [(String, String)] = v.query.isEmpty ? [] : v.query.split(separator: "&").map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }
            let request = SigV4.Request(
                method: v.method, path: v.path, query: query, headers: v.headers.map { ($0[0], $0[1]) },
                payloadHash: SigV4.hex(SigV4.sha256(Array(v.body.utf8))))
            #expect(SigV4.canonicalRequestHash(request, normalizePath: true) == v.canonicalRequestSHA256, "\(v.name)")
            let authz = SigV4.authorization(request, accessKeyId: suite.accessKeyId, secretAccessKey: suite.secretAccessKey,
                                            region: suite.region, service: suite.service, normalizePath: true)
            #expect(authz == v.authorization, "\(v.name)")
        }
    }

    /// S3 signs the key as stored: no dot-segment resolution, no slash collapsing, one encoding.
    @Test func s3PathsAreNotNormalized() {
        let r = SigV4.Request(method: "GET", path: "/bucket/a//b/../c d:e+f\u{e9}.wav",
                              headers: [("Host", "h"), ("X-Amz-Date", "20150830T123600Z")])
        let text = SigV4.canonicalRequest(r, normalizePath: false).text
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false)[1] == "/bucket/a//b/../c%20d%3Ae%2Bf%C3%A9.wav")
    }

    @Test func primitives() {
        #expect(SigV4.hex(SigV4.sha256([])) == SigV4.emptyPayloadHash)
        // RFC 4231 test case 2.
        #expect(SigV4.hex(SigV4.hmac(Array("Jefe".utf8), Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(SigV4.amzDate(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
        #expect(SigV4.canonicalQuery([("list-type", "2"), ("prefix", "a b/c:d"), ("continuation-token", "x+y=")])
                == "continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2Fc%3Ad")
    }
}
