/// Stage 6b: what is wrong with the recording, as far as the two channels can tell.
public struct CallQuality: Sendable, Equatable, Codable {
    /// A leak of one participant's voice into the other's channel.
    public struct Leak: Sendable, Equatable, Codable {
        public var detected: Bool
        /// Delay of the leak behind the talker (s), at the frame hop's resolution.
        public var delaySeconds: Double?
        /// Level of the leak relative to the talker's speech (dB, negative).
        public var levelDb: Double?
        /// Correlation of the leak's level with the talker's at that delay (0–1).
        public var correlation: Double?
    }
    public struct Clipping: Sendable, Equatable, Codable {
        /// Either channel has at least 0.1 % of its samples at full scale.
        public var detected: Bool
        public var agentClippedRatio: Double
        public var customerClippedRatio: Double
    }
    public struct OneWayAudio: Sendable, Equatable, Codable {
        /// One participant never talks while the other does (at least 5 s).
        public var detected: Bool
        /// AGENT or CUSTOMER: whose channel is silent.
        public var silentParticipant: Participant?
        /// Whether that channel is digital silence (a dead line), not just quiet.
        public var digitalSilence: Bool
    }
    public struct MusicOnHold: Sendable, Equatable, Codable {
        public var detected: Bool
        /// Whose channel carried it (normally CUSTOMER: the caller's line while on hold).
        public var participant: Participant?
        /// `[start, end]` seconds of each stretch of music or tone.
        public var spans: [Segment]
        public var totalSeconds: Double
    }
    /// Someone behind a participant, in their channel, not counted as their talk.
    public struct BackgroundSpeech: Sendable, Equatable, Codable {
        /// Background segments were found, or the channel carries sound while its participant
        /// listens (`SoundWhileListening` at least `ActivityParameters.listeningSoundShare`) and
        /// no leak of the other side (`Echo`, `Sidetone`) whose residue that sound could be.
        public var detected: Bool
        /// Seconds of the channel's talk-like segments judged to be background (`BackgroundTalk`).
        public var seconds: Double
        /// Its level relative to the participant's talk (dB, negative): the background segments'
        /// (`BackgroundTalk`) where there are any, else, where only `SoundWhileListening` found
        /// someone, the median level of that sound against the participant's speech level; nil
        /// when not detected.
        public var levelDb: Double?
        /// The share (0–1) of the frames in which the other side talks and this participant does
        /// not in which this channel still carries sound (`ListeningSound`): a television, a room
        /// or the next agent goes on while the participant listens. nil when the other side
        /// talked less than a second outside this participant's talk; absent in analyses written
        /// before it existed.
        public var soundWhileListening: Double?
    }
    public struct BackgroundSpeechByParticipant: Sendable, Equatable, Codable {
        public var agent: BackgroundSpeech
        public var customer: BackgroundSpeech
    }
    public struct ChannelsSwapped: Sendable, Equatable, Codable {
        /// Whether the evidence points to agent and customer being on each other's channel.
        public var suspected: Bool
        /// What was seen, in words.
        public var evidence: [String]
    }

    /// Agent's voice in the customer channel (line echo).
    public var echo: Leak
    /// Customer's voice in the agent channel (headset sidetone, or echo if swapped).
    public var sidetone: Leak
    public var clipping: Clipping
    public var oneWayAudio: OneWayAudio
    public var musicOnHold: MusicOnHold
    /// A television or other talkers behind the caller, neighbouring agents behind the agent.
    /// Optional only so analyses written before it existed still read back.
    public var backgroundSpeech: BackgroundSpeechByParticipant?
    public var channelsSwapped: ChannelsSwapped
}

extension CallQuality {
    /// Judges a leak from envelope correlation: at least 0.5 at the best delay, and 10 dB or more
    /// down on the talker (closer than that is two people talking).
    /// `coupling` is the detector's median level ratio while the talker talks (dB), the better
    /// estimate of the leak's level when there is one.
    static func leak(_ best: (lag: Int, correlation: Double, ratioDB: Double)?, coupling: Float?, frameSeconds: Double) -> Leak {
        guard let best else {
            return Leak(detected: false, delaySeconds: nil, levelDb: nil, correlation: nil)
        }
        let level = coupling.map(Double.init) ?? best.ratioDB
        // Correlation alone separates a leak from independent sound (eval corpus: 0.76-0.92 with
        // echo, under 0.06 without).
        let detected = best.correlation >= 0.5 && level <= -10
        return Leak(
            detected: detected,
            delaySeconds: (Double(best.lag) * frameSeconds).roundedToMilliseconds,
            levelDb: (level * 10).rounded() / 10,
            correlation: (best.correlation * 1000).rounded() / 1000)
    }

