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

    static func recordings(_ result: BatchResult) -> String {
        var out = ""
        forEachLine(result) { out += $0 }
        return out
    }

    static func write(_ result: BatchResult, to writer: FileWriter) {
        forEachLine(result) { writer.write($0) }
    }

    static func forEachLine(_ result: BatchResult, _ emit: (String) -> Void) {
        emit(columns.joined(separator: ",") + "\r\n")
        for r in result.recordings {
            var row: [String] = [r.file.relativePath, r.match?.contactId ?? "", r.match?.by.rawValue ?? "", r.error ?? ""].map(neutralize)
            if let a = r.analysis {
                let c = a.conversation
                func n(_ v: Double?) -> String { v.map { "\($0)" } ?? "" }
                row += [
                    n(a.recording.durationSeconds), n(a.agent.talkSeconds), n(a.customer.talkSeconds), n(c.talkSeconds),
                    n(c.silenceSeconds), n(c.overlapSeconds), n(c.nonTalk.totalSeconds), "\(c.nonTalk.instances.count)",
                    "\(c.interruptions.total)", "\(c.interruptions.byAgent)", "\(c.interruptions.byCustomer)",
                    "\(c.backchannels.total)", n(c.agentTalkShare), n(c.responseLatency.medianSeconds),
                    "\(a.agent.segmentCount)", "\(a.customer.segmentCount)", n(a.agent.longestMonologueSeconds),
                    n(a.customer.longestMonologueSeconds), n(a.agent.levels.speechLevelDbfs),
                    n(a.customer.levels.speechLevelDbfs), n(a.agent.levels.snrDb), n(a.customer.levels.snrDb),
                    n(a.agent.loudness.mean), n(a.customer.loudness.mean), n(a.agent.levels.clippedRatio),
                    n(a.customer.levels.clippedRatio),
                ]
            } else {
                row += Array(repeating: "", count: columns.count - row.count)
            }
            emit(row.map(quote).joined(separator: ",") + "\r\n")
        }
    }

    /// A text cell a spreadsheet would take for a formula, made inert with a leading `'`.
    static func neutralize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) else { return s }
        return "'" + s
    }

    static func quote(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
