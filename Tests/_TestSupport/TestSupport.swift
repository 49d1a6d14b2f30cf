import Foundation
import TalkTraceAudio

/// Helpers shared by the test targets: fixture paths, deterministic signals, temporary WAVs and
/// the frame F1 the eval corpus uses.
public enum TestSupport {
    /// The repository root (this file is Tests/_TestSupport/TestSupport.swift).
    public static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// TestAudio/.
    public static let testAudio = root.appendingPathComponent("TestAudio")

    public static func fixture(_ relative: String) -> String { testAudio.appendingPathComponent(relative).path }

    /// A fresh temporary directory, removed with everything in it when the test process exits
    /// normally (`TALKTRACE_KEEP_TEST_DIRS=1` keeps them, to look at a failure's files).
    public static func temporaryDirectory(_ name: String = #function) -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("talktrace-tests-\(safe)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        TemporaryDirectories.shared.add(url)
        return url
    }

    /// Runs `p` with its standard output and error piped, reads both to the end and waits for it.
    /// Standard error is read on a thread of its own: reading one pipe to the end and then the
    /// other would hang on a child that fills the second pipe (64 KB) while the first is read.
    public static func capture(_ p: Process) throws -> (status: Int32, reason: Process.TerminationReason, stdout: Data, stderr: Data) {
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        nonisolated(unsafe) var errData = Data()
        let done = DispatchSemaphore(value: 0)
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile(); done.signal() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        p.waitUntilExit()
        return (p.terminationStatus, p.terminationReason, outData, errData)
    }

