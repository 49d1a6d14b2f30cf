import CSndFile
import Foundation
import Testing
@testable import TalkTraceAudio
import _TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The audio input path cannot be crashed, hung or fooled: poison float samples, files that are
/// not regular files, headers that would size absurd buffers, and complete files whose headers
/// a strict reader would call truncated.
@Suite("Input hardening")
struct InputHardeningTests {
    @Test("A file libsndfile refuses leaves our descriptor open: libsndfile closes only its own duplicate")
    func failedOpenKeepsDescriptor() throws {
        let dir = TestSupport.temporaryDirectory()
        let junk = dir.appendingPathComponent("junk.wav")
        try Data("RIFF junk that is not a wave file at all.........".utf8).write(to: junk)
        let file = try InputFile(path: junk.path)
        var info = SF_INFO()
        var refused = false
        do { _ = try SoundFile.openLibsndfile(file, path: junk.path, info: &info) } catch { refused = true }
        #expect(refused)
        // libsndfile 1.2.0 closes the descriptor it is given when it fails; ours must survive.
        #expect(fcntl(file.descriptor, F_GETFD) != -1)
    }

    // MARK: - Float samples (NaN, infinity, huge, subnormal)

    /// 3 s of stereo: speech-like bursts over -57 dBFS noise on both channels.
    static func call() -> (left: [Float], right: [Float]) {
        var left = TestSupport.silence(3), right = TestSupport.silence(3)
        TestSupport.addNoise(&left, rms: 0.001, seed: 1)
        TestSupport.addNoise(&right, rms: 0.001, seed: 2)
        TestSupport.addSpeechLike(&right, amplitude: 0.3, start: 0.3, end: 1.3)
        TestSupport.addSpeechLike(&left, amplitude: 0.2, start: 1.6, end: 2.6, pitch: 210, seed: 5)
        return (left, right)
    }

    /// Analyzes a 32-bit float WAV holding exactly these samples (bit for bit).
    static func analyzeFloat(_ left: [Float], _ right: [Float], _ name: String, in dir: URL) throws -> CallAnalysis {
        let path = try WAVBytes.write(WAVBytes.wav(tag: 3, bits: 32, data: WAVBytes.float32(WAVBytes.interleave(left, right))), name, in: dir)
        return try CallAnalyzer.analyze(path: path)
    }

    /// `a` with `b`'s path, to compare two analyses of different files.
    static func samePath(_ a: CallAnalysis, as b: CallAnalysis) -> CallAnalysis {
        var a = a
        a.recording.path = b.recording.path
        return a
    }

    @Test("Sanitizing: NaN -> 0, ±inf and huge -> ±31.62 (+30 dBFS), subnormal -> 0, the rest untouched")
    func sanitizeValues() {
        let b = SoundFile.maxSampleMagnitude
        var x: [Float] = [.nan, -.nan, .infinity, -.infinity, 1e20, -1e20, .greatestFiniteMagnitude, 31.7, -31.0, 0.5,
                          -0.25, 1e-40, -1e-40, .leastNonzeroMagnitude, .leastNormalMagnitude, 0, -0.0]
        x.withUnsafeMutableBufferPointer { SoundFile.sanitize($0.baseAddress!, count: $0.count) }
        let expected: [Float] = [0, 0, b, -b, b, -b, b, b, -31.0, 0.5, -0.25, 0, 0, 0, .leastNormalMagnitude, 0, 0]
        #expect(x.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(abs(20 * log10(Double(b)) - 30) < 1e-6)
    }

    @Test("A level histogram takes NaN and ±infinity without trapping: infinity in the top bin, NaN and -inf in the bottom")
    func histogramNonFinite() {
        var h = LevelHistogram()
        h.add(.infinity)
        #expect(h.percentile(0.5) == 29.75)
        h.reset()
        h.add(.nan); h.add(-.infinity); h.add(-1e30)
        #expect(h.percentile(0.5) == -149.75)
        #expect(h.count == 3)
    }