    /// Merges music spans less than 5 s apart (the reach of `absorbMusicFragments`).
    static func mergeSpans(_ spans: [Segment]) -> [Segment] {
        var out: [Segment] = []
        for s in spans.sorted(by: { $0.start < $1.start }) {
            if let last = out.last, s.start - last.end < 5 { out[out.count - 1].end = max(last.end, s.end) } else { out.append(s) }
        }
        return out.map { Segment(start: $0.start.roundedToMilliseconds, end: $0.end.roundedToMilliseconds) }
    }

    /// What `ListeningSound` found on one channel: its share (nil when the other side hardly
    /// talked), whether that share says someone else is there, and the median level heard.
    typealias Listening = (share: Float?, someoneElse: Bool, heardLevel: Float?)

    init(agent: ChannelAnalysis, customer: ChannelAnalysis, agentMusic: [Segment], customerMusic: [Segment],
         agentBackground: BackgroundTalk.Result, customerBackground: BackgroundTalk.Result,
         agentListening: Listening, customerListening: Listening,
         echo: Leak, sidetone: Leak, duration: Double) {
        // A channel carrying an evidenced leak of the other side (echo on the customer's,
        // sidetone on the agent's) also has the leak's residue over the echo test while the other
        // side talks (TestAudio's echo call: 11-13 % at 25-26 dB down): there the share cannot
        // tell it from a television, and `Detected` rests on `BackgroundTalk` alone.
        // The level: that of the background segments where there are any (`BackgroundTalk`), else,
        // where only the share found someone, the median level of what was heard while the
        // participant listened, against the participant's speech level.
        func report(_ r: BackgroundTalk.Result, _ listening: Listening, speech: Double?, leak: Bool) -> BackgroundSpeech {
            let seconds = r.background.reduce(0) { $0 + $1.duration }
            let heard = !leak && listening.someoneElse
            var level = r.levelDb
            if level == nil, heard, let h = listening.heardLevel, let s = speech { level = ((Double(h) - s) * 10).rounded() / 10 }
            return BackgroundSpeech(detected: seconds > 0 || heard, seconds: seconds.roundedToMilliseconds, levelDb: level,
                                    soundWhileListening: listening.share.map { (Double($0) * 1000).rounded() / 1000 })
        }
        backgroundSpeech = BackgroundSpeechByParticipant(
            agent: report(agentBackground, agentListening, speech: agent.levels.speechLevelDbfs, leak: sidetone.detected),
            customer: report(customerBackground, customerListening, speech: customer.levels.speechLevelDbfs, leak: echo.detected))
        self.echo = echo
        self.sidetone = sidetone
        clipping = Clipping(detected: agent.levels.clippedRatio >= 0.001 || customer.levels.clippedRatio >= 0.001,
                            agentClippedRatio: agent.levels.clippedRatio, customerClippedRatio: customer.levels.clippedRatio)
        var silent: Participant?
        if agent.talkSeconds == 0 && customer.talkSeconds >= 5 { silent = .agent }
        if customer.talkSeconds == 0 && agent.talkSeconds >= 5 { silent = .customer }
        let silentLevels = silent == .agent ? agent.levels : customer.levels
        oneWayAudio = OneWayAudio(detected: silent != nil, silentParticipant: silent,
                                  digitalSilence: silent != nil
                                      && silentLevels.dropoutSeconds + silentLevels.gatedSilenceSeconds >= 0.9 * duration)
        let agentSpans = Self.mergeSpans(agentMusic), customerSpans = Self.mergeSpans(customerMusic)
        let onAgent = agentSpans.reduce(0) { $0 + $1.duration } > customerSpans.reduce(0) { $0 + $1.duration }
        let spans = onAgent ? agentSpans : customerSpans
        musicOnHold = MusicOnHold(
            detected: !spans.isEmpty, participant: spans.isEmpty ? nil : (onAgent ? .agent : .customer), spans: spans,
            totalSeconds: spans.reduce(0) { $0 + $1.duration }.roundedToMilliseconds)

        // Amazon Connect: music on hold plays to the caller (left); line echo of the agent shows
        // up delayed in the caller's channel; the agent greets first.
        var evidence: [String] = []
        if musicOnHold.detected && onAgent { evidence.append("music on hold is on the agent channel") }
        if sidetone.detected, let d = sidetone.delaySeconds, d >= 0.015, !(echo.detected && (echo.delaySeconds ?? 0) >= 0.015) {
            evidence.append(String(format: "a delayed echo (%.0f ms) of the customer is in the agent channel, none of the agent in the customer channel", d * 1000))
        }
        if let a = agent.segments.first, let c = customer.segments.first, c.start + 1 < a.start {
            evidence.append(String(format: "the customer channel talks first (%.1f s before the agent)", a.start - c.start))
        }
        let strong = evidence.contains { $0.hasPrefix("music") || $0.hasPrefix("a delayed echo") }
        channelsSwapped = ChannelsSwapped(suspected: strong || evidence.count >= 2, evidence: evidence)
    }
}
