import Foundation
import TalkTraceStorage

/// moto (signature checking on) behind the fault-injecting proxy of `Tests/S3Harness/s3_harness.py`,
/// on 127.0.0.1, with `uploads` (local file, key) in `bucket`.
public final class S3Harness: @unchecked Sendable {
    public let server: PythonServer
    public let bucket: String
    public let accessKeyId: String
    public let secretAccessKey: String
    /// A live assumed-role session, and a session of its own whose token the harness's proxy
    /// treats as expired (answered with S3's `ExpiredToken`).
    public let session: (accessKeyId: String, secretAccessKey: String, sessionToken: String)
    public let staleSession: (accessKeyId: String, secretAccessKey: String, sessionToken: String)

    public static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("S3Harness/s3_harness.py").path
    }

    public init(bucket: String = "demo-connect-bucket", region: String = "eu-west-1", uploads: [(String, String)]) throws {
        let dir = TestSupport.temporaryDirectory("s3harness-\(UInt32.random(in: 0...UInt32.max))")
        let spec = dir.appendingPathComponent("spec.json").path
        let out = dir.appendingPathComponent("credentials.json").path
        let specObject: [String: Any] = ["bucket": bucket, "region": region, "uploads": uploads.map { [$0.0, $0.1] }, "out": out]
        try JSONSerialization.data(withJSONObject: specObject).write(to: URL(fileURLWithPath: spec))
        server = try PythonServer(script: Self.script, arguments: [spec], timeout: 120)
        self.bucket = bucket
        let c = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        accessKeyId = c["accessKeyId"] as! String
        secretAccessKey = c["secretAccessKey"] as! String
        func triple(_ o: Any?) -> (String, String, String) {
            let d = o as! [String: String]
            return (d["accessKeyId"]!, d["secretAccessKey"]!, d["sessionToken"]!)
        }
        session = triple(c["session"])
        staleSession = triple(c["staleSession"])
    }

    /// The environment a client or the command line needs to reach the harness through the proxy
    /// (no region: it is found with HeadBucket).
    public var environment: [String: String] {
        ["AWS_ACCESS_KEY_ID": accessKeyId, "AWS_SECRET_ACCESS_KEY": secretAccessKey, "AWS_ENDPOINT_URL": server.url,
         "AWS_EC2_METADATA_DISABLED": "true", "HOME": NSTemporaryDirectory()]
    }

    /// Sets the proxy's faults; returns its counters, zeroed.
    @discardableResult
    public func proxy(latency: Double = 0, faults: Bool = false, doomed: String? = nil) -> String? {
        let body: [String: Any] = ["latency": latency, "faults": faults, "doomed": doomed as Any? ?? NSNull()]
        let data = try! JSONSerialization.data(withJSONObject: body)
        if case .success(let r) = HTTPClient.shared.send(method: "POST", url: server.url + "/__proxy/config", body: Array(data)) { return r.text }
        return nil
    }

    /// The proxy's counters: requests, throttled, dropped, cut, doomed.
    public func stats() -> [String: Int] {
        guard let text = server.get("/__proxy/stats"),
              let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Int] else { return [:] }
        return o
    }
}
