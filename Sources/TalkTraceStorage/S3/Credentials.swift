import Foundation

/// AWS credentials and where they came from (named in every error that involves them).
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working; nil for long-term keys.
    public var expiration: Date?
    /// Where they were found, in words: "environment variables AWS_ACCESS_KEY_ID/…".
    public var source: String

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil, source: String) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }
}

/// Finds credentials the way the AWS CLI and SDKs do, first match wins:
/// 1. environment variables `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`);
/// 2. web identity from the environment: `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`
///    (`AWS_ROLE_SESSION_NAME`), exchanged at STS (`AssumeRoleWithWebIdentity`), as on EKS;
/// 3. the profile `AWS_PROFILE` (else `default`) in `AWS_SHARED_CREDENTIALS_FILE`
///    (`~/.aws/credentials`) and `AWS_CONFIG_FILE` (`~/.aws/config`): keys, `credential_process`,
///    or `web_identity_token_file` with `role_arn`;
/// 4. the container endpoint: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on 169.254.170.2) or
///    `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or
///    `AWS_CONTAINER_AUTHORIZATION_TOKEN` (ECS tasks, EKS Pod Identity);
/// 5. EC2 instance metadata, IMDSv2 (a session token first), unless `AWS_EC2_METADATA_DISABLED`
///    is `true`; `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves it.
///
/// Temporary credentials are kept until `refreshWindow` seconds before they expire, then fetched
/// again from the same source. Thread-safe.
public final class CredentialChain: @unchecked Sendable {
    public let environment: [String: String]
    private let http: HTTPClient
    /// Seconds before expiry at which credentials are fetched again (the SDKs use 5 to 15 minutes).
    public var refreshWindow: Double = 300
    private let lock = NSLock()
    private var cached: AWSCredentials?
    private var provider: (() throws(StorageError) -> AWSCredentials)?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, http: HTTPClient = .shared) {
        self.environment = environment
        self.http = http
    }

    /// Current credentials; fetched again when they expire within `refreshWindow` or `refresh` says so.
    public func credentials(refresh: Bool = false) throws(StorageError) -> AWSCredentials {
        lock.lock()
        defer { lock.unlock() }
        if !refresh, let cached, cached.expiration.map({ $0.timeIntervalSinceNow > refreshWindow }) ?? true { return cached }
        if provider == nil { provider = try resolve() }
        let fresh = try provider!()
        cached = fresh
        return fresh
    }

    /// Credentials fetched again because S3 refused `stale` (an expired session token): when
    /// another request has already replaced them, those are returned without asking the source
    /// again, so many reads refused at once fetch new credentials once.
    public func refresh(replacing stale: AWSCredentials) throws(StorageError) -> AWSCredentials {
        lock.lock()
        defer { lock.unlock() }
        if let cached, cached != stale { return cached }
        if provider == nil { provider = try resolve() }
        let fresh = try provider!()
        cached = fresh
        return fresh
    }

    /// Whether `credentials(refresh: true)` can bring different credentials (temporary ones).
    public var canRefresh: Bool {
        lock.lock(); defer { lock.unlock() }
        return cached?.expiration != nil
    }

    // MARK: - Resolution

    private func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    private var home: String { env("HOME") ?? NSHomeDirectory() }

    private func resolve() throws(StorageError) -> () throws(StorageError) -> AWSCredentials {
        if let id = env("AWS_ACCESS_KEY_ID") {
            guard let secret = env("AWS_SECRET_ACCESS_KEY") else {
                throw StorageError("AWS credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
            }
            let creds = AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: env("AWS_SESSION_TOKEN"),
                                       source: "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" + (env("AWS_SESSION_TOKEN") != nil ? "/AWS_SESSION_TOKEN" : ""))
            return { () throws(StorageError) in creds }
        }
        if let tokenFile = env("AWS_WEB_IDENTITY_TOKEN_FILE"), let role = env("AWS_ROLE_ARN") {
            let session = env("AWS_ROLE_SESSION_NAME") ?? "talktrace-\(Int(Date().timeIntervalSince1970))"
            return { [self] () throws(StorageError) in try webIdentity(tokenFile: tokenFile, role: role, session: session, via: "AWS_WEB_IDENTITY_TOKEN_FILE") }
        }
        let profileName = env("AWS_PROFILE") ?? env("AWS_DEFAULT_PROFILE") ?? "default"
        let credentialsPath = env("AWS_SHARED_CREDENTIALS_FILE") ?? home + "/.aws/credentials"
        let configPath = env("AWS_CONFIG_FILE") ?? home + "/.aws/config"
        let fromCredentials = SharedConfig.section(profileName, in: credentialsPath, configStyle: false)
        let fromConfig = SharedConfig.section(profileName, in: configPath, configStyle: true)
        if fromCredentials != nil || fromConfig != nil {
            // The credentials file wins key by key, as in the CLI.
            let p = (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { _, c in c }
            let label = "profile '\(profileName)'"
            if let id = p["aws_access_key_id"], let secret = p["aws_secret_access_key"] {
                let file = fromCredentials?["aws_access_key_id"] != nil ? credentialsPath : configPath
                let creds = AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: p["aws_session_token"],
                                           source: "\(label) in \(file)")
                return { () throws(StorageError) in creds }
            }
            if let command = p["credential_process"] {
                return { [self] () throws(StorageError) in try credentialProcess(command, label: label) }
            }
            if let tokenFile = p["web_identity_token_file"], let role = p["role_arn"] {
                let session = p["role_session_name"] ?? "talktrace-\(Int(Date().timeIntervalSince1970))"
                return { [self] () throws(StorageError) in try webIdentity(tokenFile: tokenFile, role: role, session: session, via: label) }
            }
            if p["role_arn"] != nil || p["sso_start_url"] != nil || p["sso_session"] != nil {
                throw StorageError("AWS credentials: \(label) uses role_arn with source_profile or SSO, which TalkTrace does not read: export its credentials (aws configure export-credentials --profile \(profileName) --format env)")
            }
            if env("AWS_PROFILE") != nil {
                throw StorageError("AWS credentials: \(label) has no aws_access_key_id/aws_secret_access_key, credential_process or web_identity_token_file")
            }
        } else if let explicit = env("AWS_PROFILE") {
            throw StorageError("AWS credentials: AWS_PROFILE is '\(explicit)' but no such profile is in \(credentialsPath) or \(configPath)")
        }
        if let relative = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            let url = "http://169.254.170.2" + relative
            return { [self] () throws(StorageError) in try container(url) }
        }
        if let full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            return { [self] () throws(StorageError) in try container(full) }
        }
        if env("AWS_EC2_METADATA_DISABLED")?.lowercased() != "true" {
            let endpoint = env("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? "http://169.254.169.254"
            // Tried once now: off EC2 it fails in about a second, and the message lists what was tried.
            let first: AWSCredentials
            do throws(StorageError) { first = try instanceMetadata(endpoint) } catch {
                throw StorageError("no AWS credentials found: tried environment variables (AWS_ACCESS_KEY_ID), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), profile '\(profileName)' in \(credentialsPath) and \(configPath), the container endpoint (AWS_CONTAINER_CREDENTIALS_*_URI), and EC2 instance metadata (\(error.message))")
            }
            var pending: AWSCredentials? = first
            return { [self] () throws(StorageError) in
                if let p = pending { pending = nil; return p }
                return try instanceMetadata(endpoint)
            }
        }
        throw StorageError("no AWS credentials found: tried environment variables (AWS_ACCESS_KEY_ID), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), profile '\(profileName)' in \(credentialsPath) and \(configPath), and the container endpoint (AWS_CONTAINER_CREDENTIALS_*_URI); EC2 instance metadata is disabled (AWS_EC2_METADATA_DISABLED)")
    }

    // MARK: - Sources that ask someone

    /// Runs `command` through `/bin/sh` (the CLI splits it like a shell), its output redirected to
    /// files by the shell itself: no descriptor of this process is handed to `Process`.
    private func credentialProcess(_ command: String, label: String) throws(StorageError) -> AWSCredentials {
        let source = "credential_process of \(label)"
        let dir = NSTemporaryDirectory() + "talktrace-credential-process-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let out = dir + ".out", err = dir + ".err"
        defer { unlink(out); unlink(err) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "exec \(command) >'\(out)' 2>'\(err)' </dev/null"]
        p.environment = environment
        do { try p.run() } catch { throw StorageError("AWS credentials: \(source) could not start: \(error.localizedDescription)") }
        p.waitUntilExit()
        let output = (try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()
        if p.terminationStatus != 0 {
            let why = ((try? String(contentsOfFile: err, encoding: .utf8)) ?? "").split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            throw StorageError("AWS credentials: \(source) exited with status \(p.terminationStatus)\(why.isEmpty ? "" : ": \(why)")")
        }
        struct Output: Decodable {
            var Version: Int?
            var AccessKeyId: String?
            var SecretAccessKey: String?
            var SessionToken: String?
            var Expiration: String?
        }
        guard let o = try? JSONDecoder().decode(Output.self, from: output), let id = o.AccessKeyId, let secret = o.SecretAccessKey else {
            throw StorageError("AWS credentials: \(source) did not print a JSON object with AccessKeyId and SecretAccessKey")
        }
        if let v = o.Version, v != 1 { throw StorageError("AWS credentials: \(source) printed Version \(v); only 1 is defined") }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: o.SessionToken,
                              expiration: o.Expiration.flatMap(ISOTime.parse), source: source)
    }

    /// STS AssumeRoleWithWebIdentity (unsigned: the token is the proof).
    private func webIdentity(tokenFile: String, role: String, session: String, via: String) throws(StorageError) -> AWSCredentials {
        let source = "web identity (\(via), role \(role))"
        guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
            throw StorageError("AWS credentials: \(source): cannot read the token file \(tokenFile)")
        }
        let region = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION")
        let endpoint = env("AWS_ENDPOINT_URL_STS") ?? env("AWS_ENDPOINT_URL") ?? (region.map { "https://sts.\($0).amazonaws.com" } ?? "https://sts.amazonaws.com")
        let form = [("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", role),
                    ("RoleSessionName", session), ("WebIdentityToken", token.trimmingCharacters(in: .whitespacesAndNewlines))]
            .map { "\($0.0)=\(SigV4.uriEncode($0.1))" }.joined(separator: "&")
        let response = try fetch("POST", endpoint.hasSuffix("/") ? endpoint : endpoint + "/", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                 body: Array(form.utf8), source: source, attempts: 3, timeout: 10)
        guard response.status == 200 else {
            let code = XMLText.first("Code", in: response.text) ?? "HTTP \(response.status)"
            throw StorageError("AWS credentials: \(source): STS refused: \(code): \(XMLText.first("Message", in: response.text) ?? "")")
        }
        let xml = response.text
        guard let id = XMLText.first("AccessKeyId", in: xml), let secret = XMLText.first("SecretAccessKey", in: xml) else {
            throw StorageError("AWS credentials: \(source): STS's answer has no credentials")
        }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: XMLText.first("SessionToken", in: xml),
                              expiration: XMLText.first("Expiration", in: xml).flatMap(ISOTime.parse), source: source)
    }

    /// The ECS / EKS Pod Identity endpoint: JSON with AccessKeyId, SecretAccessKey, Token, Expiration.
    private func container(_ url: String) throws(StorageError) -> AWSCredentials {
        let source = "container endpoint \(url)"
        var headers: [(String, String)] = []
        if let file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            guard let token = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw StorageError("AWS credentials: \(source): cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(file)")
            }
            headers.append(("Authorization", token.trimmingCharacters(in: .whitespacesAndNewlines)))
        } else if let token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            headers.append(("Authorization", token))
        }
        let response = try fetch("GET", url, headers: headers, source: source, attempts: 3, timeout: 5)
        guard response.status == 200 else {
            throw StorageError("AWS credentials: \(source) answered HTTP \(response.status): \(response.text.prefix(200).split(whereSeparator: \.isNewline).joined(separator: " "))")
        }
        return try Self.decodeJSONCredentials(response.body, token: "Token", source: source)
    }

    /// IMDSv2: PUT a session token, then the role name, then the role's credentials.
    private func instanceMetadata(_ endpoint: String) throws(StorageError) -> AWSCredentials {
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        let tokenResponse = try fetch("PUT", base + "/latest/api/token", headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")],
                                      body: [], source: "EC2 instance metadata at \(base)", attempts: 1, timeout: 1)
        guard tokenResponse.status == 200 else { throw StorageError("IMDSv2 token request answered HTTP \(tokenResponse.status)") }
        let auth = [("X-aws-ec2-metadata-token", tokenResponse.text)]
        let roles = try fetch("GET", base + "/latest/meta-data/iam/security-credentials/", headers: auth,
                              source: "EC2 instance metadata", attempts: 2, timeout: 2)
        guard roles.status == 200, let role = roles.text.split(whereSeparator: \.isNewline).first.map(String.init) else {
            throw StorageError("EC2 instance metadata: no IAM role attached to this instance (HTTP \(roles.status))")
        }
        let source = "EC2 instance metadata (role \(role))"
        let creds = try fetch("GET", base + "/latest/meta-data/iam/security-credentials/" + SigV4.uriEncode(role), headers: auth,
                              source: source, attempts: 2, timeout: 2)
        guard creds.status == 200 else { throw StorageError("AWS credentials: \(source) answered HTTP \(creds.status)") }
        return try Self.decodeJSONCredentials(creds.body, token: "Token", source: source)
    }

    static func decodeJSONCredentials(_ body: [UInt8], token: String, source: String) throws(StorageError) -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let id = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String
        else { throw StorageError("AWS credentials: \(source) did not answer with AccessKeyId and SecretAccessKey") }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: object[token] as? String,
                              expiration: (object["Expiration"] as? String).flatMap(ISOTime.parse), source: source)
    }

    private func fetch(_ method: String, _ url: String, headers: [(String, String)], body: [UInt8]? = nil, source: String,
                       attempts: Int, timeout: Double) throws(StorageError) -> HTTPResponse {
        var last = ""
        for attempt in 0..<attempts {
            switch http.send(method: method, url: url, headers: headers, body: body, timeout: timeout, connectTimeout: min(timeout, 2), maxBody: 1 << 20) {
            case .success(let r) where r.status < 500: return r
            case .success(let r): last = "HTTP \(r.status)"
            case .failure(let e): last = e.message
            }
            if attempt + 1 < attempts { usleep(UInt32(100_000 << attempt)) }
        }
        throw StorageError("AWS credentials: \(source) unreachable (\(last))")
    }
}