    @Test("One float sample of 1e20 (it trapped the process) reads as +30 dBFS; the rest of the analysis is unchanged")
    func poisonSample() throws {
        let dir = TestSupport.temporaryDirectory()
        let (left, right) = Self.call()
        let clean = try Self.analyzeFloat(left, right, "clean.wav", in: dir)
        var poisoned = left
        poisoned[12000] = 1e20
        let a = try Self.analyzeFloat(poisoned, right, "poison.wav", in: dir)
        #expect(InputChecks.allFinite(a))
        #expect(a.customer.levels.peakDbfs == 30)
        #expect(a.customer.levels.clippedRatio == 0.000042)  // 1 of 24,000 samples, rounded to 1e-6
        #expect(a.agent == clean.agent)
        // The same file with the sample at the bound analyzes identically.
        var bounded = left
        bounded[12000] = SoundFile.maxSampleMagnitude
        #expect(a == Self.samePath(try Self.analyzeFloat(bounded, right, "bounded.wav", in: dir), as: a))
    }

    @Test("±infinity samples read as ±31.62; PeakDbfs is 30, a number, in the JSON")
    func infiniteSamples() throws {
        let dir = TestSupport.temporaryDirectory()
        let (left, right) = Self.call()
        var inf = left, bounded = left
        inf[12000] = .infinity; inf[12001] = -.infinity
        bounded[12000] = SoundFile.maxSampleMagnitude; bounded[12001] = -SoundFile.maxSampleMagnitude
        let a = try Self.analyzeFloat(inf, right, "inf.wav", in: dir)
        #expect(a == Self.samePath(try Self.analyzeFloat(bounded, right, "bounded.wav", in: dir), as: a))
        #expect(a.customer.levels.peakDbfs == 30)
        let json = String(decoding: try AnalysisJSONEncoder().encode(a), as: UTF8.self)
        #expect(json.contains(#""PeakDbfs":30,"#))
        #expect(!json.contains("inf\"") && !json.contains("nan\""))
    }

    @Test("NaN samples read as 0: the analysis equals the file with zeros there")
    func nanSamples() throws {
        let dir = TestSupport.temporaryDirectory()
        let (left, right) = Self.call()
        var nan = right, zeros = right
        for i in 5000..<6000 { nan[i] = .nan; zeros[i] = 0 }
        let a = try Self.analyzeFloat(left, nan, "nan.wav", in: dir)
        #expect(InputChecks.allFinite(a))
        #expect(a == Self.samePath(try Self.analyzeFloat(left, zeros, "zeros.wav", in: dir), as: a))
    }

    @Test("A channel of nothing but +infinity, one alternating ±infinity, one of subnormals: finite, exact levels")
    func wholeChannels() throws {
        let dir = TestSupport.temporaryDirectory()
        let (left, _) = Self.call()
        let allInf = [Float](repeating: .infinity, count: left.count)
        let a = try Self.analyzeFloat(left, allInf, "all-inf.wav", in: dir)
        #expect(InputChecks.allFinite(a))
        #expect(a.agent.levels.peakDbfs == 30)
        #expect(a.agent.levels.clippedRatio == 1)
        #expect(a.agent.levels.gatedSilenceSeconds == 3)  // a constant (DC) carries no sound
        #expect(a.agent.segments.isEmpty)

        let alternating = (0..<left.count).map { $0 % 2 == 0 ? Float.infinity : -Float.infinity }
        let b = try Self.analyzeFloat(left, alternating, "alternating-inf.wav", in: dir)
        #expect(InputChecks.allFinite(b))
        #expect(b.agent.levels.peakDbfs == 30)
        #expect(b.agent.levels.clippedRatio == 1)

        let subnormal = (0..<left.count).map { $0 % 2 == 0 ? Float(1e-40) : -Float(1e-40) }
        let c = try Self.analyzeFloat(left, subnormal, "subnormal.wav", in: dir)
        #expect(InputChecks.allFinite(c))
        #expect(c.agent.levels.peakDbfs == nil)  // read as digital zero
        #expect(c.agent.levels.gatedSilenceSeconds == 3 && c.agent.levels.dropoutSeconds == 0)
        #expect(c.quality.oneWayAudio.digitalSilence || c.customer.talkSeconds < 5)
    }

