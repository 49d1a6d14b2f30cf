import Foundation

/// Loudness and audio-quality figures for one channel, in dBFS (full-scale sine = 0 dBFS).
public struct ChannelLevels: Sendable, Equatable, Codable {
    /// Median level of the channel's talk frames (dBFS); nil when it never talks.
    public var speechLevelDbfs: Double?
    /// Median level of its non-talk frames, digital silence (dropouts and gated silence) excluded
    /// (dBFS); nil when there are none.
    public var noiseFloorDbfs: Double?
    /// `speechLevelDbfs - noiseFloorDbfs` (dB).
    public var snrDb: Double?
    /// Largest sample magnitude (dBFS re full scale; 0 = full scale).
    public var peakDbfs: Double?
    /// Fraction of samples at the encoding's full scale (0–1).
    public var clippedRatio: Double
    /// Seconds of dropouts: runs of digital zero shorter than `LevelMeter.maxDropoutSeconds` with
    /// sound on both sides, what lost packets leave while the line carries sound (speech or
    /// line noise). See `LevelMeter` for the exact rule.
    public var dropoutSeconds: Double
    /// Seconds of every other digital silence (frames under −90 dBFS): a softphone's gate or a
    /// mute between utterances (seconds long, or near-silent rather than zero), a dead channel,
    /// silence at the start or end. `dropoutSeconds + gatedSilenceSeconds` is all the digital
    /// silence.
    public var gatedSilenceSeconds: Double

    public init(speechLevelDbfs: Double?, noiseFloorDbfs: Double?, snrDb: Double?, peakDbfs: Double?, clippedRatio: Double,
                dropoutSeconds: Double, gatedSilenceSeconds: Double) {
        self.speechLevelDbfs = speechLevelDbfs
        self.noiseFloorDbfs = noiseFloorDbfs
        self.snrDb = snrDb
        self.peakDbfs = peakDbfs
        self.clippedRatio = clippedRatio
        self.dropoutSeconds = dropoutSeconds
        self.gatedSilenceSeconds = gatedSilenceSeconds
    }

    enum CodingKeys: String, CodingKey {
        case speechLevelDbfs, noiseFloorDbfs, snrDb, peakDbfs, clippedRatio, dropoutSeconds, gatedSilenceSeconds
    }

    /// Reads what `encode` writes; an analysis written before `gatedSilenceSeconds` existed (a
    /// `--resume` cache) reads as 0 there.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        speechLevelDbfs = try c.decodeIfPresent(Double.self, forKey: .speechLevelDbfs)
        noiseFloorDbfs = try c.decodeIfPresent(Double.self, forKey: .noiseFloorDbfs)
        snrDb = try c.decodeIfPresent(Double.self, forKey: .snrDb)
        peakDbfs = try c.decodeIfPresent(Double.self, forKey: .peakDbfs)
        clippedRatio = try c.decode(Double.self, forKey: .clippedRatio)
        dropoutSeconds = try c.decode(Double.self, forKey: .dropoutSeconds)
        gatedSilenceSeconds = try c.decodeIfPresent(Double.self, forKey: .gatedSilenceSeconds) ?? 0
    }
}

/// Contact Lens-style loudness: a 0–100 score per second of talk.
public struct Loudness: Sendable, Equatable, Codable {
    /// Mean of `perSecond` scores (0–100); nil when the channel never talks.
    public var mean: Double?
    /// `[second, score]` for every whole second of the recording holding at least 0.25 s of talk;
    /// the score maps the RMS level of that talk, -60..0 dBFS, linearly onto 0–100.
    public var perSecond: [LoudnessSecond]

    /// Score for a level in dBFS, 0–100 (NaN scores 0).
    public static func score(dbfs: Double) -> Double {
        let x = (dbfs + 60) / 60 * 100
        return x >= 100 ? 100 : (x > 0 ? x : 0)
    }
}

