import Foundation
import Testing
@testable import TalkTraceAudio
import _TestSupport

/// The TestAudio calls, each isolating a phenomenon, against their generated truth.
@Suite("TestAudio fixtures")
struct FixtureTests {
    static let dir = "recordings/connect/demo-instance/CallRecordings/2026/03/03/"

    struct Call {
        let path: String
        let truth: [String: Any]
        var duration: Double { truth["durationSeconds"] as! Double }
        func segments(_ who: String) -> [[Double]] { (truth[who] as! [String: Any])["segments"] as! [[Double]] }
        func talk(_ who: String) -> Double { (truth[who] as! [String: Any])["talkSeconds"] as! Double }
    }

    static func call(_ condition: String, kind: String = "normal") throws -> Call {
        let calls = try TestSupport.truth()["calls"] as! [String: [String: Any]]
        let (path, truth) = try #require(calls.first { $0.value["condition"] as? String == condition && $0.value["kind"] as? String == kind })
        return Call(path: TestSupport.fixture(path), truth: truth)
    }

    /// Per-channel frame F1 at least `f1`, talk time within `talk` (fraction).
    func check(_ call: Call, _ a: CallAnalysis, f1: Double, talk: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        for (who, ch) in [("agent", a.agent), ("customer", a.customer)] {
            let score = TestSupport.frameF1(ch.segments, call.segments(who), duration: call.duration)
            #expect(score >= f1, "\(who) F1 \(score)", sourceLocation: sourceLocation)
            #expect(abs(ch.talkSeconds - call.talk(who)) <= talk * call.talk(who), "\(who) talk \(ch.talkSeconds) vs \(call.talk(who))", sourceLocation: sourceLocation)
        }
    }

    @Test("Clean call: segments, interruptions and backchannels as scripted")
    func clean() throws {
        let c = try Self.call("clean")
        let a = try CallAnalyzer.analyze(path: c.path)
        check(c, a, f1: 0.98, talk: 0.03)
        #expect(a.conversation.interruptions.byAgent == 1)
        #expect(a.conversation.interruptions.byCustomer == 1)
        let at = a.conversation.interruptions.instances.map(\.beginOffsetSeconds)
        #expect(zip(at, [14.99, 32.509]).allSatisfy { abs($0 - $1) < 0.1 })
        #expect(a.conversation.backchannels.total == 2)
        #expect(abs(a.conversation.overlapSeconds - (c.truth["overlapSeconds"] as! Double)) < 0.3)
        #expect(a.quality.echo.detected == false)
        #expect(a.quality.channelsSwapped.suspected == false)
    }

    @Test("Two threads (left framed beside right and the detector) give exactly the one-thread analysis, whatever the block size",
          arguments: ["clean", "hold", "dropouts"])
    func threads(_ condition: String) throws {
        let c = try Self.call(condition)
        let serial = try CallAnalyzer.analyze(path: c.path, options: AnalysisOptions(threads: 1))
        for block in [997, 16384] {
            var options = AnalysisOptions(threads: 2)
            options.blockFrames = block
            let parallel = try CallAnalyzer.analyze(path: c.path, options: options)
            #expect(parallel == serial, "block \(block)")
        }
        #expect(serial.agent.segmentCount > 0 && serial.customer.segmentCount > 0)
    }

    @Test("Line echo and sidetone are not talk; the echo's delay and level are measured")
    func echo() throws {
        let c = try Self.call("echo")
        let a = try CallAnalyzer.analyze(path: c.path)
        check(c, a, f1: 0.97, talk: 0.03)
        #expect(a.quality.echo.detected)
        #expect(abs((a.quality.echo.delaySeconds ?? 0) - 0.04) <= 0.011)
        #expect(abs((a.quality.echo.levelDb ?? 0) - (-25)) <= 4)
        // Overlap the echo would fake is absent: within 0.3 s of the scripted overlap.
        #expect(abs(a.conversation.overlapSeconds - (c.truth["overlapSeconds"] as! Double)) < 0.3)
        // The leaks' residue over the echo test is sound while each participant listens
        // (measured 0.114 agent, 0.13 customer: over the 10 % line), but with a leak evidenced
        // on both channels it is not reported as someone behind them.
        let bg = try #require(a.quality.backgroundSpeech)
        #expect(a.quality.sidetone.detected)
        #expect((bg.customer.soundWhileListening ?? 0) > 0.1)
        #expect(bg.agent.detected == false)
        #expect(bg.customer.detected == false)
    }

