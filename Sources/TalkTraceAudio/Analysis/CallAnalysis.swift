/// The analysis of one recording: the output contract's analysis object. Encoded with
/// `CallAnalysis.encoder`, every key is PascalCase, like the CTR it joins.
public struct CallAnalysis: Sendable, Equatable, Codable {
    public var recording: RecordingInfo
    public var agent: ChannelAnalysis
    public var customer: ChannelAnalysis
    public var conversation: ConversationMetrics
    /// Echo, clipping, one-way audio, music on hold, swapped channels.
    public var quality: CallQuality
    /// How the analysis was made (version, frame hop), so figures can be compared across runs.
    public var analyzer: AnalyzerInfo
}

/// What was analyzed.
public struct RecordingInfo: Sendable, Equatable, Codable {
    /// The file as given on the command line or found in the batch directory.
    public var path: String
    /// The CTR recording location it matched (`bucket/key`), or nil when unmatched or analyzed alone.
    public var location: String?
    /// The contact it belongs to: the matched CTR's ContactId, else the UUID in the file name, else nil.
    public var contactId: String?
    public var durationSeconds: Double
    /// Samples per second per channel (Hz).
    public var sampleRate: Int
    public var channels: Int
    /// libsndfile's encoding, e.g. `pcm_s16`, `mulaw`, `float`.
    public var encoding: String
    /// Which file channel carries whom: "left" or "right".
    public var agentChannel: String
    public var customerChannel: String

    enum CodingKeys: String, CodingKey {
        case path, location, contactId, durationSeconds, sampleRate, channels, encoding, agentChannel, customerChannel
    }

    /// `Location` and `ContactId` are part of the output contract: written as `null`, never left out.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(location, forKey: .location)
        try c.encode(contactId, forKey: .contactId)
        try c.encode(durationSeconds, forKey: .durationSeconds)
        try c.encode(sampleRate, forKey: .sampleRate)
        try c.encode(channels, forKey: .channels)
        try c.encode(encoding, forKey: .encoding)
        try c.encode(agentChannel, forKey: .agentChannel)
        try c.encode(customerChannel, forKey: .customerChannel)
    }
}

/// One participant's channel.
public struct ChannelAnalysis: Sendable, Equatable, Codable {
    /// Seconds of talk (sum of `segments`).
    public var talkSeconds: Double
    /// `[startSeconds, endSeconds]` of each stretch of talk, pauses under 300 ms bridged.
    public var segments: [Segment]
    public var segmentCount: Int
    /// Longest stretch of talk in which the other participant did not take a turn (seconds).
    public var longestMonologueSeconds: Double
    /// Share of the recording this participant talks (0–1).
    public var talkRatio: Double
    public var levels: ChannelLevels
    public var loudness: Loudness
}

/// Provenance of an analysis.
public struct AnalyzerInfo: Sendable, Equatable, Codable {
    public var version: String
    /// Seconds between analysis frames.
    public var hopSeconds: Double
    /// FFT size (samples).
    public var fftSize: Int
}

import Foundation

extension CallAnalysis {
    /// The TalkTrace version written into every analysis.
    public static let version = "0.1.0"

    /// The JSON encoder for analyses and every other output: PascalCase keys (`talkSeconds` ->
    /// `TalkSeconds`), sorted, slashes unescaped, compact or pretty, floats as floats and every
    /// optional member present (`null` when nil): the published schema (see `AnalysisJSONEncoder`).
    public static func encoder(pretty: Bool = false) -> AnalysisJSONEncoder {
        AnalysisJSONEncoder(pretty: pretty, contract: true)
    }

    /// A JSON decoder reading what `encoder` writes.
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .custom { path in
            let key = path.last!
            if key.intValue != nil { return key }
            let s = key.stringValue
            return PascalKey(stringValue: s.prefix(1).lowercased() + s.dropFirst())
        }
        return d
    }
}

struct PascalKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
