/// The knobs of talk detection, in the units a reader can check: dB, seconds, frames never.
/// One set serves every call; nothing is tuned per file.
public struct ActivityParameters: Sendable, Equatable, Codable {
    /// Seconds between frames (`FrameGeometry.defaultHopSeconds`, 20 ms).
    public var hopSeconds = FrameGeometry.defaultHopSeconds
    /// A frame's score is its mean SNR over the noise floor in its `scoreBands` best bands (dB).
    public var scoreBands = 6
    /// A frame is *weak* talk when its mean band SNR over the noise floor exceeds this (dB).
    /// Weak frames set the extent of a segment.
    public var weakSNR: Float = 6
    /// Weak frames must also be within this many dB of the channel's speech level: on a quiet
    /// line a breath or a decay 35 dB under the talker is still 6 dB over the floor, but it is
    /// not heard as talk (the eval corpora's truth ends talk 25–30 dB under the talker's level).
    public var extentLevelGate: Float = 30
    /// A frame is *strong* talk when its mean band SNR exceeds this (dB) and it passes the level,
    /// echo and click tests. A segment needs `minStrongSeconds` of strong frames.
    public var strongSNR: Float = 12
    /// Strong frames must be within this many dB of the channel's speech level, so background
    /// talkers (14–20 dB down) never start a segment.
    public var speechLevelGate: Float = 14.0
    /// Strong talk a candidate segment needs (seconds). Clicks last a window, not this long.
    public var minStrongSeconds = 0.05
    /// Pauses shorter than this are bridged into one segment (seconds): the 300 ms convention.
    public var bridgeSeconds = 0.300
    /// Talk reaches at most this far before a segment's first strong frame and after its last
    /// (seconds): onsets and decays, not a background murmur.
    public var headSeconds = 0.3
    public var tailSeconds = 0.4
    /// A candidate closes after this long without a strong frame, even if weak frames go on (s).
    public var releaseSeconds = 1.0
    /// After the call, segments whose level (`SegmentLevel`, the 80th percentile of their near
    /// frames) is this many dB below the channel's reference (the level half the channel's talk
    /// time reaches) are dropped: a talker behind the caller, 14–20 dB down, never reaches it.
    /// Real callers' softer turns sit 8–10 dB under their loud ones (corpus-real: 8 dB dropped
    /// a 1.2 s turn at −20 dBFS, the channel's reference being above −12).
    public var segmentLevelGate: Float = 10
    /// `SegmentAnchors`: a segment's extent is set by its near frames within this many dB of its
    /// own loudest one (its anchors), plus `headSeconds` and `tailSeconds`, and it splits where
    /// the anchors leave a pause longer than `bridgeSeconds` between those reaches. Within one turn the participant's words
    /// come within it; a television or a neighbour 14–26 dB under the participant does not, so
    /// their talk no longer stretches a turn or joins two (the same reasoning as `speechLevelGate`).
    public var anchorLevelGate: Float = 14
    /// `BackgroundTalk`: two clusters of segment levels at least this far apart (dB) may be the
    /// participant and someone behind them. Segment levels are means of strong frames, which a
    /// background talker only reaches at its loudest, so the clusters' means sit 4–8 dB apart
    /// (eval corpora) where the talkers are 14–26 dB apart; one talker's soft and loud segments
    /// split as far, so the level alone decides nothing...
    public var backgroundSeparation: Float = 4
    /// ...and the quiet one is background when its talk overlaps the other side's at least this
    /// share of the chance rate (the participant takes turns; a TV does not listen).
    public var backgroundTurnTaking: Float = 0.6
    /// `LevelMixture`, frame by frame: the quiet side of a channel's strong-frame levels is
    /// someone behind the participant when its mean is `backgroundFrameSeparation` dB under the
    /// loud side's and the share of its frames that fall while the other side talks exceeds the
    /// loud side's by `backgroundTurnTakingMargin` times the chance rate, the share of the call the
    /// other side talks (a participant takes turns; a TV overlaps the other side at chance).
    public var backgroundFrameSeparation: Float = 8
    public var backgroundTurnTakingMargin: Float = 0.5
    /// Music on hold and tones (`MusicEvidence`): a candidate with at least `musicMinSeconds` of
    /// strong frames is music when their mean spectral flux stays under `musicMaxFlux` (held
    /// chords and a 440+480 Hz ringback measure 0.10; speech never went below 0.46), or when its
    /// steadiness (mean stability − mean flux) exceeds `musicSteadiness` (recorded music 0.15–0.72,
    /// speech at most 0.26 on the eval corpora), or exceeds `musicLongSteadiness` over
    /// `musicLongSeconds` of strong frames, longer than a talker goes without a breath.
    public var musicMinSeconds = 1.0
    public var musicMaxFlux: Float = 0.2
    public var musicSteadiness: Float = 0.3
    public var musicLongSeconds = 6.0
    public var musicLongSteadiness: Float = 0.1
    /// A candidate that is music so far closes at a pause this long (seconds), shorter than the
    /// 300 ms bridge: a caller answering as the hold music stops (after 0.3 s on the eval
    /// corpora) starts a candidate of their own. Music broken at a pause comes back together in
    /// `absorbMusicFragments`.
    public var musicPauseSeconds = 0.15
    /// A piece of a channel's sound within 5 s of music whose steadiness exceeds this is more of
    /// the music (the noise floor adapts to long music, so it comes back in pieces).
    public var musicFragmentSteadiness: Float = 0.15
    /// `ListeningSound`: a channel has someone else on it (a television, a room, the next agent)
    /// when sound (weak frames, and what the echo test keeps out where no leak is evidenced: see
    /// `ListeningSound`) fills at least this share of the frames in which the other side talks and
    /// this channel's participant does not (eval corpora: nobody behind the participant 0–8 %, a
    /// background talker 12–95 % — 0 % on one hard call whose television is too quiet to be heard
    /// between the caller's turns —, neighbouring agents 13–30 %); `Quality.BackgroundSpeech`
    /// reports the share as `SoundWhileListening`...
    public var listeningSoundShare: Float = 0.10
    /// ...and its segments then reach only this far (seconds) before their first anchor and
    /// after their last, instead of `headSeconds` / `tailSeconds`: the weak frames around a turn
    /// are as likely the background's as the participant's onset or decay (on corpus-hard nearly
    /// all of the caller's excess talk was that reach, 0.2–0.4 s at each end of each turn). One
    /// 32 ms analysis window and a few 20 ms hops still cover the onset a window smears.
    public var backgroundReachSeconds = 0.1
    /// A segment under `segmentLevelGate`, or in `BackgroundTalk`'s quiet cluster, or a
    /// candidate that never came near (`SegmentBuilder.Outcome.quiet`), is kept after all, as
    /// the participant's soft turn (a backchannel, a word said under the other side's talk),
    /// where `ListeningSound` finds nobody else on the channel *and* the segment's level is at
    /// least this far (dB) above the channel's noise floor (the median level of its non-talk
    /// frames). The gate and the cluster split are there for a talker behind the participant;
    /// `ListeningSound` sees one only where its sound clears the floor, since its weak frames
    /// need 6 dB over it. A talker whose loud frames stand 30 dB over the floor has nearly all
    /// its syllables (speech spans some 20 dB under its loudest) over that line, so on such a
    /// channel it would have shown while the participant listened; one whose loudest frames are
    /// only 7–23 dB over it (eval corpora: neighbours and televisions under the line noise,
    /// echo at the start of a call) stays invisible to the sign and stays gated. Corpus-real:
    /// the listener's soft real turns, 11–19 dB under their channel's reference, stand 38–52 dB
    /// over their floors. The turns put back past the gate join after `BackgroundTalk`, so they
    /// neither meet its split nor move it.
    public var quietTurnClearance: Float = 30
    /// A piece shorter than `musicMinSeconds` touching music is more of it (the music's last
    /// notes, broken off at a pause) unless its steadiness is under this: its spectrum changes
    /// more than it repeats, like speech (−0.3…0.26 per candidate on the eval corpora) and unlike
    /// any music candidate (0.15 and up). A caller's "thank you" right after the hold music stops
    /// is such a piece (−0.33).
    public var musicShortPieceSteadiness: Float = 0
    /// Segments shorter than this are dropped (seconds).
    public var minSegmentSeconds = 0.060
    /// Noise-floor tracking: minimum statistics over `noiseWindowSeconds`, in
    /// `noiseSubWindows` sub-windows; decisions wait `lookaheadSeconds` for the floor to settle.
    public var noiseWindowSeconds = 4.0
    public var noiseSubWindows = 8
    public var lookaheadSeconds = 0.5
    /// Band power smoothing for the noise tracker (per-frame factor at a 10 ms hop; the detector
    /// keeps its time constant at other hops).
    public var noiseSmoothing: Float = 0.7
    /// Minimum statistics underestimate the mean noise power; this compensates (dB).
    public var noiseBias: Float = 2.0
    /// Frames quieter than this (dBFS) are digital silence or dropouts: never talk, and they do
    /// not pull the noise floor down.
    public var dropoutLevel: Float = -90
    /// Echo: the other channel's speech can leak into this one up to this long later (seconds).
    public var echoMaxDelaySeconds = 0.12
    /// A frame within this many dB of the predicted echo of the other channel is echo, not talk.
    public var echoMargin: Float = 8
    /// Couplings louder than this (dB) are not echo: the echo test is off for the channel.
    public var maxEchoCoupling: Float = -10
    /// A leak is evidenced where the channel's level follows the other side's at a fixed delay
    /// (`EchoEvidence`) with an envelope correlation of at least this (the leak criterion of
    /// `CallQuality`: eval corpora 0.58–0.92 with echo or sidetone, under 0.1 without). Without
    /// one the echo test never vetoes a frame that clearly talks (see `ActivityDetector`).
    public var echoLeakCorrelation: Double = 0.5
    /// Where no leak is evidenced, the echo test no longer vetoes a frame within this many dB of
    /// the channel's speech level (the median of the participant's strong frames) either: that
    /// loud, it is the participant's own word, whoever talks on the other side. A talker behind
    /// the participant sits 14–26 dB under them, so only a rare peak of theirs comes this close.
    /// The other exemption, 17 dB over the floor, misses such words where the line raises the
    /// floor: on corpus-hard, where line noise and neighbours put it 18–22 dB under the agents'
    /// level, this gave back 3.9 s of the agents' talk under the caller's and 0.2 s of anything else
    /// (6932a55b's agent −17 % → −4 %, 1a14095c's −8 % → −3 %); the other corpora are unchanged
    /// to the frame, the real-voice mixes within 0.1 s. 4 to 8 dB give the same within 0.3 % F1.
    public var ownLevelGate: Float = 6

    public init() {}
}
