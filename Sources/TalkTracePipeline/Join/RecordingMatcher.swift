import Foundation
import TalkTraceAudio
import TalkTraceRecords

/// How a recording was linked to its contact.
public enum MatchedBy: String, Sendable, Codable {
    /// The CTR's `Recordings[].Location` or `Recording.Location` names this file.
    case location
    /// The file name carries the CTR's ContactId (Amazon does not promise this; second choice).
    case contactId
}

/// Stage 7: which CTR each recording belongs to.
///
/// Locations are `bucket/key` without `s3://`. A file matches a location when one's path
/// components are a suffix of the other's (percent-escapes decoded), so a sync of the bucket into
/// any local folder, with or without the bucket name, still matches; the longest common suffix
/// wins if several files could. Files no location names fall back to the contact ID in their
/// name. Kinesis Video locations are never compared.
public struct RecordingMatcher: Sendable {
    public struct Match: Sendable, Equatable {
        public var contactId: String
        public var by: MatchedBy
        /// The CTR location that named the file (location matches only).
        public var location: String?
    }

    /// `matches[i]` for `recordings[i]`; nil when unmatched.
    public let matches: [Match?]

    public init(recordings: [RecordingFile], contacts: [ContactRecord]) {
        var result = [Match?](repeating: nil, count: recordings.count)
        var byName: [String: [Int]] = [:]
        let components = recordings.map { Self.components($0.relativePath) }
        for (i, c) in components.enumerated() { byName[c.last ?? "", default: []].append(i) }
        var matchLength = [Int](repeating: 0, count: recordings.count)
        for contact in contacts {
            for location in contact.locations {
                let loc = Self.components(location)
                guard let name = loc.last, let candidates = byName[name] else { continue }
                var best: (index: Int, length: Int)?
                for i in candidates {
                    let rel = components[i]
                    let common = Self.commonSuffix(rel, loc)
                    guard common == rel.count || common == loc.count else { continue }
                    if best == nil || common > best!.length { best = (i, common) }
                }
                if let best, result[best.index] == nil || best.length > matchLength[best.index] {
                    result[best.index] = Match(contactId: contact.contactId, by: .location, location: location)
                    matchLength[best.index] = best.length
                }
            }
        }
        let ids = Set(contacts.map { $0.contactId.lowercased() })
        let canonical = Dictionary(contacts.map { ($0.contactId.lowercased(), $0.contactId) }, uniquingKeysWith: { a, _ in a })
        for (i, r) in recordings.enumerated() where result[i] == nil {
            if let id = ContactIdInName.find(in: r.relativePath), ids.contains(id) {
                result[i] = Match(contactId: canonical[id]!, by: .contactId, location: nil)
            }
        }
        matches = result
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/").filter { !$0.isEmpty && $0 != "." }.map { String($0).removingPercentEncoding ?? String($0) }
    }

    static func commonSuffix(_ a: [String], _ b: [String]) -> Int {
        var n = 0
        while n < a.count, n < b.count, a[a.count - 1 - n] == b[b.count - 1 - n] { n += 1 }
        return n
    }
}

/// Recording duration against what the CTR says of the contact.
public struct CrossCheck: Sendable, Equatable, Codable {
    public var recordingSeconds: Double
    /// `Agent.AgentInteractionDuration` (s) and `Agent.CustomerHoldDuration` (s) from the CTR.
    public var agentInteractionDuration: Double?
    public var customerHoldDuration: Double?
    /// Recording minus (interaction + hold), seconds. The recording runs from agent connect to
    /// agent disconnect, so this should be near 0 (after-contact work is not recorded).
    public var differenceSeconds: Double?
    /// Whether the difference is within `tolerance`: max(5 s, 5 %).
    public var consistent: Bool?

    public init(recordingSeconds: Double, contact: ContactRecord) {
        self.recordingSeconds = recordingSeconds
        agentInteractionDuration = contact.agentInteractionDuration
        customerHoldDuration = contact.customerHoldDuration
        if let interaction = contact.agentInteractionDuration {
            let expected = interaction + (contact.customerHoldDuration ?? 0)
            let diff = recordingSeconds - expected
            differenceSeconds = diff.roundedToMilliseconds
            consistent = abs(diff) <= max(5, 0.05 * expected)
        }
    }
}
