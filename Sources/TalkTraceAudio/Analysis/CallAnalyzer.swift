import Foundation
import TalkTraceStorage

/// How to analyze a call.
public struct AnalysisOptions: Sendable, Equatable {
    /// Which channel is the agent (default: Amazon Connect's, agent right).
    public var channelMap: ChannelMap = .connect
    public var parameters = ActivityParameters()
    /// Frames read from libsndfile per block: the unit of streaming (memory is a few of these).
    public var blockFrames = 16384
    /// Threads for this one call: 2 frames the two channels side by side (a single-call analyze on
    /// a machine with cores to spare); 1 runs everything on the caller's thread (batch, where every
    /// core already has a call of its own).
    public var threads = 1

    public init(channelMap: ChannelMap = .connect, parameters: ActivityParameters = ActivityParameters(), threads: Int = 1) {
        self.channelMap = channelMap
        self.parameters = parameters
        self.threads = threads
    }
}

/// One channel after the detector: its segments in frames, its levels.
struct ChannelTrack {
    var builder: SegmentBuilder
    var meter: LevelMeter
    var segments: [Segment] = []
    /// Loudest strong frame of each segment (dBFS), parallel to `segments`.
    var peaks: [Float] = []
    /// Steady non-talk sound (music on hold, tones), seconds.
    var music: [Segment] = []
    /// Steadiness and flux of each segment (`MusicEvidence`), parallel to `segments`.
    var steadiness: [Float] = []
    var fluxes: [Float] = []
    /// Each segment's anchors (`SegmentAnchors`: its near frames within `anchorLevelGate` of its
    /// loudest), parallel to `segments`.
    var anchors: [SegmentAnchors.Anchors] = []
    /// Someone else on the channel (`ListeningSound`): the frames in which the other side talks,
    /// and those in which this channel also has sound (weak frames), in total and inside each segment's
    /// anchored extent (parallel to `segments`).
    var listening = ListeningSound()
    var segmentListening: [ListeningSound.Counts] = []
    /// The same counts over the channel's music (music on hold is not someone on the line).
    var musicListening = ListeningSound.Counts()
    /// The `ListeningSound` share (nil when the other side hardly talked; set in `finish`), and
    /// whether it says someone else is on this channel.
    private(set) var listeningShare: Float?
    var someoneElse: Bool { (listeningShare ?? 0) >= parameters.listeningSoundShare }
    /// The participant's soft turns that `keepSoftTurns` put back, as `trimToAnchors` set them:
    /// kept apart from `segments` so that `BackgroundTalk` neither judges them nor has them
    /// drag its level split (set in `finish`).
    private(set) var softTurns: [Segment] = []
    /// Candidates that never came near the participant's level (`SegmentBuilder.Outcome.quiet`):
    /// soft turns where `keepSoftTurns` finds them loud enough and nobody else on the channel.
    private var quietCandidates: [QuietSegment] = []
    /// Parallel to `segments` between `keepSoftTurns` and `trimToAnchors`: put back as a soft turn.
    private var soft: [Bool] = []
    /// The level (dBFS) from which a segment is the participant's soft turn rather than a talker
    /// behind them: `quietTurnClearance` over the noise floor, on a channel where
    /// `ListeningSound` finds nobody else; nil elsewhere (set in `finish`).
    private(set) var softLevel: Float?
    let parameters: ActivityParameters
    let levelGate: Float
    let frameSeconds: Double
    let hop: Int

    init(parameters: ActivityParameters, geometry: FrameGeometry) {
        builder = SegmentBuilder(parameters: parameters, frameSeconds: geometry.frameSeconds)
        meter = LevelMeter(frameSeconds: geometry.frameSeconds)
        frameSeconds = geometry.frameSeconds
        hop = geometry.hop
        levelGate = parameters.segmentLevelGate
        self.parameters = parameters
        let fps = 1 / geometry.frameSeconds
        reachFrames = (max(1, Int((parameters.headSeconds * fps).rounded())), max(1, Int((parameters.tailSeconds * fps).rounded())))
    }

