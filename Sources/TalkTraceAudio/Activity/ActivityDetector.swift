import Foundation

/// One frame's verdict for one channel.
public struct FrameDecision: Sendable {
    /// Talk-like: enough SNR over the noise floor to extend a segment.
    public var weak: Bool
    /// Surely sound of this channel: high SNR, not echo, not a click. Music is judged on these.
    public var strong: Bool
    /// Strong and the participant's own: within `speechLevelGate` of their speech level and above
    /// a background talker's level when one is behind them (`LevelMixture`). These anchor talk.
    public var near: Bool
    /// Speech-band level of the frame (dBFS, full-scale sine = 0).
    public var levelDB: Float
    /// Whether the frame is digital silence (a dropout).
    public var dropout: Bool
    /// Whether the frame was judged to be the other channel's echo or sidetone.
    public var echo: Bool
    /// Sound of this channel's own room: weak, or talk-like but vetoed as echo on a channel where
    /// no leak of the other side is evidenced (there the echo test only keeps out what the room
    /// carries while the other side talks: a neighbour, a television). `ListeningSound` counts it.
    public var heard: Bool
    /// The frame's time-domain features, passed through for the level meter.
    public var features: FrameFeatures

    public init(weak: Bool, strong: Bool, near: Bool? = nil, levelDB: Float, dropout: Bool, echo: Bool, heard: Bool? = nil,
                features: FrameFeatures) {
        self.weak = weak; self.strong = strong; self.near = near ?? strong; self.heard = heard ?? weak
        self.levelDB = levelDB; self.dropout = dropout; self.echo = echo; self.features = features
    }
}

/// Stage 4 of the pipeline: per-frame talk / no-talk for both channels at once.
///
/// Per channel and band, the noise floor is tracked by minimum statistics; a frame's score is its
/// mean band SNR over that floor (dB, negative bands count as 0). Decisions wait `lookahead` so the
/// floor has seen the frames around the one being judged. Three tests keep non-speech out of the
/// strong frames that start segments:
/// - **level**: within `speechLevelGate` dB of the channel's own speech level (the median of its
///   strong-frame levels, or of their loud cluster when the quiet one talks over the other side
///   like a TV or a neighbour, `LevelMixture`: a median, so one shouted or clipped utterance does
///   not lift it), so background talkers and quiet crosstalk never start talk;
/// - **echo**: the coupling from the other channel is learnt as the median level ratio while the
///   other channel talks; a frame no louder than the other channel's recent level (max over
///   0–120 ms) times that coupling, plus `echoMargin`, is echo or sidetone — unless no leak is
///   evidenced (envelope correlation under `echoLeakCorrelation`) and the frame clearly talks
///   (`strongSNR` + 5 dB over the floor) or is as loud as the participant (`ownLevelGate`);
/// - **clicks**: a window whose energy sits in a handful of samples is impulsive.
///
/// Frames are fed in pairs with `push(left:right:)`; decisions come out `lookahead` frames later
/// through the callback, in order, one pair per frame. `finish` drains the rest.
public struct ActivityDetector: ~Copyable {
    public let parameters: ActivityParameters
    let bands: Int
    let lookahead: Int
    let echoLags: Int
    let ringSize: Int
    private var noise0: NoiseTracker
    private var noise1: NoiseTracker
    /// Rings of `ringSize` frames: band power per channel, hop features, speech-band level (dB), score.
    private let bandRing: UnsafeMutablePointer<Float>   // [2][ringSize][bands]
    private let levelRing: UnsafeMutablePointer<Float>  // [2][ringSize]
    private let dropoutRing: UnsafeMutablePointer<Bool> // [2][ringSize]
    private let featureRing: UnsafeMutablePointer<FrameFeatures> // [2][ringSize]
    /// Strong-frame levels per channel as a mixture (`LevelMixture`), for the speech level: the
    /// participant's loud cluster when a background talker who talks more is behind them.
    private var levelHistogram: (LevelMixture, LevelMixture)
    /// Histograms of this-minus-other level ratios while the other channel talks, for echo coupling.
    private var couplingHistogram: (LevelHistogram, LevelHistogram)
    /// Current estimates (dB); nil until there is enough evidence.
    public private(set) var speechLevel: (Float?, Float?) = (nil, nil)
    /// The level between the participant and a background talker behind them (`LevelMixture`),
    /// when there is one: strong frames must be above it.
    public private(set) var backgroundCeiling: (Float?, Float?) = (nil, nil)
    public private(set) var coupling: (Float?, Float?) = (nil, nil)
    /// Whether each channel has an evidenced leak of the other side (`echoLeakCorrelation`),
    /// re-read with the coupling; until there is evidence, it is assumed (the test in full).
    private var leaks: (Bool, Bool) = (true, true)
    /// Envelope correlation of each channel with the other's delayed level (channel 0 = left).
    public private(set) var echo0: EchoEvidence
    public private(set) var echo1: EchoEvidence
    /// The best delay for each channel's echo evidence (see `EchoEvidence.best`).
    public func echoEvidence(channel: Int, minimumFrames: Int) -> (lag: Int, correlation: Double, ratioDB: Double)? {
        channel == 0 ? echo0.best(minimumFrames: minimumFrames) : echo1.best(minimumFrames: minimumFrames)
    }
    /// Bands averaged into a frame's score, and scratch for picking them.
    let scoreBands: Int
    /// Evidence needed before the speech level and coupling are trusted, and how often they are
    /// re-read, in frames (1 s, 2 s, 0.5 s whatever the hop).
    let levelFrames: Int, couplingFrames: Int, refreshFrames: Int
    private let bestRatios: UnsafeMutablePointer<Float>
    private var framesIn: Int = 0
    private var framesOut: Int = 0
    /// Each channel's strong verdict on the previous frame: whether the other side talks, for the
    /// turn-taking evidence of `LevelMixture` (echo and sidetone excluded, which a raw score is not).
    private var talked: (Bool, Bool) = (false, false)
    /// Histogram counts at the last reading (level 0, level 1, coupling 0, coupling 1).
    private var lastRead = (-1, -1, -1, -1)

