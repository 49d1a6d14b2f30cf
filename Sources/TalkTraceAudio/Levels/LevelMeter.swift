import Foundation

/// Loudness and audio-quality figures for one channel, in dBFS (full-scale sine = 0 dBFS).
public struct ChannelLevels: Sendable, Equatable, Codable {
    /// Median level of the channel's talk frames (dBFS); nil when it never talks.
    public var speechLevelDbfs: Double?
    /// Median level of its non-talk frames, dropouts excluded (dBFS); nil when there are none.
    public var noiseFloorDbfs: Double?
    /// `speechLevelDbfs - noiseFloorDbfs` (dB).
    public var snrDb: Double?
    /// Largest sample magnitude (dBFS re full scale; 0 = full scale).
    public var peakDbfs: Double?
    /// Fraction of samples at the encoding's full scale (0–1).
    public var clippedRatio: Double
    /// Seconds of digital silence (dropouts, muted line).
    public var dropoutSeconds: Double
}

/// Contact Lens-style loudness: a 0–100 score per second of talk.
public struct Loudness: Sendable, Equatable, Codable {
    /// Mean of `perSecond` scores (0–100); nil when the channel never talks.
    public var mean: Double?
    /// `[second, score]` for every whole second of the recording holding at least 0.25 s of talk;
    /// the score maps the RMS level of that talk, -60..0 dBFS, linearly onto 0–100.
    public var perSecond: [LoudnessSecond]

    /// Score for a level in dBFS, rounded to a whole number.
    public static func score(dbfs: Double) -> Double { min(100, max(0, (dbfs + 60) / 60 * 100)) }
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
        second = Int32(try c.decode(Double.self))
        score = UInt8(try c.decode(Double.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(second)
        try c.encode(score)
    }
}

/// Stage 5b: levels of one channel, accumulated frame by frame with fixed memory (histograms),
/// except `perSecond` loudness, which holds one small entry per second of talk.
public struct LevelMeter: Sendable {
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
    private var frame = 0

    public init(frameSeconds: Double) {
        self.frameSeconds = frameSeconds
        candidateSeconds.reserveCapacity(64)
    }

    /// Takes one frame's time-domain features and its decision. `inCandidate` says whether the
    /// frame belongs to an open talk candidate (its level waits for the candidate's outcome).
    @inline(__always)
    public mutating func push(features: FrameFeatures, hopSamples: Int, decision: FrameDecision, inCandidate: Bool) {
        defer { frame &+= 1 }
        peak = max(peak, features.hopPeak)
        clipped &+= Int(features.hopClipped)
        samples &+= hopSamples
        if decision.dropout { dropoutFrames &+= 1; return }
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
                let score = UInt8(Loudness.score(dbfs: db).rounded())
                if let last = loudness.last, Int(last.second) == second {
                    loudness[loudness.count - 1].score = max(last.score, score)
                } else {
                    loudness.append(LoudnessSecond(second: Int32(second), score: score))
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
            peakDbfs: peak > 0 ? (Double(20 * log10f(peak)) * 10).rounded() / 10 : nil,
            clippedRatio: samples > 0 ? (Double(clipped) / Double(samples) * 1e6).rounded() / 1e6 : 0,
            dropoutSeconds: (Double(dropoutFrames) * frameSeconds).roundedToMilliseconds)
    }

    public func loudnessScores() -> Loudness {
        let mean = loudness.isEmpty ? nil : (loudness.reduce(0.0) { $0 + Double($1.score) } / Double(loudness.count) * 10).rounded() / 10
        return Loudness(mean: mean, perSecond: loudness)
    }
}
