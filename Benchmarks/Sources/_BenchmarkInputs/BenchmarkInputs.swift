// Deterministic inputs for the benchmarks: two-party calls (speech-like turns over line noise,
// stereo 8 kHz pcm_s16le, customer left, agent right, as Amazon Connect records them) streamed to
// WAV in one-second blocks, so making a long call needs no memory; and Connect CTRs as a Kinesis
// Data Firehose object (records concatenated with no delimiter).
//
// Everything goes into one folder under the system temporary directory, named after the generator
// version, and is reused by later benchmark processes (package-benchmark starts one process per
// benchmark). Files are written under a temporary name and renamed, so an interrupted run never
// leaves a half-written input behind.
import Foundation

/// SplitMix64: small, fast, and the same sequence on every machine.
public struct SplitMix64: Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    @inline(__always)
    public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform in [a, b).
    @inline(__always)
    public mutating func uniform(_ a: Float, _ b: Float) -> Float { a + (b - a) * uniform() }

    /// Roughly Gaussian, unit variance (sum of four uniforms).
    @inline(__always)
    public mutating func gaussian() -> Float {
        (uniform() + uniform() + uniform() + uniform() - 2) * 1.7320508
    }
}

/// One participant's voice: syllables of a glottal pulse train through two formant resonators,
/// with a noisy onset (a consonant), grouped into words and phrases. Pauses inside a turn are
/// mostly shorter than the 300 ms bridging convention; phrase pauses are longer.
struct Talker {
    let sampleRate: Float
    let f0: Float
    let formantScale: Float
    /// RMS of a syllable before its envelope (full scale = 1).
    let level: Float
    var rng: SplitMix64

    // Syllable state.
    private var remaining = 0       // samples left in the current syllable or pause
    private var length = 1          // samples in the current syllable
    private var voiced = false      // in a syllable (true) or a pause (false)
    private var phase: Float = 0    // glottal phase, cycles
    private var pitch: Float = 0    // Hz
    private var consonant = 0       // samples of noisy onset
    private var c1: (Float, Float) = (0, 0), c2: (Float, Float) = (0, 0)  // resonator coefficients
    private var y1: (Float, Float) = (0, 0), y2: (Float, Float) = (0, 0)  // resonator states
    private var lastNoise: Float = 0
    private var gain: Float = 0

    /// (F1, F2) in Hz of a few vowels.
    private static let vowels: [(Float, Float)] = [
        (730, 1090), (270, 2290), (300, 870), (530, 1840), (660, 1720), (490, 1350), (440, 1020), (400, 1920),
    ]

    init(sampleRate: Int, f0: Float, formantScale: Float, level: Float, seed: UInt64) {
        self.sampleRate = Float(sampleRate)
        self.f0 = f0
        self.formantScale = formantScale
        self.level = level
        self.rng = SplitMix64(seed: seed)
    }

    /// Ends the current syllable or pause (a turn ended).
    mutating func stop() { remaining = 0; voiced = false }

    /// Starts one syllable now (a backchannel).
    mutating func startSyllable() {
        let v = Self.vowels[Int(rng.next() % UInt64(Self.vowels.count))]
        length = Int(rng.uniform(0.11, 0.26) * sampleRate)
        remaining = length
        voiced = true
        pitch = f0 * rng.uniform(0.88, 1.14)
        consonant = rng.uniform() < 0.55 ? Int(rng.uniform(0.02, 0.06) * sampleRate) : 0
        c1 = Self.resonator(v.0 * formantScale * rng.uniform(0.92, 1.08), bandwidth: 90, rate: sampleRate)
        c2 = Self.resonator(v.1 * formantScale * rng.uniform(0.92, 1.08), bandwidth: 130, rate: sampleRate)
        // Every syllable at the talker's level (before the envelope), give or take 3 dB of stress.
        gain = level * rng.uniform(0.7, 1.4) / rms(pitch: pitch)
    }

    private static func resonator(_ f: Float, bandwidth: Float, rate: Float) -> (Float, Float) {
        let r = expf(-Float.pi * bandwidth / rate)
        return (2 * r * cosf(2 * Float.pi * f / rate), -r * r)
    }

    /// RMS of a unit pulse train at `pitch` through both resonators: harmonic k has amplitude
    /// 2/T (T the period in samples) times the cascade's gain at k * pitch.
    private func rms(pitch: Float) -> Float {
        var power: Float = 0
        var f = pitch
        let period = sampleRate / pitch
        while f < sampleRate / 2 {
            let w = 2 * Float.pi * f / sampleRate
            func gain2(_ c: (Float, Float)) -> Float {
                let re = 1 - c.0 * cosf(w) - c.1 * cosf(2 * w), im = c.0 * sinf(w) + c.1 * sinf(2 * w)
                return 1 / (re * re + im * im)
            }
            power += gain2(c1) * gain2(c2) * 2 / (period * period)
            f += pitch
        }
        return max(power.squareRoot(), 1e-9)
    }

