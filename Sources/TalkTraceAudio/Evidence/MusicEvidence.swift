/// Whether a candidate segment is music (or a tone) rather than talk, from the strong frames it
/// holds. One candidate at a time; three sums, nothing per frame is kept.
///
/// Two measures, both read on strong frames only (well above the noise floor, where steady noise
/// cannot pass for a steady note):
/// - **flux** (`FrameFeatures.flux`): how much the band spectrum changes in 40 ms. Held chords
///   and tones sit near 0.1; speech never went below 0.46 on the eval corpora. Recorded music
///   with a beat and a melody reaches speech's range (0.2–0.5), so flux alone only finds tones.
/// - **stability** (`FrameFeatures.stability`): how well the fine spectrum (partials on their
///   FFT bins) repeats 100 ms later. A note's partials stay put; a voice's harmonics glide with
///   its pitch and its formants move. Recorded music on hold: 0.58–0.90 per candidate; speech
///   0.36–0.73 (synthetic monotone voices are the stable end).
///
/// Neither separates alone; their difference, *steadiness* = stability − flux, does better:
/// music 0.15–0.72 per candidate, speech −0.3…0.26 (eval corpora, 700 speech candidates with
/// 1 s of strong frames, 17 of music). A candidate is music when it is clearly steady
/// (`musicSteadiness`), or steady at all and longer than anyone talks without a breath
/// (`musicLongSeconds` of strong frames with pauses under 300 ms bridged; speech candidates
/// reached 3 s, music on hold runs for as long as the hold). Cost: three additions per strong frame.
public struct MusicEvidence: Sendable, Equatable {
    public private(set) var frames = 0
    private var fluxSum: Float = 0
    private var stabilitySum: Float = 0

    public init() {}

    @inline(__always)
    public mutating func add(_ features: FrameFeatures) {
        frames &+= 1
        fluxSum += features.flux
        stabilitySum += features.stability
    }

    public var meanFlux: Float { frames > 0 ? fluxSum / Float(frames) : 0 }
    public var meanStability: Float { frames > 0 ? stabilitySum / Float(frames) : 0 }
    /// Stability minus flux: high for music, low for speech.
    public var steadiness: Float { meanStability - meanFlux }

    /// Whether a candidate with this evidence is music, judged on its own.
    public func isMusic(_ p: ActivityParameters, frameSeconds: Double) -> Bool {
        let seconds = Double(frames) * frameSeconds
        guard seconds >= p.musicMinSeconds else { return false }
        if meanFlux < p.musicMaxFlux || steadiness > p.musicSteadiness { return true }
        return seconds >= p.musicLongSeconds && steadiness > p.musicLongSteadiness
    }

    /// Whether a piece too short to judge alone, next to music, is more of it.
    public static func isFragment(steadiness: Float, flux: Float, _ p: ActivityParameters) -> Bool {
        flux < p.musicMaxFlux || steadiness > p.musicFragmentSteadiness
    }
}
