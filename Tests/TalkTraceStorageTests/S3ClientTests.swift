import Foundation
import Testing
import _TestSupport
@testable import TalkTraceStorage

/// The S3 client against moto with signature checking on, through the fault-injecting proxy
/// (`Tests/S3Harness`): paging, odd keys, modification times, ranges, region discovery, wrong
/// secrets, expired session tokens (answered by the proxy as S3 answers them), missing objects,
/// throttling and dropped connections.
@Suite(.serialized) struct S3ClientTests {
    static let prefix = "connect/inst/CallRecordings/2026/11/29/"
    /// Keys kept exactly: colons, spaces, "+", non-ASCII, "=" and "&".
    static let keys: [String] = (0..<40).map { i in
        prefix + ["\(UUID(uuidString: String(format: "00000000-0000-4000-8000-%012d", i))!.uuidString.lowercased())_20261129T10:\(String(format: "%02d", i)).wav",
                  "odd \(i) + plus=é漢字 & more.wav", "sub dir/\(i):a+b.wav", "caf\u{e9}-\(i).wav"][i % 4]
    }

    static let harness: S3Harness = {
        let dir = TestSupport.temporaryDirectory("s3client")
        var uploads: [(String, String)] = []
        for (i, key) in keys.enumerated() {
            let file = dir.appendingPathComponent("\(i)").path
            try! Data(Self.content(i)).write(to: URL(fileURLWithPath: file))
            uploads.append((file, key))
        }
        let other = dir.appendingPathComponent("other").path
        try! Data("not under the prefix".utf8).write(to: URL(fileURLWithPath: other))
        uploads.append((other, "connect/inst/CallRecordings/2026/11/30/x.wav"))
        uploads.append((dir.appendingPathComponent("0").path, "doomed/object.wav"))
        return try! S3Harness(uploads: uploads)
    }()

    /// Object i's bytes: 5000 + 997 i of them, every one depending on its position.
    static func content(_ i: Int) -> [UInt8] { (0..<(5000 + 997 * i)).map { UInt8(truncatingIfNeeded: $0 * 31 + i) } }

    func client(_ env: [String: String]? = nil, pageSize: Int = 1000) -> S3Client {
        let env = env ?? Self.harness.environment
        var c = S3Client.Configuration.fromEnvironment(env)
        c.pageSize = pageSize
        c.baseDelay = 0.02
        c.maxDelay = 0.2
        return S3Client(configuration: c, credentials: CredentialChain(environment: env))
    }

    @Test func listingEveryPageWithOddKeysAndRegionDiscovery() throws {
        let h = Self.harness
        h.proxy()
        let c = client(pageSize: 7)
        let objects = try c.list(bucket: h.bucket, prefix: Self.prefix)
        #expect(objects.map(\.key) == Self.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(objects.map(\.size) == objects.map { o in Int64(Self.content(Self.keys.firstIndex(of: o.key)!).count) })
        #expect(objects.allSatisfy { $0.etag.count == 32 })
        #expect(h.stats()["requests"] == 1 + 6)  // HeadBucket for the region, then 6 pages of at most 7
        #expect(c.region(for: h.bucket) == "eu-west-1")

        // LastModified: when the harness uploaded them (moto keeps whole seconds, as S3's
        // listings mostly show), and what HeadObject's Last-Modified says.
        let uploaded = try JSONSerialization.jsonObject(with: Data(h.server.get("/__proxy/uploaded")!.utf8)) as! [Double]
        #expect(objects.allSatisfy { $0.lastModified >= uploaded[0].rounded(.down) && $0.lastModified <= uploaded[1] }, "\(uploaded) \(objects.map(\.lastModified))")
        #expect(objects.allSatisfy { $0.lastModified == $0.lastModified.rounded(.down) })
        for o in [objects[0], objects[13], objects[39]] {
            #expect(try c.head(bucket: h.bucket, key: o.key).lastModified == o.lastModified)
        }

        let listed = try S3Listing.list("s3://\(h.bucket)/\(Self.prefix)", client: c, include: { $0.hasSuffix(".wav") })
        #expect(listed.count == 40)
        #expect(listed.contains { $0.relativePath == "sub dir/2:a+b.wav" && $0.path == "s3://\(h.bucket)/\(Self.prefix)sub dir/2:a+b.wav" })
        #expect(listed.allSatisfy { f in f.modified == objects.first { "s3://\(h.bucket)/\($0.key)" == f.path }!.lastModified && f.modified > 0 })
    }