    @inline(__always)
    mutating func take(_ d: FrameDecision, otherNear: Bool) {
        if let outcome = builder.push(d) { settle(outcome) }
        listening.push(sound: d.heard, otherNear: otherNear, inCandidate: builder.inCandidate, near: d.near,
                       headFrames: reachFrames.head, level: d.levelDB)
        meter.push(features: d.features, hopSamples: hop, decision: d, inCandidate: builder.inCandidate)
    }

    mutating func finish() {
        if let outcome = builder.finish() { settle(outcome) }
        absorbMusicFragments()
        let quiet = dropBackground()
        // Outside the segments as the anchors set them and outside the music, while the other
        // side talks: does this channel still carry sound (`ListeningSound`)?
        listeningShare = listening.share(outside: segmentListening + [musicListening],
                                         minimumFrames: max(1, Int((1 / frameSeconds).rounded())))  // 1 s, as the speech level
        if !someoneElse { keepSoftTurns(quiet + quietCandidates) }
        trimToAnchors(reach: someoneElse ? parameters.backgroundReachSeconds : nil)
    }

    /// Head and tail reach in frames (set once: `take` reads the head every frame).
    let reachFrames: (head: Int, tail: Int)

    /// The frame ranges of a segment's anchored talk (`SegmentAnchors.Anchors.extent`) with the
    /// given reaches.
    func extents(_ a: SegmentAnchors.Anchors, head: Int, tail: Int) -> [Range<Int>] {
        let fps = 1 / frameSeconds
        let minFrames = max(1, Int((parameters.minStrongSeconds * fps).rounded()))
        let bridge = max(1, Int((parameters.bridgeSeconds * fps).rounded()))
        return a.extent(minFrames: minFrames, head: head, tail: tail, bridge: bridge)
    }

    /// Sets each segment's extent from its anchors (`SegmentAnchors`): trimmed to them plus the
    /// head and tail reaches, split where they leave a pause longer than the bridge. Never
    /// extends a segment. After the music and level steps, which judge the segment as detected.
    /// `reach` (seconds), when given, replaces both reaches: on a channel with someone else on
    /// it the weak frames around a turn are theirs as much as the participant's.
    mutating func trimToAnchors(reach: Double? = nil) {
        var (head, tail) = reachFrames
        if let reach { head = max(1, Int((reach / frameSeconds).rounded())); tail = head }
        var kept: [Segment] = [], keptPeaks: [Float] = [], keptAnchors: [SegmentAnchors.Anchors] = []
        for i in segments.indices {
            let s = segments[i]
            for r in extents(anchors[i], head: head, tail: tail) {
                let piece = Segment(start: max(s.start, Double(r.lowerBound) * frameSeconds),
                                    end: min(s.end, Double(r.upperBound) * frameSeconds))
                guard piece.end > piece.start else { continue }
                if i < soft.count, soft[i] { softTurns.append(piece); continue }
                kept.append(piece); keptPeaks.append(peaks[i]); keptAnchors.append(anchors[i])
            }
        }
        segments = kept; peaks = keptPeaks; anchors = keptAnchors; soft = []
    }

    /// Pieces of music too short to be judged alone (a chord change, the last second before the
    /// music stops; the noise floor adapts to long music, so it comes back in pieces) are music:
    /// as steady as music and within 5 s of music, or shorter than `musicMinSeconds` and
    /// touching it (within 0.5 s) unless its spectrum changes more than it repeats
    /// (steadiness under `musicShortPieceSteadiness`: speech, however short; a caller's 0.7 s
    /// "thank you" 0.2 s after the music measured −0.33, flux 0.79). Spans chain
    /// forward and backward, so a long hold is absorbed piece by piece.
    mutating func absorbMusicFragments() {
        guard !music.isEmpty else { return }
        var keep = [Bool](repeating: true, count: segments.count)
        func reach(_ i: Int) -> Double { musicReach(segments[i], steadiness: steadiness[i], flux: fluxes[i]) }
        for order in [Array(segments.indices), Array(segments.indices.reversed())] {
            for i in order where keep[i] {
                let s = segments[i], r = reach(i)
                if music.contains(where: { s.start < $0.end + r && s.end > $0.start - r }) {
                    keep[i] = false
                    music.append(s)
                    musicListening.other += segmentListening[i].other; musicListening.sound += segmentListening[i].sound
                }
            }
        }
        // A quiet candidate (`Outcome.quiet`) that would be more of the music by the same rule is
        // not a soft turn either (it stays out of the music spans, as before: it was never talk).
        let music = self.music
        quietCandidates = quietCandidates.filter { q in
            let r = musicReach(q.segment, steadiness: q.steadiness, flux: q.flux)
            return !music.contains(where: { q.segment.start < $0.end + r && q.segment.end > $0.start - r })
        }
        segments = segments.indices.filter { keep[$0] }.map { segments[$0] }
        anchors = anchors.indices.filter { keep[$0] }.map { anchors[$0] }
        segmentListening = segmentListening.indices.filter { keep[$0] }.map { segmentListening[$0] }
        peaks = peaks.indices.filter { keep[$0] }.map { peaks[$0] }
        fluxes = fluxes.indices.filter { keep[$0] }.map { fluxes[$0] }
        steadiness = steadiness.indices.filter { keep[$0] }.map { steadiness[$0] }
    }

