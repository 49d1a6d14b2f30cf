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
        // Quality: only what was found, so a clean call says so in one line.
        let q = a.quality
        var found: [(String, String)] = []
        func leak(_ l: CallQuality.Leak) -> String {
            (l.levelDb.map { String(format: "%.0f dB down", -$0) } ?? "") + (l.delaySeconds.map { String(format: ", %.0f ms", $0 * 1000) } ?? "")
        }
        if q.echo.detected { found.append(("Echo", "agent's voice in the customer channel, " + leak(q.echo))) }
        if q.sidetone.detected { found.append(("Sidetone", "customer's voice in the agent channel, " + leak(q.sidetone))) }
        if let bg = q.backgroundSpeech {
            for (who, b) in [("agent", bg.agent), ("customer", bg.customer)] where b.detected {
                var what = "someone behind the \(who)"
                if b.seconds > 0 { what += String(format: ", %.1f s of talk-like sound set aside", b.seconds) + (b.levelDb.map { String(format: " (%.0f dB under)", -$0) } ?? "") }
                if let share = b.soundWhileListening {
                    what += String(format: ", sound in %.0f%% of their listening", share * 100)
                        + (b.seconds > 0 ? "" : b.levelDb.map { String(format: " (%.0f dB under)", -$0) } ?? "")
                }
                found.append(("Background speech", what))
            }
        }
        if q.musicOnHold.detected {
            found.append(("Music on hold", "\(clock(q.musicOnHold.totalSeconds)) on the \(q.musicOnHold.participant?.rawValue.lowercased() ?? "–") channel"))
        }
        if q.clipping.detected { found.append(("Clipping", String(format: "agent %.2f%%, customer %.2f%% of samples", q.clipping.agentClippedRatio * 100, q.clipping.customerClippedRatio * 100))) }
        if q.oneWayAudio.detected { found.append(("One-way audio", q.oneWayAudio.silentParticipant.map { "\($0.rawValue.lowercased()) silent" } ?? "one side silent")) }
        if q.channelsSwapped.suspected { found.append(("Channels swapped?", q.channelsSwapped.evidence.joined(separator: "; "))) }
        line()
        line(found.isEmpty ? "Quality".padding(toLength: 22, withPad: " ", startingAt: 0)
             + "nothing found (echo, sidetone, background speech, music on hold, clipping, one-way audio)" : "Quality")
        for (label, value) in found { item(label, value) }
        return out
    }
}