    /// S3's time formats, to the millisecond; anything else is not taken for a time.
    @Test func lastModifiedTimes() {
        #expect(S3Client.isoSeconds("2026-11-30T16:08:21.000Z") == 1_796_054_901)
        // Whole nanoseconds over 1e9, as a manifest line's ISO 8601 ModifiedTime is read, so the
        // same text gives the same number (and the same --resume key) either way.
        #expect(S3Client.isoSeconds("2026-11-30T16:08:21.123Z") == Double(1_796_054_901_123_000_000) / 1e9)
        #expect(abs(S3Client.isoSeconds("2026-11-30T16:08:21.123Z")! - 1_796_054_901.123) < 1e-6)
        #expect(S3Client.isoSeconds("2026-11-30T16:08:21Z") == 1_796_054_901)
        #expect(S3Client.isoSeconds("2000-02-29T00:00:00.5Z") == 951_782_400.5)
        #expect(S3Client.isoSeconds("1969-12-31T23:59:59.000Z") == -1)
        for bad in ["", "2026-11-30", "2026-11-30T16:08:21.000", "2026-13-30T16:08:21.000Z", "2026-11-30T16:08:21.Z", "2026-11-30 16:08:21Z"] {
            #expect(S3Client.isoSeconds(bad) == nil, "\(bad)")
        }
        #expect(S3Client.httpDateSeconds("Mon, 30 Nov 2026 16:08:21 GMT") == 1_796_054_901)
        #expect(S3Client.httpDateSeconds("Tue, 29 Feb 2000 00:00:00 GMT") == 951_782_400)
        #expect(S3Client.httpDateSeconds("30 Nov 2026 16:08:21") == nil)
    }