    public init(parameters: ActivityParameters, geometry: FrameGeometry) {
        self.parameters = parameters
        self.bands = geometry.bandCount
        self.scoreBands = max(1, min(geometry.bandCount, parameters.scoreBands))
        self.levelFrames = max(1, Int((1.0 / geometry.frameSeconds).rounded()))
        self.couplingFrames = max(1, Int((2.0 / geometry.frameSeconds).rounded()))
        self.refreshFrames = max(1, Int((0.5 / geometry.frameSeconds).rounded()))
        self.bestRatios = .allocate(capacity: 2 * geometry.bandCount)
        self.bestRatios.initialize(repeating: 0, count: 2 * geometry.bandCount)
        let fps = 1 / geometry.frameSeconds
        self.lookahead = max(0, Int((parameters.lookaheadSeconds * fps).rounded()))
        self.echoLags = max(0, Int((parameters.echoMaxDelaySeconds * fps).rounded()))
        self.ringSize = lookahead + echoLags + 1
        let sub = Int((parameters.noiseWindowSeconds * fps / Double(parameters.noiseSubWindows)).rounded())
        // The smoothing factor is given for a 10 ms hop; keep its time constant at other hops.
        let alpha = powf(parameters.noiseSmoothing, Float(geometry.frameSeconds / 0.010))
        func tracker() -> NoiseTracker {
            NoiseTracker(bands: geometry.bandCount, subWindowFrames: sub, subWindows: parameters.noiseSubWindows,
                         smoothing: alpha, biasDB: parameters.noiseBias)
        }
        self.noise0 = tracker()
        self.noise1 = tracker()
        bandRing = .allocate(capacity: 2 * ringSize * bands)
        bandRing.initialize(repeating: 0, count: 2 * ringSize * bands)
        levelRing = .allocate(capacity: 2 * ringSize)
        levelRing.initialize(repeating: -200, count: 2 * ringSize)
        dropoutRing = .allocate(capacity: 2 * ringSize)
        dropoutRing.initialize(repeating: true, count: 2 * ringSize)
        featureRing = .allocate(capacity: 2 * ringSize)
        featureRing.initialize(repeating: FrameFeatures(), count: 2 * ringSize)
        levelHistogram = (LevelMixture(), LevelMixture())
        echo0 = EchoEvidence(lags: echoLags)
        echo1 = EchoEvidence(lags: echoLags)
        couplingHistogram = (LevelHistogram(), LevelHistogram())
    }

