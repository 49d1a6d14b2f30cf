import Foundation
import Testing
@testable import TalkTraceAudio
import _TestSupport

/// Dropouts (short digital zero inside sound: lost packets) against gated silence (a softphone's
/// gate or a mute between utterances, near-silent rather than zero, or long).
@Suite("Dropouts and gated silence")
struct DropoutTests {
    /// Feeds a frame pattern to a meter at a 20 ms hop: `S` sound (−40 dBFS), `Z` digital zero,
    /// `Q` digital silence that is not zero (a −105 dBFS gate residue, or a frame only partly
    /// zero).
    static func levels(_ pattern: String) -> ChannelLevels {
        var meter = LevelMeter(frameSeconds: 0.02)
        for c in pattern {
            let features: FrameFeatures
            switch c {
            case "S": features = FrameFeatures(hopPower: 5e-5, hopPeak: 0.01)
            case "Z": features = FrameFeatures(hopPower: 0, hopPeak: 0)
            default: features = FrameFeatures(hopPower: 1.6e-11, hopPeak: 1.0 / 32768)
            }
            let d = FrameDecision(weak: false, strong: false, levelDB: -40, dropout: c != "S", echo: false, features: features)
            meter.push(features: features, hopSamples: 160, decision: d, inCandidate: false)
        }
        return meter.levels()
    }

    @Test("The rule, frame by frame", arguments: [
        ("SZZZS", 0.06, 0.0),                       // zero inside sound: a dropout
        ("ZZZS", 0.0, 0.06),                        // at the start: not bounded by sound
        ("SZZZ", 0.0, 0.06),                        // at the end
        ("SQZZQS", 0.08, 0.0),                      // one partly silent frame at each end belongs to it
        ("SQQZZS", 0.0, 0.08),                      // two before it: gate residue, not a lost packet
        ("SZZQQS", 0.0, 0.08),
        ("SZQZS", 0.0, 0.06),                       // zero and residue mixed: a gate
        ("SQQQS", 0.0, 0.06),                       // near-silent, never zero: a gate
        ("S" + String(repeating: "Z", count: 49) + "S", 0.98, 0.0),  // 0.98 s: still a dropout
        ("S" + String(repeating: "Z", count: 50) + "S", 0.0, 1.0),   // 1 s: a mute, gated silence
        ("SZSZZSQS", 0.06, 0.02),
    ])
    func rule(_ pattern: String, _ dropout: Double, _ gated: Double) {
        let l = Self.levels(pattern)
        #expect(l.dropoutSeconds == dropout, "\(pattern)")
        #expect(l.gatedSilenceSeconds == gated, "\(pattern)")
    }

    /// −105 dBFS gate residue: mostly zeros, the odd ±1 LSB sample (2 % of them).
    static func gateResidue(_ x: inout [Float], from a: Double, to b: Double, seed: UInt64) {
        var r = TestSupport.Random(seed: seed)
        for i in Int(a * 8000)..<Int(b * 8000) {
            let u = r.uniform()
            x[i] = abs(u) < 0.02 ? (u > 0 ? 1 : -1) / 32768 : 0
        }
    }

    @Test("A softphone agent channel gated between utterances and between words: only the holes inside sound are dropouts")
    func gatedChannel() throws {
        var left = TestSupport.silence(12), right = TestSupport.silence(12)
        TestSupport.addNoise(&left, rms: 0.001, seed: 1)  // the customer: line noise throughout
        for (a, b, seed) in [(0.5, 3.0, UInt64(3)), (4.5, 7.0, 4), (9.0, 11.5, 5)] {
            TestSupport.addSpeechLike(&right, amplitude: 0.3, start: a, end: b, seed: seed)
        }
        // The gate: shut before, between and after the utterances, and for 0.6 s between two words.
        for (a, b) in [(0.0, 0.5), (3.0, 4.5), (5.5, 6.1), (7.0, 9.0), (11.5, 12.0)] {
            Self.gateResidue(&right, from: a, to: b, seed: UInt64(a * 10) + 7)
        }
        // A 1.5 s stretch of exact zeros between utterances: a mute, not a dropout.
        for i in Int(7.2 * 8000)..<Int(8.7 * 8000) { right[i] = 0 }
        // Lost packets inside talk: 60, 200 and 120 ms of exact zeros, on 20 ms frame boundaries.
        for (a, b) in [(1.0, 1.06), (2.0, 2.2), (10.0, 10.12)] {
            for i in Int(a * 8000)..<Int(b * 8000) { right[i] = 0 }
        }
        let dir = TestSupport.temporaryDirectory()
        let url = dir.appendingPathComponent("gated.wav")
        try TestSupport.writeStereo(url, left: left, right: right)
        let a = try CallAnalyzer.analyze(path: url.path)
        let agent = a.agent.levels
        // Truth: 0.38 s of dropouts; 5.1 s of gated silence (0.5 + 1.5 + 0.6 + 2.0 + 0.5), give
        // or take the frames where speech fades into the gate.
        #expect(abs(agent.dropoutSeconds - 0.38) <= 0.02, "\(agent.dropoutSeconds)")
        #expect(abs(agent.gatedSilenceSeconds - 5.1) <= 0.1, "\(agent.gatedSilenceSeconds)")
        #expect(a.customer.levels.dropoutSeconds == 0 && a.customer.levels.gatedSilenceSeconds == 0)
        #expect(a.agent.segmentCount >= 3)
    }
}