/// One second's loudness: 5 bytes in memory (a 10-hour call holds 36,000 of them per channel),
/// encoded as `[second, score]`.
public struct LoudnessSecond: Sendable, Equatable, Codable {
    /// Whole second of the recording.
    public var second: Int32
    /// 0–100.
    public var score: UInt8

    public init(second: Int32, score: UInt8) { self.second = second; self.score = score }

    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        let s = try c.decode(Double.self), v = try c.decode(Double.self)
        // Exact conversions: a damaged cache line is a decoding error, not a trap.
        guard let second = Int32(exactly: s), let score = UInt8(exactly: v) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a [second, score] pair: [\(s), \(v)]")
        }
        self.second = second
        self.score = score
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(second)
        try c.encode(score)
    }
}

/// Stage 5b: levels of one channel, accumulated frame by frame with fixed memory (histograms),
/// except `perSecond` loudness, which holds one small entry per second of talk.
///
/// **Dropouts and gated silence.** A frame is digital silence when the detector says so (under
/// `ActivityParameters.dropoutLevel`, −90 dBFS) and *zero* when its largest sample is under
/// `zeroPeak` (−120 dBFS: exactly 0 in 8- and 16-bit audio). A run of digital silence is a
/// **dropout** when it is
/// - bounded by sound (frames above −90 dBFS) on both sides: not the start or end of the recording;
/// - shorter than `maxDropoutSeconds` (1 s): lost packets and jitter-buffer underruns last tens to
///   hundreds of milliseconds, a gate or a mute stays shut between utterances for seconds;
/// - zero throughout, except at most one partly silent frame at each end (a dropout rarely
///   starts on a frame boundary): a softphone's gate or noise suppressor leaves −100 dBFS or so
///   of near-silence with the odd non-zero sample, which lost packets never do.
/// Every other digital-silence frame is **gated silence**. On a real softphone agent channel
/// gated at about −105 dBFS (245 s call) this counts 102 s of gated silence and 0.06 s of
/// dropouts (three 20 ms holes inside words); the rule alone decided by length (< 1 s) counted 41 s
/// of "dropouts" there, because the gate also shuts between words.
public struct LevelMeter: Sendable {
    /// Longest digital-zero run counted as a dropout (s).
    public static let maxDropoutSeconds = 1.0
    /// A frame whose largest sample magnitude is under this is digital zero (−120 dBFS).
    public static let zeroPeak: Float = 1.0 / 1_048_576
    let frameSeconds: Double
    private var speech = LevelHistogram()
    private var noise = LevelHistogram()
    private var candidate = LevelHistogram()
    /// Per-second power sums of the open candidate: (second, sum, count).
    private var candidateSeconds: [(Int, Double, Int)] = []
    private var loudness: [LoudnessSecond] = []
    private var peak: Float = 0
    private var clipped = 0
    private var samples = 0
    private var dropoutFrames = 0
    private var gatedFrames = 0
    /// The open run of digital silence: frames in it, whether sound came before it, its zero
    /// frames, partly silent frames before and after its zeros, and whether its shape already
    /// rules out a dropout (a non-zero frame between zeros, or more than one at an end).
    private var run = 0, runAfterSound = false, runZeros = 0, runLead = 0, runTrail = 0, runMixed = false
    private let maxDropoutFrames: Int
    private var frame = 0

    public init(frameSeconds: Double) {
        self.frameSeconds = frameSeconds
        maxDropoutFrames = Int((Self.maxDropoutSeconds / frameSeconds).rounded())
        candidateSeconds.reserveCapacity(64)
    }

    /// Counts a digital-silence frame into the open run.
    @inline(__always)
    private mutating func silent(zero: Bool) {
        if run == 0 { runAfterSound = frame > 0 }
        run &+= 1
        if zero {
            if runTrail > 0 { runMixed = true }
            runZeros &+= 1
        } else if runZeros == 0 {
            runLead &+= 1
            if runLead > 1 { runMixed = true }
        } else {
            runTrail &+= 1
            if runTrail > 1 { runMixed = true }
        }
    }

