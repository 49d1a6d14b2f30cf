import Foundation
import TalkTraceAudio
import TalkTraceRecords

/// `report.html`: one self-contained page (inline CSS, SVG and a few lines of inline script to sort
/// the table; no external requests)
/// for a batch: the summary, distributions, every recording in a table, failures and unreadable
/// CTR records, and a small timeline per call (the first `maxTimelines`).
public enum BatchReport {
    public static let maxTimelines = 200

    public static func html(_ result: BatchResult, summary: BatchSummary) -> String {
        let e = TimelineSVG.escape
        func n(_ v: Double?, _ digits: Int = 1) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "–" }
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"/><title>TalkTrace batch report</title>
            <style>
            body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#111827}
            h1{font-size:22px}h2{font-size:17px;margin-top:28px}
            .cards{display:flex;flex-wrap:wrap;gap:12px}
            .card{border:1px solid #e5e7eb;border-radius:6px;padding:10px 14px;min-width:150px}
            .card b{display:block;font-size:20px}
            table{border-collapse:collapse;font-size:12px}
            td,th{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:right}
            td.l,th.l{text-align:left}
            td.err{min-width:240px;max-width:420px;overflow-wrap:anywhere}
            .err{color:#b91c1c}
            .call{margin:10px 0}
            .call div{font-size:12px;color:#374151}
            </style></head><body>
            <h1>TalkTrace batch report</h1>

            """
        let s = summary
        h += "<div class=\"cards\">"
        for (label, value) in [
            ("recordings analyzed", "\(s.recordingsAnalyzed) / \(s.recordingsFound)"), ("failed", "\(s.recordingsFailed)"),
            ("unmatched recordings", "\(s.recordingsUnmatched)"), ("contacts", "\(s.contacts)"),
            ("contacts with a recording", "\(s.contactsWithRecording)"), ("contacts without", "\(s.contactsWithoutRecording)"),
            ("unreadable CTR records", "\(s.ctrProblems.count)"), ("audio", String(format: "%.2f h", s.audioHours)),
            ("speed", String(format: "%.0f × real time", s.speedTimesRealTime)),
        ] {
            h += "<div class=\"card\">\(e(label))<b>\(e(value))</b></div>"
        }
        h += "</div>\n"

        let analyses = result.recordings.compactMap(\.analysis)
        h += "<h2>Distributions</h2>\n<div class=\"cards\">"
        func share(_ a: CallAnalysis, _ v: Double) -> Double { a.recording.durationSeconds > 0 ? v / a.recording.durationSeconds * 100 : 0 }
        h += histogram("Agent talk share (%)", analyses.compactMap { $0.conversation.agentTalkShare.map { $0 * 100 } }, 0, 100, 10)
        h += histogram("Non-talk share of the call (%)", analyses.map { share($0, $0.conversation.nonTalk.totalSeconds) }, 0, 100, 10)
        h += histogram("Overlap share of the call (%)", analyses.map { share($0, $0.conversation.overlapSeconds) }, 0, 20, 10)
        h += histogram("Interruptions per call", analyses.map { Double($0.conversation.interruptions.total) }, 0,
                       max(10, Double(analyses.map(\.conversation.interruptions.total).max() ?? 0) + 1), 10)
        h += histogram("Customer SNR (dB)", analyses.compactMap(\.customer.levels.snrDb), 0, 60, 12)
        h += histogram("Agent SNR (dB)", analyses.compactMap(\.agent.levels.snrDb), 0, 60, 12)
        h += "</div>\n"

        h += "<h2>Recordings</h2>\n<p>Click a column heading to sort; click a path to see its timeline.</p>\n"
        h += "<table id=\"calls\"><thead><tr><th class=\"l\">path</th><th class=\"l\">contact</th><th class=\"l\">matched by</th>"
        h += "<th class=\"l\">queue</th><th class=\"l\">agent</th><th class=\"l\">initiated</th>"
        h += "<th>duration (s)</th><th>agent talk (s)</th><th>customer talk (s)</th><th>silence (s)</th><th>overlap (s)</th><th>non-talk (s)</th><th>interruptions</th><th class=\"l\">quality / error</th></tr></thead><tbody>\n"
        var timelineIndex: [Int: Int] = [:]
        for (i, r) in result.recordings.enumerated() where r.analysis != nil && timelineIndex.count < maxTimelines { timelineIndex[i] = timelineIndex.count }
        for (i, r) in result.recordings.enumerated() {
            let contact = r.match.flatMap { result.contacts.contact(id: $0.contactId) }
            let path = timelineIndex[i].map { "<a href=\"#call-\($0)\">\(e(r.file.relativePath))</a>" } ?? e(r.file.relativePath)
            h += "<tr><td class=\"l\">\(path)</td><td class=\"l\">\(e(r.match?.contactId ?? "–"))</td><td class=\"l\">\(e(r.match?.by.rawValue ?? "–"))</td>"
            h += "<td class=\"l\">\(e(contact?.queueName ?? "–"))</td><td class=\"l\">\(e(contact?.agentUsername ?? "–"))</td><td class=\"l\">\(e(contact?.initiationTimestamp ?? "–"))</td>"
            if let a = r.analysis {
                let c = a.conversation
                var notes: [String] = []
                if a.quality.echo.detected { notes.append("echo") }
                if a.quality.clipping.detected { notes.append("clipping") }
                if a.quality.oneWayAudio.detected { notes.append("one-way audio") }
                if a.quality.musicOnHold.detected { notes.append("music on hold") }
                if let bg = a.quality.backgroundSpeech {
                    let who = [bg.agent.detected ? "agent" : nil, bg.customer.detected ? "customer" : nil].compactMap { $0 }
                    if !who.isEmpty { notes.append("someone behind the " + who.joined(separator: " and ")) }
                }
                if a.quality.channelsSwapped.suspected { notes.append("channels swapped?") }
                h += "<td>\(n(a.recording.durationSeconds))</td><td>\(n(a.agent.talkSeconds))</td><td>\(n(a.customer.talkSeconds))</td>"
                h += "<td>\(n(c.silenceSeconds))</td><td>\(n(c.overlapSeconds))</td><td>\(n(c.nonTalk.totalSeconds))</td><td>\(c.interruptions.total)</td>"
                h += "<td class=\"l\">\(e(notes.joined(separator: ", ")))</td></tr>\n"
            } else {
                // The row names the file already: show the problem alone.
                let problem = (r.error ?? "not analyzed").replacingOccurrences(of: r.file.path + ": ", with: "")
                h += "<td colspan=\"7\"></td><td class=\"l err\">\(e(problem))</td></tr>\n"
            }
        }
        h += "</tbody></table>\n"

        let unmatched = result.recordings.filter { $0.match == nil }
        if !s.failures.isEmpty || !s.ctrProblems.isEmpty || !unmatched.isEmpty {
            h += "<h2>Problems</h2>\n<ul>\n"
            for f in s.failures { h += "<li class=\"err\">\(e(f.error))</li>\n" }
            for r in unmatched {
                h += "<li>\(e(r.file.relativePath)): matched no CTR (no CTR location names it and no CTR has the contact ID in its name)</li>\n"
            }
            for p in s.ctrProblems { h += "<li class=\"err\">CTR \(e(p.description))</li>\n" }
            h += "</ul>\n"
        }

        h += "<h2>Timelines</h2>\n"
        let shown = result.recordings.filter { $0.analysis != nil }.prefix(maxTimelines)
        if analyses.count > maxTimelines {
            h += "<p>The first \(maxTimelines) of \(analyses.count) analyzed calls; every call's figures are in the table above.</p>\n"
        }
        for (k, r) in shown.enumerated() {
            guard let a = r.analysis else { continue }
            h += "<div class=\"call\" id=\"call-\(k)\"><div>\(e(r.file.relativePath)) · \(TimelineSVG.clock(a.recording.durationSeconds))</div>\n"
            h += TimelineSVG.svg(a, width: 900, compact: true)
            h += "</div>\n"
        }
        // Sorting: a few lines of inline script, no libraries; numbers sort as numbers.
        h += """
            <script>//<![CDATA[
            document.querySelectorAll('#calls th').forEach(function (th, col) {
              th.style.cursor = 'pointer';
              th.addEventListener('click', function () {
                var body = document.querySelector('#calls tbody');
                var rows = Array.prototype.slice.call(body.rows);
                var dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';
                rows.sort(function (a, b) {
                  var x = a.cells[col] ? a.cells[col].textContent : '', y = b.cells[col] ? b.cells[col].textContent : '';
                  var nx = parseFloat(x), ny = parseFloat(y);
                  if (!isNaN(nx) && !isNaN(ny)) return (nx - ny) * dir;
                  return x.localeCompare(y) * dir;
                });
                rows.forEach(function (r) { body.appendChild(r); });
              });
            });
            //]]></script>

            """
        h += "</body></html>\n"
        return h
    }

    /// An inline SVG bar chart of `values` in `bins` bins over [lo, hi).
    static func histogram(_ title: String, _ values: [Double], _ lo: Double, _ hi: Double, _ bins: Int) -> String {
        var counts = [Int](repeating: 0, count: bins)
        for v in values {
            let i = Int(((v - lo) / (hi - lo) * Double(bins)).rounded(.down))
            counts[min(bins - 1, max(0, i))] += 1
        }
        let width = 280.0, height = 120.0, barW = width / Double(bins)
        let top = Double(counts.max() ?? 0)
        var s = "<div class=\"card\">\(TimelineSVG.escape(title))<br/><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height + 16))\">"
        for (i, c) in counts.enumerated() where c > 0 {
            let bh = top > 0 ? Double(c) / top * height : 0
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#2563eb\"><title>%d</title></rect>",
                        Double(i) * barW + 1, height - bh, barW - 2, bh, c)
        }
        s += String(format: "<text x=\"0\" y=\"%.0f\" font-size=\"10\">%.0f</text><text x=\"%.0f\" y=\"%.0f\" font-size=\"10\" text-anchor=\"end\">%.0f</text>",
                    height + 13, lo, width, height + 13, hi)
        s += "</svg></div>"
        return s
    }
}
