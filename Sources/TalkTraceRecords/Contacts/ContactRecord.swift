import Foundation

/// One CTR as it arrived: its exact bytes (written back untouched) and the few fields the join
/// and the cross-checks read.
public struct ContactRecord: Sendable {
    public let contactId: String
    /// `LastUpdateTimestamp` as written; dedup keeps the latest.
    public let lastUpdate: String?
    /// Every recording location (`Recordings[].Location` and `Recording.Location`), file locations
    /// only: Kinesis Video streams are listed in `streamLocations`, never matched to a file.
    public let locations: [String]
    public let streamLocations: [String]
    /// `Agent.AgentInteractionDuration` (s), `Agent.CustomerHoldDuration` (s), when present.
    public let agentInteractionDuration: Double?
    public let customerHoldDuration: Double?
    /// Other fields the outputs index by.
    public let queueName: String?
    public let agentUsername: String?
    public let initiationTimestamp: String?
    public let initialContactId: String?
    public let previousContactId: String?
    public let nextContactId: String?
    public let channel: String?
    /// The record's bytes exactly as read (one JSON object).
    public let raw: Data
    /// Where it came from: file and byte offset.
    public let source: String
    public let offset: Int

    /// Reads the fields from a parsed object; nil when it has no string `ContactId`.
    public init?(object: [String: Any], raw: Data, source: String, offset: Int) {
        guard let id = object["ContactId"] as? String, !id.isEmpty else { return nil }
        contactId = id
        lastUpdate = object["LastUpdateTimestamp"] as? String
        var files: [String] = [], streams: [String] = []
        func add(_ entry: [String: Any]) {
            guard let loc = entry["Location"] as? String, !loc.isEmpty else { return }
            let storage = (entry["StorageType"] as? String)?.uppercased()
            if storage == "KINESIS_VIDEO_STREAM" || loc.hasPrefix("arn:") {
                if !streams.contains(loc) { streams.append(loc) }
            } else if !files.contains(loc) {
                files.append(loc)
            }
        }
        // Either may be null or missing (abandoned contacts, IVR only).
        if let list = object["Recordings"] as? [Any] { for case let e as [String: Any] in list { add(e) } }
        if let legacy = object["Recording"] as? [String: Any] { add(legacy) }
        locations = files
        streamLocations = streams
        let agent = object["Agent"] as? [String: Any]
        agentInteractionDuration = Self.number(agent?["AgentInteractionDuration"])
        customerHoldDuration = Self.number(agent?["CustomerHoldDuration"])
        agentUsername = agent?["Username"] as? String
        queueName = (object["Queue"] as? [String: Any])?["Name"] as? String
        initiationTimestamp = object["InitiationTimestamp"] as? String
        initialContactId = object["InitialContactId"] as? String
        previousContactId = object["PreviousContactId"] as? String
        nextContactId = object["NextContactId"] as? String
        channel = object["Channel"] as? String
        self.raw = raw
        self.source = source
        self.offset = offset
    }

    static func number(_ v: Any?) -> Double? {
        if let n = v as? NSNumber, !(v is Bool) { return n.doubleValue }
        if let s = v as? String { return Double(s) }
        return nil
    }

    /// This record's bytes on one line with `"RecordingAnalysis": <analyses>` added as its last
    /// field. Every original field is left as it was (newlines outside strings are whitespace in
    /// JSON, and raw newlines cannot occur inside valid strings, so flattening changes no value).
    public func jsonLine(recordingAnalysis: Data) -> Data {
        var bytes = raw
        for i in bytes.indices where bytes[i] == 0x0a || bytes[i] == 0x0d { bytes[i] = 0x20 }
        guard let close = bytes.lastIndex(of: 0x7d) else { return bytes }
        var j = close
        var empty = false
        while j > bytes.startIndex {
            j -= 1
            let c = bytes[j]
            if c == 0x20 || c == 0x09 { continue }
            empty = c == 0x7b
            break
        }
        var out = Data(bytes[bytes.startIndex..<close])
        out.append(contentsOf: Array((empty ? "\"RecordingAnalysis\":" : ",\"RecordingAnalysis\":").utf8))
        out.append(recordingAnalysis)
        out.append(0x7d)
        return out
    }
}

/// A timestamp comparison that works for `yyyy-mm-ddThh:mm:ssZ` with or without fractions.
enum Timestamp {
    static func isLater(_ a: String?, than b: String?) -> Bool {
        switch (a, b) {
        case (nil, _): return false
        case (_?, nil): return true
        case let (a?, b?): return normalize(a) > normalize(b)
        }
    }

    /// `2026-03-03T10:15:00Z` and `2026-03-03T10:15:00.120Z` compared as text need the same shape.
    static func normalize(_ s: String) -> String {
        var t = s.hasSuffix("Z") ? String(s.dropLast()) : s
        if let dot = t.firstIndex(of: ".") {
            let frac = t[t.index(after: dot)...]
            t = String(t[..<dot]) + "." + frac.padding(toLength: 9, withPad: "0", startingAt: 0)
        } else {
            t += ".000000000"
        }
        return t
    }
}