    deinit {
        bandRing.deallocate(); bestRatios.deallocate(); levelRing.deallocate(); dropoutRing.deallocate(); featureRing.deallocate()
    }

    /// Feeds frame `framesIn` of both channels (band power from the framer, plus hop features).
    /// Calls `decide(leftDecision, rightDecision)` for frame `framesIn - lookahead` when there is one.
    @inline(__always)
    public mutating func push(
        left: UnsafePointer<Float>, leftFeatures: FrameFeatures,
        right: UnsafePointer<Float>, rightFeatures: FrameFeatures,
        decide: (FrameDecision, FrameDecision) -> Void
    ) {
        let slot = framesIn % ringSize
        store(channel: 0, slot: slot, power: left, features: leftFeatures)
        store(channel: 1, slot: slot, power: right, features: rightFeatures)
        if !dropoutRing[slot] { noise0.update(left) }
        if !dropoutRing[ringSize &+ slot] { noise1.update(right) }
        framesIn &+= 1
        if framesIn > lookahead {
            emitNext(decide)
        }
    }

    /// Decides every frame still waiting for lookahead.
    public mutating func finish(decide: (FrameDecision, FrameDecision) -> Void) {
        while framesOut < framesIn { emitNext(decide) }
    }

    @inline(__always)
    private mutating func store(channel: Int, slot: Int, power: UnsafePointer<Float>, features: FrameFeatures) {
        let dst = bandRing + (channel &* ringSize &+ slot) &* bands
        var total: Float = 0
        for b in 0..<bands { dst[b] = power[b]; total += power[b] }
        let idx = channel &* ringSize &+ slot
        levelRing[idx] = decibels(total)
        dropoutRing[idx] = decibels(features.hopPower) < parameters.dropoutLevel
        featureRing[idx] = features
    }

    /// Full-scale sine = 0 dBFS for a mean-square power.
    @inline(__always)
    func decibels(_ power: Float) -> Float { power > 1e-20 ? 10 * log10f(2 * power) : -200 }

