import Foundation
import Testing
import _TestSupport
@testable import TalkTraceStorage

/// The credential chain, each source on its own, HTTP ones against fake endpoints on 127.0.0.1
/// (`Fixtures/fake_credential_endpoints.py`).
@Suite(.serialized) struct CredentialTests {
    static func fixture(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!.path
    }

    /// A scratch folder standing in for HOME (so the machine's own ~/.aws is never read), and an
    /// environment with instance metadata off unless a test turns it on.
    static func scratch() throws -> (dir: String, env: [String: String]) {
        let dir = TestSupport.temporaryDirectory("creds").path  // removed when the tests end
        try FileManager.default.createDirectory(atPath: dir + "/.aws", withIntermediateDirectories: true)
        return (dir, ["HOME": dir, "AWS_EC2_METADATA_DISABLED": "true"])
    }

    static func write(_ text: String, _ path: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }

    @Test func environmentVariables() throws {
        var (_, env) = try Self.scratch()
        env["AWS_ACCESS_KEY_ID"] = "AKIAENV"
        env["AWS_SECRET_ACCESS_KEY"] = "env-secret"
        env["AWS_SESSION_TOKEN"] = "env-token"
        let c = try CredentialChain(environment: env).credentials()
        #expect(c == AWSCredentials(accessKeyId: "AKIAENV", secretAccessKey: "env-secret", sessionToken: "env-token",
                                    source: "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN"))
        env["AWS_SECRET_ACCESS_KEY"] = nil
        #expect(throws: StorageError("AWS credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")) {
            try CredentialChain(environment: env).credentials()
        }
    }

    @Test func sharedFilesAndProfiles() throws {
        var (dir, env) = try Self.scratch()
        try Self.write("""
            [default]
            aws_access_key_id = AKIADEFAULT
            aws_secret_access_key = default-secret

            # a comment
            [night]
            aws_access_key_id=AKIANIGHT
            aws_secret_access_key=night/secret+key
            aws_session_token = night-token
            """, dir + "/.aws/credentials")
        try Self.write("""
            [default]
            region = eu-west-1
            [profile fromconfig]
            aws_access_key_id = AKIACONFIG
            aws_secret_access_key = config-secret
            s3 =
              addressing_style = path
            [profile assumed]
            role_arn = arn:aws:iam::123456789012:role/x
            source_profile = default
            """, dir + "/.aws/config")
        var c = try CredentialChain(environment: env).credentials()
        #expect(c.accessKeyId == "AKIADEFAULT" && c.secretAccessKey == "default-secret" && c.sessionToken == nil)
        #expect(c.source == "profile 'default' in \(dir)/.aws/credentials")
        env["AWS_PROFILE"] = "night"
        c = try CredentialChain(environment: env).credentials()
        #expect(c.accessKeyId == "AKIANIGHT" && c.secretAccessKey == "night/secret+key" && c.sessionToken == "night-token")
        env["AWS_PROFILE"] = "fromconfig"
        c = try CredentialChain(environment: env).credentials()
        #expect(c.accessKeyId == "AKIACONFIG" && c.source == "profile 'fromconfig' in \(dir)/.aws/config")
        #expect(S3Client.Configuration.fromEnvironment(["HOME": dir]).region == "eu-west-1")
        env["AWS_PROFILE"] = "missing"
        #expect(throws: StorageError("AWS credentials: AWS_PROFILE is 'missing' but no such profile is in \(dir)/.aws/credentials or \(dir)/.aws/config")) {
            try CredentialChain(environment: env).credentials()
        }
        env["AWS_PROFILE"] = "assumed"
        #expect(throws: StorageError.self) { try CredentialChain(environment: env).credentials() }
    }

    @Test func credentialProcess() throws {
        var (dir, env) = try Self.scratch()
        try Self.write("""
            #!/bin/sh
            if [ "$1" = fail ]; then echo "token expired, run login" >&2; exit 3; fi
            printf '{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "proc-secret", "SessionToken": "proc-token", "Expiration": "2099-01-01T00:00:00Z"}'
            """, dir + "/creds.sh")
        chmod(dir + "/creds.sh", 0o755)
        try Self.write("[profile proc]\ncredential_process = \(dir)/creds.sh ok\n[profile broken]\ncredential_process = \(dir)/creds.sh fail\n", dir + "/.aws/config")
        env["AWS_PROFILE"] = "proc"
        let c = try CredentialChain(environment: env).credentials()
        #expect(c == AWSCredentials(accessKeyId: "ASIAPROC", secretAccessKey: "proc-secret", sessionToken: "proc-token",
                                    expiration: ISOTime.parse("2099-01-01T00:00:00Z"), source: "credential_process of profile 'proc'"))
        env["AWS_PROFILE"] = "broken"
        #expect(throws: StorageError("AWS credentials: credential_process of profile 'broken' exited with status 3: token expired, run login")) {
            try CredentialChain(environment: env).credentials()
        }
    }

    @Test func webIdentityContainerAndInstanceMetadata() throws {
        let server = try PythonServer(script: Self.fixture("fake_credential_endpoints.py"))
        // Its port file and log: not needed once it listens (the log stays open to it).
        defer { try? FileManager.default.removeItem(atPath: (server.log as NSString).deletingLastPathComponent) }
        var (dir, env) = try Self.scratch()

        // Web identity (EKS IRSA): the token file exchanged at STS.
        try Self.write("web-identity-token\n", dir + "/token")
        var web = env
        web["AWS_WEB_IDENTITY_TOKEN_FILE"] = dir + "/token"
        web["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/talktrace"
        web["AWS_ROLE_SESSION_NAME"] = "night-batch"
        web["AWS_ENDPOINT_URL_STS"] = server.url
        let w = try CredentialChain(environment: web).credentials()
        #expect(w.accessKeyId == "ASIAWEB1" && w.secretAccessKey == "web/secret+key" && w.sessionToken == "web-token-1&x")
        #expect(w.source == "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role arn:aws:iam::123456789012:role/talktrace)")
        #expect(w.expiration.map { abs($0.timeIntervalSinceNow - 3600) < 120 } == true)
        try Self.write("wrong-token", dir + "/token")
        #expect(throws: StorageError("AWS credentials: web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role arn:aws:iam::123456789012:role/talktrace): STS refused: InvalidIdentityToken: bad token & more")) {
            try CredentialChain(environment: web).credentials()
        }

        // Container endpoint with a token file; credentials close to expiry are fetched again.
        try Self.write("container-auth-token\n", dir + "/container-token")
        var container = env
        container["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url + "/container/later"
        container["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = dir + "/container-token"
        let later = CredentialChain(environment: container)
        #expect(try later.credentials().accessKeyId == "ASIACONTAINER1")
        #expect(try later.credentials().accessKeyId == "ASIACONTAINER1")  // an hour left: kept
        container["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url + "/container/soon"
        let soon = CredentialChain(environment: container)
        #expect(try soon.credentials().accessKeyId == "ASIACONTAINER1")
        #expect(try soon.credentials().accessKeyId == "ASIACONTAINER2")  // 60 s left, under the 300 s window: fetched again
        #expect(try soon.credentials().source == "container endpoint \(server.url)/container/soon")
        container["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = nil
        container["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong"
        #expect(throws: StorageError("AWS credentials: container endpoint \(server.url)/container/soon answered HTTP 403: missing or wrong Authorization")) {
            try CredentialChain(environment: container).credentials()
        }

        // IMDSv2: session token, role name, credentials.
        env["AWS_EC2_METADATA_DISABLED"] = nil
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.url
        let imds = try CredentialChain(environment: env).credentials()
        #expect(imds.accessKeyId == "ASIAIMDS1" && imds.sessionToken == "imds-token-1" && imds.source == "EC2 instance metadata (role talktrace-role)")
        let hits = server.get("/hits") ?? ""
        #expect(hits.contains("\"/latest/api/token\": 1"))
        #expect(hits.contains("\"/container/soon\": 4"))

        // Nothing anywhere: one line saying what was tried.
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:9"
        do {
            _ = try CredentialChain(environment: env).credentials()
            Issue.record("expected no credentials")
        } catch {
            #expect(error.message.hasPrefix("no AWS credentials found: tried environment variables (AWS_ACCESS_KEY_ID), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), profile 'default'"))
            #expect(error.message.contains("EC2 instance metadata (AWS credentials: EC2 instance metadata at http://127.0.0.1:9 unreachable"))
        }
    }
}
