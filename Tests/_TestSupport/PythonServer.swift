import Foundation
import TalkTraceStorage

/// A helper server (a Python script) on 127.0.0.1 for the tests: started through
/// `sh -c 'exec python3 …'` with its output redirected by the shell (no descriptor of the test
/// process is handed to `Process`), its port read from a file it writes once it listens; stopped
/// (SIGKILL, by its own process id) when the value goes away. Scripts exit on their own when the
/// test process dies.
public final class PythonServer: @unchecked Sendable {
    public let port: Int
    public let process: Process
    public let log: String

    /// Starts `script` with `arguments` after the port file, and `environment` added.
    public init(script: String, arguments: [String] = [], environment: [String: String] = [:], timeout: Double = 60) throws {
        let dir = NSTemporaryDirectory() + "talktrace-server-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let portFile = dir + "/port"
        log = dir + "/log"
        func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "exec python3 " + ([script, portFile] + arguments).map(q).joined(separator: " ") + " >\(q(log)) 2>&1 </dev/null"]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                self.port = port
                return
            }
            if !p.isRunning || Date() > deadline {
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                throw TestServerError(message: "\(script) did not start: \(output.suffix(2000))")
            }
            usleep(50_000)
        }
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)  // not SIGTERM: a child of a test process inherits its blocked signals
            process.waitUntilExit()
        }
    }

    deinit { stop() }

    /// GETs `path` from the server (plain HTTP on loopback, for the tests' own checks).
    public func get(_ path: String) -> String? {
        if case .success(let r) = HTTPClient.shared.send(method: "GET", url: url + path, timeout: 10) { return r.text }
        return nil
    }
}

public struct TestServerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