/// `~/.aws/credentials` (`[name]`) and `~/.aws/config` (`[profile name]`, `[default]`) sections.
enum SharedConfig {
    static func section(_ profile: String, in path: String, configStyle: Bool) -> [String: String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let wanted = configStyle && profile != "default" ? ["profile \(profile)"] : (configStyle ? ["default", "profile default"] : [profile])
        var current: String?
        var found: [String: String]?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                    .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                if wanted.contains(current!), found == nil { found = [:] }
                continue
            }
            // Indented lines belong to a nested block (`s3 =` settings): not credentials.
            guard let current, wanted.contains(current), raw.first != " ", raw.first != "\t",
                  let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            found?[key] = value
        }
        return found
    }
}

/// ISO 8601 times as AWS writes them (`2026-11-30T15:00:00Z`, fractional seconds or not).
enum ISOTime {
    static func parse(_ s: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let d = plain.date(from: s) { return d }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: s)
    }
}

/// The little XML that S3 and STS answer with: text of named elements, entities decoded.
enum XMLText {
    static func all(_ tag: String, in xml: String) -> [String] {
        var out: [String] = []
        var rest = xml[...]
        let open = "<\(tag)>", close = "</\(tag)>"
        while let a = rest.range(of: open), let b = rest.range(of: close, range: a.upperBound..<rest.endIndex) {
            out.append(decode(String(rest[a.upperBound..<b.lowerBound])))
            rest = rest[b.upperBound...]
        }
        return out
    }

