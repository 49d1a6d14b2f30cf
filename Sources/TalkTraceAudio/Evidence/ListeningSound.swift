/// Whether someone else is on a channel: sound on it while its participant listens.
///
/// A participant takes turns: while the other side talks they mostly listen, and what they say
/// then (a backchannel, an interruption) is their own segment. A television, a room or the next
/// agent does not listen: it goes on while the other side talks. So the frames in which the other
/// side talks (its near frames) and this channel's participant does not (outside this channel's
/// segments, as their anchors set them) are counted, and among them those in which this channel
/// still has sound: *weak* frames (6 dB over the noise floor in the best bands, not echo), the
/// frames a segment's reach beyond its anchors is made of, and frames as loud that the echo test
/// kept out on a channel where no leak is evidenced (`FrameDecision.heard`: there the test only
/// keeps the room out while the other side talks, and the room is what this looks for; on
/// corpus-hard it kept out 73–81 % of each agent channel's frames during the caller's talk, and
/// the neighbours behind every agent read 1–4 % without them, 13–30 % with them). Eval corpora:
/// channels with nobody behind the participant 0–8 % (breaths, clicks, noise bursts, a residue of
/// echo); a background talker behind the caller 12–95 % (0 % on one hard call whose television is
/// too quiet to be heard between the caller's turns; its talk is within 2.4 % anyway);
/// neighbouring agents 13–30 %.
/// Where the share passes `ActivityParameters.listeningSoundShare`, the weak frames around a turn
/// are as likely someone else's (or the noise's) as the participant's onset or decay, and the
/// segments reach only `backgroundReachSeconds` beyond their anchors.
///
/// Segments are only known when a candidate closes, and their extent only after the call, so the
/// two counts are kept as running totals and, while a candidate is open, as their values at
/// each of its frames (from `headFrames` before its first near frame: nothing earlier can be in
/// a segment). A closed segment's counts are read off that history for its anchored extent.
/// Memory: two integers per frame of the open candidate, nothing per frame of the call.
public struct ListeningSound: Sendable {
    /// Frames in which the other side talks (`other`) and this channel also has sound (`sound`).
    public struct Counts: Sendable, Equatable {
        public var other = 0, sound = 0
    }

    private var total = Counts()
    /// Levels (dBFS) of the sound heard while the other side talks, outside the participant's own
    /// near frames: how loud whoever is behind the participant is (`heardLevel`).
    private var heardLevels = LevelHistogram()
    /// The totals before each frame of the open candidate, from frame `historyStart`.
    private var history: [Counts] = []
    private var historyStart = 0
    private var sawNear = false
    /// The counts over every frame of the open candidate.
    public private(set) var candidate = Counts()
    private var frame = 0

    public init() {}

    /// Takes the next frame: whether this channel has sound (its weak verdict) and is near, the
    /// other side's near verdict, and whether a candidate is open after it (`SegmentBuilder.inCandidate`).
    @inline(__always)
    public mutating func push(sound: Bool, otherNear: Bool, inCandidate: Bool, near: Bool, headFrames: Int, level: Float = -200) {
        if inCandidate {
            if history.isEmpty { historyStart = frame; sawNear = false }
            history.append(total)
            if near && !sawNear {
                sawNear = true
                let drop = frame - headFrames - historyStart
                if drop > 0 { history.removeFirst(drop); historyStart += drop }
            } else if !sawNear && history.count > 4 * (headFrames + 1) {
                let drop = history.count - (headFrames + 1)
                history.removeFirst(drop); historyStart += drop
            }
        }
        if otherNear {
            total.other &+= 1
            if sound { total.sound &+= 1; if !near { heardLevels.add(level) } }
            if inCandidate { candidate.other &+= 1; if sound { candidate.sound &+= 1 } }
        }
        frame &+= 1
    }

    /// The median level (dBFS) of the sound heard while the other side talks, the participant's
    /// own near frames left out; nil when nothing was heard.
    public var heardLevel: Float? { heardLevels.percentile(0.5) }

    /// The candidate closed (before the current frame).
    public mutating func closeCandidate() {
        history.removeAll(keepingCapacity: true)
        candidate = Counts()
    }

    /// The totals before frame `f` of the candidate that just closed.
    private func before(_ f: Int) -> Counts {
        let i = f - historyStart
        if i >= history.count { return total }
        return history[max(0, i)]
    }

    /// The counts inside `ranges` (frames), each clamped to `within`, of the candidate that just closed.
    public func counts(in ranges: [Range<Int>], within: Range<Int>) -> Counts {
        var c = Counts()
        for r in ranges {
            let a = max(r.lowerBound, within.lowerBound), b = min(r.upperBound, within.upperBound)
            guard b > a else { continue }
            let x = before(a), y = before(b)
            c.other += y.other - x.other; c.sound += y.sound - x.sound
        }
        return c
    }

    /// The share of the frames in which the other side talks, outside `inside` (this channel's
    /// segments and music), in which this channel carries sound; nil with fewer than
    /// `minimumFrames` such frames (the other side hardly talked: nothing to judge by).
    public func share(outside inside: [Counts], minimumFrames: Int) -> Float? {
        var other = total.other, sound = total.sound
        for c in inside { other -= c.other; sound -= c.sound }
        guard other >= minimumFrames, other > 0 else { return nil }
        return Float(sound) / Float(other)
    }
}
