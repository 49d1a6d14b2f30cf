/// Call-level decision after the stream: which of a channel's segments are someone behind the
/// participant (a television or other talkers behind the caller, neighbouring agents on an open
/// floor) rather than the participant, from two kinds of evidence over the segment list.
///
/// - **Level as a mixture.** The participant is near the microphone; a talker behind them is far,
///   14–26 dB under. The segments' levels (mean of their strong frames), weighted by duration,
///   are split in two where the between-cluster variance is largest (Otsu's method). The
///   participant is the *loud* cluster however little of the channel's talk it holds: a TV can
///   talk all call and the caller 20 s, so the duration-weighted median is no reference.
///   A split under `backgroundSeparation` is one talker's soft and loud talk, and nothing is
///   dropped; a split over it may still be, which the next evidence decides.
/// - **Conversation structure**, which only a two-channel tool has. The participant takes turns
///   with the other side: starts after the other stops, stops when interrupted, so little of
///   their talk overlaps the other's. A TV or a neighbour does not listen: it overlaps the
///   other side's talk at the chance rate (the share of the call the other side talks). The
///   quiet cluster is background only when it overlaps the other side at least
///   `backgroundTurnTaking` × that chance rate, and clearly more than the loud cluster does: a
///   soft participant still takes turns, and keeps their talk.
///
/// Cost: a sort and two passes over the segments, once per call.
public enum BackgroundTalk {
    public struct Result: Sendable, Equatable {
        /// The participant's segments and their levels.
        public var segments: [Segment]
        public var levels: [Float]
        /// Segments judged to be background talk.
        public var background: [Segment]
        /// Background level relative to the participant's (dB, negative); nil when none.
        public var levelDb: Double?
    }

    /// Separates `segments` (levels `levels`, dBFS, parallel) of one channel, given the other
    /// channel's segments `other` and the call's `duration` (s).
    /// A quiet-cluster segment whose level is at least `keepAbove` (dBFS) stays: the caller passes
    /// it where `ListeningSound` found nobody else on the channel, as the level at which a talker
    /// behind the participant would have been heard (`ActivityParameters.quietTurnClearance`
    /// over the noise floor); such a segment is the participant's soft turn, however much it
    /// overlaps the other side (a backchannel does, by nature).
    public static func separate(
        segments: [Segment], levels: [Float], other: [Segment], duration: Double, parameters p: ActivityParameters,
        keepAbove: Float? = nil
    ) -> Result {
        let unchanged = Result(segments: segments, levels: levels, background: [], levelDb: nil)
        guard segments.count >= 2, duration > 0 else { return unchanged }
        let order = levels.indices.sorted { levels[$0] < levels[$1] }
        // Otsu over the duration-weighted levels: the split after sorted position k.
        let w = order.map { segments[$0].duration }, x = order.map { Double(levels[$0]) }
        let total = w.reduce(0, +), sum = zip(w, x).reduce(0) { $0 + $1.0 * $1.1 }
        var w0 = 0.0, s0 = 0.0, best = -1.0, split = 0
        for k in 0..<(order.count - 1) {
            w0 += w[k]; s0 += w[k] * x[k]
            let w1 = total - w0
            guard w0 > 0, w1 > 0 else { continue }
            let m0 = s0 / w0, m1 = (sum - s0) / w1
            let between = w0 * w1 * (m1 - m0) * (m1 - m0)
            if between > best { best = between; split = k + 1 }
        }
        guard split > 0 else { return unchanged }
        let quiet = Array(order[..<split]), loud = Array(order[split...])
        func weightedMean(_ idx: [Int]) -> Double {
            let d = idx.reduce(0) { $0 + segments[$1].duration }
            return idx.reduce(0) { $0 + Double(levels[$1]) * segments[$1].duration } / d
        }
        let separation = weightedMean(loud) - weightedMean(quiet)
        guard separation >= Double(p.backgroundSeparation) else { return unchanged }
        // Turn-taking: the share of each cluster's talk that overlaps the other side.
        let otherTalk = other.reduce(0) { $0 + $1.duration }
        let chance = otherTalk / duration
        func overlapShare(_ idx: [Int]) -> Double {
            var over = 0.0, d = 0.0
            for i in idx {
                d += segments[i].duration
                over += overlap(segments[i], other)
            }
            return d > 0 ? over / d : 0
        }
        let quietShare = overlapShare(quiet), loudShare = overlapShare(loud)
        guard chance > 0, quietShare >= Double(p.backgroundTurnTaking) * chance, quietShare > loudShare else {
            return unchanged
        }
        let drop = Set(quiet.filter { keepAbove == nil || levels[$0] < keepAbove! })
        guard !drop.isEmpty else { return unchanged }
        var result = Result(segments: [], levels: [], background: [], levelDb: -(separation * 10).rounded() / 10)
        for i in segments.indices {
            if drop.contains(i) { result.background.append(segments[i]) } else {
                result.segments.append(segments[i]); result.levels.append(levels[i])
            }
        }
        return result
    }

    /// Seconds of `s` covered by the sorted, disjoint `segments`.
    static func overlap(_ s: Segment, _ segments: [Segment]) -> Double {
        var lo = 0, hi = segments.count
        while lo < hi { let mid = (lo + hi) / 2; if segments[mid].end <= s.start { lo = mid + 1 } else { hi = mid } }
        var total = 0.0, i = lo
        while i < segments.count, segments[i].start < s.end {
            total += max(0, min(s.end, segments[i].end) - max(s.start, segments[i].start))
            i += 1
        }
        return total
    }
}