    /// Mean of max(0, band SNR in dB) over the `scoreBands` best bands, with one logarithm per
    /// frame (the mean of logs is the log of the product). Speech in noise lights up the bands of
    /// its formants, not all twelve: averaging the best half keeps low-SNR talk visible.
    @inline(__always)
    private func score(channel: Int, slot: Int, floor: UnsafeMutablePointer<Float>) -> Float {
        let p = bandRing + (channel &* ringSize &+ slot) &* bands
        let top = scoreBands
        let ratios = bestRatios + bands  // scratch: this frame's ratios
        var all: Double = 1
        var b = 0
        // Four bands at a time, the same operations lane by lane as the scalar remainder (which
        // reads best): the band loop was 6 % of an analysis.
        while b &+ 4 <= bands {
            let f = UnsafeRawPointer(floor + b).loadUnaligned(as: SIMD4<Float>.self)
            let q = UnsafeRawPointer(p + b).loadUnaligned(as: SIMD4<Float>.self)
            var ratio = q / f
            ratio.replace(with: 1e12, where: SIMD4<Float>(repeating: 1e12) .< ratio)  // min(p / f, 1e12)
            let noFloor = SIMD4<Float>(repeating: 1).replacing(with: 1000, where: q .> 1e-12)
            ratio.replace(with: noFloor, where: .!((f .> 0) .& (f .< .infinity)))
            UnsafeMutableRawPointer(ratios + b).storeBytes(of: ratio, as: SIMD4<Float>.self)
            for k in 0..<4 where ratio[k] > 1 { all *= Double(ratio[k]) }
            b &+= 4
        }
        while b < bands {
            let f = floor[b]
            var ratio: Float
            if f.isFinite, f > 0 {
                ratio = min(p[b] / f, 1e12)
            } else {
                ratio = p[b] > 1e-12 ? 1000 : 1  // no floor yet (digital silence until now): 30 dB
            }
            ratios[b] = ratio
            if ratio > 1 { all *= Double(ratio) }
            b &+= 1
        }
        // The score is only ever compared with `weakSNR`, `strongSNR` and `strongSNR + 5`. With
        // S the dB sum over every band above its floor, the exact score lies in [S/bands, S/top]:
        // when that interval cannot straddle a threshold, either bound gives the same decisions,
        // and the selection below is skipped (most frames: clear noise or clear talk).
        let sum = 10 * Float(log10(all))
        if sum / Float(top) <= parameters.weakSNR { return sum / Float(top) }
        if sum / Float(bands) > parameters.strongSNR + 5 { return sum / Float(bands) }
        // Insertion into a small descending list of the best ratios.
        let best = bestRatios
        var kept = 0
        for b in 0..<bands {
            let ratio = ratios[b]
            if ratio <= 1 { continue }
            if kept < top {
                var k = kept
                while k > 0, best[k &- 1] < ratio { best[k] = best[k &- 1]; k &-= 1 }
                best[k] = ratio
                kept &+= 1
            } else if ratio > best[top &- 1] {
                var k = top &- 1
                while k > 0, best[k &- 1] < ratio { best[k] = best[k &- 1]; k &-= 1 }
                best[k] = ratio
            }
        }
        var product: Double = 1
        for k in 0..<kept { product *= Double(best[k]) }
        return 10 * Float(log10(product)) / Float(top)
    }

    @inline(__always)
    private mutating func emitNext(_ decide: (FrameDecision, FrameDecision) -> Void) {
        let t = framesOut
        let slot = t % ringSize
        let s0 = score(channel: 0, slot: slot, floor: noise0.floor)
        let s1 = score(channel: 1, slot: slot, floor: noise1.floor)
        let l0 = levelRing[slot], l1 = levelRing[ringSize &+ slot]
        // The other channel's loudest level in the echo window ending at this frame.
        // The other channel's loudest level in the echo window, only when something reads it:
        // the coupling histogram (the other side clearly talks) or the echo test (coupling known).
        let threshold = parameters.strongSNR + 5
        let need1 = s1 > threshold || coupling.0 != nil  // channel 0 reads channel 1's level
        let need0 = s0 > threshold || coupling.1 != nil
        var recent0: Float = -200, recent1: Float = -200
        if need0 || need1 {
            let lags = min(echoLags, t)
            var s = slot
            for _ in 0...lags {
                recent0 = max(recent0, levelRing[s])
                recent1 = max(recent1, levelRing[ringSize &+ s])
                s = s == 0 ? ringSize &- 1 : s &- 1
            }
        }
        let d0 = decideOne(channel: 0, slot: slot, score: s0, level: l0, otherScore: s1, otherRecent: recent1)
        let d1 = decideOne(channel: 1, slot: slot, score: s1, level: l1, otherScore: s0, otherRecent: recent0)
        // Echo evidence: while one channel clearly talks and the other does not, how well does the
        // quiet channel's level follow the talker's, and at which delay?
        if s1 > parameters.strongSNR + 5, !d0.strong, !d0.dropout { echo0.add(level: l0, slot: slot, otherRing: levelRing + ringSize, ringSize: ringSize, lags: min(echoLags, t)) }
        if s0 > parameters.strongSNR + 5, !d1.strong, !d1.dropout { echo1.add(level: l1, slot: slot, otherRing: levelRing, ringSize: ringSize, lags: min(echoLags, t)) }
        framesOut &+= 1
        talked = (d0.near, d1.near)
        decide(d0, d1)
    }