    /// Sound ends the open run: a dropout or gated silence.
    @inline(__always)
    private mutating func closeRun() {
        if Self.isDropout(run: run, afterSound: runAfterSound, beforeSound: true, zeros: runZeros, mixed: runMixed, maxFrames: maxDropoutFrames) {
            dropoutFrames &+= run
        } else {
            gatedFrames &+= run
        }
        run = 0; runZeros = 0; runLead = 0; runTrail = 0; runMixed = false
    }

    @inline(__always)
    static func isDropout(run: Int, afterSound: Bool, beforeSound: Bool, zeros: Int, mixed: Bool, maxFrames: Int) -> Bool {
        afterSound && beforeSound && zeros > 0 && !mixed && run < maxFrames
    }

    /// Takes one frame's time-domain features and its decision. `inCandidate` says whether the
    /// frame belongs to an open talk candidate (its level waits for the candidate's outcome).
    @inline(__always)
    public mutating func push(features: FrameFeatures, hopSamples: Int, decision: FrameDecision, inCandidate: Bool) {
        defer { frame &+= 1 }
        peak = max(peak, features.hopPeak)
        clipped &+= Int(features.hopClipped)
        samples &+= hopSamples
        if decision.dropout {
            silent(zero: features.hopPeak < Self.zeroPeak)
            return
        }
        if run > 0 { closeRun() }
        let db = features.hopPower > 1e-20 ? 10 * log10f(2 * features.hopPower) : -200
        if inCandidate && decision.weak {
            candidate.add(db)
            let second = Int(Double(frame) * frameSeconds)
            if let last = candidateSeconds.last, last.0 == second {
                candidateSeconds[candidateSeconds.count - 1].1 += Double(features.hopPower)
                candidateSeconds[candidateSeconds.count - 1].2 += 1
            } else {
                candidateSeconds.append((second, Double(features.hopPower), 1))
            }
        } else {
            noise.add(db)
        }
    }

    /// The open candidate became talk (`accepted`) or not.
    public mutating func settle(accepted: Bool) {
        if accepted {
            speech.merge(candidate)
            let minFrames = max(1, Int(0.25 / frameSeconds))
            for (second, sum, n) in candidateSeconds where n >= minFrames {
                let db = 10 * log10(max(2 * sum / Double(n), 1e-20))
                let score = UInt8(Loudness.score(dbfs: db).rounded())  // 0...100: `score` clamps, NaN included
                if let last = loudness.last, Int(last.second) == second {
                    loudness[loudness.count - 1].score = max(last.score, score)
                } else {
                    loudness.append(LoudnessSecond(second: Int32(clamping: second), score: score))
                }
            }
        } else {
            noise.merge(candidate)
        }
        candidate.reset()
        candidateSeconds.removeAll(keepingCapacity: true)
    }

    public func levels() -> ChannelLevels {
        let s = speech.percentile(0.5).map(Double.init)
        let n = noise.percentile(0.5).map(Double.init)
        return ChannelLevels(
            speechLevelDbfs: s.map { ($0 * 10).rounded() / 10 },
            noiseFloorDbfs: n.map { ($0 * 10).rounded() / 10 },
            snrDb: (s != nil && n != nil) ? ((s! - n!) * 10).rounded() / 10 : nil,
            peakDbfs: peak > 0 && peak.isFinite ? (Double(20 * log10f(peak)) * 10).rounded() / 10 : nil,
            clippedRatio: samples > 0 ? (Double(clipped) / Double(samples) * 1e6).rounded() / 1e6 : 0,
            dropoutSeconds: (Double(dropoutFrames) * frameSeconds).roundedToMilliseconds,
            gatedSilenceSeconds: (Double(gatedFrames + run) * frameSeconds).roundedToMilliseconds)  // an open run reaches the end
    }

    public func loudnessScores() -> Loudness {
        let mean = loudness.isEmpty ? nil : (loudness.reduce(0.0) { $0 + Double($1.score) } / Double(loudness.count) * 10).rounded() / 10
        return Loudness(mean: mean, perSecond: loudness)
    }
}