    /// How close to music (seconds) a piece of this channel's sound is more of it: a piece as
    /// steady as music, within 5 s; a short one (under `musicMinSeconds`) within 0.5 s unless its
    /// strong frames say speech plainly; otherwise never (-1). A piece long enough to be judged
    /// alone and not steady is talk even when it touches the music: the caller answering as the
    /// hold ends, less than 300 ms after it.
    func musicReach(_ s: Segment, steadiness: Float, flux: Float) -> Double {
        if MusicEvidence.isFragment(steadiness: steadiness, flux: flux, parameters) { return 5.0 }
        return s.duration < parameters.musicMinSeconds && steadiness >= parameters.musicShortPieceSteadiness ? 0.5 : -1
    }

    /// A segment `dropBackground` gated, or a candidate that never came near
    /// (`SegmentBuilder.Outcome.quiet`), with what `keepSoftTurns` needs to put it back.
    struct QuietSegment {
        var segment: Segment
        var peak: Float
        var anchors: SegmentAnchors.Anchors
        var steadiness: Float = 0, flux: Float = 1
    }

    /// Puts back the gated segments (`quiet`) that stand at least `quietTurnClearance` over the
    /// channel's noise floor, on a channel where `ListeningSound` found nobody else: a talker
    /// behind the participant that loud would have been heard while the participant listened,
    /// so these are the participant's own soft turns (see `ActivityParameters.quietTurnClearance`).
    /// Without a floor (every non-talk frame digital silence) nothing is put back.
    mutating func keepSoftTurns(_ quiet: [QuietSegment]) {
        guard let floor = meter.levels().noiseFloorDbfs else { return }
        softLevel = Float(floor) + parameters.quietTurnClearance
        let back = quiet.filter { $0.peak >= softLevel! }
        guard !back.isEmpty else { return }
        soft = [Bool](repeating: false, count: segments.count) + [Bool](repeating: true, count: back.count)
        segments += back.map(\.segment); peaks += back.map(\.peak); anchors += back.map(\.anchors)
    }

    /// Drops segments far quieter than the channel's own talk: the reference is the peak level
    /// that half of the talk time reaches (a duration-weighted median), so the main talker sets it.
    /// Returns the dropped ones.
    mutating func dropBackground() -> [QuietSegment] {
        guard segments.count > 1 else { return [] }
        let order = peaks.indices.sorted { peaks[$0] > peaks[$1] }
        let total = segments.reduce(0) { $0 + $1.duration }
        var acc = 0.0, reference = peaks[order[0]]
        for i in order {
            acc += segments[i].duration
            reference = peaks[i]
            if acc >= total / 2 { break }
        }
        var kept: [Segment] = [], keptPeaks: [Float] = [], keptAnchors: [SegmentAnchors.Anchors] = []
        var keptListening: [ListeningSound.Counts] = [], dropped: [QuietSegment] = []
        for i in segments.indices {
            guard peaks[i] >= reference - levelGate else {
                dropped.append(QuietSegment(segment: segments[i], peak: peaks[i], anchors: anchors[i])); continue
            }
            kept.append(segments[i]); keptPeaks.append(peaks[i]); keptAnchors.append(anchors[i])
            keptListening.append(segmentListening[i])
        }
        segments = kept
        peaks = keptPeaks
        anchors = keptAnchors
        segmentListening = keptListening
        fluxes = []; steadiness = []  // no longer parallel; not needed after this point
        return dropped
    }

