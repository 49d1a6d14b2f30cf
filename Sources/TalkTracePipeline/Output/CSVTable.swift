import TalkTraceAudio

/// recordings.csv: one flat row per recording, headline metrics, RFC 4180 quoting.
///
/// Text cells (path, contact ID, matched by, error) come from file names and CTRs, which anyone
/// can write: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return would run as a
/// formula in a spreadsheet, so such a cell gets a leading `'` as OWASP's CSV injection advice
/// says (the quote shows in the cell; the value is otherwise whole). Numeric cells are written
/// by TalkTrace itself and left as numbers.
enum CSVTable {
    static let columns = [
        "Path", "ContactId", "MatchedBy", "Error", "DurationSeconds", "AgentTalkSeconds", "CustomerTalkSeconds",
        "TalkSeconds", "SilenceSeconds", "OverlapSeconds", "NonTalkSeconds", "NonTalkInstances",
        "Interruptions", "InterruptionsByAgent", "InterruptionsByCustomer", "Backchannels", "AgentTalkShare",
        "MedianResponseSeconds", "AgentSegments", "CustomerSegments", "AgentLongestMonologueSeconds",
        "CustomerLongestMonologueSeconds", "AgentSpeechLevelDbfs", "CustomerSpeechLevelDbfs", "AgentSnrDb",
        "CustomerSnrDb", "AgentLoudness", "CustomerLoudness", "AgentClippedRatio", "CustomerClippedRatio",
    ]

    static let header = columns.joined(separator: ",") + "\r\n"

    /// One recording's row, its figures from the analysis's JSON (`row`; nil when it failed).
    static func line(_ r: RecordingResult, _ a: AnalysisRow?) -> String {
        var row: [String] = [r.file.relativePath, r.match?.contactId ?? "", r.match?.by.rawValue ?? "", r.error ?? ""].map(neutralize)
        if let a {
            func n(_ v: Double?) -> String { v.map { "\($0)" } ?? "" }
            func n(_ v: Int?) -> String { v.map { "\($0)" } ?? "" }
            row += [
                n(a.durationSeconds), n(a.agent.talkSeconds), n(a.customer.talkSeconds), n(a.talkSeconds),
                n(a.silenceSeconds), n(a.overlapSeconds), n(a.nonTalkSeconds), "\(a.nonTalkCount)",
                n(a.interruptions), n(a.interruptionsByAgent), n(a.interruptionsByCustomer),
                n(a.backchannels), n(a.agentTalkShare), n(a.medianResponseSeconds),
                n(a.agent.segmentCount), n(a.customer.segmentCount), n(a.agent.longestMonologueSeconds),
                n(a.customer.longestMonologueSeconds), n(a.agent.speechLevelDbfs),
                n(a.customer.speechLevelDbfs), n(a.agent.snrDb), n(a.customer.snrDb),
                n(a.agent.loudnessMean), n(a.customer.loudnessMean), n(a.agent.clippedRatio),
                n(a.customer.clippedRatio),
            ]
        } else {
            row += Array(repeating: "", count: columns.count - row.count)
        }
        return row.map(quote).joined(separator: ",") + "\r\n"
    }

    /// A text cell a spreadsheet would take for a formula, made inert with a leading `'`.
    static func neutralize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) else { return s }
        return "'" + s
    }

    static func quote(_ s: String) -> String {
        // On the bytes: a Character scan was a twentieth of a join, and missed "\r\n" (one
        // Character, equal to neither "\r" nor "\n"), which must be quoted too.
        guard s.utf8.contains(where: { $0 == 0x2c || $0 == 0x22 || $0 == 0x0a || $0 == 0x0d }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
