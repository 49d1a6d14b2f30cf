/// Who did something in a conversation. Encoded as Contact Lens spells it.
public enum Participant: String, Sendable, Codable, Equatable {
    case agent = "AGENT"
    case customer = "CUSTOMER"
}

/// A mutual-silence stretch of at least `NonTalk.minimumSeconds`, in seconds from the start.
public struct NonTalkInstance: Sendable, Equatable, Codable {
    public var beginOffsetSeconds: Double
    public var endOffsetSeconds: Double
    public var durationSeconds: Double
}

/// One participant starting to talk while the other is talking.
public struct OverlapEvent: Sendable, Equatable, Codable {
    /// Who started talking over the other.
    public var by: Participant
    /// When they started (seconds).
    public var beginOffsetSeconds: Double
    /// When the overlap ended (seconds).
    public var endOffsetSeconds: Double
    /// Seconds both talked.
    public var overlapSeconds: Double
}

/// Stage 6 of the pipeline: conversation metrics from the two channels' segments.
///
/// Definitions (seconds throughout):
/// - **TalkSeconds**: time at least one participant talks (union); overlap counts once here and
///   fully for each participant in their own `TalkSeconds`.
/// - **SilenceSeconds**: duration minus TalkSeconds (mutual silence). **OverlapSeconds**: both talk.
/// - **NonTalk**: mutual silences of `nonTalkMinimumSeconds` (3 s) or more, including at the start
///   and end of the recording.
/// - **Interruption**: X starts while Y is mid-utterance, Y stops within the overlap (X took the
///   floor), and they overlapped for at least `minimumInterruptionOverlap` (shorter overlaps are
///   ordinary turn changes).
/// - **Backchannel**: X starts and stops inside Y's talk, lasting at most `backchannelMaximum`
///   ("uh-huh"). Longer talk inside Y's that does not take the floor is neither.
/// - **Response latency**: for each turn change (X starts after Y's last talk ended and X was
///   silent since), the gap; medians reported.
public struct ConversationMetrics: Sendable, Equatable, Codable {
    public struct NonTalk: Sendable, Equatable, Codable {
        public var totalSeconds: Double
        public var instances: [NonTalkInstance]
    }
    public struct Interruptions: Sendable, Equatable, Codable {
        public var total: Int
        public var byAgent: Int
        public var byCustomer: Int
        /// Seconds of overlap the interruptions account for.
        public var totalSeconds: Double
        public var instances: [OverlapEvent]
    }
    public struct Backchannels: Sendable, Equatable, Codable {
        public var total: Int
        public var byAgent: Int
        public var byCustomer: Int
        public var instances: [OverlapEvent]
    }
    public struct ResponseLatency: Sendable, Equatable, Codable {
        /// Median gap before the agent answers the customer (s); nil when no such turn change.
        public var agentMedianSeconds: Double?
        /// Median gap before the customer answers the agent (s).
        public var customerMedianSeconds: Double?
        /// Median over all turn changes (s).
        public var medianSeconds: Double?
        /// Turn changes measured.
        public var turnChanges: Int
    }

    public var talkSeconds: Double
    public var silenceSeconds: Double
    public var overlapSeconds: Double
    public var nonTalk: NonTalk
    public var interruptions: Interruptions
    public var backchannels: Backchannels
    public var responseLatency: ResponseLatency
    /// Agent talk / (agent talk + customer talk), 0–1; nil when nobody talks.
    public var agentTalkShare: Double?

    public static let nonTalkMinimumSeconds = 3.0
    public static let minimumInterruptionOverlap = 0.2
    public static let backchannelMaximum = 1.0