    private mutating func settle(_ outcome: SegmentBuilder.Outcome) {
        switch outcome {
        case let .accepted(start, end, peak, steady, flux):
            segments.append(Segment(start: Double(start) * frameSeconds, end: Double(end) * frameSeconds))
            peaks.append(peak)
            fluxes.append(flux)
            steadiness.append(steady)
            anchors.append(builder.closedAnchors)
            let (head, tail) = reachFrames
            segmentListening.append(listening.counts(in: extents(builder.closedAnchors, head: head, tail: tail),
                                                     within: start..<end))
            listening.closeCandidate()
            meter.settle(accepted: true)
        case let .music(start, end):
            music.append(Segment(start: Double(start) * frameSeconds, end: Double(end) * frameSeconds))
            musicListening.other += listening.candidate.other; musicListening.sound += listening.candidate.sound
            listening.closeCandidate()
            meter.settle(accepted: false)
        case let .quiet(start, end, peak, anchors, steady, flux):
            quietCandidates.append(QuietSegment(segment: Segment(start: Double(start) * frameSeconds, end: Double(end) * frameSeconds),
                                                peak: peak, anchors: anchors, steadiness: steady, flux: flux))
            listening.closeCandidate()
            meter.settle(accepted: false)
        case .rejected:
            listening.closeCandidate()
            meter.settle(accepted: false)
        }
    }
}

/// Both channels of one block of the recording on their way through the pipeline: samples after
/// the split, then the spectral frames each framer produced from them, staged for the detector,
/// then the detector's decisions on them, staged for the channel tracks.
final class StreamBlock {
    let left: UnsafeMutablePointer<Float>
    let right: UnsafeMutablePointer<Float>
    let staged: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    let features: (UnsafeMutablePointer<FrameFeatures>, UnsafeMutablePointer<FrameFeatures>)
    /// The decisions (left, right) the detector made while taking this block's frames: one per
    /// frame once its lookahead is full, so never more than the block's frames.
    let decisions: UnsafeMutablePointer<(FrameDecision, FrameDecision)>
    /// Audio frames (samples per channel) in this block; 0 marks the end of the recording.
    var samples = 0
    /// Spectral frames staged per channel.
    var frames = (0, 0)
    /// Decisions staged.
    var decided = 0

    init(capacity: Int, geometry: FrameGeometry) {
        let maxFrames = capacity / geometry.hop + 2
        left = .allocate(capacity: capacity)
        right = .allocate(capacity: capacity)
        staged = (.allocate(capacity: maxFrames * geometry.bandCount), .allocate(capacity: maxFrames * geometry.bandCount))
        features = (.allocate(capacity: maxFrames), .allocate(capacity: maxFrames))
        decisions = .allocate(capacity: maxFrames)
    }

    deinit {
        left.deallocate(); right.deallocate()
        staged.0.deallocate(); staged.1.deallocate(); features.0.deallocate(); features.1.deallocate()
        decisions.deallocate()
    }
}

/// The state of one analysis between the reader and the result: two framers (stage 3), the
/// detector (stage 4) and the two channel tracks (segments and levels). `frame` touches only its
/// channel's framer and scratch, `detect` only the detector, `track` only the tracks, so with two
/// threads one thread reads, frames the left channel and feeds the tracks the previous block's
/// decisions while the other frames the right channel and runs the detector (the work about even:
/// callgrind on the 1-hour call, per thread, 1.10 G and 1.54 G instructions when the detector's
/// thread also fed the tracks).
/// `@unchecked Sendable`: `CallAnalyzer.stream` hands each part to one thread at a time, with a
/// semaphore between. The parts live behind pointers, so the per-frame loops see plain memory:
/// no retains of this object, no dynamic exclusivity checks.
final class AnalysisStream: @unchecked Sendable {
    let geometry: FrameGeometry
    let framer0: UnsafeMutablePointer<SpectralFramer>
    let framer1: UnsafeMutablePointer<SpectralFramer>
    let detector: UnsafeMutablePointer<ActivityDetector>
    let tracks: UnsafeMutablePointer<(ChannelTrack, ChannelTrack)>
    let scratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    /// Blocks in flight: two, so the reader fills one while the other is analyzed.
    let blocks: [StreamBlock]
    let blockFrames: Int
    /// Spectral frames handed to the detector so far (per channel).
    private(set) var framesEmitted: Int64 = 0