    /// A deterministic generator (xorshift64*), so every test signal is the same on every run.
    public struct Random {
        var state: UInt64
        public init(seed: UInt64) { state = seed == 0 ? 0x9E3779B97F4A7C15 : seed }
        public mutating func next() -> UInt64 {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 2685821657736338717
        }
        /// Uniform in [-1, 1).
        public mutating func uniform() -> Float { Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) }
        /// Approximately normal, unit variance (sum of 4 uniforms).
        public mutating func gaussian() -> Float { (uniform() + uniform() + uniform() + uniform()) * 0.866 }
    }

    /// `seconds` of silence at `rate`.
    public static func silence(_ seconds: Double, rate: Int = 8000) -> [Float] { [Float](repeating: 0, count: Int(seconds * Double(rate))) }

    /// Adds a sine of `frequency` Hz, peak `amplitude`, over [start, end) seconds.
    public static func addTone(_ x: inout [Float], frequency: Double, amplitude: Float, start: Double, end: Double, rate: Int = 8000) {
        let a = Int(start * Double(rate)), b = min(x.count, Int(end * Double(rate)))
        for i in a..<b { x[i] += amplitude * Float(sin(2 * Double.pi * frequency * Double(i) / Double(rate))) }
    }

    /// Adds white noise of RMS `rms` to all of `x`.
    public static func addNoise(_ x: inout [Float], rms: Float, seed: UInt64) {
        var r = Random(seed: seed)
        for i in x.indices { x[i] += rms * r.gaussian() }
    }

    /// Adds a speech-like burst over [start, end): a 120 Hz pulse train through two formant-ish
    /// resonances, syllable-modulated at 4 Hz, peak near `amplitude`.
    public static func addSpeechLike(_ x: inout [Float], amplitude: Float, start: Double, end: Double, pitch: Double = 120, rate: Int = 8000, seed: UInt64 = 1) {
        let a = Int(start * Double(rate)), b = min(x.count, Int(end * Double(rate)))
        var r = Random(seed: seed)
        var y1: Float = 0, y2: Float = 0, z1: Float = 0, z2: Float = 0
        func coeffs(_ f: Double, _ bw: Double) -> (Float, Float) {
            let rr = exp(-Double.pi * bw / Double(rate))
            return (Float(2 * rr * cos(2 * Double.pi * f / Double(rate))), Float(-rr * rr))
        }
        let (a1, a2) = coeffs(700, 120), (b1, b2) = coeffs(1800, 200)
        var phase = 0.0
        var out = [Float](repeating: 0, count: max(0, b - a))
        var peak: Float = 0
        for i in 0..<(b - a) {
            let t = Double(i) / Double(rate)
            phase += (pitch * (1 + 0.05 * sin(2 * Double.pi * 1.3 * t))) / Double(rate)
            var src: Float = 0
            if phase >= 1 { phase -= 1; src = 1 }
            src += 0.02 * r.gaussian()
            let y = src + a1 * y1 + a2 * y2; y2 = y1; y1 = y
            let z = y + b1 * z1 + b2 * z2; z2 = z1; z1 = z
            // Syllables: 4 Hz raised cosine that never quite closes (stays within a 300 ms pause).
            let env = Float(0.55 - 0.45 * cos(2 * Double.pi * 4 * t))
            let fade = Float(min(1, min(t, Double(b - a - i) / Double(rate)) / 0.01))
            out[i] = (y * 0.3 + z) * env * fade
            peak = max(peak, abs(out[i]))
        }
        let scale = peak > 0 ? amplitude / peak : 0
        for i in out.indices { x[a + i] += out[i] * scale }
    }

    /// Writes a stereo WAV from `left` and `right` (same length) to `url`.
    public static func writeStereo(_ url: URL, left: [Float], right: [Float], rate: Int = 8000, encoding: Int32? = nil) throws {
        var inter = [Float](repeating: 0, count: 2 * left.count)
        for i in left.indices { inter[2 * i] = left[i]; inter[2 * i + 1] = right[i] }
        if let encoding {
            try SoundFileWriter.writeWAV(path: url.path, sampleRate: rate, channels: 2, interleaved: inter, encoding: encoding)
        } else {
            try SoundFileWriter.writeWAV(path: url.path, sampleRate: rate, channels: 2, interleaved: inter)
        }
    }

    /// Frame F1 (10 ms frames) of `predicted` against `truth`, as ../shared/eval/score.py computes it.
    public static func frameF1(_ predicted: [Segment], _ truth: [[Double]], duration: Double) -> Double {
        frameF1(predicted.map { [$0.start, $0.end] }, truth, duration: duration)
    }

    /// Frame F1 with predictions as `[start, end]` pairs.
    public static func frameF1(_ predicted: [[Double]], _ truth: [[Double]], duration: Double) -> Double {
        let n = Int((duration / 0.01).rounded()) + 1
        func mask(_ segs: [(Double, Double)]) -> [Bool] {
            var m = [Bool](repeating: false, count: n)
            for (a, b) in segs {
                let lo = max(0, Int((a / 0.01).rounded())), hi = min(n, max(0, Int((b / 0.01).rounded())))
                if hi > lo { for i in lo..<hi { m[i] = true } }
            }
            return m
        }
        let p = mask(predicted.map { ($0[0], $0[1]) }), t = mask(truth.map { ($0[0], $0[1]) })
        var tp = 0, fp = 0, fn = 0
        for i in 0..<n { if p[i] && t[i] { tp += 1 } else if p[i] { fp += 1 } else if t[i] { fn += 1 } }
        if tp + fp + fn == 0 { return 1 }
        return 2 * Double(tp) / Double(2 * tp + fp + fn)
    }

    /// TestAudio/truth.json.
    public static func truth() throws -> [String: Any] {
        let data = try Data(contentsOf: testAudio.appendingPathComponent("truth.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
}

/// The folders `TestSupport.temporaryDirectory` made in this process; an `atexit` handler, set
/// up with the first one, removes them (a full test run made about 2,800 of them, 74 MB each for
/// the S3 batches, and left them in /tmp).
final class TemporaryDirectories: @unchecked Sendable {
    static let shared = TemporaryDirectories()
    private let lock = NSLock()
    private var urls: [URL] = []
    private var registered = false

    func add(_ url: URL) {
        lock.lock(); defer { lock.unlock() }
        urls.append(url)
        if !registered {
            registered = true
            atexit { TemporaryDirectories.shared.removeAll() }
        }
    }

    func removeAll() {
        if ProcessInfo.processInfo.environment["TALKTRACE_KEEP_TEST_DIRS"] == "1" { return }
        lock.lock(); let all = urls; urls = []; lock.unlock()
        for url in all { Self.openUp(url.path) }
        // `rm -rf`, not FileManager: some tests nest folders past PATH_MAX or give them names
        // that are not UTF-8, which FileManager cannot remove.
        for start in stride(from: 0, to: all.count, by: 200) {
            let args = ["rm", "-rf", "--"] + all[start..<min(all.count, start + 200)].map(\.path)
            var cArgs = args.map { strdup($0) } + [nil]
            defer { for p in cArgs { free(p) } }
            var pid: pid_t = 0
            if posix_spawn(&pid, "/bin/rm", nil, nil, &cArgs, environ) == 0 {
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
    }

    private static func openUp(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { return }
        chmod(path, 0o700)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
        for name in names { openUp(path + "/" + name) }
    }
}