    @inline(__always)
    private mutating func decideOne(
        channel: Int, slot: Int, score: Float, level: Float, otherScore: Float, otherRecent: Float
    ) -> FrameDecision {
        let p = parameters
        let idx = channel &* ringSize &+ slot
        let dropout = dropoutRing[idx]
        let features = featureRing[idx]
        if dropout {
            return FrameDecision(weak: false, strong: false, levelDB: level, dropout: true, echo: false, features: features)
        }
        // Learn the coupling from the other channel while it clearly talks.
        if otherScore > p.strongSNR + 5 {
            if channel == 0 { couplingHistogram.0.add(level - otherRecent) } else { couplingHistogram.1.add(level - otherRecent) }
        }
        let coupling = channel == 0 ? self.coupling.0 : self.coupling.1
        // Echo and sidetone are always well down on the talker (return loss): a coupling near 0 dB
        // means two people talking, not a leak, and must not silence either of them.
        var echo = coupling.map { $0 <= p.maxEchoCoupling && level <= otherRecent + $0 + p.echoMargin } ?? false
        // Without an evidenced leak (the level does not follow the other side's at a fixed delay)
        // the "coupling" is only how loud this channel's room is while the other side talks: the
        // test still keeps that room (neighbouring agents, noise) out while the other side talks,
        // but a frame that clearly talks (`strongSNR + 5` over the floor in its best bands, the
        // level at which the other side counts as talking) is the participant's own word, not a
        // leak: on the hard corpus the agent's soft words while the caller talks, which a
        // coupling learnt from a television on the other channel called echo.
        // The same holds for a frame as loud as the participant (within `ownLevelGate` of their
        // speech level), however little it clears a floor that the room itself raises: on
        // corpus-hard the agent's words under the caller's talk, 4–6 dB under the agent's level
        // but under 17 dB over a floor that line noise and neighbours lift.
        let leak = channel == 0 ? leaks.0 : leaks.1
        let speech = channel == 0 ? speechLevel.0 : speechLevel.1
        if echo, !leak, score > p.strongSNR + 5 || speech.map({ level >= $0 - p.ownLevelGate }) == true { echo = false }
        // Extent: a frame far under the talker's own level is breath, line floor or a decay
        // no listener hears as talk, however far it is above a very quiet line's noise.
        let audible = speech.map { level >= $0 - p.extentLevelGate } ?? true
        let weak = score > p.weakSNR && !echo && audible
        let heard = weak || (score > p.weakSNR && audible && !leak)
        if channel == 0 { levelHistogram.0.observe(otherTalks: talked.1) } else { levelHistogram.1.observe(otherTalks: talked.0) }
        let strong = weak && score > p.strongSNR && !featureRing[idx].impulsive
        var near = strong
        if strong {
            let otherTalks = channel == 0 ? talked.1 : talked.0
            if channel == 0 { levelHistogram.0.add(level, otherTalks: otherTalks) } else { levelHistogram.1.add(level, otherTalks: otherTalks) }
            if let speech, level < speech - p.speechLevelGate { near = false }
            if let ceiling = channel == 0 ? backgroundCeiling.0 : backgroundCeiling.1, level < ceiling { near = false }
        }
        refreshEstimates(channel: channel)
        return FrameDecision(weak: weak, strong: strong, near: near, levelDB: level, dropout: false, echo: echo, heard: heard,
                             features: features)
    }

