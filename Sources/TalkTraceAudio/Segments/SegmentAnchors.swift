/// Which of a segment's frames are the loud core of its talk, so a talker behind the
/// participant cannot stretch the segment or join two of the participant's turns through theirs.
///
/// A segment is anchored by near frames, judged against the speech level known *at the time*:
/// early in a call, or on a channel where a television or neighbouring agents talk more than the
/// participant, that level is low, and the loudest frames of the talker behind pass as near. They
/// stretch the participant's segments by seconds before and after their turn (the eval corpora's
/// hard calls: 0.5–3.9 s a segment, nearly all of their excess talk) and chain two turns through
/// the other side's speech. Within one turn, though, the participant's words all come within
/// `anchorLevelGate` dB of the turn's loudest frame; a talker behind them, 14–26 dB under the
/// participant, does not reach it. The gate is the segment's own, not the channel's: a caller who
/// shouts or clips one turn and speaks softly in the next keeps both (a channel-wide reference
/// set by the loud turn dropped the soft ones), and a backchannel keeps its own extent.
///
/// While a candidate is open, per 2 dB level bin: the first and last near frame at or above it and
/// the longest gap between two such frames. At close, `anchors(within:)` reads the bin
/// `anchorLevelGate` under the loudest: the segment is then trimmed to reach `headSeconds` before
/// its first anchor and `tailSeconds` after its last, and split where the longest gap leaves a
/// pause longer than `bridgeSeconds` between the two reaches (the talk on either side does not
/// reach across it).
///
/// Cost: per near frame, a loop over the bins at or below its level (at most `bins`, 41); one
/// working set of `bins` entries, cleared over the bins used; 20 bytes kept per segment.
public struct SegmentAnchors: Sendable {
    /// Bin `k` holds levels in [`low` + 2k, `low` + 2k + 2) dBFS; levels under `low` go to bin 0,
    /// over the top to the last bin.
    static let low: Float = -80, binDB: Float = 2, bins = 41

    /// The near frames at or above one level in a segment: first and last (absolute frame
    /// indices), the longest gap between two consecutive ones (`gapStart` to `gapEnd`), how many.
    public struct Anchors: Sendable, Equatable {
        public var first: Int32 = -1, last: Int32 = -1, gapStart: Int32 = -1, gapEnd: Int32 = -1, count: Int32 = 0

        /// Frame ranges of anchored talk: one, or two when the longest gap leaves a pause longer
        /// than `bridge` frames between the reaches (a shorter one is bridged, the 300 ms
        /// convention); none with fewer than `minFrames` anchors. Each range reaches `head` frames
        /// before its first anchor and `tail` after its last; the caller clamps to the segment, so
        /// a range never grows it.
        public func extent(minFrames: Int, head: Int, tail: Int, bridge: Int) -> [Range<Int>] {
            guard Int(count) >= minFrames, first >= 0 else { return [] }
            let first = Int(first), last = Int(last)
            if gapStart >= 0, Int(gapEnd) - head - (Int(gapStart) + 1 + tail) > bridge {
                return [(first - head)..<(Int(gapStart) + 1 + tail), (Int(gapEnd) - head)..<(last + 1 + tail)]
            }
            return [(first - head)..<(last + 1 + tail)]
        }
    }

    private var entries = [Anchors](repeating: Anchors(), count: SegmentAnchors.bins)
    private var top = -1

    public init() {}

    @inline(__always)
    static func bin(_ db: Float) -> Int {
        let k = Int(((db - low) / binDB).rounded(.down))
        return k < 0 ? 0 : (k >= bins ? bins - 1 : k)
    }

    /// Adds near frame `frame` (absolute index) at level `db`.
    @inline(__always)
    public mutating func add(frame: Int, db: Float) {
        let k = Self.bin(db), f = Int32(truncatingIfNeeded: frame)
        if k > top { top = k }
        entries.withUnsafeMutableBufferPointer { e in
            for b in 0...k {
                if e[b].first < 0 {
                    e[b].first = f
                } else if f &- e[b].last > e[b].gapEnd &- e[b].gapStart {
                    e[b].gapStart = e[b].last; e[b].gapEnd = f
                }
                e[b].last = f
                e[b].count &+= 1
            }
        }
    }

    public mutating func reset() {
        guard top >= 0 else { return }
        entries.withUnsafeMutableBufferPointer { e in for b in 0...top { e[b] = Anchors() } }
        top = -1
    }

    /// The near frames within `gate` dB of the loudest one (to the 2 dB bin); nil when none was added.
    public func anchors(within gate: Float) -> Anchors? {
        guard top >= 0 else { return nil }
        return entries[max(0, top - Int((gate / Self.binDB).rounded()))]
    }
}
