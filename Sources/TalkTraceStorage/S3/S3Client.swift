import Foundation

/// `s3://bucket/key-or-prefix`, the key kept exactly as typed (colons, spaces, `+`, any Unicode).
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    public var key: String

    public init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// Parses `s3://bucket/key`; nil when `url` is not an `s3://` address with a bucket.
    public init?(_ url: String) {
        guard url.hasPrefix("s3://") else { return nil }
        let rest = url.dropFirst(5)
        let bucket = rest.prefix(while: { $0 != "/" })
        guard !bucket.isEmpty else { return nil }
        self.bucket = String(bucket)
        self.key = String(rest.dropFirst(bucket.count + 1))
    }

    public static func isS3(_ path: String) -> Bool { path.hasPrefix("s3://") }

    public var description: String { "s3://\(bucket)/\(key)" }
}

/// One object of a listing.
public struct S3Object: Sendable, Equatable {
    public var key: String
    public var size: Int64
    /// The ETag as S3 gives it, quotes removed.
    public var etag: String
    /// When the object was written, seconds since 1970: ListObjectsV2's `LastModified`
    /// (`2026-11-30T16:08:21.000Z`, milliseconds, UTC) or HeadObject's `Last-Modified` (whole
    /// seconds); 0 when the server gave none.
    public var lastModified: Double

    public init(key: String, size: Int64, etag: String, lastModified: Double = 0) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// A small S3 client: ListObjectsV2 (every page), GetObject (whole or a byte range, pinned to an
/// ETag), HeadObject, and the bucket's region (HeadBucket's `x-amz-bucket-region`). Requests are
/// signed with `SigV4` using `CredentialChain`, retried on throttling (503 SlowDown), server
/// errors and dropped connections with capped exponential backoff and full jitter, and never on
/// errors a retry cannot fix (denied, wrong key, missing object). Thread-safe.
public final class S3Client: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`: a custom endpoint (then path-style
        /// addressing: `endpoint/bucket/key`). Nil: `https://bucket.s3.region.amazonaws.com`.
        public var endpoint: String?
        /// `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's `region`; nil: asked of the
        /// bucket (HeadBucket).
        public var region: String?
        /// Attempts per request (the first included).
        public var maxAttempts = 6
        /// Backoff before retry n (1, 2, …): a random wait in [0, min(maxDelay, baseDelay × 2^n)].
        public var baseDelay = 0.1
        public var maxDelay = 8.0
        /// Seconds for one exchange, and for its connection.
        public var timeout = 120.0
        public var connectTimeout = 10.0
        /// Keys per ListObjectsV2 page (S3's maximum is 1000).
        public var pageSize = 1000

        public init(endpoint: String? = nil, region: String? = nil) {
            self.endpoint = endpoint
            self.region = region
        }

