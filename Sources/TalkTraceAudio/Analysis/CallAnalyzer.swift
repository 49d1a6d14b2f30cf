import Foundation

/// How to analyze a call.
public struct AnalysisOptions: Sendable, Equatable {
    /// Which channel is the agent (default: Amazon Connect's, agent right).
    public var channelMap: ChannelMap = .connect
    public var parameters = ActivityParameters()
    /// Frames read from libsndfile per block: the unit of streaming (memory is a few of these).
    public var blockFrames = 8192

    public init(channelMap: ChannelMap = .connect, parameters: ActivityParameters = ActivityParameters()) {
        self.channelMap = channelMap
        self.parameters = parameters
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
    /// Mean spectral flux of each segment, parallel to `segments`.
    var fluxes: [Float] = []
    let musicMaxFlux: Float
    let levelGate: Float
    let frameSeconds: Double
    let hop: Int

    init(parameters: ActivityParameters, geometry: FrameGeometry) {
        builder = SegmentBuilder(parameters: parameters, frameSeconds: geometry.frameSeconds)
        meter = LevelMeter(frameSeconds: geometry.frameSeconds)
        frameSeconds = geometry.frameSeconds
        hop = geometry.hop
        levelGate = parameters.segmentLevelGate
        musicMaxFlux = parameters.musicMaxFlux
    }

    @inline(__always)
    mutating func take(_ d: FrameDecision) {
        if let outcome = builder.push(d) { settle(outcome) }
        meter.push(features: d.features, hopSamples: hop, decision: d, inCandidate: builder.inCandidate)
    }

    mutating func finish() {
        if let outcome = builder.finish() { settle(outcome) }
        absorbMusicFragments()
        dropBackground()
    }

    /// Pieces of music too short to be judged alone (a chord change, the last second before the
    /// music stops; the noise floor adapts to long music, so it comes back in pieces) are music:
    /// as steady as music and within 5 s of music, or touching it (within 0.5 s). Spans chain
    /// forward and backward, so a long hold is absorbed piece by piece.
    mutating func absorbMusicFragments() {
        guard !music.isEmpty else { return }
        var keep = [Bool](repeating: true, count: segments.count)
        func reach(_ i: Int) -> Double { fluxes[i] < musicMaxFlux ? 5.0 : 0.5 }
        for order in [Array(segments.indices), Array(segments.indices.reversed())] {
            for i in order where keep[i] {
                let s = segments[i], r = reach(i)
                if music.contains(where: { s.start < $0.end + r && s.end > $0.start - r }) {
                    keep[i] = false
                    music.append(s)
                }
            }
        }
        segments = segments.indices.filter { keep[$0] }.map { segments[$0] }
        peaks = peaks.indices.filter { keep[$0] }.map { peaks[$0] }
        fluxes = fluxes.indices.filter { keep[$0] }.map { fluxes[$0] }
    }

    /// Drops segments far quieter than the channel's own talk: the reference is the peak level
    /// that half of the talk time reaches (a duration-weighted median), so the main talker sets it.
    mutating func dropBackground() {
        guard segments.count > 1 else { return }
        let order = peaks.indices.sorted { peaks[$0] > peaks[$1] }
        let total = segments.reduce(0) { $0 + $1.duration }
        var acc = 0.0, reference = peaks[order[0]]
        for i in order {
            acc += segments[i].duration
            reference = peaks[i]
            if acc >= total / 2 { break }
        }
        var kept: [Segment] = [], keptPeaks: [Float] = []
        for (s, p) in zip(segments, peaks) where p >= reference - levelGate {
            kept.append(s); keptPeaks.append(p)
        }
        segments = kept
        peaks = keptPeaks
        fluxes = []  // no longer parallel; not needed after this point
    }

    private mutating func settle(_ outcome: SegmentBuilder.Outcome) {
        switch outcome {
        case let .accepted(start, end, peak, flux):
            segments.append(Segment(start: Double(start) * frameSeconds, end: Double(end) * frameSeconds))
            peaks.append(peak)
            fluxes.append(flux)
            meter.settle(accepted: true)
        case let .music(start, end):
            music.append(Segment(start: Double(start) * frameSeconds, end: Double(end) * frameSeconds))
            meter.settle(accepted: false)
        case .rejected:
            meter.settle(accepted: false)
        }
    }
}

/// The whole pipeline for one recording: read (libsndfile, streaming) -> split -> spectral frames
/// (FFTW) -> activity -> segments and levels -> conversation metrics.
public enum CallAnalyzer {
    /// Analyzes the recording at `path`.
    /// - Throws: `AudioInputError` for anything that makes the file unusable, naming the file.
    public static func analyze(path: String, options: AnalysisOptions = AnalysisOptions()) throws(AudioInputError) -> CallAnalysis {
        var file = try SoundFile(path: path)
        let format = file.format
        let geometry = FrameGeometry(sampleRate: format.sampleRate, hopSeconds: options.parameters.hopSeconds)
        var parameters = options.parameters
        parameters.hopSeconds = geometry.frameSeconds

        var framer0 = SpectralFramer(geometry: geometry, fullScale: format.fullScale)
        var framer1 = SpectralFramer(geometry: geometry, fullScale: format.fullScale)
        var detector = ActivityDetector(parameters: parameters, geometry: geometry)
        var tracks = (ChannelTrack(parameters: parameters, geometry: geometry),
                      ChannelTrack(parameters: parameters, geometry: geometry))

        let block = max(options.blockFrames, geometry.window)
        let bands = geometry.bandCount
        let maxFrames = block / geometry.hop + 2
        let interleavedShort = UnsafeMutablePointer<Int16>.allocate(capacity: 2 * block)
        let interleavedFloat = UnsafeMutablePointer<Float>.allocate(capacity: 2 * block)
        let left = UnsafeMutablePointer<Float>.allocate(capacity: block)
        let right = UnsafeMutablePointer<Float>.allocate(capacity: block)
        let bandScratch = UnsafeMutablePointer<Float>.allocate(capacity: bands)
        let staged = (UnsafeMutablePointer<Float>.allocate(capacity: maxFrames * bands),
                      UnsafeMutablePointer<Float>.allocate(capacity: maxFrames * bands))
        let stagedFeatures = (UnsafeMutablePointer<FrameFeatures>.allocate(capacity: maxFrames),
                              UnsafeMutablePointer<FrameFeatures>.allocate(capacity: maxFrames))
        defer {
            interleavedShort.deallocate(); interleavedFloat.deallocate(); left.deallocate(); right.deallocate()
            bandScratch.deallocate()
            staged.0.deallocate(); staged.1.deallocate(); stagedFeatures.0.deallocate(); stagedFeatures.1.deallocate()
        }

        var framesRead: Int64 = 0
        var framesEmitted: Int64 = 0

        // Pairs staged frames of both channels and runs the detector on them.
        func runDetector(frames: Int) {
            for k in 0..<frames {
                detector.push(
                    left: staged.0 + k * bands, leftFeatures: stagedFeatures.0[k],
                    right: staged.1 + k * bands, rightFeatures: stagedFeatures.1[k]
                ) { d0, d1 in
                    tracks.0.take(d0)
                    tracks.1.take(d1)
                }
            }
        }

        while true {
            let n: Int
            if format.isPCM16 {
                n = file.read(into: interleavedShort, frames: block)
                if n > 0 { ChannelSplit.deinterleave(interleavedShort, frames: n, left: left, right: right) }
            } else {
                n = file.read(into: interleavedFloat, frames: block)
                if n > 0 { ChannelSplit.deinterleave(interleavedFloat, frames: n, left: left, right: right) }
            }
            if n <= 0 { break }
            framesRead += Int64(n)
            var c0 = 0, c1 = 0
            framer0.push(left, count: n, bands: bandScratch) { b, f in
                (staged.0 + c0 * bands).update(from: b, count: bands)
                stagedFeatures.0[c0] = f
                c0 += 1
            }
            framer1.push(right, count: n, bands: bandScratch) { b, f in
                (staged.1 + c1 * bands).update(from: b, count: bands)
                stagedFeatures.1[c1] = f
                c1 += 1
            }
            runDetector(frames: c0)
            framesEmitted += Int64(c0)
        }
        if let problem = file.errorText() {
            throw AudioInputError(path: path, problem: "read failed after \(framesRead) frames (libsndfile: \(problem))")
        }
        if framesRead < format.frames {
            throw AudioInputError(
                path: path,
                problem: "truncated: header promises \(format.frames) frames, only \(framesRead) could be read")
        }
        // Drain: zero-pad the last window, then the detector's lookahead.
        var c0 = 0, c1 = 0
        framer0.flush(totalSamples: framesRead, framesEmitted: framesEmitted, bands: bandScratch) { b, f in
            (staged.0 + c0 * bands).update(from: b, count: bands); stagedFeatures.0[c0] = f; c0 += 1
        }
        framer1.flush(totalSamples: framesRead, framesEmitted: framesEmitted, bands: bandScratch) { b, f in
            (staged.1 + c1 * bands).update(from: b, count: bands); stagedFeatures.1[c1] = f; c1 += 1
        }
        runDetector(frames: c0)
        detector.finish { d0, d1 in
            tracks.0.take(d0)
            tracks.1.take(d1)
        }
        tracks.0.finish()
        tracks.1.finish()

        let duration = Double(framesRead) / Double(format.sampleRate)
        let map = options.channelMap
        let agentTrack = map.agent == 0 ? tracks.0 : tracks.1
        let customerTrack = map.agent == 0 ? tracks.1 : tracks.0
        let agentSegments = clamp(agentTrack.segments, to: duration)
        let customerSegments = clamp(customerTrack.segments, to: duration)

        func channel(_ track: ChannelTrack, _ segs: [Segment], other: [Segment]) -> ChannelAnalysis {
            let talk = segs.reduce(0) { $0 + $1.duration }
            return ChannelAnalysis(
                talkSeconds: talk.roundedToMilliseconds, segments: segs, segmentCount: segs.count,
                longestMonologueSeconds: ConversationMetrics.longestMonologue(segs, other: other),
                talkRatio: duration > 0 ? (talk / duration * 1000).rounded() / 1000 : 0,
                levels: track.meter.levels(), loudness: track.meter.loudnessScores())
        }
        let agent = channel(agentTrack, agentSegments, other: customerSegments)
        let customer = channel(customerTrack, customerSegments, other: agentSegments)
        // Leak into the customer channel comes from the agent, and the reverse.
        let minimumEvidence = Int(2 / geometry.frameSeconds)  // 2 s of the other side talking
        let agentEvidence = detector.echoEvidence(channel: map.agent, minimumFrames: minimumEvidence)
        let customerEvidence = detector.echoEvidence(channel: map.customer, minimumFrames: minimumEvidence)
        let agentCoupling = map.agent == 0 ? detector.coupling.0 : detector.coupling.1
        let customerCoupling = map.agent == 0 ? detector.coupling.1 : detector.coupling.0
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
                                 echo: echo, sidetone: sidetone, duration: duration),
            analyzer: AnalyzerInfo(version: CallAnalysis.version, hopSeconds: geometry.frameSeconds, fftSize: geometry.window))
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