    @Test func rangedReadsAndStreamingSource() throws {
        let h = Self.harness
        h.proxy()
        let c = client()
        let key = Self.keys[13]  // "odd 13 + plus=é漢字 & more.wav"? index 13 % 4 == 1
        #expect(key.hasSuffix("odd 13 + plus=é漢字 & more.wav"))
        let whole = Self.content(13)
        #expect(try c.get(bucket: h.bucket, key: key) == whole)
        #expect(try c.get(bucket: h.bucket, key: key, range: 100...1099) == Array(whole[100...1099]))
        let first = try c.first(bucket: h.bucket, key: key, count: 4096)
        #expect(first.bytes == Array(whole[0..<4096]) && first.size == Int64(whole.count))
        // A source with 1000-byte chunks reads the object through several ranged GETs and seeks.
        let source = S3ObjectSource(client: c, location: S3Location(bucket: h.bucket, key: key), size: first.size,
                                    etag: first.etag, chunkSize: 1000)
        var out = [UInt8](repeating: 0, count: whole.count)
        var at = 0
        while at < whole.count {
            let n = try out.withUnsafeMutableBytes { try source.read(at: Int64(at), into: UnsafeMutableRawBufferPointer(rebasing: $0[at..<min(at + 333, whole.count)])) }
            #expect(n > 0)
            at += n
        }
        #expect(out == whole)
        var tail = [UInt8](repeating: 0, count: 10)
        #expect(try tail.withUnsafeMutableBytes { try source.read(at: Int64(whole.count - 10), into: $0) } == 10)
        #expect(tail == Array(whole.suffix(10)))
        // Pinned to the ETag: another object's ETag is refused, not mixed in.
        #expect(throws: StorageError("s3://\(h.bucket)/\(key): the object changed while it was being read (its ETag is no longer the one listed)")) {
            try c.get(bucket: h.bucket, key: key, range: 0...9, etag: "0123456789abcdef0123456789abcdef")
        }
    }

    @Test func refusalsAreNamedAndNotRetried() throws {
        let h = Self.harness
        h.proxy()
        let missing = "s3://\(h.bucket)/\(Self.prefix)missing.wav"
        let c = client()
        _ = c.region(for: h.bucket)
        h.proxy()
        #expect(throws: StorageError("\(missing): no such object (NoSuchKey)")) {
            try c.get(bucket: h.bucket, key: Self.prefix + "missing.wav")
        }
        #expect(h.stats()["requests"] == 1)

        var env = h.environment
        env["AWS_SECRET_ACCESS_KEY"] = "wrong/secret"
        env["AWS_REGION"] = "eu-west-1"
        h.proxy()
        do {
            _ = try client(env).list(bucket: h.bucket, prefix: Self.prefix)
            Issue.record("a wrong secret listed the bucket")
        } catch {
            #expect(error.message.hasPrefix("s3://\(h.bucket)/\(Self.prefix): SignatureDoesNotMatch: "))
            #expect(error.message.hasSuffix("(HTTP 403): the secret access key does not belong to access key \(h.accessKeyId) (credentials from environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"))
        }
        #expect(h.stats()["requests"] == 1)  // no retry storm

        // An expired session token (`staleSession`: the proxy answers for it what S3 answers,
        // HTTP 400 ExpiredToken): refused by name, once; the next request on the same static
        // credentials is refused without being sent.
        env["AWS_ACCESS_KEY_ID"] = h.staleSession.accessKeyId
        env["AWS_SECRET_ACCESS_KEY"] = h.staleSession.secretAccessKey
        env["AWS_SESSION_TOKEN"] = h.staleSession.sessionToken
        h.proxy()
        let expired = client(env)
        let said = "s3://\(h.bucket)/\(Self.keys[0]): ExpiredToken: The provided token has expired. (HTTP 400): the session token has expired (credentials from environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN): get fresh credentials"
        #expect(throws: StorageError(said)) { try expired.get(bucket: h.bucket, key: Self.keys[0]) }
        #expect(throws: StorageError(said)) { try expired.get(bucket: h.bucket, key: Self.keys[0]) }
        #expect(throws: StorageError(said.replacingOccurrences(of: Self.keys[0], with: Self.keys[1]))) { try expired.get(bucket: h.bucket, key: Self.keys[1]) }
        #expect(h.stats()["requests"] == 1 && h.stats()["expired"] == 1)
        #expect(expired.requestCount == 1 && expired.retryCount == 0)
        // The live session reads.
        env["AWS_ACCESS_KEY_ID"] = h.session.accessKeyId
        env["AWS_SECRET_ACCESS_KEY"] = h.session.secretAccessKey
        env["AWS_SESSION_TOKEN"] = h.session.sessionToken
        #expect(try client(env).get(bucket: h.bucket, key: Self.keys[0]) == Self.content(0))
    }

    /// The environment of each refreshable source, pointed at the harness, whose first
    /// credentials are the expired session's and the next the live session's.
    static func refreshable(_ source: String) throws -> (env: [String: String], name: String) {
        let h = harness
        var env = h.environment
        env["AWS_ACCESS_KEY_ID"] = nil
        env["AWS_SECRET_ACCESS_KEY"] = nil
        env["AWS_REGION"] = "eu-west-1"
        let dir = TestSupport.temporaryDirectory("s3refresh")
        switch source {
        case "container":
            env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = h.server.url + "/__proxy/credentials"
            return (env, "container endpoint \(h.server.url)/__proxy/credentials")
        case "credential_process":
            let config = dir.appendingPathComponent("config").path
            // python3 rather than curl: the harness needs it anyway, curl's command may not be installed.
            let fetch = "python3 -c \"import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())\" \(h.server.url)/__proxy/credentials?process"
            try "[profile night]\ncredential_process = \(fetch)\n".write(toFile: config, atomically: true, encoding: .utf8)
            env["AWS_CONFIG_FILE"] = config
            env["AWS_SHARED_CREDENTIALS_FILE"] = dir.appendingPathComponent("none").path
            env["AWS_PROFILE"] = "night"
            return (env, "credential_process of profile 'night'")
        default:
            let token = dir.appendingPathComponent("token").path
            try "eyJ-a-web-identity-token".write(toFile: token, atomically: true, encoding: .utf8)
            env["AWS_WEB_IDENTITY_TOKEN_FILE"] = token
            env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/reader"
            env["AWS_ENDPOINT_URL_STS"] = h.server.url + "/__proxy/sts"
            return (env, "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role arn:aws:iam::123456789012:role/reader)")
        }
    }

    /// Temporary credentials that S3 calls expired (HTTP 400 ExpiredToken) are fetched again
    /// from their source, once, and the request goes through: each refreshable source hands out
    /// the expired session first.
    @Test(arguments: ["container", "credential_process", "web identity"])
    func expiredTemporaryCredentialsAreFetchedAgain(source: String) throws {
        let h = Self.harness
        let (env, name) = try Self.refreshable(source)
        h.proxy()
        let c = client(env)
        #expect(try c.get(bucket: h.bucket, key: Self.keys[5]) == Self.content(5))
        let s = h.stats()
        #expect(s["credentials"] == 2 && s["expired"] == 1 && s["requests"] == 2, "\(s)")  // refused as expired, then read
        #expect(try c.credentials.credentials().source == name)
        #expect(try c.credentials.credentials().sessionToken == h.session.sessionToken)
    }

    /// Eight reads refused as expired at once fetch the credentials again once, not eight times.
    @Test func manyReadsRefusedAtOnceFetchCredentialsOnce() throws {
        let h = Self.harness
        let (env, _) = try Self.refreshable("container")
        h.proxy(latency: 0.2)  // all eight are in flight with the expired token before the first answer
        let c = client(env)
        _ = try c.credentials.credentials()
        let results = Results()
        let group = DispatchGroup()
        for i in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                results.set(i, (try? c.get(bucket: h.bucket, key: Self.keys[i])) == Self.content(i))
                group.leave()
            }
        }
        group.wait()
        #expect(results.all == Array(repeating: true, count: 8))
        let s = h.stats()
        #expect(s["credentials"] == 2 && s["expired"] == 8 && s["requests"] == 16, "\(s)")
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values = [Bool](repeating: false, count: 8)
        func set(_ i: Int, _ v: Bool) { lock.lock(); values[i] = v; lock.unlock() }
        var all: [Bool] { lock.lock(); defer { lock.unlock() }; return values }
    }

    @Test func throttlingAndDroppedConnectionsAreRetried() throws {
        let h = Self.harness
        let c = client(pageSize: 7)
        _ = c.region(for: h.bucket)
        h.proxy(faults: true)
        let objects = try c.list(bucket: h.bucket, prefix: Self.prefix)
        #expect(objects.count == 40)
        for o in objects {
            #expect(try c.get(bucket: h.bucket, key: o.key, range: 0...(o.size - 1), etag: o.etag) == Self.content(Self.keys.firstIndex(of: o.key)!))
        }
        let s = h.stats()
        #expect(s["throttled"]! >= 5 && s["dropped"]! >= 5 && s["cut"]! >= 5, "\(s)")
        // Every 503 and every cut body is one retry of ours; a connection dropped before any reply
        // may instead be retried by libcurl itself (once, on a fresh connection, when the
        // dropped one was a reused one).
        #expect(c.retryCount >= s["throttled"]! + s["cut"]! && c.retryCount <= s["throttled"]! + s["dropped"]! + s["cut"]!, "\(c.retryCount) \(s)")

        // An object that never stops failing: given up after the configured attempts, named.
        h.proxy(doomed: "doomed/")
        #expect(throws: StorageError("s3://\(h.bucket)/doomed/object.wav: gave up after 6 attempts (last: HTTP 503 SlowDown)")) {
            try c.get(bucket: h.bucket, key: "doomed/object.wav")
        }
        #expect(h.stats()["doomed"] == 6)
    }
}