    init(geometry: FrameGeometry, parameters: ActivityParameters, fullScale: Float, blockFrames: Int) {
        self.geometry = geometry
        framer0 = .allocate(capacity: 1)
        framer0.initialize(to: SpectralFramer(geometry: geometry, fullScale: fullScale))
        framer1 = .allocate(capacity: 1)
        framer1.initialize(to: SpectralFramer(geometry: geometry, fullScale: fullScale))
        detector = .allocate(capacity: 1)
        detector.initialize(to: ActivityDetector(parameters: parameters, geometry: geometry))
        tracks = .allocate(capacity: 1)
        tracks.initialize(to: (ChannelTrack(parameters: parameters, geometry: geometry), ChannelTrack(parameters: parameters, geometry: geometry)))
        scratch = (.allocate(capacity: geometry.bandCount), .allocate(capacity: geometry.bandCount))
        self.blockFrames = max(blockFrames, geometry.window)
        blocks = [StreamBlock(capacity: self.blockFrames, geometry: geometry), StreamBlock(capacity: self.blockFrames, geometry: geometry)]
    }

    deinit {
        scratch.0.deallocate(); scratch.1.deallocate()
        framer0.deinitialize(count: 1); framer0.deallocate()
        framer1.deinitialize(count: 1); framer1.deallocate()
        detector.deinitialize(count: 1); detector.deallocate()
        tracks.deinitialize(count: 1); tracks.deallocate()
    }

    /// Stage 3 for one channel of `block`: its spectral frames, staged.
    func frame(channel: Int, _ block: StreamBlock) {
        let samples = channel == 0 ? block.left : block.right
        stage(channel: channel, into: block) { framer, scratch, emit in
            framer.pointee.push(samples, count: block.samples, bands: scratch, emit: emit)
        }
    }

    /// Runs `produce` (a framer's `push` or `flush`) on `channel`'s framer with an `emit` that
    /// stages each frame in `block`, and records how many there were.
    @inline(__always)
    private func stage(
        channel: Int, into block: StreamBlock,
        _ produce: (UnsafeMutablePointer<SpectralFramer>, UnsafeMutablePointer<Float>, (UnsafeMutablePointer<Float>, FrameFeatures) -> Void) -> Void
    ) {
        let bands = geometry.bandCount
        let (framer, scratch) = channel == 0 ? (framer0, scratch.0) : (framer1, scratch.1)
        let (staged, features) = channel == 0 ? (block.staged.0, block.features.0) : (block.staged.1, block.features.1)
        var count = 0
        produce(framer, scratch) { b, f in
            (staged + count * bands).update(from: b, count: bands); features[count] = f; count += 1
        }
        if channel == 0 { block.frames.0 = count } else { block.frames.1 = count }
    }

    /// Stage 4 on the frames of `block` (both channels framed): decisions staged in the block,
    /// for `track` on another thread.
    func detect(_ block: StreamBlock) {
        let decisions = block.decisions
        var decided = 0
        detect(block) { d0, d1 in (decisions + decided).initialize(to: (d0, d1)); decided += 1 }
        block.decided = decided
    }

    /// Stage 4 and the tracks on one thread: each decision straight into the tracks, not staged.
    func detectAndTrack(_ block: StreamBlock) {
        let tracks = self.tracks
        detect(block) { d0, d1 in Self.take(d0, d1, into: tracks) }
    }

    /// One frame's decisions (left, right) into the two channel tracks, each told whether the
    /// other side is near. (Static, over the pointer: a closure that calls a method of `self`
    /// made the per-frame loop 0.3 % slower.)
    @inline(__always)
    private static func take(_ d0: FrameDecision, _ d1: FrameDecision, into tracks: UnsafeMutablePointer<(ChannelTrack, ChannelTrack)>) {
        tracks.pointee.0.take(d0, otherNear: d1.near)
        tracks.pointee.1.take(d1, otherNear: d0.near)
    }

