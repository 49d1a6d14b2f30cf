import Foundation
import Testing
@testable import TalkTraceAudio
import _TestSupport

/// Activity end to end on synthetic stereo files: what must be talk and what must never be.
@Suite("Activity detection")
struct ActivityTests {
    func analyze(left: [Float], right: [Float], name: String = #function) throws -> CallAnalysis {
        let dir = TestSupport.temporaryDirectory(name)
        let url = dir.appendingPathComponent("call.wav")
        try TestSupport.writeStereo(url, left: left, right: right)
        return try CallAnalyzer.analyze(path: url.path)
    }

    @Test("Digital silence has no talk")
    func silence() throws {
        let a = try analyze(left: TestSupport.silence(10), right: TestSupport.silence(10))
        #expect(a.agent.segments.isEmpty && a.customer.segments.isEmpty)
        #expect(a.conversation.silenceSeconds == 10)
        #expect(a.conversation.nonTalk.instances.count == 1)
        // All of it digital silence, none of it bounded by sound: gated silence, not dropouts.
        #expect(a.agent.levels.dropoutSeconds == 0)
        #expect(a.agent.levels.gatedSilenceSeconds == 10)
    }

    @Test("Steady noise, hum and DC offset are not talk")
    func steadyNoise() throws {
        var left = TestSupport.silence(12), right = TestSupport.silence(12)
        TestSupport.addNoise(&left, rms: 0.01, seed: 7)  // -37 dBFS line noise
        TestSupport.addTone(&right, frequency: 60, amplitude: 0.05, start: 0, end: 12)  // hum
        TestSupport.addNoise(&right, rms: 0.0005, seed: 8)
        for i in right.indices { right[i] += 0.03 }  // DC offset
        let a = try analyze(left: left, right: right)
        #expect(a.customer.segments.isEmpty)
        #expect(a.agent.segments.isEmpty)
    }

    @Test("Clicks in silence are not talk")
    func clicks() throws {
        var left = TestSupport.silence(10)
        TestSupport.addNoise(&left, rms: 0.0003, seed: 9)
        for t in [1.0, 2.5, 2.6, 5.0, 8.0] { left[Int(t * 8000)] = 0.8 }
        let a = try analyze(left: left, right: left)
        #expect(a.customer.segments.isEmpty)
    }

    @Test("A speech-like burst over noise is found on the right channel with tight edges")
    func burst() throws {
        var left = TestSupport.silence(10), right = TestSupport.silence(10)
        TestSupport.addNoise(&left, rms: 0.001, seed: 1)
        TestSupport.addNoise(&right, rms: 0.001, seed: 2)
        TestSupport.addSpeechLike(&right, amplitude: 0.3, start: 2.0, end: 4.5)
        TestSupport.addSpeechLike(&left, amplitude: 0.2, start: 6.0, end: 7.2, pitch: 210, seed: 5)
        let a = try analyze(left: left, right: right)
        #expect(a.agent.segments.count == 1)
        #expect(abs(a.agent.segments[0].start - 2.0) < 0.05)
        #expect(abs(a.agent.segments[0].end - 4.5) < 0.05)
        #expect(a.customer.segments.count == 1)
        #expect(abs(a.customer.segments[0].start - 6.0) < 0.05)
        #expect(abs(a.customer.segments[0].end - 7.2) < 0.05)
        #expect(a.recording.agentChannel == "right")
    }

    @Test("--agent-channel left swaps the participants")
    func swap() throws {
        var left = TestSupport.silence(6), right = TestSupport.silence(6)
        TestSupport.addNoise(&left, rms: 0.001, seed: 1)
        TestSupport.addNoise(&right, rms: 0.001, seed: 2)
        TestSupport.addSpeechLike(&left, amplitude: 0.3, start: 1.0, end: 3.0)
        let dir = TestSupport.temporaryDirectory()
        let url = dir.appendingPathComponent("swap.wav")
        try TestSupport.writeStereo(url, left: left, right: right)
        let connect = try CallAnalyzer.analyze(path: url.path)
        let swapped = try CallAnalyzer.analyze(path: url.path, options: AnalysisOptions(channelMap: .agentLeft))
        #expect(connect.customer.segments.count == 1 && connect.agent.segments.isEmpty)
        #expect(swapped.agent.segments.count == 1 && swapped.customer.segments.isEmpty)
        #expect(swapped.recording.agentChannel == "left")
    }