    @Test("A 64-bit float sample of 1e300 (infinite as a 32-bit float) reads as +30 dBFS")
    func doubleOverflow() throws {
        let dir = TestSupport.temporaryDirectory()
        let (left, right) = Self.call()
        var samples = WAVBytes.interleave(left, right).map(Double.init)
        samples[2 * 12000] = 1e300
        let data = samples.flatMap { WAVBytes.u64($0.bitPattern) }
        let path = try WAVBytes.write(WAVBytes.wav(tag: 3, bits: 64, data: data), "double.wav", in: dir)
        let a = try CallAnalyzer.analyze(path: path)
        #expect(a.recording.encoding == "double")
        #expect(a.customer.levels.peakDbfs == 30)
        #expect(InputChecks.allFinite(a))
    }

    // MARK: - Only regular files are opened

    /// Runs `analyze` on `path` and returns its error's problem, failing the test if it takes
    /// more than a second or succeeds.
    static func problem(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        let start = Date()
        defer { #expect(Date().timeIntervalSince(start) < 1, "took \(Date().timeIntervalSince(start)) s", sourceLocation: sourceLocation) }
        do {
            _ = try CallAnalyzer.analyze(path: path)
            Issue.record("\(path) analyzed", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(InputChecks.isOneLineNaming(error, path: path), "\(error)", sourceLocation: sourceLocation)
            return error.problem
        }
    }

    @Test("A FIFO, directly or through a symbolic link, is named and never opened (it blocked for ever)")
    func fifo() throws {
        let dir = TestSupport.temporaryDirectory()
        let fifo = dir.appendingPathComponent("y.wav").path, link = dir.appendingPathComponent("z.wav").path
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(symlink("y.wav", link) == 0)
        #expect(Self.problem(fifo) == "is a FIFO (named pipe), not a recording")
        #expect(Self.problem(link) == "is a FIFO (named pipe), not a recording (through a symbolic link)")
    }

    @Test("A socket, a character device, a directory through a link, a broken link and a link loop are named")
    func otherFiles() throws {
        let dir = TestSupport.temporaryDirectory()
        // A listening Unix-domain socket.
        let socketPath = dir.appendingPathComponent("s.wav").path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(socketPath.utf8)
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        #expect(Self.problem(socketPath) == "is a socket, not a recording")

        #expect(Self.problem("/dev/null") == "is a character device, not a recording")
        let dirLink = dir.appendingPathComponent("folder.wav").path
        #expect(symlink(dir.path, dirLink) == 0)
        #expect(Self.problem(dirLink) == "is a directory, not a recording (through a symbolic link)")
        let broken = dir.appendingPathComponent("broken.wav").path
        #expect(symlink("gone.wav", broken) == 0)
        #expect(Self.problem(broken) == "symbolic link to a missing file")
        let loop = dir.appendingPathComponent("loop.wav").path
        #expect(symlink("loop.wav", loop) == 0)
        #expect(Self.problem(loop)?.hasPrefix("too many levels of symbolic links") == true)
        #expect(Self.problem(dir.appendingPathComponent("nothing.wav").path) == "no such file")
        let file = try WAVBytes.write(WAVBytes.wav(data: [0, 0, 0, 0]), "f.wav", in: dir)
        #expect(Self.problem(file + "/x.wav") == "no such file (a part of the path is not a directory)")
    }

    @Test("An unreadable file says permission denied", .enabled(if: geteuid() != 0, "root reads every file"))
    func permissionDenied() throws {
        let dir = TestSupport.temporaryDirectory()
        let path = try WAVBytes.write(WAVBytes.wav(data: WAVBytes.pcm16(TestSupport.silence(0.5))), "locked.wav", in: dir)
        #expect(chmod(path, 0) == 0)
        defer { chmod(path, 0o644) }
        #expect(Self.problem(path) == "permission denied: the file cannot be read")
    }

    // MARK: - Header fields that size work and buffers

    @Test("A sample rate no call recording has is a damaged header, rejected at once", arguments: [
        (UInt32(2_147_483_647), "sample rate 2147483647 Hz is more than any call recording has (at most 192000 Hz): a damaged header"),
        (UInt32(192_001), "sample rate 192001 Hz is more than any call recording has (at most 192000 Hz): a damaged header"),
        (UInt32(3999), "sample rate 3999 Hz is too low to analyze (need at least 4000 Hz)"),
    ])
    func absurdRate(_ rate: UInt32, _ message: String) throws {
        let dir = TestSupport.temporaryDirectory()
        let data = WAVBytes.pcm16(TestSupport.silence(1, rate: 16000))  // 32,000 bytes
        let path = try WAVBytes.write(WAVBytes.wav(rate: rate, data: data, byteRate: rate &* 4), "rate.wav", in: dir)
        #expect(Self.problem(path) == message)
    }

    @Test("The bounds themselves analyze: 4000 Hz and 192000 Hz (FFT 128 and 8192 points)")
    func rateBounds() throws {
        let dir = TestSupport.temporaryDirectory()
        for (rate, fft) in [(4000, 128), (192_000, 8192)] {
            var left = TestSupport.silence(1, rate: rate)
            TestSupport.addNoise(&left, rms: 0.01, seed: 3)
            let path = try WAVBytes.write(WAVBytes.wav(rate: UInt32(rate), data: WAVBytes.pcm16(WAVBytes.interleave(left, left))), "r\(rate).wav", in: dir)
            let a = try CallAnalyzer.analyze(path: path)
            #expect(a.recording.sampleRate == rate)
            #expect(a.analyzer.fftSize == fft)
            #expect(a.recording.durationSeconds == 1)
        }
    }

    @Test("A channel count no recording has is a damaged header")
    func absurdChannels() throws {
        let dir = TestSupport.temporaryDirectory()
        let path = try WAVBytes.write(WAVBytes.wav(channels: 100, data: [UInt8](repeating: 0, count: 200 * 40)), "channels.wav", in: dir)
        #expect(Self.problem(path) == "100 channels in the header: a damaged file (expected a stereo recording)")
    }

    // MARK: - Truncation decided from the data

    /// 1 s of the test call as PCM16.
    static func pcmCall() -> [UInt8] {
        let (left, right) = call()
        return WAVBytes.pcm16(WAVBytes.interleave(Array(left.prefix(8000)), Array(right.prefix(8000))))
    }

    @Test("Complete files whose headers libsndfile grumbles about analyze like the canonical file")
    func completeOddHeaders() throws {
        let dir = TestSupport.temporaryDirectory()
        let data = Self.pcmCall()
        let canonical = try CallAnalyzer.analyze(path: WAVBytes.write(WAVBytes.wav(data: data), "canonical.wav", in: dir))
        #expect(canonical.recording.durationSeconds == 1)
        // As ffmpeg writes to a pipe: RIFF and data sizes 0xFFFFFFFF, a LIST chunk before the data.
        let list = Array("LIST".utf8) + WAVBytes.u32(26) + Array("INFOISFT".utf8) + WAVBytes.u32(14) + Array("Lavf59.27.100\0".utf8)
        let odd: [(String, [UInt8])] = [
            ("byte-rate.wav", WAVBytes.wav(data: data, byteRate: 12345)),
            ("piped.wav", WAVBytes.wav(data: data, riffSize: 0xFFFF_FFFF, dataSize: 0xFFFF_FFFF, extra: list)),
            ("riff-size-short.wav", WAVBytes.wav(data: data, riffSize: 36)),
            ("rf64.wav", WAVBytes.rf64(data: data)),
        ]
        for (name, bytes) in odd {
            let path = try WAVBytes.write(bytes, name, in: dir)
            let a = try CallAnalyzer.analyze(path: path)
            #expect(a == Self.samePath(canonical, as: a), "\(name)")
        }
    }

    @Test("A data chunk that declares more than the file holds is truncated, with the numbers", arguments: [
        ("riff", "truncated: the header declares 160044 bytes but the file holds 32044 (data chunk at byte 44, 32000 bytes of audio present)"),
        ("rf64", "truncated: the header declares 320080 bytes but the file holds 32080 (data chunk at byte 80, 32000 bytes of audio present)"),
    ])
    func truncated(_ kind: String, _ message: String) throws {
        let dir = TestSupport.temporaryDirectory()
        let data = Self.pcmCall()
        let bytes = kind == "riff" ? WAVBytes.wav(data: data, dataSize: 160_000) : WAVBytes.rf64(data: data, declaredData: 320_000)
        let path = try WAVBytes.write(bytes, "\(kind).wav", in: dir)
        #expect(Self.problem(path) == message)
    }

    @Test("sox's IMA ADPCM (libsndfile disputes its byte-rate field in its log) is complete: it analyzes")
    func soxADPCM() throws {
        let file = "formats/ima-adpcm-8k.wav"
        let truth = (try TestSupport.truth()["calls"] as! [String: [String: Any]])[file]!
        let a = try CallAnalyzer.analyze(path: TestSupport.fixture(file))
        #expect(a.recording.encoding == "ima_adpcm")
        #expect(a.recording.sampleRate == 8000)
        #expect(a.recording.durationSeconds == 3.03)  // 48 blocks of 505 frames, the last one padded
        let agentTruth = (truth["agent"] as! [String: Any])["segments"] as! [[Double]]
        #expect(TestSupport.frameF1(a.agent.segments, agentTruth, duration: 3) >= 0.95)
        #expect(a.customer.segments.isEmpty)
    }

    @Test("TestAudio/bad/truncated.wav: the exact message")
    func truncatedFixture() {
        let path = TestSupport.fixture("bad/truncated.wav")
        #expect(Self.problem(path) == "truncated: the header declares 320044 bytes but the file holds 16044 (data chunk at byte 44, 16000 bytes of audio present)")
    }

    @Test("WAV layout: data start and declared size, sentinels, RIFX, a chunk running past the end")
    func layout() {
        func layout(_ b: [UInt8]) -> WAVLayout? {
            WAVLayout.read(fileSize: Int64(b.count)) { offset, count in
                Array(b[Int(min(offset, Int64(b.count)))..<min(b.count, Int(offset) + count)])
            }
        }
        #expect(layout(WAVBytes.wav(data: [1, 2, 3, 4])) == WAVLayout(dataStart: 44, declaredDataBytes: 4))
        #expect(layout(WAVBytes.wav(data: [1, 2, 3, 4], dataSize: 0)) == WAVLayout(dataStart: 44, declaredDataBytes: nil))
        #expect(layout(WAVBytes.wav(data: [1, 2, 3, 4], dataSize: 0xFFFF_FFFF)) == WAVLayout(dataStart: 44, declaredDataBytes: nil))
        #expect(layout(WAVBytes.rf64(data: [1, 2, 3, 4])) == WAVLayout(dataStart: 80, declaredDataBytes: 4))
        var rifx = WAVBytes.wav(data: [1, 2, 3, 4])
        rifx.replaceSubrange(0..<4, with: Array("RIFX".utf8))
        rifx.replaceSubrange(40..<44, with: [0, 0, 0, 4])  // big-endian data size
        rifx.replaceSubrange(16..<20, with: [0, 0, 0, 16])
        #expect(layout(rifx) == WAVLayout(dataStart: 44, declaredDataBytes: 4))
        // A fmt chunk that claims to run past the end of the file: no data chunk found, no verdict.
        var long = WAVBytes.wav(data: [1, 2, 3, 4])
        long.replaceSubrange(16..<20, with: WAVBytes.u32(0x7FFF_FFF0))
        #expect(layout(long) == nil)
        #expect(layout(Array("not a wav file at all".utf8)) == nil)
        #expect(WAVLayout(dataStart: 44, declaredDataBytes: Int64.max).truncation(fileSize: 100)! == (Int64.max, 100))
    }
}