    /// Re-reads the speech level and coupling from their histograms every `refreshFrames` (0.5 s)
    /// added, once there is 1 s of strong talk (speech level) or 2 s of the other side (coupling).
    @inline(__always)
    private mutating func refreshEstimates(channel: Int) {
        // Each reading once per count reached: the histograms do not change between additions.
        if channel == 0 {
            if levelHistogram.0.count >= levelFrames, levelHistogram.0.count % refreshFrames == 0, levelHistogram.0.count != lastRead.0 {
                lastRead.0 = levelHistogram.0.count
                let reading = levelHistogram.0.participantLevel(separation: parameters.backgroundFrameSeparation,
                                                                 turnTakingMargin: parameters.backgroundTurnTakingMargin)
                speechLevel.0 = reading?.level
                backgroundCeiling.0 = reading?.background
            }
            if couplingHistogram.0.count >= couplingFrames, couplingHistogram.0.count % refreshFrames == 0, couplingHistogram.0.count != lastRead.2 {
                lastRead.2 = couplingHistogram.0.count
                coupling.0 = couplingHistogram.0.percentile(0.5)
                leaks.0 = (echo0.best(minimumFrames: couplingFrames)?.correlation ?? 1) >= parameters.echoLeakCorrelation
            }
        } else {
            if levelHistogram.1.count >= levelFrames, levelHistogram.1.count % refreshFrames == 0, levelHistogram.1.count != lastRead.1 {
                lastRead.1 = levelHistogram.1.count
                let reading = levelHistogram.1.participantLevel(separation: parameters.backgroundFrameSeparation,
                                                                 turnTakingMargin: parameters.backgroundTurnTakingMargin)
                speechLevel.1 = reading?.level
                backgroundCeiling.1 = reading?.background
            }
            if couplingHistogram.1.count >= couplingFrames, couplingHistogram.1.count % refreshFrames == 0, couplingHistogram.1.count != lastRead.3 {
                lastRead.3 = couplingHistogram.1.count
                coupling.1 = couplingHistogram.1.percentile(0.5)
                leaks.1 = (echo1.best(minimumFrames: couplingFrames)?.correlation ?? 1) >= parameters.echoLeakCorrelation
            }
        }
    }
}

/// Running sums for the Pearson correlation between a channel's frame level and the other
/// channel's level `lag` frames earlier, for every lag up to the echo window: a leak of the
/// other's voice follows it at a fixed delay; independent sound does not. Sums live in one
/// fixed buffer (`[5][lags + 1]`: Σy, Σy², Σxy, Σ(x−y)), so adding a frame allocates nothing.
public struct EchoEvidence: ~Copyable {
    let lags: Int
    private var n = 0
    private var sx = 0.0, sxx = 0.0
    private let sums: UnsafeMutablePointer<Double>

    init(lags: Int) {
        self.lags = lags
        sums = .allocate(capacity: 4 * (lags + 1))
        sums.initialize(repeating: 0, count: 4 * (lags + 1))
    }

    deinit { sums.deallocate() }

    @inline(__always)
    mutating func add(level: Float, slot: Int, otherRing: UnsafeMutablePointer<Float>, ringSize: Int, lags available: Int) {
        guard available == lags else { return }  // only once the whole window exists
        let x = Double(max(level, -100))
        n &+= 1
        sx += x; sxx += x * x
        let stride = lags &+ 1
        let sy = sums, syy = sums + stride, sxy = sums + 2 &* stride, sr = sums + 3 &* stride
        var s = slot
        for lag in 0...lags {
            let y = Double(max(otherRing[s], -100))
            sy[lag] += y; syy[lag] += y * y; sxy[lag] += x * y; sr[lag] += x - y
            s = s == 0 ? ringSize &- 1 : s &- 1
        }
    }

    /// Frames that contributed.
    public var frames: Int { n }

    /// The best lag (frames), its correlation and the mean level ratio there (dB); nil with too
    /// little evidence.
    public func best(minimumFrames: Int) -> (lag: Int, correlation: Double, ratioDB: Double)? {
        guard n >= minimumFrames else { return nil }
        let nd = Double(n), stride = lags + 1
        var best: (Int, Double, Double)?
        for lag in 0...lags {
            let sy = sums[lag], syy = sums[stride + lag], sxy = sums[2 * stride + lag], sr = sums[3 * stride + lag]
            let cov = sxy / nd - (sx / nd) * (sy / nd)
            let vx = sxx / nd - (sx / nd) * (sx / nd), vy = syy / nd - (sy / nd) * (sy / nd)
            guard vx > 1e-9, vy > 1e-9 else { continue }
            let r = cov / (vx * vy).squareRoot()
            if best == nil || r > best!.1 { best = (lag, r, sr / nd) }
        }
        return best
    }
}