    @Test("Levels: speech level, noise floor, peak and clipping are measured")
    func levels() throws {
        var left = TestSupport.silence(8), right = TestSupport.silence(8)
        TestSupport.addNoise(&right, rms: 0.001, seed: 4)  // noise floor -57 dBFS re sine
        TestSupport.addSpeechLike(&right, amplitude: 2.0, start: 2, end: 4)  // driven into clipping
        for i in right.indices { right[i] = max(-1, min(1, right[i])) }
        let expectedClipped = Double(right.filter { abs($0) >= 0.999 }.count) / Double(right.count)
        let a = try analyze(left: left, right: right)
        #expect(a.agent.segments.count == 1)
        let l = a.agent.levels
        #expect(abs((l.noiseFloorDbfs ?? 0) - (-57)) < 2)
        #expect((l.peakDbfs ?? -1) > -0.01)
        #expect(expectedClipped > 0.001)
        #expect(abs(l.clippedRatio - expectedClipped) < 0.0005)
        #expect(a.quality.clipping.detected)
        #expect(a.agent.loudness.perSecond.map(\.second) == [2, 3])
        #expect((a.agent.loudness.mean ?? 0) > 75)
        #expect(a.quality.oneWayAudio.detected == false)  // 2 s of talk is under the 5 s bar
    }

    @Test("Held chords are music on hold, not talk; a pure tone pair is neither")
    func music() throws {
        var left = TestSupport.silence(16), right = TestSupport.silence(16)
        TestSupport.addNoise(&left, rms: 0.0005, seed: 11)
        TestSupport.addNoise(&right, rms: 0.0005, seed: 12)
        for (i, chord) in [[261.6, 329.6, 392.0], [349.2, 440.0, 523.3], [392.0, 493.9, 587.3]].enumerated() {
            for f in chord { TestSupport.addTone(&left, frequency: f, amplitude: 0.08, start: 1 + Double(i) * 3, end: 4 + Double(i) * 3) }
            for f in chord { TestSupport.addTone(&left, frequency: 2 * f, amplitude: 0.03, start: 1 + Double(i) * 3, end: 4 + Double(i) * 3) }
        }
        TestSupport.addTone(&right, frequency: 440, amplitude: 0.2, start: 12, end: 14)
        TestSupport.addTone(&right, frequency: 480, amplitude: 0.2, start: 12, end: 14)
        let a = try analyze(left: left, right: right)
        #expect(a.customer.segments.isEmpty)
        #expect(a.agent.segments.isEmpty)
        #expect(a.quality.musicOnHold.detected)
        #expect(a.quality.musicOnHold.participant == .customer)
        let span = try #require(a.quality.musicOnHold.spans.first)
        #expect(abs(span.start - 1) < 0.3 && abs(span.end - 10) < 0.5)
    }

    @Test("A background talker 18 dB below the caller is not the caller talking")
    func backgroundTalker() throws {
        var left = TestSupport.silence(20), right = TestSupport.silence(20)
        TestSupport.addNoise(&left, rms: 0.0005, seed: 21)
        TestSupport.addNoise(&right, rms: 0.0005, seed: 22)
        // The caller: three utterances at -10 dBFS peak.
        for (a, b) in [(1.0, 4.0), (7.0, 9.5), (14.0, 17.0)] {
            TestSupport.addSpeechLike(&left, amplitude: 0.3, start: a, end: b, pitch: 190, seed: 31)
        }
        // A television behind the caller, 18 dB down, in the caller's pauses.
        for (a, b) in [(4.6, 6.5), (10.2, 13.4), (17.6, 19.5)] {
            TestSupport.addSpeechLike(&left, amplitude: 0.3 * 0.126, start: a, end: b, pitch: 140, seed: 41)
        }
        let a = try analyze(left: left, right: right)
        let truth: [[Double]] = [[1, 4], [7, 9.5], [14, 17]]
        #expect(a.customer.segments.count == 3)
        #expect(TestSupport.frameF1(a.customer.segments, truth, duration: 20) > 0.97)
        #expect(a.agent.segments.isEmpty)
    }
}