    public init(agent: [Segment], customer: [Segment], duration: Double) {
        let a = agent.reduce(0) { $0 + $1.duration }, c = customer.reduce(0) { $0 + $1.duration }
        let overlap = Self.intersection(agent, customer)
        let union = a + c - overlap
        talkSeconds = union.roundedToMilliseconds
        overlapSeconds = overlap.roundedToMilliseconds
        silenceSeconds = max(0, duration - union).roundedToMilliseconds
        agentTalkShare = a + c > 0 ? (a / (a + c) * 1000).rounded() / 1000 : nil

        // Non-talk: gaps in the union.
        var instances: [NonTalkInstance] = []
        var cursor = 0.0
        for s in Self.merged(agent, customer) + [Segment(start: duration, end: duration)] {
            if s.start - cursor >= Self.nonTalkMinimumSeconds {
                instances.append(NonTalkInstance(
                    beginOffsetSeconds: cursor.roundedToMilliseconds, endOffsetSeconds: s.start.roundedToMilliseconds,
                    durationSeconds: (s.start - cursor).roundedToMilliseconds))
            }
            cursor = max(cursor, s.end)
        }
        nonTalk = NonTalk(totalSeconds: instances.reduce(0) { $0 + $1.durationSeconds }.roundedToMilliseconds, instances: instances)

        // Interruptions and backchannels.
        var interruptionEvents: [OverlapEvent] = [], backchannelEvents: [OverlapEvent] = []
        for (who, mine, theirs) in [(Participant.agent, agent, customer), (.customer, customer, agent)] {
            var j = 0
            for s in mine {
                while j < theirs.count && theirs[j].end <= s.start { j += 1 }
                guard j < theirs.count, theirs[j].start < s.start else { continue }
                let other = theirs[j]
                let overlapEnd = min(s.end, other.end)
                let event = OverlapEvent(
                    by: who, beginOffsetSeconds: s.start.roundedToMilliseconds, endOffsetSeconds: overlapEnd.roundedToMilliseconds,
                    overlapSeconds: (overlapEnd - s.start).roundedToMilliseconds)
                if other.end <= s.end {
                    if overlapEnd - s.start >= Self.minimumInterruptionOverlap { interruptionEvents.append(event) }
                } else if s.duration <= Self.backchannelMaximum {
                    backchannelEvents.append(event)
                }
            }
        }
        interruptionEvents.sort { $0.beginOffsetSeconds < $1.beginOffsetSeconds }
        backchannelEvents.sort { $0.beginOffsetSeconds < $1.beginOffsetSeconds }
        interruptions = Interruptions(
            total: interruptionEvents.count,
            byAgent: interruptionEvents.filter { $0.by == .agent }.count,
            byCustomer: interruptionEvents.filter { $0.by == .customer }.count,
            totalSeconds: interruptionEvents.reduce(0) { $0 + $1.overlapSeconds }.roundedToMilliseconds,
            instances: interruptionEvents)
        backchannels = Backchannels(
            total: backchannelEvents.count,
            byAgent: backchannelEvents.filter { $0.by == .agent }.count,
            byCustomer: backchannelEvents.filter { $0.by == .customer }.count,
            instances: backchannelEvents)

        // Response latency: walk both channels' segments in start order.
        var events: [(Participant, Segment)] = agent.map { (.agent, $0) } + customer.map { (.customer, $0) }
        events.sort { $0.1.start < $1.1.start }
        var lastEnd: [Participant: Double] = [:]
        var agentGaps: [Double] = [], customerGaps: [Double] = []
        for (who, s) in events {
            let other: Participant = who == .agent ? .customer : .agent
            if let theirEnd = lastEnd[other], theirEnd <= s.start, (lastEnd[who] ?? -1) < theirEnd {
                let gap = s.start - theirEnd
                if who == .agent { agentGaps.append(gap) } else { customerGaps.append(gap) }
            }
            lastEnd[who] = max(lastEnd[who] ?? 0, s.end)
        }
        responseLatency = ResponseLatency(
            agentMedianSeconds: Self.median(agentGaps), customerMedianSeconds: Self.median(customerGaps),
            medianSeconds: Self.median(agentGaps + customerGaps), turnChanges: agentGaps.count + customerGaps.count)
    }

    static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted()
        let m = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        return m.roundedToMilliseconds
    }

    /// Seconds where both lists have talk (each list sorted and non-overlapping).
    public static func intersection(_ x: [Segment], _ y: [Segment]) -> Double {
        var i = 0, j = 0, total = 0.0
        while i < x.count && j < y.count {
            let lo = max(x[i].start, y[j].start), hi = min(x[i].end, y[j].end)
            if hi > lo { total += hi - lo }
            if x[i].end < y[j].end { i += 1 } else { j += 1 }
        }
        return total
    }

    /// The union of two segment lists, sorted and merged.
    public static func merged(_ x: [Segment], _ y: [Segment]) -> [Segment] {
        var all = (x + y).sorted { $0.start < $1.start }
        var out: [Segment] = []
        out.reserveCapacity(all.count)
        for s in all {
            if let last = out.last, s.start <= last.end {
                out[out.count - 1].end = max(last.end, s.end)
            } else {
                out.append(s)
            }
        }
        all.removeAll()
        return out
    }

    /// Longest run of one participant's talk in which the other does not take a turn: consecutive
    /// own segments are joined unless the other talks in between for more than `backchannelMaximum`.
    public static func longestMonologue(_ mine: [Segment], other: [Segment]) -> Double {
        var best = 0.0, runStart = -1.0, runEnd = -1.0, j = 0
        for s in mine {
            if runStart < 0 { runStart = s.start; runEnd = s.end; best = max(best, runEnd - runStart); continue }
            // Did the other take a turn between runEnd and s.start?
            var tookTurn = false
            while j < other.count && other[j].end <= runEnd { j += 1 }
            var k = j
            while k < other.count && other[k].start < s.start {
                if other[k].duration > backchannelMaximum { tookTurn = true; break }
                k += 1
            }
            if tookTurn { runStart = s.start }
            runEnd = s.end
            best = max(best, runEnd - runStart)
        }
        return best.roundedToMilliseconds
    }
}
