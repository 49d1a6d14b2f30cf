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
/// Locations are `bucket/key` without `s3://`. A file matches a location by the longest common
/// suffix of their path components (percent-escapes decoded): a sync of the bucket into any
/// local folder matches, with or without the bucket name, and with extra folders above the synced
/// keys (`RECDIR/sync/connect/...` against `bucket/connect/...`). To be safe, the common suffix
/// must be the whole of one of the two paths or at least `minimumSharedComponents` components
/// (the file name and two folders, e.g. the day's date folders), and it must be unique: when two
/// files share the same longest suffix with a location, neither is matched by it. Files no
/// location names fall back to the contact ID in their name. Kinesis Video locations are never
/// compared.
public struct RecordingMatcher: Sendable {
    public struct Match: Sendable, Equatable {
        public var contactId: String
        public var by: MatchedBy
        /// The CTR location that named the file (location matches only).
        public var location: String?
    }

    public static let minimumSharedComponents = 3

    /// `matches[i]` for `recordings[i]`; nil when unmatched.
    public let matches: [Match?]

    public init<C: Sequence>(recordings: [RecordingFile], contacts: C) where C.Element: JoinKey {
        var result = [Match?](repeating: nil, count: recordings.count)
        var byName: [String: [Int]] = [:]
        let components = recordings.map { Self.components($0.relativePath) }
        for (i, c) in components.enumerated() where recordings[i].problem == nil { byName[c.last ?? "", default: []].append(i) }
        var matchLength = [Int](repeating: 0, count: recordings.count)
        // Contact IDs wanted by the files' names, for the files no location claims.
        var wantedIds: [String: [Int]] = [:]
        for contact in contacts {
            for location in contact.locations {
                // The file name first: most locations name no file of this batch (a shard's
                // join sees every CTR of the night), and splitting them all cost more than
                // reading the CTRs.
                guard let name = Self.lastComponent(location), let candidates = byName[name] else { continue }
                let loc = Self.components(location)
                var best: (index: Int, length: Int)?
                var tie = false
                for i in candidates {
                    let rel = components[i]
                    let common = Self.commonSuffix(rel, loc)
                    guard common == rel.count || common == loc.count || common >= Self.minimumSharedComponents else { continue }
                    if best == nil || common > best!.length {
                        best = (i, common)
                        tie = false
                    } else if common == best!.length {
                        tie = true
                    }
                }
                if let best, !tie, result[best.index] == nil || best.length > matchLength[best.index] {
                    result[best.index] = Match(contactId: contact.contactId, by: .location, location: location)
                    matchLength[best.index] = best.length
                }
            }
        }
        for (i, r) in recordings.enumerated() where result[i] == nil && r.problem == nil {
            if let id = ContactIdInName.find(in: r.relativePath) { wantedIds[id, default: []].append(i) }
        }
        if !wantedIds.isEmpty {
            for contact in contacts {
                guard let files = wantedIds[contact.contactId.lowercased()] else { continue }
                for i in files where result[i] == nil {
                    result[i] = Match(contactId: contact.contactId, by: .contactId, location: nil)
                }
            }
        }
        matches = result
    }

    static func components(_ path: String) -> [String] {
        // Split on the UTF-8 bytes: `split(separator: "/")` walks Characters (grapheme breaking),
        // which was a tenth of a 300-recording join. "/" is ASCII, so the pieces are the same.
        var out: [String] = []
        let utf8 = path.utf8
        var start = utf8.startIndex
        func piece(_ end: String.Index) {
            let c = Substring(utf8[start..<end])
            if !c.isEmpty && c != "." { out.append(decoded(c)) }
        }
        var i = start
        while i < utf8.endIndex {
            if utf8[i] == 0x2f {
                piece(i)
                start = utf8.index(after: i)
            }
            i = utf8.index(after: i)
        }
        piece(utf8.endIndex)
        return out
    }

    /// `components(path).last`, without splitting the rest.
    static func lastComponent(_ path: String) -> String? {
        var end = path.endIndex
        while end > path.startIndex {
            let start = path[..<end].lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
            let c = path[start..<end]
            if !c.isEmpty && c != "." { return decoded(c) }
            if start == path.startIndex { return nil }
            end = path.index(before: start)
        }
        return nil
    }

    /// A component with percent-escapes decoded (Foundation only when there is one: it is slow).
    static func decoded(_ c: Substring) -> String {
        // (`utf8.contains`, not `contains("%")`: that is Foundation's substring search, which
        // was most of the matcher's time.)
        c.utf8.contains(0x25) ? (String(c).removingPercentEncoding ?? String(c)) : String(c)
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
