/// A stretch of talk, in seconds from the start of the recording. `start < end`.
public struct Segment: Sendable, Equatable, Codable {
    public var start: Double
    public var end: Double
    public init(start: Double, end: Double) { self.start = start; self.end = end }
    public var duration: Double { end - start }

    /// Encoded as `[start, end]`, the output contract's shape.
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        start = try c.decode(Double.self)
        end = try c.decode(Double.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(start.roundedToMilliseconds)
        try c.encode(end.roundedToMilliseconds)
    }
}

extension Double {
    /// Rounded to 3 decimals, so JSON shows `12.34`, not `12.340000000000001`.
    public var roundedToMilliseconds: Double { (self * 1000).rounded() / 1000 }
}

/// Stage 5 of the pipeline: frame decisions -> talk segments for one channel.
///
/// Weak frames form candidates; gaps shorter than `bridgeSeconds` are bridged. The participant's
/// own (near) frames anchor the talk: a candidate reaches back at most `headSeconds` before its
/// first near frame and on at most `tailSeconds` after its last, and it closes once
/// `releaseSeconds` pass without a near frame within `anchorLevelGate` of its loudest so far, so a
/// background talker, whose loudest frames may pass as near, cannot stretch a segment or chain
/// two apart. A candidate that is music so far closes at a pause of `musicPauseSeconds`, not
/// only at the 300 ms bridge: a caller who answers right as the hold music stops starts a
/// candidate of their own, instead of joining the music's (and being called music). A closed
/// candidate is music when its strong frames say so (`MusicEvidence`), else a segment if it holds
/// `minStrongSeconds` of near frames and lasts `minSegmentSeconds`, else *quiet* if it holds that
/// much strong sound all the same: talk-like, but never near the participant's speech level (a
/// backchannel or a word said under the other side's talk, or a talker behind the participant),
/// for the call-level soft-turn rule to judge (`ActivityParameters.quietTurnClearance`). Works
/// frame by frame; memory holds only the current candidate.
public struct SegmentBuilder: Sendable {
    /// What happened to a candidate when it closed.
    public enum Outcome: Sendable, Equatable {
        /// Frames `[startFrame, endFrame)` are talk; `peakDB` is the level its loudest strong
        /// frames reach (dBFS, `SegmentLevel`: the 80th percentile, robust to one loud frame and
        /// to its soft ones).
        /// `steadiness` and `flux` summarize its strong frames (`MusicEvidence`), so a piece next
        /// to music can be judged after the call.
        case accepted(startFrame: Int, endFrame: Int, peakDB: Float, steadiness: Float, flux: Float)
        /// Music or a tone by `MusicEvidence`: not talk, but reported.
        case music(startFrame: Int, endFrame: Int)
        /// Talk-like sound that never came near the participant's speech level (too few near
        /// frames): frames `[startFrame, endFrame)` reach `headSeconds` / `tailSeconds` around its
        /// strong frames, `peakDB` is their level (`SegmentLevel`), `anchors` its first and last
        /// strong frame. Not talk by itself; the participant's soft turn where nobody else is on
        /// the channel and it stands `quietTurnClearance` over the floor (`keepSoftTurns`).
        case quiet(startFrame: Int, endFrame: Int, peakDB: Float, anchors: SegmentAnchors.Anchors, steadiness: Float, flux: Float)
        case rejected
    }

    let bridgeFrames: Int
    let minStrongFrames: Int
    let minFrames: Int
    let headFrames: Int
    let tailFrames: Int
    let releaseFrames: Int
    let musicPauseFrames: Int
    private(set) var candidateStart = -1
    private(set) var lastWeak = -1
    private var firstStrong = -1
    private var lastStrong = -1
    /// The participant's own frames (`FrameDecision.near`): they anchor talk, where strong
    /// frames (which may be a background talker's or music) anchor music.
    private var firstNear = -1
    private var lastNear = -1
    /// The candidate's loudest near level so far and the last near frame within
    /// `anchorLevelGate` of it: a candidate closes after `releaseSeconds` without one, so a
    /// talker behind the participant, 14–26 dB under, cannot hold it open (`SegmentAnchors`).
    private var loudest: Float = -.infinity
    private var lastAnchor = -1
    private var nearFrames = 0
    private var level = SegmentLevel()
    /// The level of the candidate's strong frames, for a candidate that never comes near.
    private var strongLevel = SegmentLevel()
    /// Where the candidate's near frames fall by level (`SegmentAnchors`); `closedAnchors` holds
    /// the anchors of the last accepted candidate, its frames within `anchorLevelGate` of its loudest.
    private var anchors = SegmentAnchors()
    public private(set) var closedAnchors = SegmentAnchors.Anchors()
    private var music = MusicEvidence()
    private let parameters: ActivityParameters
    private let frameSeconds: Double
    private var strongFrames = 0
    private var frame = 0