    /// The next sample while this participant holds the turn.
    @inline(__always)
    mutating func talk() -> Float {
        if remaining == 0 {
            if voiced {
                // After a syllable: run on (most), a word gap, or a phrase pause.
                let u = rng.uniform()
                let pause: Float = u < 0.55 ? rng.uniform(0, 0.03) : (u < 0.92 ? rng.uniform(0.04, 0.16) : rng.uniform(0.32, 0.6))
                voiced = false
                remaining = max(1, Int(pause * sampleRate))
            } else {
                startSyllable()
            }
        }
        return next()
    }

    /// The next sample of whatever is under way (a syllable finishing, or nothing).
    @inline(__always)
    mutating func next() -> Float {
        guard remaining > 0 else { return 0 }
        remaining -= 1
        guard voiced else { return 0 }
        let t = Float(length - remaining) / Float(length)
        // Pitch falls through the syllable; the pulse is a short decaying click per period.
        phase += pitch * (1.05 - 0.1 * t) / sampleRate
        var source: Float = 0
        if phase >= 1 { phase -= 1; source = 1 }
        let a = c1.0 * y1.0 + c1.1 * y1.1 + source
        y1 = (a, y1.0)
        let b = c2.0 * y2.0 + c2.1 * y2.1 + a
        y2 = (b, y2.0)
        var s = b * gain
        if length - remaining <= consonant {
            let n = rng.gaussian()
            s += (n - lastNoise) * 0.2 * level  // first difference: a hiss, not a hum
            lastNoise = n
        }
        let envelope = 0.5 - 0.5 * cosf(2 * Float.pi * t)
        return s * envelope
    }
}

/// A two-party call, rendered a block at a time: turns of 1.5 to 7 s, gaps of 0.25 to 1.5 s between
/// them, a hold of 4 to 8 s now and then, backchannels ("uh-huh") from the listener, over
/// independent line noise about 55 dB below full scale on each channel.
public struct SpeechLikeCall {
    public let sampleRate: Int
    private var customer: Talker   // left
    private var agent: Talker      // right
    private var rng: SplitMix64
    private var speaker = 1        // 0 customer, 1 agent: the agent greets
    private var turnLeft = 0
    private var gapLeft = 0
    private var backchannelAt = -1
    private var noiseState: (Float, Float) = (0, 0)
    private let noiseLevel: Float = 0.0025

    public init(sampleRate: Int = 8000, seed: UInt64 = 1) {
        self.sampleRate = sampleRate
        rng = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D)
        customer = Talker(sampleRate: sampleRate, f0: 118, formantScale: 1.0, level: 0.07, seed: seed &+ 11)
        agent = Talker(sampleRate: sampleRate, f0: 205, formantScale: 1.15, level: 0.1, seed: seed &+ 23)
        gapLeft = Int(0.4 * Float(sampleRate))
    }

    /// Renders `frames` interleaved stereo frames as 16-bit samples (left = customer, right = agent).
    public mutating func render(frames: Int, into out: UnsafeMutablePointer<Int16>) {
        let rate = Float(sampleRate)
        for i in 0..<frames {
            var talk: (Float, Float) = (0, 0)
            if gapLeft > 0 {
                gapLeft -= 1
                talk = (customer.next(), agent.next())  // let a syllable finish
                if gapLeft == 0 {
                    if rng.uniform() < 0.85 { speaker = 1 - speaker }
                    turnLeft = Int(rng.uniform(1.5, 7) * rate)
                    backchannelAt = rng.uniform() < 0.4 ? Int(rng.uniform(0.3, 0.8) * Float(turnLeft)) : -1
                }
            } else {
                turnLeft -= 1
                if turnLeft == backchannelAt {
                    if speaker == 0 { agent.startSyllable() } else { customer.startSyllable() }
                }
                talk = speaker == 0 ? (customer.talk(), agent.next()) : (customer.next(), agent.talk())
                if turnLeft <= 0 {
                    if speaker == 0 { customer.stop() } else { agent.stop() }
                    gapLeft = Int((rng.uniform() < 0.08 ? rng.uniform(4, 8) : rng.uniform(0.25, 1.5)) * rate)
                }
            }
            // Line noise, gently low-passed, independent per channel.
            noiseState.0 = 0.6 * noiseState.0 + 0.4 * rng.gaussian()
            noiseState.1 = 0.6 * noiseState.1 + 0.4 * rng.gaussian()
            out[2 * i] = Self.pcm(talk.0 + noiseLevel * noiseState.0)
            out[2 * i + 1] = Self.pcm(talk.1 + noiseLevel * noiseState.1)
        }
    }

    @inline(__always)
    static func pcm(_ x: Float) -> Int16 { Int16(max(-32768, min(32767, (x * 32768).rounded()))) }
}

