import Foundation
import TalkTraceAudio
import TalkTracePipeline

/// The human-readable summary `talktrace analyze` prints.
enum SummaryTable {
    /// `m:ss` (or `h:mm:ss` from an hour), rounded to the second: the same clock the plots use.
    static func clock(_ seconds: Double) -> String { TimelineSVG.clock(seconds) }

    static func db(_ v: Double?, _ unit: String) -> String { v.map { String(format: "%.1f %@", $0, unit) } ?? "–" }

    static func render(_ a: CallAnalysis) -> String {
        var out = ""
        func line(_ s: String = "") { out += s + "\n" }
        func row(_ label: String, _ agent: String, _ customer: String) {
            line(label.padding(toLength: 22, withPad: " ", startingAt: 0)
                + agent.padding(toLength: 16, withPad: " ", startingAt: 0) + customer)
        }
        let r = a.recording
        line("Recording  \(r.path)")
        line("           \(clock(r.durationSeconds)) (\(String(format: "%.1f", r.durationSeconds)) s), \(r.sampleRate) Hz, \(r.channels) channels, \(r.encoding)")
        line("           agent = \(r.agentChannel) channel, customer = \(r.customerChannel) channel"
            + (r.contactId.map { ", contact \($0)" } ?? ""))
        line()
        row("", "Agent", "Customer")
        let ag = a.agent, cu = a.customer
        row("Talk time", clock(ag.talkSeconds), clock(cu.talkSeconds))
        row("Talk ratio", String(format: "%.0f%%", ag.talkRatio * 100), String(format: "%.0f%%", cu.talkRatio * 100))
        row("Segments", "\(ag.segmentCount)", "\(cu.segmentCount)")
        row("Longest monologue", clock(ag.longestMonologueSeconds), clock(cu.longestMonologueSeconds))
        row("Speech level", db(ag.levels.speechLevelDbfs, "dBFS"), db(cu.levels.speechLevelDbfs, "dBFS"))
        row("Noise floor", db(ag.levels.noiseFloorDbfs, "dBFS"), db(cu.levels.noiseFloorDbfs, "dBFS"))
        row("SNR", db(ag.levels.snrDb, "dB"), db(cu.levels.snrDb, "dB"))
        row("Peak", db(ag.levels.peakDbfs, "dBFS"), db(cu.levels.peakDbfs, "dBFS"))
        row("Clipped samples", String(format: "%.3f%%", ag.levels.clippedRatio * 100), String(format: "%.3f%%", cu.levels.clippedRatio * 100))
        row("Loudness (0-100)", ag.loudness.mean.map { String(format: "%.0f", $0) } ?? "–",
            cu.loudness.mean.map { String(format: "%.0f", $0) } ?? "–")
        line()
        let c = a.conversation
        line("Conversation")
        func item(_ label: String, _ value: String) { line("  " + label.padding(toLength: 20, withPad: " ", startingAt: 0) + value) }
        item("Talk (either)", clock(c.talkSeconds))
        item("Mutual silence", clock(c.silenceSeconds))
        item("Overlap", String(format: "%@ (%.1f s)", clock(c.overlapSeconds), c.overlapSeconds))
        let spans = c.nonTalk.instances.prefix(6).map { "\(clock($0.beginOffsetSeconds))-\(clock($0.endOffsetSeconds))" }
        item("Non-talk (>3 s)", "\(c.nonTalk.instances.count) instances, \(clock(c.nonTalk.totalSeconds))"
            + (spans.isEmpty ? "" : ": " + spans.joined(separator: ", ") + (c.nonTalk.instances.count > 6 ? ", ..." : "")))
        item("Interruptions", "\(c.interruptions.total) (agent \(c.interruptions.byAgent), customer \(c.interruptions.byCustomer))")
        item("Backchannels", "\(c.backchannels.total) (agent \(c.backchannels.byAgent), customer \(c.backchannels.byCustomer))")
        let lat = c.responseLatency
        item("Response latency", lat.medianSeconds.map {
            String(format: "median %.2f s", $0)
                + (lat.agentMedianSeconds.map { String(format: " (agent %.2f s", $0) } ?? " (agent –")
                + (lat.customerMedianSeconds.map { String(format: ", customer %.2f s)", $0) } ?? ", customer –)")
        } ?? "–")
        item("Agent talk share", c.agentTalkShare.map { String(format: "%.0f%%", $0 * 100) } ?? "–")
        return out
    }
}
