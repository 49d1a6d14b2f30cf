import Foundation

/// What the join needs of a contact: its ID and the recording locations it names.
public protocol JoinKey {
    var contactId: String { get }
    /// File locations (`bucket/key`, no `s3://`), Kinesis Video streams excluded.
    var locations: [String] { get }
}

/// One CTR as it arrived: its exact bytes (written back untouched) and the fields the join, the
/// cross-checks and the outputs read.
public struct ContactRecord: Sendable, JoinKey {
    public let contactId: String
    /// `LastUpdateTimestamp` as written; dedup keeps the latest (see `Timestamp`).
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
    public let formatVersion: String?
    /// The record's bytes exactly as read (one JSON object).
    public let raw: Data
    /// Where it came from: file and byte offset.
    public let source: String
    public let offset: Int

    /// The members the parser keeps of a CTR; everything else is validated and skipped.
    public static let wanted: JSONWant = .object([
        "ContactId": .scalar, "LastUpdateTimestamp": .scalar, "AWSContactTraceRecordFormatVersion": .scalar,
        "InitiationTimestamp": .scalar, "Channel": .scalar, "InitialContactId": .scalar,
        "PreviousContactId": .scalar, "NextContactId": .scalar,
        "Queue": .object(["Name": .scalar]),
        "Agent": .object(["AgentInteractionDuration": .scalar, "CustomerHoldDuration": .scalar, "Username": .scalar]),
        "Recording": .object(["Location": .scalar, "StorageType": .scalar]),
        "Recordings": .array(.object(["Location": .scalar, "StorageType": .scalar])),
    ])

    /// Why a parsed object is not taken as a CTR, or nil when it is one. Contact Lens events and
    /// other Connect exports carry a `ContactId` too; a CTR also has its format version or its
    /// initiation time.
    public static func rejection(_ c: JSONCapture) -> String? {
        guard case .object = c else { return "not a JSON object" }
        guard let id = c["ContactId"] else { return "record has no ContactId" }
        guard let s = id.string, !s.isEmpty else { return "ContactId is not a non-empty string" }
        if c["AWSContactTraceRecordFormatVersion"] == nil && c["InitiationTimestamp"] == nil {
            return "not a contact trace record: ContactId \(s) but neither AWSContactTraceRecordFormatVersion nor InitiationTimestamp"
        }
        return nil
    }

    /// Reads the fields from a record's capture (`wanted`); nil when it is not a CTR.
    public init?(capture c: JSONCapture, raw: Data, source: String, offset: Int) {
        guard Self.rejection(c) == nil, let id = c["ContactId"]?.string else { return nil }
        contactId = id
        lastUpdate = c["LastUpdateTimestamp"]?.string
        (locations, streamLocations) = Self.locations(c)
        let agent = c["Agent"]
        agentInteractionDuration = Self.number(agent?["AgentInteractionDuration"])
        customerHoldDuration = Self.number(agent?["CustomerHoldDuration"])
        agentUsername = agent?["Username"]?.string
        queueName = c["Queue"]?["Name"]?.string
        initiationTimestamp = c["InitiationTimestamp"]?.string
        initialContactId = c["InitialContactId"]?.string
        previousContactId = c["PreviousContactId"]?.string
        nextContactId = c["NextContactId"]?.string
        channel = c["Channel"]?.string
        formatVersion = c["AWSContactTraceRecordFormatVersion"]?.string
        self.raw = raw
        self.source = source
        self.offset = offset
    }

    /// Parses one record's bytes (tests, and records read back from the spool).
    public init?(json: Data, source: String = "-", offset: Int = 0) {
        let (records, _) = JSONRecordScanner.scan(json, want: Self.wanted)
        guard records.count == 1 else { return nil }
        self.init(capture: records[0].capture, raw: json, source: source, offset: offset)
    }

    /// File locations and Kinesis Video stream locations. Either field may be null or missing
    /// (abandoned contacts, IVR only).
    static func locations(_ c: JSONCapture) -> (files: [String], streams: [String]) {
        var files: [String] = [], streams: [String] = []
        func add(_ entry: JSONCapture) {
            guard let (loc, isStream) = location(entry["Location"]?.string, storageType: entry["StorageType"]?.string) else { return }
            if isStream {
                if !streams.contains(loc) { streams.append(loc) }
            } else if !files.contains(loc) {
                files.append(loc)
            }
        }
        for e in c["Recordings"]?.array ?? [] { add(e) }
        if let legacy = c["Recording"] { add(legacy) }
        return (files, streams)
    }

    /// A recording entry's location, and whether it is a Kinesis Video stream (never matched to
    /// a file); nil when the entry has none.
    static func location(_ location: String?, storageType: String?) -> (String, isStream: Bool)? {
        guard let location, !location.isEmpty else { return nil }
        let stream = (storageType?.utf8.count == 20 && storageType?.uppercased() == "KINESIS_VIDEO_STREAM") || location.hasPrefix("arn:")
        return (location, stream)
    }

    static func number(_ v: JSONCapture?) -> Double? {
        if let n = v?.number, n.isFinite { return n }
        if let s = v?.string, let n = Double(s), n.isFinite { return n }
        return nil
    }

    /// This record's bytes on one line with `"RecordingAnalysis": <analyses>` added as its last
    /// field. Every original field is left as it was (newlines outside strings are whitespace in
    /// JSON, and raw newlines cannot occur inside valid strings, so flattening changes no value).
    public func jsonLine(recordingAnalysis: Data) -> Data {
        Self.jsonLine(raw: raw, recordingAnalysis: recordingAnalysis)
    }

    public static func jsonLine(raw: Data, recordingAnalysis: Data) -> Data {
        // On a byte array, not `Data`: indexing `Data` a byte at a time made this a third of a
        // million-CTR join's time.
        var bytes = [UInt8](raw)
        let close: Int? = bytes.withUnsafeMutableBufferPointer { b in
            var last: Int?
            for i in b.indices {
                let c = b[i]
                if c == 0x0a || c == 0x0d { b[i] = 0x20 } else if c == 0x7d { last = i }
            }
            return last
        }
        guard let close else { return Data(bytes) }
        var j = close
        var empty = false
        while j > 0 {
            j -= 1
            let c = bytes[j]
            if c == 0x20 || c == 0x09 { continue }
            empty = c == 0x7b
            break
        }
        var out = Data(capacity: close + recordingAnalysis.count + 24)
        out.append(contentsOf: bytes[0..<close])
        out.append(contentsOf: Array((empty ? "\"RecordingAnalysis\":" : ",\"RecordingAnalysis\":").utf8))
        out.append(recordingAnalysis)
        out.append(0x7d)
        return out
    }
}