/// Where the benchmark inputs live and how they are made.
public enum BenchmarkInputs {
    /// Bump when the generator changes: old inputs are then ignored.
    public static let generatorVersion = 2

    /// `$TMPDIR/talktrace-benchmarks-v<generatorVersion>`.
    public static let directory: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("talktrace-benchmarks-v\(generatorVersion)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// A `seconds`-long call made by `SpeechLikeCall(seed:)`, as a WAV file; made once.
    public static func call(seconds: Int, seed: UInt64 = 1) -> String {
        let path = (directory as NSString).appendingPathComponent("call-\(seconds)s-seed\(seed).wav")
        if !FileManager.default.fileExists(atPath: path) {
            writeWAV(path: path, seconds: seconds, seed: seed)
        }
        return path
    }

    /// Writes a stereo 8 kHz pcm_s16le WAV one second at a time (constant memory).
    public static func writeWAV(path: String, seconds: Int, seed: UInt64, sampleRate: Int = 8000) {
        let temporary = path + ".partial-\(getpid())"
        _ = FileManager.default.createFile(atPath: temporary, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: temporary) else { fatalError("cannot write \(temporary)") }
        let dataBytes = UInt32(seconds * sampleRate * 4)
        var header = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        header.append(contentsOf: Array("RIFF".utf8)); u32(36 + dataBytes); header.append(contentsOf: Array("WAVE".utf8))
        header.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(2); u32(UInt32(sampleRate))
        u32(UInt32(sampleRate * 4)); u16(4); u16(16)
        header.append(contentsOf: Array("data".utf8)); u32(dataBytes)
        handle.write(header)
        var call = SpeechLikeCall(sampleRate: sampleRate, seed: seed)
        let block = UnsafeMutablePointer<Int16>.allocate(capacity: 2 * sampleRate)
        defer { block.deallocate() }
        for _ in 0..<seconds {
            call.render(frames: sampleRate, into: block)
            handle.write(Data(bytesNoCopy: block, count: 4 * sampleRate, deallocator: .none))
        }
        try? handle.close()
        _ = rename(temporary, path)
    }

    /// A Connect-style contact ID for index `i`.
    public static func contactId(_ i: Int) -> String {
        String(format: "%08llx-%04llx-4%03llx-8%03llx-%012llx", UInt64(0x5eed_0000 + i), UInt64(i & 0xffff), UInt64(i % 4096),
               UInt64(i * 7 % 4096), UInt64(i) &* 2_654_435_761 % 0xffff_ffff_ffff)
    }

    /// The recording key Amazon Connect writes for contact `i`.
    public static func recordingKey(_ i: Int) -> String {
        "connect/bench-instance/CallRecordings/2026/03/03/\(contactId(i))_20260303T\(String(format: "%02d:%02d", 8 + i / 60 % 10, i % 60))_UTC.wav"
    }

    /// One CTR as Amazon Connect writes it (about 1.3 KB), for contact `i`, updated at `minute`.
    public static func ctr(_ i: Int, minute: Int, seconds: Int = 60) -> String {
        let id = contactId(i)
        let key = recordingKey(i)
        return """
            {"AWSAccountId":"123456789012","AWSContactTraceRecordFormatVersion":"2017-03-10","Agent":{"ARN":"arn:aws:connect:us-east-1:123456789012:instance/bench/agent/a\(i % 40)","AfterContactWorkDuration":12,"AgentInteractionDuration":\(seconds - 5),"ConnectedToAgentTimestamp":"2026-03-03T08:00:05Z","CustomerHoldDuration":0,"HierarchyGroups":null,"LongestHoldDuration":0,"NumberOfHolds":0,"RoutingProfile":{"ARN":"arn:aws:connect:us-east-1:123456789012:instance/bench/routing-profile/rp","Name":"Basic Routing Profile"},"Username":"agent\(i % 40)"},"AgentConnectionAttempts":1,"Attributes":{"greeting":"standard","intent":"billing","customerTier":"gold"},"Channel":"VOICE","ContactId":"\(id)","ContactDetails":{},"CustomerEndpoint":{"Address":"+15555550\(String(format: "%03d", i % 1000))","Type":"TELEPHONE_NUMBER"},"DisconnectReason":"CUSTOMER_DISCONNECT","DisconnectTimestamp":"2026-03-03T08:01:00Z","InitialContactId":null,"InitiationMethod":"INBOUND","InitiationTimestamp":"2026-03-03T08:00:00Z","InstanceARN":"arn:aws:connect:us-east-1:123456789012:instance/bench","LastUpdateTimestamp":"2026-03-03T09:\(String(format: "%02d", minute % 60)):00Z","MediaStreams":[{"Type":"AUDIO"}],"NextContactId":null,"PreviousContactId":null,"Queue":{"ARN":"arn:aws:connect:us-east-1:123456789012:instance/bench/queue/q\(i % 5)","DequeueTimestamp":"2026-03-03T08:00:05Z","Duration":5,"EnqueueTimestamp":"2026-03-03T08:00:00Z","Name":"Queue\(i % 5)"},"Recording":{"DeletionReason":null,"Location":"bench-recordings/\(key)","Status":"AVAILABLE","Type":"AUDIO"},"Recordings":[{"DeletionReason":null,"FragmentStartNumber":null,"FragmentStopNumber":null,"Location":"bench-recordings/\(key)","MediaStreamType":"AUDIO","ParticipantType":null,"StartTimestamp":null,"Status":"AVAILABLE","StopTimestamp":null,"StorageType":"S3"}],"SystemEndpoint":{"Address":"+15555551000","Type":"TELEPHONE_NUMBER"},"TransferCompletedTimestamp":null,"TransferredToEndpoint":null}
            """
    }

    /// `records` CTRs concatenated with no delimiter, as a Firehose object: `contacts` distinct
    /// contacts, the rest second copies of the first ones, alternately older and newer than the
    /// first copy, so the reader must deduplicate by LastUpdateTimestamp both ways.
    public static func firehose(records: Int, contacts: Int) -> Data {
        var text = ""
        text.reserveCapacity(records * 1400)
        for r in 0..<records {
            let i = r % contacts
            let minute = r < contacts ? 30 : (i % 2 == 0 ? 10 : 50)
            text += ctr(i, minute: minute)
        }
        return Data(text.utf8)
    }

    /// Writes `data` to `name` in the inputs folder (once) and returns the path.
    public static func file(_ name: String, _ make: () -> Data) -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        if !FileManager.default.fileExists(atPath: path) {
            let temporary = path + ".partial-\(getpid())"
            _ = FileManager.default.createFile(atPath: temporary, contents: make())
            _ = rename(temporary, path)
        }
        return path
    }

