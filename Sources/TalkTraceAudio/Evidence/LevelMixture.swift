/// The participant's own level from a channel's strong-frame levels, read as a mixture: the
/// participant is the loud, near cluster, however little they talk.
///
/// A channel carries its participant and whatever is behind them: a television or a room behind
/// the caller, neighbouring agents on an open floor. Those are far from the microphone, 14–26 dB
/// under the participant, and can talk far more than the participant does (a TV talks all call,
/// the caller 20 s), so the median of the channel's talk levels is theirs. The histogram is split
/// in two at a level, and the loud side's median is taken, when both kinds of evidence agree that
/// the quiet side is someone else:
/// - **level**: the clusters' means at least `separation` dB apart;
/// - **conversation structure**: the participant takes turns with the other side, so few of
///   their frames fall while the other side talks; a TV or a neighbour does not listen and talks
///   over the other side at the chance rate (the share of the call the other side talks). The
///   quiet side must overlap the other side's talk on a share of its frames above the loud
///   side's by at least `turnTakingMargin` times that chance rate; of the levels where both
///   hold, the split is where that contrast is largest.
/// One talker's soft and loud frames (a clipped or shouted stretch above ordinary speech) split
/// as far apart, but both take turns: the plain median stays the level.
///
/// Fixed memory: two 1 dB histograms from −120 to +10 dBFS (every frame, and the frames while the
/// other side talks); a reading costs two passes over 130 bins.
public struct LevelMixture: Sendable {
    static let low: Float = -120, bins = 130
    private var all = [Int32](repeating: 0, count: LevelMixture.bins)
    private var overlapping = [Int32](repeating: 0, count: LevelMixture.bins)
    /// Values added.
    public private(set) var count = 0
    /// Frames observed (talk or not) and those in which the other side talked: the chance rate.
    private var frames = 0, otherFrames = 0

    public init() {}

    /// Adds a strong frame's level; `otherTalks`: the other channel clearly talks in that frame.
    @inline(__always)
    public mutating func add(_ db: Float, otherTalks: Bool) {
        var i = Int((db - Self.low).rounded())
        if i < 0 { i = 0 } else if i >= Self.bins { i = Self.bins - 1 }
        all.withUnsafeMutableBufferPointer { $0[i] &+= 1 }
        if otherTalks { overlapping.withUnsafeMutableBufferPointer { $0[i] &+= 1 } }
        count &+= 1
    }

    /// Counts a frame of the call (any frame, not only talk) for the chance rate of overlap.
    @inline(__always)
    public mutating func observe(otherTalks: Bool) {
        frames &+= 1
        if otherTalks { otherFrames &+= 1 }
    }

    /// The share of the call's frames in which the other side talks.
    public var chance: Float { frames > 0 ? Float(otherFrames) / Float(frames) : 0 }

    /// The participant's level (dB): the median of the loud cluster when the quiet one is someone
    /// behind them, else the median of all; nil when empty. `background` is the level between the
    /// two clusters (the Otsu threshold) when there is someone behind them: their loudest frames
    /// stay under it.
    public func participantLevel(separation: Float, turnTakingMargin: Float) -> (level: Float, background: Float?)? {
        guard count > 0 else { return nil }
        if let k = split(separation: separation, turnTakingMargin: turnTakingMargin) {
            return (median(k..<Self.bins), Self.low + Float(k) - 0.5)
        }
        return (median(0..<Self.bins), nil)
    }

    /// The first bin of the loud cluster: of the levels that leave at least `minShare` of the
    /// frames on either side and put the sides' means `separation` dB apart, the one where the
    /// quiet side overlaps the other channel's talk most beyond the loud side (by at least
    /// `turnTakingMargin` times the chance rate); nil when none does. (Not Otsu's threshold: a background talker can hold
    /// three quarters of the frames and spread over 20 dB, and Otsu then splits the background.)
    func split(separation: Float, turnTakingMargin: Float) -> Int? {
        var n = 0.0, s = 0.0, o = 0.0
        for i in 0..<Self.bins { n += Double(all[i]); s += Double(i) * Double(all[i]); o += Double(overlapping[i]) }
        let minFrames = max(Self.minFrames, Self.minShare * n)
        var n0 = 0.0, s0 = 0.0, o0 = 0.0
        var best: (k: Int, contrast: Double)?
        for k in 1..<Self.bins {
            n0 += Double(all[k - 1]); s0 += Double(k - 1) * Double(all[k - 1]); o0 += Double(overlapping[k - 1])
            let n1 = n - n0
            guard n0 >= minFrames, n1 >= minFrames else { continue }
            let gap = (s - s0) / n1 - s0 / n0
            guard gap >= Double(separation) else { continue }
            let contrast = o0 / n0 - (o - o0) / n1
            if contrast >= Double(turnTakingMargin * chance), contrast > (best?.contrast ?? -1) { best = (k, contrast) }
        }
        return best?.k
    }

    /// Each side of a split holds at least this share of the frames, and this many.
    static let minShare = 0.05, minFrames = 50.0

    /// Mean level (dB) of the bins in `range` and the share of their frames while the other talks.
    func stats(_ range: Range<Int>) -> (mean: Float, overlapShare: Float) {
        var n = 0.0, s = 0.0, o = 0.0
        for i in range { n += Double(all[i]); s += Double(i) * Double(all[i]); o += Double(overlapping[i]) }
        guard n > 0 else { return (Self.low, 0) }
        return (Self.low + Float(s / n), Float(o / n))
    }

    func median(_ range: Range<Int>) -> Float {
        var n = 0
        for i in range { n += Int(all[i]) }
        var seen = 0
        for i in range {
            seen += Int(all[i])
            if 2 * seen >= n { return Self.low + Float(i) }
        }
        return Self.low + Float(range.upperBound - 1)
    }
}
