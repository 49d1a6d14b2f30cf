/// A stretch of talk, in seconds from the start of the recording. `start < end`.
public struct Segment: Sendable, Equatable, Codable {
    public var start: Double
    public var end: Double
    public init(start: Double, end: Double) { self.start = start; self.end = end }
    public var duration: Double { end - start }

    /// Encoded as `[start, end]`, the output contract's shape.
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        start = try c.decode(Double.self)
        end = try c.decode(Double.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(start.roundedToMilliseconds)
        try c.encode(end.roundedToMilliseconds)
    }
}

extension Double {
    /// Rounded to 3 decimals, so JSON shows `12.34`, not `12.340000000000001`.
    public var roundedToMilliseconds: Double { (self * 1000).rounded() / 1000 }
}

/// Stage 5 of the pipeline: frame decisions -> talk segments for one channel.
///
/// Weak frames form candidates; gaps shorter than `bridgeSeconds` are bridged; a candidate closes
/// once a longer gap has passed, and it becomes a segment if it holds `minStrongSeconds` of strong
/// frames and lasts `minSegmentSeconds`. Works frame by frame; memory holds only the current
/// candidate's bounds.
public struct SegmentBuilder: Sendable {
    /// What happened to a candidate when it closed.
    public enum Outcome: Sendable, Equatable {
        case accepted(startFrame: Int, endFrame: Int)
        case rejected
    }

    let bridgeFrames: Int
    let minStrongFrames: Int
    let minFrames: Int
    private(set) var candidateStart = -1
    private(set) var lastWeak = -1
    private var strongFrames = 0
    private var frame = 0

    public init(parameters: ActivityParameters, frameSeconds: Double) {
        let fps = 1 / frameSeconds
        bridgeFrames = max(1, Int((parameters.bridgeSeconds * fps).rounded()))
        minStrongFrames = max(1, Int((parameters.minStrongSeconds * fps).rounded()))
        minFrames = max(1, Int((parameters.minSegmentSeconds * fps).rounded()))
    }

    /// Whether a candidate is open.
    public var inCandidate: Bool { candidateStart >= 0 }

    /// Takes the next frame's decision; returns the outcome of a candidate that closed before it
    /// (a frame starts a new candidate only after the previous one is settled).
    @inline(__always)
    public mutating func push(_ d: FrameDecision) -> Outcome? {
        defer { frame &+= 1 }
        var outcome: Outcome?
        if candidateStart >= 0, frame - lastWeak > bridgeFrames {
            outcome = close()
        }
        if d.weak {
            if candidateStart < 0 { candidateStart = frame; strongFrames = 0 }
            lastWeak = frame
            if d.strong { strongFrames &+= 1 }
        }
        return outcome
    }

    /// Closes any open candidate at the end of the recording.
    public mutating func finish() -> Outcome? {
        candidateStart >= 0 ? close() : nil
    }

    private mutating func close() -> Outcome {
        let start = candidateStart, end = lastWeak + 1
        candidateStart = -1
        if strongFrames >= minStrongFrames, end - start >= minFrames {
            return .accepted(startFrame: start, endFrame: end)
        }
        return .rejected
    }
}
