/// A fixed histogram of decibel values in 0.5 dB bins from -150 to +30 dB: constant memory,
/// percentiles good to a quarter dB, and no allocation after creation.
public struct LevelHistogram: Sendable {
    public static let low: Float = -150, high: Float = 30, binWidth: Float = 0.5
    static let binCount = Int((high - low) / binWidth)
    private var bins: [Int32]
    /// Values added.
    public private(set) var count: Int = 0

    public init() { bins = [Int32](repeating: 0, count: Self.binCount) }

    /// Adds one value. Below `low` counts in the lowest bin, above `high` (and +infinity) in the
    /// highest; NaN counts in the lowest. The bin is clamped as a float before the conversion to
    /// `Int`, which traps on a non-finite or out-of-range value.
    @inline(__always)
    public mutating func add(_ db: Float) {
        let x = (db - Self.low) / Self.binWidth
        let top = Float(Self.binCount - 1)
        let i = x >= top ? Self.binCount - 1 : (x > 0 ? Int(x) : 0)  // NaN fails both tests: bin 0
        bins.withUnsafeMutableBufferPointer { $0[i] &+= 1 }
        count &+= 1
    }

    /// Adds every value of `other`.
    public mutating func merge(_ other: LevelHistogram) {
        guard other.count > 0 else { return }
        for i in 0..<Self.binCount { bins[i] &+= other.bins[i] }
        count += other.count
    }

    /// Empties the histogram, keeping its storage.
    public mutating func reset() {
        guard count > 0 else { return }
        for i in 0..<Self.binCount { bins[i] = 0 }
        count = 0
    }

    /// The value below which fraction `q` of the values lie (bin centre, dB); nil when empty.
    public func percentile(_ q: Double) -> Float? {
        guard count > 0 else { return nil }
        let target = Int((Double(count) * q).rounded(.down))
        var seen = 0
        for i in 0..<Self.binCount {
            seen += Int(bins[i])
            if seen > target { return Self.low + (Float(i) + 0.5) * Self.binWidth }
        }
        return Self.high
    }
}