    @inline(__always)
    private func detect(_ block: StreamBlock, _ decide: (FrameDecision, FrameDecision) -> Void) {
        let bands = geometry.bandCount
        precondition(block.frames.0 == block.frames.1, "both channels have the same number of frames")
        framesEmitted += Int64(block.frames.0)
        let detector = self.detector
        let (s0, s1, f0, f1) = (block.staged.0, block.staged.1, block.features.0, block.features.1)
        for k in 0..<block.frames.0 {
            detector.pointee.push(left: s0 + k * bands, leftFeatures: f0[k], right: s1 + k * bands, rightFeatures: f1[k], decide: decide)
        }
    }

    /// The decisions staged in `block`, in order, into the channel tracks (segments and levels).
    func track(_ block: StreamBlock) {
        let tracks = self.tracks
        for k in 0..<block.decided {
            let (d0, d1) = block.decisions[k]
            Self.take(d0, d1, into: tracks)
        }
        block.decisions.deinitialize(count: block.decided)
        block.decided = 0
    }

    /// The end of the recording: zero-pad the last window of both channels, then drain the
    /// detector's lookahead and close the tracks.
    func finish(totalSamples: Int64) {
        let block = blocks[0]
        let framesEmitted = self.framesEmitted
        for channel in 0..<2 {
            stage(channel: channel, into: block) { framer, scratch, emit in
                framer.pointee.flush(totalSamples: totalSamples, framesEmitted: framesEmitted, bands: scratch, emit: emit)
            }
        }
        detectAndTrack(block)
        detector.pointee.finish { d0, d1 in Self.take(d0, d1, into: tracks) }
        tracks.pointee.0.finish()
        tracks.pointee.1.finish()
    }
}

/// The whole pipeline for one recording: read (libsndfile, streaming) -> split -> spectral frames
/// (FFTW) -> activity -> segments and levels -> conversation metrics.
public enum CallAnalyzer {
    /// Analyzes the recording at `path`.
    /// - Throws: `AudioInputError` for anything that makes the file unusable, naming the file.
    public static func analyze(path: String, options: AnalysisOptions = AnalysisOptions()) throws(AudioInputError) -> CallAnalysis {
        try analyze(SoundFile(path: path), path: path, options: options)
    }

    /// Analyzes the recording read through `source` (an S3 object): the same analysis, named by
    /// the source's name.
    public static func analyze(source: any ByteSource, options: AnalysisOptions = AnalysisOptions()) throws(AudioInputError) -> CallAnalysis {
        try analyze(SoundFile(source: source), path: source.name, options: options)
    }

