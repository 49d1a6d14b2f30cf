/// Stage 2 of the pipeline: interleaved stereo frames -> one contiguous buffer per channel.
///
/// Amazon Connect puts the customer (and everything incoming) on the left channel (index 0) and the
/// agent on the right (index 1); `ChannelMap` makes that explicit and swappable.
public enum ChannelSplit {
    /// Splits `frames` interleaved stereo 16-bit frames into two normalized float buffers
    /// (sample / 32768). The Connect fast path: libsndfile hands over PCM without conversion.
    @inlinable
    public static func deinterleave(
        _ source: UnsafePointer<Int16>, frames: Int,
        left: UnsafeMutablePointer<Float>, right: UnsafeMutablePointer<Float>
    ) {
        let scale: Float = 1.0 / 32768.0
        for i in 0..<frames {
            left[i] = Float(source[2 &* i]) * scale
            right[i] = Float(source[2 &* i &+ 1]) * scale
        }
    }

    /// Splits `frames` interleaved stereo float frames into two buffers.
    @inlinable
    public static func deinterleave(
        _ source: UnsafePointer<Float>, frames: Int,
        left: UnsafeMutablePointer<Float>, right: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<frames {
            left[i] = source[2 &* i]
            right[i] = source[2 &* i &+ 1]
        }
    }
}

/// Which file channel carries which participant.
public struct ChannelMap: Sendable, Equatable, Codable {
    /// File channel index (0 = left, 1 = right) of the agent.
    public var agent: Int
    /// File channel index of the customer.
    public var customer: Int { 1 - agent }

    /// Amazon Connect's layout: customer left (0), agent right (1).
    public static let connect = ChannelMap(agent: 1)
    /// The reverse, for recordings made the other way round (`--agent-channel left`).
    public static let agentLeft = ChannelMap(agent: 0)

    public init(agent: Int) {
        precondition(agent == 0 || agent == 1, "agent channel must be 0 (left) or 1 (right)")
        self.agent = agent
    }

    /// "left" / "right" for a channel index.
    public static func name(_ index: Int) -> String { index == 0 ? "left" : "right" }
}
