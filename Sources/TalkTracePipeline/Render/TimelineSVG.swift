import Foundation
import TalkTraceAudio

/// A call as a picture: one lane per participant with its talk segments and loudness, overlap,
/// non-talk stretches, music on hold, interruptions and backchannels on one time axis.
/// Self-contained SVG (no scripts, no external references), readable from a 1-minute to a
/// 10-hour call: segments are at least one pixel wide.
public enum TimelineSVG {
    /// Escapes text for XML content and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }

    /// `m:ss` or `h:mm:ss`.
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// A tick step (seconds) giving about 6–12 ticks.
    static func tickStep(_ duration: Double) -> Double {
        for step in [1.0, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200] where duration / step <= 12 { return step }
        return 14400
    }

    public static let colors = (agent: "#2563eb", customer: "#16a34a", overlap: "#dc2626", nonTalk: "#e5e7eb", music: "#a855f7")

    /// The SVG document for `analysis`, `width` pixels wide.
    public static func svg(_ a: CallAnalysis, width: Int = 1200, title: String? = nil, compact: Bool = false) -> String {
        let duration = max(a.recording.durationSeconds, 0.001)
        let left = 90.0, right = 20.0
        let plotWidth = Double(width) - left - right
        func x(_ t: Double) -> Double { left + t / duration * plotWidth }
        func w(_ a: Double, _ b: Double) -> Double { max(1, (b - a) / duration * plotWidth) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        let top = compact ? 8.0 : 50.0  // room for the title and, under it, the call's details
        let laneH = compact ? 18.0 : 44.0, gap = compact ? 6.0 : 14.0
        let agentY = top, customerY = top + laneH + gap
        let overlapY = customerY + laneH + gap, overlapH = compact ? 5.0 : 8.0
        let axisY = overlapY + overlapH + 6
        let height = Int(axisY + (compact ? 16 : 84))
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
            font-family="Helvetica, Arial, sans-serif" font-size="\(compact ? 10 : 12)">

            """
        s += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>\n"
        if !compact {
            let name = title ?? (a.recording.path as NSString).lastPathComponent
            s += "<text x=\"\(f(left))\" y=\"20\" font-size=\"15\" font-weight=\"bold\">\(escape(name))</text>\n"
            // On a line of its own: beside a long file name it would overlap it.
            let info = "\(clock(duration)) · agent \(a.recording.agentChannel), customer \(a.recording.customerChannel)"
                + (a.recording.contactId.map { " · contact \($0)" } ?? "")
            s += "<text x=\"\(f(left))\" y=\"37\" fill=\"#555\">\(escape(info))</text>\n"
        }
        // Non-talk behind everything.
        for n in a.conversation.nonTalk.instances {
            s += "<rect class=\"nontalk\" x=\"\(f(x(n.beginOffsetSeconds)))\" y=\"\(f(agentY - 3))\" width=\"\(f(w(n.beginOffsetSeconds, n.endOffsetSeconds)))\" height=\"\(f(overlapY + overlapH - agentY + 6))\" fill=\"\(colors.nonTalk)\"><title>non-talk \(clock(n.beginOffsetSeconds))–\(clock(n.endOffsetSeconds)) (\(f(n.durationSeconds)) s)</title></rect>\n"
        }
        // Lanes.
        for (label, ch, y, color, cls) in [("Agent", a.agent, agentY, colors.agent, "seg-agent"),
                                           ("Customer", a.customer, customerY, colors.customer, "seg-customer")] {
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(y + laneH / 2 + 4))\" text-anchor=\"end\">\(label)</text>\n"
            s += "<rect x=\"\(f(left))\" y=\"\(f(y))\" width=\"\(f(plotWidth))\" height=\"\(f(laneH))\" fill=\"none\" stroke=\"#d1d5db\"/>\n"
 for seg in Self.pixelMerged(ch.segments, secondsPerPixel: duration / plotWidth) {
                s += "<rect class=\"\(cls)\" x=\"\(f(x(seg.start)))\" y=\"\(f(y))\" width=\"\(f(w(seg.start, seg.end)))\" height=\"\(f(laneH))\" fill=\"\(color)\" fill-opacity=\"0.55\"/>\n"
            }
            if !compact, !ch.loudness.perSecond.isEmpty {
                // One polyline per run of consecutive seconds: no line across silence.
                var runs: [[String]] = []
                var last = -1e9
                let spp = duration / plotWidth, joinGap = max(1, spp) + 1  // one bucket apart: same run
                for p in Self.pixelMax(ch.loudness.perSecond.map { [Double($0.second), Double($0.score)] }, secondsPerPixel: spp) {
                    if p[0] - last > joinGap { runs.append([]) }
                    runs[runs.count - 1].append("\(f(x(p[0] + 0.5))),\(f(y + laneH - p[1] / 100 * laneH))")
                    last = p[0]
                }
                for run in runs {
                    let points = run.count == 1 ? [run[0], run[0]] : run
                    s += "<polyline class=\"loudness\" points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"#111827\" stroke-width=\"1.2\" stroke-opacity=\"0.7\"/>\n"
                }
            }
        }
        // Music on hold on its participant's lane.
        if a.quality.musicOnHold.detected {
            let y = a.quality.musicOnHold.participant == .agent ? agentY : customerY
            for m in a.quality.musicOnHold.spans {
                s += "<rect class=\"music\" x=\"\(f(x(m.start)))\" y=\"\(f(y + laneH * 0.35))\" width=\"\(f(w(m.start, m.end)))\" height=\"\(f(laneH * 0.3))\" fill=\"\(colors.music)\" fill-opacity=\"0.7\"><title>music on hold \(clock(m.start))–\(clock(m.end))</title></rect>\n"
            }
        }
        // Overlap strip.
        s += "<text x=\"\(f(left - 8))\" y=\"\(f(overlapY + overlapH))\" text-anchor=\"end\" fill=\"\(colors.overlap)\">overlap</text>\n"
        var i = 0, j = 0
        let ag = a.agent.segments, cu = a.customer.segments
        while i < ag.count && j < cu.count {
            let lo = max(ag[i].start, cu[j].start), hi = min(ag[i].end, cu[j].end)
            if hi > lo {
                s += "<rect class=\"overlap\" x=\"\(f(x(lo)))\" y=\"\(f(overlapY))\" width=\"\(f(w(lo, hi)))\" height=\"\(f(overlapH))\" fill=\"\(colors.overlap)\"/>\n"
            }
            if ag[i].end < cu[j].end { i += 1 } else { j += 1 }
        }
        // Interruptions (triangles above the interrupter's lane) and backchannels (ticks).
        for e in a.conversation.interruptions.instances {
            let y = e.by == .agent ? agentY : customerY, cx = x(e.beginOffsetSeconds)
            s += "<path class=\"interruption\" d=\"M\(f(cx - 4)),\(f(y - 7)) L\(f(cx + 4)),\(f(y - 7)) L\(f(cx)),\(f(y - 1)) Z\" fill=\"\(colors.overlap)\"><title>\(e.by == .agent ? "agent" : "customer") interrupts at \(clock(e.beginOffsetSeconds))</title></path>\n"
        }
        for e in a.conversation.backchannels.instances {
            let y = e.by == .agent ? agentY : customerY, cx = x(e.beginOffsetSeconds)
            s += "<line class=\"backchannel\" x1=\"\(f(cx))\" y1=\"\(f(y + laneH))\" x2=\"\(f(cx))\" y2=\"\(f(y + laneH + 4))\" stroke=\"#374151\"/>\n"
        }
        // Axis.
        s += "<line x1=\"\(f(left))\" y1=\"\(f(axisY))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(axisY))\" stroke=\"#9ca3af\"/>\n"
        if !compact {
            let step = tickStep(duration)
            var t = 0.0
            while t <= duration + 1e-9 {
                s += "<line x1=\"\(f(x(t)))\" y1=\"\(f(axisY))\" x2=\"\(f(x(t)))\" y2=\"\(f(axisY + 5))\" stroke=\"#9ca3af\"/>"
                s += "<text x=\"\(f(x(t)))\" y=\"\(f(axisY + 18))\" text-anchor=\"middle\" fill=\"#374151\">\(clock(t))</text>\n"
                t += step
            }
            // Legend.
            let ly = axisY + 40
            var lx = left
            for (name, color) in [("agent talk", colors.agent), ("customer talk", colors.customer), ("overlap / interruption", colors.overlap),
                                  ("non-talk ≥ 3 s", colors.nonTalk), ("music on hold", colors.music)] {
                s += "<rect x=\"\(f(lx))\" y=\"\(f(ly - 10))\" width=\"12\" height=\"12\" fill=\"\(color)\" stroke=\"#9ca3af\" stroke-width=\"0.5\"/>"
                s += "<text x=\"\(f(lx + 17))\" y=\"\(f(ly))\">\(escape(name))</text>\n"
                lx += 30 + Double(name.count) * 7
            }
            s += "<text x=\"\(f(lx))\" y=\"\(f(ly))\" fill=\"#555\">line: loudness 0–100</text>\n"
            // Caption: the headline numbers.
            let c = a.conversation
            let caption = "Agent talks \(clock(a.agent.talkSeconds)), customer \(clock(a.customer.talkSeconds)) · silence \(clock(c.silenceSeconds))"
                + " · overlap \(f(c.overlapSeconds)) s · non-talk \(c.nonTalk.instances.count) × (\(clock(c.nonTalk.totalSeconds)))"
                + " · interruptions \(c.interruptions.total) (agent \(c.interruptions.byAgent), customer \(c.interruptions.byCustomer))"
                + (c.agentTalkShare.map { String(format: " · agent share %.0f%%", $0 * 100) } ?? "")
            s += "<text class=\"caption\" x=\"\(f(left))\" y=\"\(f(ly + 22))\" fill=\"#111827\">\(escape(caption))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    /// Segments closer than one pixel drawn as one bar: a 2-hour call stays a few hundred shapes.
    static func pixelMerged(_ segments: [Segment], secondsPerPixel: Double) -> [Segment] {
        var out: [Segment] = []
        for seg in segments {
            if let last = out.last, seg.start - last.end < secondsPerPixel { out[out.count - 1].end = seg.end } else { out.append(seg) }
        }
        return out
    }

    /// Per-second loudness reduced to at most one point per pixel (the loudest of the bucket), so a
    /// 10-hour call draws about a thousand points, not 36,000.
    static func pixelMax(_ points: [[Double]], secondsPerPixel: Double) -> [[Double]] {
        guard secondsPerPixel > 1 else { return points }
        var out: [[Double]] = []
        var bucket = -1
        for p in points {
            let b = Int(p[0] / secondsPerPixel)
            if b == bucket, let last = out.last { out[out.count - 1] = [last[0], max(last[1], p[1])] } else { out.append(p); bucket = b }
        }
        return out
    }

    /// Rasterizes `svg` to PNG at `path` with `rsvg-convert` (Debian: librsvg2-bin) when it is on
    /// PATH. Returns false when no rasterizer is available.
    public static func writePNG(svg: String, to path: String) throws -> Bool {
        let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map { "\($0)/rsvg-convert" }
        guard let tool = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = ["--format", "png", "--output", path]
        let input = Pipe()
        p.standardInput = input
        try p.run()
        input.fileHandleForWriting.write(Data(svg.utf8))
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw PipelineError("\(path): rsvg-convert failed (status \(p.terminationStatus))") }
        return true
    }
}