    private static func analyze(_ opened: consuming SoundFile, path: String, options: AnalysisOptions) throws(AudioInputError) -> CallAnalysis {
        var file = opened
        let format = file.format
        let geometry = FrameGeometry(sampleRate: format.sampleRate, hopSeconds: options.parameters.hopSeconds)
        var parameters = options.parameters
        parameters.hopSeconds = geometry.frameSeconds

        let run = AnalysisStream(geometry: geometry, parameters: parameters, fullScale: format.fullScale,
                                 blockFrames: options.blockFrames)
        let framesRead = try stream(&file, path: path, into: run, threads: options.threads)
        run.finish(totalSamples: framesRead)
        let tracks = run.tracks.pointee
        let duration = Double(framesRead) / Double(format.sampleRate)
        let map = options.channelMap
        let agentTrack = map.agent == 0 ? tracks.0 : tracks.1
        let customerTrack = map.agent == 0 ? tracks.1 : tracks.0
        // Call-level: talk behind each participant, judged with the other side's turns.
        let agentBackground = BackgroundTalk.separate(
            segments: agentTrack.segments, levels: agentTrack.peaks, other: customerTrack.segments,
            duration: duration, parameters: parameters, keepAbove: agentTrack.softLevel)
        let customerBackground = BackgroundTalk.separate(
            segments: customerTrack.segments, levels: customerTrack.peaks, other: agentTrack.segments,
            duration: duration, parameters: parameters, keepAbove: customerTrack.softLevel)
        // The soft turns join after `BackgroundTalk`: they passed a stricter test of their own.
        let agentSegments = clamp((agentBackground.segments + agentTrack.softTurns).sorted { $0.start < $1.start }, to: duration)
        let customerSegments = clamp((customerBackground.segments + customerTrack.softTurns).sorted { $0.start < $1.start }, to: duration)

        func channel(_ track: ChannelTrack, _ segs: [Segment], other: [Segment]) -> ChannelAnalysis {
            let talk = segs.reduce(0) { $0 + $1.duration }
            return ChannelAnalysis(
                talkSeconds: talk.roundedToMilliseconds, segments: segs, segmentCount: segs.count,
                longestMonologueSeconds: ConversationMetrics.longestMonologue(segs, other: other),
                talkRatio: duration > 0 ? min(1, (talk / duration * 1000).rounded() / 1000) : 0,  // ends rounded to 1 ms may pass `duration`
                levels: track.meter.levels(), loudness: track.meter.loudnessScores())
        }
        let agent = channel(agentTrack, agentSegments, other: customerSegments)
        let customer = channel(customerTrack, customerSegments, other: agentSegments)
        // Leak into the customer channel comes from the agent, and the reverse.
        let minimumEvidence = Int(2 / geometry.frameSeconds)  // 2 s of the other side talking
        let agentEvidence = run.detector.pointee.echoEvidence(channel: map.agent, minimumFrames: minimumEvidence)
        let customerEvidence = run.detector.pointee.echoEvidence(channel: map.customer, minimumFrames: minimumEvidence)
        let agentCoupling = map.agent == 0 ? run.detector.pointee.coupling.0 : run.detector.pointee.coupling.1
        let customerCoupling = map.agent == 0 ? run.detector.pointee.coupling.1 : run.detector.pointee.coupling.0
        let echo = CallQuality.leak(customerEvidence, coupling: customerCoupling, frameSeconds: geometry.frameSeconds)
        let sidetone = CallQuality.leak(agentEvidence, coupling: agentCoupling, frameSeconds: geometry.frameSeconds)
        return CallAnalysis(
            recording: RecordingInfo(
                path: path, location: nil, contactId: ContactIdInName.find(in: path),
                durationSeconds: duration.roundedToMilliseconds, sampleRate: format.sampleRate, channels: format.channels,
                encoding: format.encodingName,
                agentChannel: ChannelMap.name(map.agent), customerChannel: ChannelMap.name(map.customer)),
            agent: agent,
            customer: customer,
            conversation: ConversationMetrics(agent: agentSegments, customer: customerSegments, duration: duration),
            quality: CallQuality(agent: agent, customer: customer, agentMusic: agentTrack.music, customerMusic: customerTrack.music,
                                 agentBackground: agentBackground, customerBackground: customerBackground,
                                 agentListening: (agentTrack.listeningShare, agentTrack.someoneElse, agentTrack.listening.heardLevel),
                                 customerListening: (customerTrack.listeningShare, customerTrack.someoneElse, customerTrack.listening.heardLevel),
                                 echo: echo, sidetone: sidetone, duration: duration),
            analyzer: AnalyzerInfo(version: CallAnalysis.version, hopSeconds: geometry.frameSeconds, fftSize: geometry.window))
    }

