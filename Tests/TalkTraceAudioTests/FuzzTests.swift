import CSndFile
import Foundation
import Testing
@testable import TalkTraceAudio
import _TestSupport

/// Mutation fuzzing of the WAV reader and the whole analysis, in process and bounded: small valid
/// WAVs (PCM16, float, double, µ-law, A-law, 24-bit, IMA ADPCM, RF64, mono, 3 channels) have their
/// headers and data mutated (bit flips, truncation, chunk sizes, rate and channel fields set to
/// extremes, NaN and infinity floats, junk chunks), each is written to a file and analyzed with
/// `CallAnalyzer.analyze`. Every case must either return an analysis whose numbers are all finite
/// or throw an `AudioInputError` whose description is one line naming the file.
///
/// Seeded and deterministic: `TALKTRACE_FUZZ_SEED` and `TALKTRACE_FUZZ_CASES` change the seed and
/// the number of cases (default 0x7A1C7EACE and 3000: 4 s in a debug build on an idle 2-core
/// machine, 25 s under load);
/// `TALKTRACE_FUZZ_CASE=N` replays case N alone. The seed, the count and the folder the cases are
/// written to are printed first, so a crash can be replayed from its file.
@Suite("Fuzz: WAV reader and analyzer")
struct FuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seed: UInt64 = environment["TALKTRACE_FUZZ_SEED"].flatMap { UInt64($0.replacingOccurrences(of: "0x", with: ""), radix: 16) } ?? 0x7_A1C7_EACE
    static let cases = environment["TALKTRACE_FUZZ_CASES"].flatMap(Int.init) ?? 3000

    /// A short two-talker signal: speech-like bursts over noise, `seconds` long at `rate`.
    static func signal(seconds: Double, rate: Int, channels: Int) -> [Float] {
        var tracks: [[Float]] = []
        for c in 0..<channels {
            var x = TestSupport.silence(seconds, rate: rate)
            TestSupport.addNoise(&x, rms: 0.002, seed: UInt64(c + 1))
            TestSupport.addSpeechLike(&x, amplitude: 0.3, start: 0.05 + 0.1 * Double(c), end: seconds - 0.05, pitch: 120 + 60 * Double(c), rate: rate, seed: UInt64(c + 3))
            tracks.append(x)
        }
        var out = [Float](repeating: 0, count: tracks[0].count * channels)
        for i in tracks[0].indices { for c in 0..<channels { out[i * channels + c] = tracks[c][i] } }
        return out
    }

    /// The valid files mutations start from.
    static func seeds(in dir: URL) throws -> [(name: String, bytes: [UInt8], floatData: Bool)] {
        let stereo8k = signal(seconds: 0.4, rate: 8000, channels: 2)
        var out: [(String, [UInt8], Bool)] = [
            ("pcm16", WAVBytes.wav(data: WAVBytes.pcm16(stereo8k)), false),
            ("float32-16k", WAVBytes.wav(tag: 3, rate: 16000, bits: 32, data: WAVBytes.float32(signal(seconds: 0.3, rate: 16000, channels: 2))), true),
            ("float64", WAVBytes.wav(tag: 3, bits: 64, data: stereo8k.flatMap { WAVBytes.u64(Double($0).bitPattern) }), false),
            ("rf64", WAVBytes.rf64(data: WAVBytes.pcm16(stereo8k)), false),
            ("mono", WAVBytes.wav(channels: 1, data: WAVBytes.pcm16(signal(seconds: 0.4, rate: 8000, channels: 1))), false),
            ("3ch", WAVBytes.wav(channels: 3, data: WAVBytes.pcm16(signal(seconds: 0.3, rate: 8000, channels: 3))), false),
        ]
        // Encodings libsndfile writes (no PEAK chunk, so the bytes are the same on every run).
        for (name, encoding) in [("mulaw", SF_FORMAT_ULAW), ("alaw", SF_FORMAT_ALAW), ("pcm24", SF_FORMAT_PCM_24), ("ima-adpcm", SF_FORMAT_IMA_ADPCM)] {
            let path = dir.appendingPathComponent("seed-\(name).wav").path
            try SoundFileWriter.writeWAV(path: path, sampleRate: 8000, channels: 2, interleaved: stereo8k, encoding: Int32(encoding))
            out.append((name, Array(try Data(contentsOf: URL(fileURLWithPath: path))), false))
        }
        return out
    }

    /// Offsets of header fields worth setting to extremes: RIFF size, fmt size, format tag,
    /// channels, rate, byte rate, block align, bits, and the data size (wherever `data` is).
    static func fields(_ b: [UInt8]) -> [(offset: Int, width: Int)] {
        var f: [(Int, Int)] = [(4, 4), (16, 4), (20, 2), (22, 2), (24, 4), (28, 4), (32, 2), (34, 2)]
        if b.count >= 8 {
            for i in stride(from: 12, to: b.count - 8, by: 1) where b[i] == 0x64 && b[i + 1] == 0x61 && b[i + 2] == 0x74 && b[i + 3] == 0x61 {
                f.append((i + 4, 4)); break
            }
        }
        if b.starts(with: Array("RF64".utf8)) { f += [(20, 8), (28, 8)] }  // ds64 sizes
        return f
    }

    static let extremes32: [UInt64] = [0, 1, 2, 3, 4, 7999, 8000, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 192_000, 192_001, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF]
    static let poisonFloats: [UInt32] = [
        Float.nan.bitPattern, Float.signalingNaN.bitPattern, Float.infinity.bitPattern, (-Float.infinity).bitPattern,
        Float(1e20).bitPattern, Float.greatestFiniteMagnitude.bitPattern, Float(1e-40).bitPattern, (-Float(0)).bitPattern, 0xFFFF_FFFF,
    ]

    /// Applies 1–4 random mutations to `bytes`; returns a description of what was done.
    static func mutate(_ bytes: inout [UInt8], floatData: Bool, _ r: inout TestSupport.Random) -> [String] {
        func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(r.next() % UInt64(n)) }
        func put(_ v: UInt64, at offset: Int, width: Int) {
            for k in 0..<width where offset + k < bytes.count { bytes[offset + k] = UInt8((v >> (8 * UInt64(k))) & 0xff) }
        }
        var done: [String] = []
        for _ in 0..<(1 + below(4)) {
            let headerEnd = min(bytes.count, 96)
            switch below(11) {
            case 0:  // bit flip, mostly in the header
                guard !bytes.isEmpty else { continue }
                let at = below(3) > 0 ? below(headerEnd) : below(bytes.count)
                let bit = below(8)
                bytes[at] ^= UInt8(1 << bit)
                done.append("flip \(at).\(bit)")
            case 1:  // a random byte in the header
                guard headerEnd > 0 else { continue }
                let at = below(headerEnd), v = UInt8(below(256))
                bytes[at] = v
                done.append("byte \(at)=\(v)")
            case 2:  // truncate
                let n = below(bytes.count + 1)
                bytes.removeLast(bytes.count - n)
                done.append("truncate \(n)")
            case 3, 4:  // a header field to an extreme or a random value
                let fs = fields(bytes)
                let (offset, width) = fs[below(fs.count)]
                let v = below(4) == 0 ? r.next() : extremes32[below(extremes32.count)]
                put(v, at: offset, width: width)
                done.append("field \(offset)/\(width)=\(v)")
            case 5:  // poison floats in the data
                let start = 44 + below(max(1, bytes.count - 48)) / 4 * 4
                let v = floatData || below(3) == 0 ? poisonFloats[below(poisonFloats.count)] : UInt32(truncatingIfNeeded: r.next())
                for k in 0..<(1 + below(64)) {
                    let at = start + 4 * k * (1 + below(3))
                    if at + 4 <= bytes.count { put(UInt64(v), at: at, width: 4) }
                }
                done.append("floats @\(start)=\(String(v, radix: 16))")
            case 6:  // trailing junk
                let n = below(65)
                for _ in 0..<n { bytes.append(UInt8(below(256))) }
                done.append("append \(n)")
            case 7:  // a junk chunk of any declared size before the rest
                guard bytes.count >= 12 else { continue }
                let size = below(2) == 0 ? UInt32(below(16)) : UInt32(truncatingIfNeeded: extremes32[below(extremes32.count)])
                let chunk = Array("junk".utf8) + WAVBytes.u32(size) + [UInt8](repeating: 0, count: Int(min(size, 16)))
                bytes.insert(contentsOf: chunk, at: 12)
                done.append("junk chunk \(size)")
            case 8:  // the RIFF header again, or a chunk header repeated
                let n = min(bytes.count, 8 + below(16))
                bytes.insert(contentsOf: Array(bytes.prefix(n)), at: min(bytes.count, 12 + below(32)))
                done.append("repeat \(n)")
            case 9:  // zero a stretch
                guard !bytes.isEmpty else { continue }
                let at = below(bytes.count), n = min(bytes.count - at, 1 + below(200))
                for k in at..<(at + n) { bytes[k] = 0 }
                done.append("zero \(at)+\(n)")
            default:  // random data bytes
                guard bytes.count > 44 else { continue }
                for _ in 0..<(1 + below(32)) { bytes[44 + below(bytes.count - 44)] = UInt8(below(256)) }
                done.append("data bytes")
            }
        }
        return done
    }

    /// Aborts the run, naming the case, when one case runs for more than `limit` seconds: a hang
    /// must fail the suite, not stall it.
    final class Watchdog: @unchecked Sendable {
        private let lock = NSLock()
        private var started = Date()
        private var label = ""
        private var running = true

        func begin(_ label: String) { lock.lock(); started = Date(); self.label = label; lock.unlock() }
        func stop() { lock.lock(); running = false; lock.unlock() }

        init(limit: TimeInterval) {
            Thread.detachNewThread { [self] in
                while true {
                    Thread.sleep(forTimeInterval: 1)
                    lock.lock()
                    let (stuck, what, alive) = (Date().timeIntervalSince(started), label, running)
                    lock.unlock()
                    if !alive { return }
                    if stuck > limit { fatalError("fuzz: \(what) has run for \(Int(stuck)) s: a hang") }
                }
            }
        }
    }

    /// Case `n` of the run seeded `seed`: which seed file, its mutated bytes, the mutations.
    /// Each case has its own generator, so a case replays alone.
    static func makeCase(_ n: Int, seed: UInt64, from seeds: [(name: String, bytes: [UInt8], floatData: Bool)]) -> (String, [UInt8], [String]) {
        var r = TestSupport.Random(seed: seed &+ UInt64(n) &* 0x9E37_79B9_7F4A_7C15)
        let s = seeds[Int(r.next() % UInt64(seeds.count))]
        var bytes = s.bytes
        let done = mutate(&bytes, floatData: s.floatData, &r)
        return (s.name, bytes, done)
    }

    /// FNV-1a, to notice when a replayed case is no longer the bytes it was.
    static func fnv(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    @Test("Regressions the fuzzer found, replayed: seed 3 case 2370, a cut 24-bit file whose talk ratio was 1.001")
    func regressions() throws {
        let dir = TestSupport.temporaryDirectory()
        let (name, bytes, done) = Self.makeCase(2370, seed: 3, from: try Self.seeds(in: dir))
        // The case as found; if the seeds or the mutator change, it is another file and this
        // test must be rebuilt from a new finding.
        try #require(name == "pcm24" && bytes.count == 12_314, "case 2370 is now \(name), \(bytes.count) bytes: \(done)")
        let path = try WAVBytes.write(bytes, "seed3-case2370.wav", in: dir)
        let a = try CallAnalyzer.analyze(path: path)
        #expect(a.recording.durationSeconds == 0.256)       // 2,045 frames: 0.255625 s, rounded to 1 ms
        #expect(a.customer.segments.last?.end == 0.256)     // a segment end, rounded, past the true end
        #expect(a.customer.talkRatio == 1)                  // was 0.256 / 0.255625 = 1.001
        #expect(InputChecks.allFinite(a))
    }

    @Test("Mutated WAVs: a finite analysis or a one-line AudioInputError naming the file, never a crash or a hang")
    func mutations() throws {
        let dir = TestSupport.temporaryDirectory()
        let seeds = try Self.seeds(in: dir)
        let only = Self.environment["TALKTRACE_FUZZ_CASE"].flatMap(Int.init)
        print("fuzz: seed 0x\(String(Self.seed, radix: 16)), \(Self.cases) cases from \(seeds.count) seed files, written to \(dir.path)")
        let watchdog = Watchdog(limit: 30)
        defer { watchdog.stop() }
        let start = Date()
        var analyzed = 0, rejected = 0
        var reasons: [String: Int] = [:]
        for n in 0..<Self.cases {
            if let only, only != n { continue }
            let (name, bytes, done) = Self.makeCase(n, seed: Self.seed, from: seeds)
            let path = dir.appendingPathComponent("case-\(n % 8).wav").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let label = "case \(n) (\(name): \(done.joined(separator: ", ")); \(path))"
            watchdog.begin(label)
            var options = AnalysisOptions(threads: n % 5 == 0 ? 2 : 1)
            options.blockFrames = n % 3 == 0 ? 997 : 16384
            do {
                let a = try CallAnalyzer.analyze(path: path, options: options)
                analyzed += 1
                let finite = InputChecks.allFinite(a)
                #expect(finite, "\(label): a non-finite number in the analysis")
                let sane = a.recording.durationSeconds >= 0 && (0...1).contains(a.agent.talkRatio) && (0...1).contains(a.customer.talkRatio)
                    && a.conversation.silenceSeconds >= 0 && a.conversation.talkSeconds <= a.recording.durationSeconds + 0.001
                #expect(sane, "\(label): ratios \(a.agent.talkRatio) \(a.customer.talkRatio), talk \(a.conversation.talkSeconds) of \(a.recording.durationSeconds) s")
                if !finite || !sane || only != nil { try? Data(bytes).write(to: dir.appendingPathComponent("failing-\(n).wav")) }
            } catch {
                rejected += 1
                let ok = InputChecks.isOneLineNaming(error, path: path)
                #expect(ok, "\(label): \(error.description)")
                if !ok { try? Data(bytes).write(to: dir.appendingPathComponent("failing-\(n).wav")) }
                let reason = String(error.problem.prefix { $0 != ":" && $0 != "(" }.map { $0.isNumber ? "N" : $0 })
                reasons[reason.replacingOccurrences(of: "NN*", with: "N", options: .regularExpression), default: 0] += 1
            }
        }
        let seconds = Date().timeIntervalSince(start)
        print("fuzz: seed 0x\(String(Self.seed, radix: 16)): \(analyzed) analyzed, \(rejected) rejected in \(String(format: "%.1f", seconds)) s")
        for (reason, count) in reasons.sorted(by: { $0.value > $1.value }) { print("fuzz:   \(count) × \(reason)") }
        if only == nil {
            // Both outcomes must be exercised, or the mutations are too tame or too wild.
            #expect(analyzed > Self.cases / 10 && rejected > Self.cases / 10)
        }
    }
}