    public init(parameters: ActivityParameters, frameSeconds: Double) {
        let fps = 1 / frameSeconds
        func frames(_ s: Double) -> Int { max(1, Int((s * fps).rounded())) }
        bridgeFrames = frames(parameters.bridgeSeconds)
        minStrongFrames = frames(parameters.minStrongSeconds)
        minFrames = frames(parameters.minSegmentSeconds)
        headFrames = frames(parameters.headSeconds)
        tailFrames = frames(parameters.tailSeconds)
        releaseFrames = frames(parameters.releaseSeconds)
        musicPauseFrames = frames(parameters.musicPauseSeconds)
        self.parameters = parameters
        self.frameSeconds = frameSeconds
    }

    /// Whether a candidate is open.
    public var inCandidate: Bool { candidateStart >= 0 }

    /// Takes the next frame's decision; returns the outcome of a candidate that closed before it
    /// (a frame starts a new candidate only after the previous one is settled).
    @inline(__always)
    public mutating func push(_ d: FrameDecision) -> Outcome? {
        defer { frame &+= 1 }
        var outcome: Outcome?
        if candidateStart >= 0,
           frame - lastWeak > bridgeFrames || (lastAnchor >= 0 && frame - lastAnchor > releaseFrames)
            || (frame - lastWeak == musicPauseFrames + 1 && music.isMusic(parameters, frameSeconds: frameSeconds)) {
            outcome = close()
        }
        if d.weak {
            if candidateStart < 0 {
                candidateStart = frame; strongFrames = 0; firstStrong = -1; lastStrong = -1; level.reset(); strongLevel.reset()
                nearFrames = 0; firstNear = -1; lastNear = -1; anchors.reset()
                loudest = -.infinity; lastAnchor = -1
                music = MusicEvidence()
            }
            lastWeak = frame
            if d.strong {
                strongFrames &+= 1
                if firstStrong < 0 { firstStrong = frame }
                lastStrong = frame
                music.add(d.features)
                strongLevel.add(d.levelDB)
            }
            if d.near {
                nearFrames &+= 1
                if firstNear < 0 { firstNear = frame }
                lastNear = frame
                if d.levelDB > loudest { loudest = d.levelDB }
                if d.levelDB >= loudest - parameters.anchorLevelGate { lastAnchor = frame }
                level.add(d.levelDB)
                anchors.add(frame: frame, db: d.levelDB)
            }
        }
        return outcome
    }

    /// Closes any open candidate at the end of the recording.
    public mutating func finish() -> Outcome? {
        candidateStart >= 0 ? close() : nil
    }

    private mutating func close() -> Outcome {
        let candidate = candidateStart
        candidateStart = -1
        guard firstStrong >= 0 else { return .rejected }
        if music.isMusic(parameters, frameSeconds: frameSeconds) {
            return .music(startFrame: max(candidate, firstStrong - headFrames),
                          endFrame: min(lastWeak + 1, lastStrong + 1 + tailFrames))
        }
        guard nearFrames >= minStrongFrames else {
            let start = max(candidate, firstStrong - headFrames)
            let end = min(lastWeak + 1, lastStrong + 1 + tailFrames)
            guard strongFrames >= minStrongFrames, end - start >= minFrames else { return .rejected }
            var anchors = SegmentAnchors.Anchors()
            anchors.first = Int32(truncatingIfNeeded: firstStrong); anchors.last = Int32(truncatingIfNeeded: lastStrong)
            anchors.count = Int32(truncatingIfNeeded: strongFrames)
            return .quiet(startFrame: start, endFrame: end, peakDB: strongLevel.level ?? -120, anchors: anchors,
                          steadiness: music.steadiness, flux: music.meanFlux)
        }
        let start = max(candidate, firstNear - headFrames)
        let end = min(lastWeak + 1, lastNear + 1 + tailFrames)
        if end - start >= minFrames {
            closedAnchors = anchors.anchors(within: parameters.anchorLevelGate) ?? SegmentAnchors.Anchors()
            return .accepted(startFrame: start, endFrame: end, peakDB: level.level ?? -120,
                             steadiness: music.steadiness, flux: music.meanFlux)
        }
        return .rejected
    }
}