    /// Stages 1 and 2 and the block loop: reads `file` a block at a time, splits it into `run`'s
    /// blocks and frames and detects each. With one thread everything runs here in order. With
    /// two, this thread reads, splits and frames the left channel while a worker frames the right
    /// channel and then runs the detector on the block, two blocks in flight: the framers are two
    /// thirds of the work and independent, and the detector only needs both of a block's frames.
    /// Returns the frames read.
    static func stream(_ file: inout SoundFile, path: String, into run: AnalysisStream, threads: Int) throws(AudioInputError) -> Int64 {
        let format = file.format
        let block = run.blockFrames
        let interleavedShort = UnsafeMutablePointer<Int16>.allocate(capacity: 2 * block)
        let interleavedFloat = UnsafeMutablePointer<Float>.allocate(capacity: 2 * block)
        defer { interleavedShort.deallocate(); interleavedFloat.deallocate() }

        /// Reads and splits the next block into `b`; false at the end.
        func read(into b: StreamBlock) -> Bool {
            let n: Int
            if format.isPCM16 {
                n = file.read(into: interleavedShort, frames: block)
                if n > 0 { ChannelSplit.deinterleave(interleavedShort, frames: n, left: b.left, right: b.right) }
            } else {
                n = file.read(into: interleavedFloat, frames: block)
                if n > 0 { ChannelSplit.deinterleave(interleavedFloat, frames: n, left: b.left, right: b.right) }
            }
            b.samples = max(0, n)
            return n > 0
        }

        var framesRead: Int64 = 0
        if threads < 2 {
            let b = run.blocks[0]
            while read(into: b) {
                framesRead += Int64(b.samples)
                run.frame(channel: 0, b)
                run.frame(channel: 1, b)
                run.detectAndTrack(b)
            }
        } else {
            // The reader thread reads block i, frames its left channel, then feeds the tracks block
            // i-1's decisions and frees it; the worker frames block i's right channel and runs the
            // detector on it. Two blocks: the one being read and framed, the one being detected or tracked.
            // Every semaphore starts at 0 (libdispatch traps when one is freed below its initial value).
            let free = DispatchSemaphore(value: 0)                  // blocks the reader may fill
            for _ in run.blocks { free.signal() }
            let ready = DispatchSemaphore(value: 0)                 // blocks read (or the end)
            let leftDone = DispatchSemaphore(value: 0)              // blocks whose left channel is framed
            let detected = DispatchSemaphore(value: 0)              // blocks whose decisions are staged
            let finished = DispatchSemaphore(value: 0)              // the worker has seen the end
            let worker = Thread {
                var i = 0
                while true {
                    ready.wait()
                    let b = run.blocks[i % run.blocks.count]
                    if b.samples == 0 { break }
                    run.frame(channel: 1, b)
                    leftDone.wait()
                    run.detect(b)
                    detected.signal()
                    i += 1
                }
                finished.signal()
            }
            worker.start()
            /// Feeds block `k`'s decisions to the tracks once the worker has staged them, and frees it.
            func track(_ k: Int) {
                detected.wait()
                run.track(run.blocks[k % run.blocks.count])
                free.signal()
            }
            var i = 0
            while true {
                free.wait()
                let b = run.blocks[i % run.blocks.count]
                let more = read(into: b)
                ready.signal()
                if !more { break }
                framesRead += Int64(b.samples)
                run.frame(channel: 0, b)
                leftDone.signal()
                if i > 0 { track(i - 1) }
                i += 1
            }
            if i > 0 { track(i - 1) }
            finished.wait()
        }
        if let failure = file.sourceFailure {
            throw AudioInputError(path: path, problem: "read failed after \(framesRead) frames: \(failure)", unreadable: true)
        }
        if let problem = file.errorText() {
            throw AudioInputError(path: path, problem: "read failed after \(framesRead) frames (libsndfile: \(problem))")
        }
        if framesRead < format.frames {
            throw AudioInputError(
                path: path,
                problem: "truncated: header promises \(format.frames) frames, only \(framesRead) could be read")
        }
        return framesRead
    }

    static func clamp(_ segments: [Segment], to duration: Double) -> [Segment] {
        segments.compactMap { s in
            let e = min(s.end, duration)
            return e > s.start ? Segment(start: s.start.roundedToMilliseconds, end: e.roundedToMilliseconds) : nil
        }
    }
}

/// The contact ID Amazon Connect puts at the start of a recording's file name
/// (`<contactId>_<YYYYMMDDTHH:MM>_UTC.wav`). Not guaranteed to be there; a fallback for the join.
public enum ContactIdInName {
    /// The first UUID (8-4-4-4-12 hex) in the file name of `path`, lowercased; nil if none.
    public static func find(in path: String) -> String? {
        let name = Array((path.split(separator: "/").last.map(String.init) ?? path).utf8)
        let groups = [8, 4, 4, 4, 12]
        let total = 36
        guard name.count >= total else { return nil }
        func isHex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) }
        outer: for i in 0...(name.count - total) {
            if i > 0 && isHex(name[i - 1]) { continue }
            var p = i
            for (g, len) in groups.enumerated() {
                for _ in 0..<len { guard isHex(name[p]) else { continue outer }; p += 1 }
                if g < groups.count - 1 { guard name[p] == 45 else { continue outer }; p += 1 }
            }
            if p < name.count && isHex(name[p]) { continue }
            return String(decoding: name[i..<p], as: UTF8.self).lowercased()
        }
        return nil
    }
}