    /// A recordings folder laid out as an `aws s3 sync` of a Connect bucket (`calls` recordings of
    /// `seconds` each, `distinct` different calls hard-linked or copied round), and a Firehose
    /// object with one CTR per recording plus a duplicate in ten. Returns the two paths and the
    /// audio seconds in the folder.
    public static func batch(calls: Int, seconds: Int, distinct: Int = 4) -> (recordings: String, ctr: String, audioSeconds: Double) {
        let root = (directory as NSString).appendingPathComponent("batch-\(calls)x\(seconds)s")
        let recordings = (root as NSString).appendingPathComponent("recordings")
        let ctrPath = (root as NSString).appendingPathComponent("ctr/2026/03/03/09/connect-ctr-stream-1-2026-03-03-09-00-00-bench")
        let done = (root as NSString).appendingPathComponent(".complete")
        if !FileManager.default.fileExists(atPath: done) {
            try? FileManager.default.removeItem(atPath: root)
            let sources = (0..<distinct).map { call(seconds: seconds, seed: UInt64(100 + $0)) }
            for i in 0..<calls {
                let path = (recordings as NSString).appendingPathComponent(recordingKey(i))
                try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try! FileManager.default.copyItem(atPath: sources[i % distinct], toPath: path)
            }
            try! FileManager.default.createDirectory(atPath: (ctrPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            var text = ""
            for i in 0..<calls { text += ctr(i, minute: 30, seconds: seconds) }
            for i in stride(from: 0, to: calls, by: 10) { text += ctr(i, minute: 10, seconds: seconds) }
            _ = FileManager.default.createFile(atPath: ctrPath, contents: Data(text.utf8))
            _ = FileManager.default.createFile(atPath: done, contents: Data())
        }
        return (recordings, (root as NSString).appendingPathComponent("ctr"), Double(calls * seconds))
    }
}
