/// A candidate segment's level: the level its loudest strong frames reach (the 80th percentile).
///
/// The mean of a segment's strong-frame levels sinks with every soft frame it holds (a trailing
/// phrase, a breath that passed as strong before the channel's speech level settled), so a long
/// segment of the participant can read 8 dB under a short one and be taken for background
/// talk. What tells a near talker from a far one is how loud each gets when they talk, which the
/// loud end of the segment's levels measures and the soft frames do not move.
/// Fixed memory: 1 dB bins centred on whole dB from −120 to +10 dBFS; clearing touches only the
/// bins used.
public struct SegmentLevel: Sendable {
    static let low: Float = -120, bins = 130
    private var counts = [Int32](repeating: 0, count: SegmentLevel.bins)
    private var lowest = SegmentLevel.bins, highest = -1
    public private(set) var count = 0
    /// The share of frames at or below the level reported.
    public static let quantile = 0.8

    public init() {}

    @inline(__always)
    public mutating func add(_ db: Float) {
        var i = Int((db - Self.low).rounded())
        if i < 0 { i = 0 } else if i >= Self.bins { i = Self.bins - 1 }
        counts.withUnsafeMutableBufferPointer { $0[i] &+= 1 }
        lowest = min(lowest, i); highest = max(highest, i)
        count &+= 1
    }

    public mutating func reset() {
        guard count > 0 else { return }
        counts.withUnsafeMutableBufferPointer { c in for i in lowest...highest { c[i] = 0 } }
        lowest = Self.bins; highest = -1; count = 0
    }

    /// The level (dBFS, to the nearest dB) that `quantile` of the frames stay at or under; nil when empty.
    public var level: Float? {
        guard count > 0 else { return nil }
        let target = Int((Double(count) * Self.quantile).rounded(.up))
        var seen = 0
        for i in lowest...highest {
            seen += Int(counts[i])
            if seen >= target { return Self.low + Float(i) }
        }
        return Self.low + Float(highest)
    }
}