    static func first(_ tag: String, in xml: String) -> String? { all(tag, in: xml).first }

    /// Elements' inner XML, undecoded (`<Contents>` blocks).
    static func blocks(_ tag: String, in xml: String) -> [Substring] {
        var out: [Substring] = []
        var rest = xml[...]
        while let a = rest.range(of: "<\(tag)>"), let b = rest.range(of: "</\(tag)>", range: a.upperBound..<rest.endIndex) {
            out.append(rest[a.upperBound..<b.lowerBound])
            rest = rest[b.upperBound...]
        }
        return out
    }

    static func decode(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == "&", let semi = s[i...].firstIndex(of: ";"), s.distance(from: i, to: semi) <= 10 {
                let entity = s[s.index(after: i)..<semi]
                var scalar: Unicode.Scalar?
                switch entity {
                case "amp": scalar = "&"
                case "lt": scalar = "<"
                case "gt": scalar = ">"
                case "quot": scalar = "\""
                case "apos": scalar = "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") { scalar = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init) }
                    else if entity.hasPrefix("#") { scalar = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init) }
                }
                if let scalar {
                    out.unicodeScalars.append(scalar)
                    i = s.index(after: semi)
                    continue
                }
            }
            out.append(s[i])
            i = s.index(after: i)
        }
        return out
    }
}