        /// From the environment, as the AWS CLI reads it.
        public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Configuration {
            func v(_ n: String) -> String? { env[n].flatMap { $0.isEmpty ? nil : $0 } }
            var c = Configuration(endpoint: v("AWS_ENDPOINT_URL_S3") ?? v("AWS_ENDPOINT_URL"),
                                  region: v("AWS_REGION") ?? v("AWS_DEFAULT_REGION"))
            if c.region == nil {
                let profile = v("AWS_PROFILE") ?? v("AWS_DEFAULT_PROFILE") ?? "default"
                let home = v("HOME") ?? NSHomeDirectory()
                c.region = SharedConfig.section(profile, in: v("AWS_CONFIG_FILE") ?? home + "/.aws/config", configStyle: true)?["region"]
            }
            if let n = v("AWS_MAX_ATTEMPTS").flatMap(Int.init), n >= 1 { c.maxAttempts = n }
            return c
        }
    }

    /// The client the command line uses, configured from the environment on first use.
    public static let shared = S3Client(configuration: .fromEnvironment(), credentials: CredentialChain())

    public let configuration: Configuration
    public let credentials: CredentialChain
    private let http: HTTPClient
    private let lock = NSLock()
    private var regions: [String: String] = [:]
    /// Credentials S3 called expired that cannot be fetched again, and what it said: a request
    /// signed with them fails at once with the same words, so a batch whose static session token
    /// ran out mid-way sends no further request on it (a few requests at most, those in flight).
    private var expired: (credentials: AWSCredentials, said: String)?
    /// Requests sent, retries among them (for tests and the batch summary).
    public private(set) var requestCount = 0
    public private(set) var retryCount = 0

    public init(configuration: Configuration, credentials: CredentialChain, http: HTTPClient = .shared) {
        self.configuration = configuration
        self.credentials = credentials
        self.http = http
    }

    // MARK: - Operations

    /// Every object under `prefix` (ListObjectsV2, following continuation tokens), in S3's order
    /// (UTF-8 byte order of the keys). Keys are asked for URL-encoded (`encoding-type=url`), so any
    /// character survives the XML.
    public func list(bucket: String, prefix: String) throws(StorageError) -> [S3Object] {
        var out: [S3Object] = []
        var token: String?
        let name = "s3://\(bucket)/\(prefix)"
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix), ("encoding-type", "url"), ("max-keys", "\(configuration.pageSize)")]
            if let token { query.append(("continuation-token", token)) }
            let r = try send("GET", bucket: bucket, key: nil, query: query, name: name)
            let xml = r.text
            let encoded = XMLText.first("EncodingType", in: xml) == "url"
            for block in XMLText.blocks("Contents", in: xml) {
                let b = String(block)
                guard let rawKey = XMLText.first("Key", in: b), let size = XMLText.first("Size", in: b).flatMap(Int64.init) else { continue }
                let key = encoded ? Self.formDecode(rawKey) : rawKey
                let etag = (XMLText.first("ETag", in: b) ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                var modified = 0.0
                if let text = XMLText.first("LastModified", in: b) {
                    guard let t = Self.isoSeconds(text) else {
                        throw StorageError("\(name): the listing gives s3://\(bucket)/\(key) a LastModified that is not an ISO 8601 UTC time: \(text)")
                    }
                    modified = t
                }
                out.append(S3Object(key: key, size: size, etag: etag, lastModified: modified))
            }
            let truncated = XMLText.first("IsTruncated", in: xml) == "true"
            token = truncated ? XMLText.first("NextContinuationToken", in: xml) : nil
            if truncated && token == nil { throw StorageError("\(name): the listing says it is truncated but gives no continuation token") }
        } while token != nil
        return out
    }

    /// Size, ETag and modification time (`Last-Modified`, whole seconds) of one object.
    public func head(bucket: String, key: String) throws(StorageError) -> S3Object {
        let r = try send("HEAD", bucket: bucket, key: key, name: "s3://\(bucket)/\(key)")
        return S3Object(key: key, size: Int64(r.headers["content-length"] ?? "") ?? 0,
                        etag: (r.headers["etag"] ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\"")),
                        lastModified: r.headers["last-modified"].flatMap(Self.httpDateSeconds) ?? 0)
    }

    /// Seconds since 1970 of S3's `LastModified` (`2026-11-30T16:08:21.123Z`: ISO 8601, UTC,
    /// fractional seconds or not), computed as whole nanoseconds over 1e9 so it is the same
    /// number a manifest line with that text gives. Nil for any other text.
    static func isoSeconds(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard b.count >= 20, b[4] == 0x2d, b[7] == 0x2d, b[10] == 0x54 || b[10] == 0x74, b[13] == 0x3a, b[16] == 0x3a,
              b.last == 0x5a || b.last == 0x7a else { return nil }
        func number(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r { guard (0x30...0x39).contains(b[i]) else { return nil }; v = v * 10 + Int(b[i] - 0x30) }
            return v
        }
        guard let y = number(0..<4), let mo = number(5..<7), let d = number(8..<10), let h = number(11..<13),
              let mi = number(14..<16), let s = number(17..<19), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var nanos = 0
        if b.count > 20 {
            guard b[19] == 0x2e, b.count - 21 <= 9, b.count - 21 >= 1, let f = number(20..<(b.count - 1)) else { return nil }
            nanos = f
            for _ in 0..<(9 - (b.count - 21)) { nanos *= 10 }
        } else if b[19] != 0x5a && b[19] != 0x7a { return nil }
        let seconds = Int64(daysSince1970(y, mo, d)) * 86_400 + Int64(h * 3600 + mi * 60 + s)
        return Double(seconds * 1_000_000_000 + Int64(nanos)) / 1e9
    }

    /// Seconds since 1970 of an HTTP date (`Mon, 30 Nov 2026 16:08:21 GMT`, RFC 7231's IMF-fixdate).
    static func httpDateSeconds(_ text: String) -> Double? {
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[5] == "GMT", let d = Int(parts[1]), let mo = months.firstIndex(of: String(parts[2])),
              let y = Int(parts[3]) else { return nil }
        let hms = parts[4].split(separator: ":").compactMap { Int($0) }
        guard hms.count == 3 else { return nil }
        return Double(Int64(daysSince1970(y, mo + 1, d)) * 86_400 + Int64(hms[0] * 3600 + hms[1] * 60 + hms[2]))
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
    static func daysSince1970(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The object's first `count` bytes with its size and ETag, in one ranged GET (a refusal comes
    /// with S3's error code, which a HEAD cannot carry). An empty object is `([], 0, etag)`.
    public func first(bucket: String, key: String, count: Int) throws(StorageError) -> (bytes: [UInt8], size: Int64, etag: String) {
        let name = "s3://\(bucket)/\(key)"
        let r: HTTPResponse
        do { r = try send("GET", bucket: bucket, key: key, extraHeaders: [("Range", "bytes=0-\(count - 1)")], name: name) } catch {
            if error.message.contains("InvalidRange") { return ([], 0, "") }
            throw error
        }
        let etag = (r.headers["etag"] ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        if r.status == 200 { return (r.body, Int64(r.body.count), etag) }  // a server that ignores Range
        guard let total = r.headers["content-range"]?.split(separator: "/").last.flatMap({ Int64($0) }) else {
            throw StorageError("\(name): a ranged GET answered without the object's size (Content-Range)")
        }
        return (r.body, total, etag)
    }

    /// The object's bytes, or those in `range` (inclusive), refused with 412 if it no longer has `etag`.
    public func get(bucket: String, key: String, range: ClosedRange<Int64>? = nil, etag: String? = nil) throws(StorageError) -> [UInt8] {
        var headers: [(String, String)] = []
        if let range { headers.append(("Range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        if let etag, !etag.isEmpty { headers.append(("If-Match", "\"\(etag)\"")) }
        let r = try send("GET", bucket: bucket, key: key, extraHeaders: headers, name: "s3://\(bucket)/\(key)")
        if let range, r.status == 206, r.body.count != Int(range.upperBound - range.lowerBound + 1) {
            throw StorageError("s3://\(bucket)/\(key): asked for \(range.upperBound - range.lowerBound + 1) bytes at \(range.lowerBound), got \(r.body.count)")
        }
        return r.body
    }

    /// The bucket's region: the configured one, else HeadBucket's `x-amz-bucket-region` (answered
    /// even when the request is refused or redirected), else us-east-1.
    public func region(for bucket: String) -> String {
        if let r = configuration.region { return r }
        lock.lock()
        if let r = regions[bucket] { lock.unlock(); return r }
        lock.unlock()
        var found = "us-east-1"
        if var creds = try? credentials.credentials() {
            for attempt in 0..<2 {
                let (url, headers) = signed("HEAD", bucket: bucket, key: nil, query: [], extra: [], region: "us-east-1", creds: creds)
                guard case .success(let r) = http.send(method: "HEAD", url: url, headers: headers, timeout: 10, connectTimeout: 5) else { break }
                if let header = r.headers["x-amz-bucket-region"], !header.isEmpty {
                    found = header
                    break
                }
                // A HEAD's refusal has no body to name the cause; a 400 with temporary
                // credentials is most likely an expired token: fetch them again and ask once more.
                guard attempt == 0, r.status == 400, credentials.canRefresh,
                      let fresh = try? credentials.refresh(replacing: creds) else { break }
                creds = fresh
            }
        }
        lock.lock()
        regions[bucket] = found
        lock.unlock()
        return found
    }

    // MARK: - One request, retried

    /// Error codes that say the credentials (a session token) are no longer good, so temporary
    /// ones are fetched again and the request signed again, once: those of the AWS SDK for Go's
    /// `credsExpiredCodes` (`ExpiredToken`, S3's; `ExpiredTokenException`; `RequestExpired`,
    /// EC2's), and S3's `InvalidToken` and `TokenRefreshRequired`. (botocore has no such list: it
    /// only fetches credentials again shortly before their `Expiration`, as `CredentialChain` does.)
    static let refreshCodes: Set<String> = ["ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidToken", "TokenRefreshRequired"]

    /// Whether an answer is worth another try: throttling, server errors, request timeouts.
    static func isRetryable(status: Int, code: String?) -> Bool {
        if status >= 500 || status == 429 { return true }
        return ["SlowDown", "RequestTimeout", "RequestTimeTooSkewed", "InternalError", "Throttling", "ThrottlingException"].contains(code ?? "")
    }

    private func send(_ method: String, bucket: String, key: String?, query: [(String, String)] = [],
                      extraHeaders: [(String, String)] = [], name: String) throws(StorageError) -> HTTPResponse {
        var region = region(for: bucket)
        var refreshed = false
        var redirected = false
        var attempt = 0
        while true {
            attempt += 1
            let creds = try credentials.credentials()
            lock.lock()
            let refused = expired.flatMap { $0.credentials == creds ? $0.said : nil }
            lock.unlock()
            if let refused { throw StorageError("\(name): \(refused)") }
            let (url, headers) = signed(method, bucket: bucket, key: key, query: query, extra: extraHeaders, region: region, creds: creds)
            lock.lock(); requestCount += 1; if attempt > 1 { retryCount += 1 }; lock.unlock()
            let why: String
            switch http.send(method: method, url: url, headers: headers, timeout: configuration.timeout,
                             connectTimeout: configuration.connectTimeout, maxBody: 1 << 30) {
            case .success(let r) where (200..<300).contains(r.status):
                return r
            case .success(let r):
                let code = XMLText.first("Code", in: r.text) ?? r.headers["x-amz-error-code"]
                let message = XMLText.first("Message", in: r.text) ?? r.headers["x-amz-error-message"]
                // Wrong region: S3 names the right one; sign for it and go again, once.
                if let right = r.headers["x-amz-bucket-region"] ?? XMLText.first("Region", in: r.text), right != region, !redirected,
                   [301, 307, 400].contains(r.status) {
                    redirected = true
                    region = right
                    lock.lock(); regions[bucket] = right; lock.unlock()
                    attempt -= 1
                    continue
                }
                // Temporary credentials gone stale: fetch them again (unless another request
                // already has) and sign again, once.
                if Self.refreshCodes.contains(code ?? ""), !refreshed, credentials.canRefresh {
                    refreshed = true
                    _ = try credentials.refresh(replacing: creds)
                    attempt -= 1
                    continue
                }
                if !Self.isRetryable(status: r.status, code: code) {
                    let said = Self.explain(status: r.status, code: code, message: message, method: method, creds: creds)
                    if Self.refreshCodes.contains(code ?? "") {
                        lock.lock(); expired = (creds, said); lock.unlock()
                    }
                    throw StorageError("\(name): \(said)")
                }
                why = "HTTP \(r.status)\(code.map { " \($0)" } ?? "")"
            case .failure(let e):
                why = e.message
            }
            if attempt >= configuration.maxAttempts {
                throw StorageError("\(name): gave up after \(attempt) attempts (last: \(why))")
            }
            let cap = min(configuration.maxDelay, configuration.baseDelay * Double(1 << min(attempt, 20)))
            usleep(UInt32(Double.random(in: 0...cap) * 1_000_000))
        }
    }

    /// One line a user can act on for an answer no retry fixes.
    static func explain(status: Int, code: String?, message: String?, method: String, creds: AWSCredentials) -> String {
        let said = [code, message].compactMap { $0 }.joined(separator: ": ")
        let detail = said.isEmpty ? "HTTP \(status)" : "\(said) (HTTP \(status))"
        switch code ?? "" {
        case "SignatureDoesNotMatch":
            return "\(detail): the secret access key does not belong to access key \(creds.accessKeyId) (credentials from \(creds.source))"
        case "InvalidAccessKeyId":
            return "\(detail): access key \(creds.accessKeyId) is unknown to S3 (credentials from \(creds.source))"
        case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
            return "\(detail): the session token has expired (credentials from \(creds.source)): get fresh credentials"
        case "InvalidToken", "TokenRefreshRequired":
            return "\(detail): the session token is not valid (credentials from \(creds.source)): get fresh credentials"
        case "AccessDenied", "AllAccessDisabled":
            return "\(detail): access denied to \(creds.accessKeyId) (credentials from \(creds.source)); TalkTrace needs s3:ListBucket on the bucket and s3:GetObject on the objects"
        case "NoSuchKey": return "no such object (NoSuchKey)"
        case "NoSuchBucket": return "no such bucket (NoSuchBucket)"
        case "PreconditionFailed": return "the object changed while it was being read (its ETag is no longer the one listed)"
        default:
            if status == 404 { return method == "HEAD" ? "no such object (HTTP 404)" : "not found: \(detail)" }
            if status == 403 { return "\(detail): access denied to \(creds.accessKeyId) (credentials from \(creds.source))" }
            return detail
        }
    }

    /// The URL and signed headers for a request.
    func signed(_ method: String, bucket: String, key: String?, query: [(String, String)], extra: [(String, String)],
                region: String, creds: AWSCredentials) -> (String, [(String, String)]) {
        let scheme: String, host: String, path: String
        if let endpoint = configuration.endpoint {
            let parts = endpoint.split(separator: "://", maxSplits: 1).map(String.init)
            scheme = parts.count == 2 ? parts[0] : "https"
            let rest = parts.count == 2 ? parts[1] : parts[0]
            host = String(rest.prefix(while: { $0 != "/" }))
            let base = String(rest.dropFirst(host.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            path = (base.isEmpty ? "" : "/" + base) + "/" + bucket + (key.map { "/" + $0 } ?? "/")
        } else if bucket.contains(".") {
            scheme = "https"; host = "s3.\(region).amazonaws.com"; path = "/" + bucket + (key.map { "/" + $0 } ?? "/")
        } else {
            scheme = "https"; host = "\(bucket).s3.\(region).amazonaws.com"; path = "/" + (key ?? "")
        }
        var headers: [(String, String)] = [("Host", host), ("X-Amz-Date", SigV4.amzDate(Date())),
                                           ("X-Amz-Content-SHA256", SigV4.emptyPayloadHash)]
        if let token = creds.sessionToken { headers.append(("X-Amz-Security-Token", token)) }
        let request = SigV4.Request(method: method, path: path, query: query, headers: headers + extra)
        let authorization = SigV4.authorization(request, accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey,
                                                region: region, service: "s3")
        let queryString = SigV4.canonicalQuery(query)
        let url = "\(scheme)://\(host)\(SigV4.uriEncode(path, keepSlash: true))" + (queryString.isEmpty ? "" : "?" + queryString)
        return (url, headers + extra + [("Authorization", authorization)])
    }

    /// Decodes S3's `encoding-type=url` keys: `%XY` escapes, and `+` for a space.
    static func formDecode(_ s: String) -> String {
        var bytes: [UInt8] = []
        var u = Array(s.utf8)[...]
        while let b = u.first {
            u = u.dropFirst()
            if b == UInt8(ascii: "+") { bytes.append(0x20); continue }
            if b == UInt8(ascii: "%"), u.count >= 2, let v = UInt8(String(decoding: u.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v)
                u = u.dropFirst(2)
                continue
            }
            bytes.append(b)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