    @Test("Babble, pink noise, hum, DC offset and clicks: talk is still found, clicks are not talk")
    func noisy() throws {
        let c = try Self.call("noisy")
        let a = try CallAnalyzer.analyze(path: c.path)
        check(c, a, f1: 0.88, talk: 0.12)
    }

    @Test("Music on hold is not talk and is reported with its span")
    func hold() throws {
        let c = try Self.call("hold")
        let a = try CallAnalyzer.analyze(path: c.path)
        check(c, a, f1: 0.97, talk: 0.03)
        #expect(a.quality.musicOnHold.detected)
        #expect(a.quality.musicOnHold.participant == .customer)
        let hold = (c.truth["holds"] as! [[Double]])[0]
        let span = try #require(a.quality.musicOnHold.spans.first)
        #expect(abs(span.start - hold[0]) < 0.5 && abs(span.end - hold[1]) < 0.5)
    }

    @Test("Dropouts are not talk; clipping is measured")
    func dropouts() throws {
        let c = try Self.call("dropouts")
        let a = try CallAnalyzer.analyze(path: c.path)
        check(c, a, f1: 0.96, talk: 0.05)
        // Three 0.5 s runs of exact zeros in line noise: dropouts, none of it gated silence.
        #expect(abs(a.customer.levels.dropoutSeconds - 1.5) < 0.1)
        #expect(a.customer.levels.gatedSilenceSeconds == 0)
        #expect(a.agent.levels.dropoutSeconds == 0 && a.agent.levels.gatedSilenceSeconds == 0)
        #expect(a.customer.levels.clippedRatio > 0)
        #expect(a.customer.levels.peakDbfs == 0)
    }

    @Test("µ-law, 24-bit, 16 kHz float and swapped channels analyze like the original",
          arguments: ["formats/mulaw-8k.wav", "formats/pcm24-8k.wav", "formats/float-16k.wav", "formats/agent-left.wav"])
    func formats(_ file: String) throws {
        let calls = try TestSupport.truth()["calls"] as! [String: [String: Any]]
        let c = Call(path: TestSupport.fixture(file), truth: calls[file]!)
        let map: ChannelMap = (c.truth["agentChannel"] as! Int) == 0 ? .agentLeft : .connect
        let a = try CallAnalyzer.analyze(path: c.path, options: AnalysisOptions(channelMap: map))
        #expect(a.recording.sampleRate == c.truth["sampleRate"] as! Int)
        #expect(a.recording.durationSeconds == 20)
        check(c, a, f1: 0.97, talk: 0.04)
    }

    @Test("Every bad input is a one-line error naming the file", arguments: [
        ("bad/not-audio.wav", "not a readable audio file"),
        ("bad/empty.wav", "empty file (0 bytes)"),
        ("bad/truncated.wav", "truncated: the header declares"),
        ("bad/header-only.wav", "no audio in the file (0 frames)"),
        ("bad/mono.wav", "mono recording: agent and customer cannot be separated"),
        ("bad/three-channel.wav", "3 channels: expected a stereo recording"),
        ("bad/missing.wav", "no such file"),
        ("bad", "is a directory, not a recording"),
    ])
    func badInput(_ file: String, _ problem: String) {
        let path = TestSupport.fixture(file)
        do {
            _ = try CallAnalyzer.analyze(path: path)
            Issue.record("\(file) analyzed without error")
        } catch {
            #expect(error.path == path)
            #expect(error.problem.hasPrefix(problem), "\(error.problem)")
            #expect(!error.description.contains("\n"))
            #expect(error.description.hasPrefix(path + ": "))
        }
    }
}
