import Testing
@testable import TalkTraceAudio

@Suite("Segments and conversation metrics")
struct SegmentAndConversationTests {
    /// Runs a builder over a weak/strong pattern given as characters: `S` strong, `w` weak, `.` none.
    func segments(_ pattern: String) -> [SegmentBuilder.Outcome] {
        var p = ActivityParameters()
        p.minStrongSeconds = 0.03
        var b = SegmentBuilder(parameters: p, frameSeconds: 0.01)
        var out: [SegmentBuilder.Outcome] = []
        let features = FrameFeatures()
        for c in pattern {
            let d = FrameDecision(weak: c != ".", strong: c == "S", levelDB: -20, dropout: false, echo: false, features: features)
            if let o = b.push(d) { out.append(o) }
        }
        if let o = b.finish() { out.append(o) }
        return out
    }

    @Test("Pauses under 300 ms are bridged, longer ones split")
    func bridging() {
        let talk = String(repeating: "S", count: 20)
        #expect(segments(talk + String(repeating: ".", count: 25) + talk) == [.accepted(startFrame: 0, endFrame: 65, peakDB: -20, steadiness: 0, flux: 0)])
        #expect(segments(talk + String(repeating: ".", count: 35) + talk)
            == [.accepted(startFrame: 0, endFrame: 20, peakDB: -20, steadiness: 0, flux: 0), .accepted(startFrame: 55, endFrame: 75, peakDB: -20, steadiness: 0, flux: 0)])
    }

    @Test("Weak-only stretches and islands under 60 ms are not talk")
    func rejects() {
        #expect(segments(String(repeating: "w", count: 50)) == [.rejected])
        #expect(segments("SSSSS") == [.rejected])
        #expect(segments("wwSSSSSwww") == [.accepted(startFrame: 0, endFrame: 10, peakDB: -20, steadiness: 0, flux: 0)])
    }

    @Test("Weak murmur reaches at most 300 ms before and 400 ms after strong talk")
    func anchoring() {
        let murmur = String(repeating: "w", count: 150)
        let talk = String(repeating: "S", count: 20)
        // Lead-in murmur trimmed to 30 frames before the first strong frame; the tail to 40 after
        // the last; after 1 s without strong frames the candidate closes and the rest is rejected.
        #expect(segments(murmur + talk + murmur) == [.accepted(startFrame: 120, endFrame: 210, peakDB: -20, steadiness: 0, flux: 0), .rejected])
    }

    @Test("A caller answering 200 ms after the hold music stops is talk, not more of the music")
    func musicThenAnswer() {
        var p = ActivityParameters()
        p.minStrongSeconds = 0.03
        var b = SegmentBuilder(parameters: p, frameSeconds: 0.01)
        var out: [SegmentBuilder.Outcome] = []
        // 1.2 s of held notes (flux 0.0625, stability 0.875), a 200 ms pause (under the 300 ms
        // bridge, over the 150 ms music pause), 1.5 s of speech (flux 0.75, stability 0.5).
        let note = FrameFeatures(flux: 0.0625, stability: 0.875), voice = FrameFeatures(flux: 0.75, stability: 0.5)
        for f in 0..<290 {
            let sound = f < 120 || f >= 140
            let d = FrameDecision(weak: sound, strong: sound, levelDB: -20, dropout: false, echo: false,
                                  features: f < 120 ? note : voice)
            if let o = b.push(d) { out.append(o) }
        }
        if let o = b.finish() { out.append(o) }
        #expect(out == [.music(startFrame: 0, endFrame: 120),
                        .accepted(startFrame: 140, endFrame: 290, peakDB: -20, steadiness: -0.25, flux: 0.75)])
    }

    /// Anchors of frames `0..<n` whose levels `level(frame)` gives, all near.
    func anchors(_ n: Int, gate: Float = 14, _ level: (Int) -> Float) -> SegmentAnchors.Anchors? {
        var a = SegmentAnchors()
        for f in 0..<n { a.add(frame: 1000 + f, db: level(f)) }
        return a.anchors(within: gate)
    }

    @Test("A talker 18 dB under the turn's loudest frames does not anchor it: trimmed, and split across a long stretch")
    func segmentAnchors() throws {
        // 10 frames at -20 dBFS, 70 at -38 (a TV behind the caller), 10 at -20: anchors are the
        // loud frames only; the 71-frame gap leaves a pause of 71 - 15 - 21 = 35 frames between
        // the reaches (head 15, tail 20), longer than the 15-frame bridge: two ranges.
        let split = try #require(anchors(90) { $0 < 10 || $0 >= 80 ? -20 : -38 })
        #expect(split == SegmentAnchors.Anchors(first: 1000, last: 1089, gapStart: 1009, gapEnd: 1080, count: 20))
        #expect(split.extent(minFrames: 5, head: 15, tail: 20, bridge: 15) == [985..<1030, 1065..<1110])
        // A 40-frame stretch leaves a 4-frame pause: bridged, one range, the stretch kept.
        let short = try #require(anchors(60) { $0 < 10 || $0 >= 50 ? -20 : -38 })
        #expect(short.extent(minFrames: 5, head: 15, tail: 20, bridge: 15) == [985..<1080])
        // The participant's own softer words (-30, 10 dB under) anchor the turn: no gap at all.
        let soft = try #require(anchors(90) { $0 < 10 || $0 >= 80 ? -20 : -30 })
        #expect(soft.count == 90 && soft.gapEnd - soft.gapStart == 1)
        // Too few anchors (one loud frame in TV-level sound): nothing.
        let lone = try #require(anchors(50) { $0 == 25 ? -20 : -38 })
        #expect(lone.extent(minFrames: 5, head: 15, tail: 20, bridge: 15).isEmpty)
        #expect(SegmentAnchors().anchors(within: 14) == nil)
    }

    func s(_ a: Double, _ b: Double) -> Segment { Segment(start: a, end: b) }

    @Test("Talk, silence, overlap and non-talk instances")
    func totals() {
        let m = ConversationMetrics(agent: [s(0, 10), s(20, 25)], customer: [s(9, 15), s(30, 31)], duration: 40)
        #expect(m.talkSeconds == 21)
        #expect(m.overlapSeconds == 1)
        #expect(m.silenceSeconds == 19)
        #expect(m.nonTalk.instances.map { [$0.beginOffsetSeconds, $0.endOffsetSeconds] } == [[15, 20], [25, 30], [31, 40]])
        #expect(m.nonTalk.totalSeconds == 19)
        #expect(m.agentTalkShare == 0.682)
    }

    @Test("An interruption: the other stops within the overlap")
    func interruption() {
        // Customer talks 0-10; agent starts at 9.2 and the customer stops at 10: agent interrupts.
        let m = ConversationMetrics(agent: [s(9.2, 14)], customer: [s(0, 10)], duration: 20)
        #expect(m.interruptions.total == 1)
        #expect(m.interruptions.byAgent == 1)
        #expect(m.interruptions.byCustomer == 0)
        #expect(m.interruptions.instances.first?.overlapSeconds == 0.8)
        #expect(m.backchannels.total == 0)
    }

    @Test("A backchannel inside the other's talk is not an interruption")
    func backchannel() {
        let m = ConversationMetrics(agent: [s(0, 10)], customer: [s(4, 4.4), s(12, 13)], duration: 20)
        #expect(m.interruptions.total == 0)
        #expect(m.backchannels.total == 1)
        #expect(m.backchannels.byCustomer == 1)
    }

    @Test("A turn change with a brief overlap is not an interruption; latency is the gap")
    func turns() {
        let m = ConversationMetrics(agent: [s(0, 5), s(9, 12)], customer: [s(4.9, 8), s(12.5, 14)], duration: 15)
        #expect(m.interruptions.total == 0)
        // customer answers agent at 4.9 (overlap, not a gap: skipped), agent answers at 9 (1 s),
        // customer answers at 12.5 (0.5 s).
        #expect(m.responseLatency.agentMedianSeconds == 1)
        #expect(m.responseLatency.customerMedianSeconds == 0.5)
        #expect(m.responseLatency.turnChanges == 2)
    }

    @Test("Longest monologue spans pauses and backchannels, not the other's turns")
    func monologue() {
        let agent = [s(0, 5), s(5.5, 12), s(20, 22)]
        let customer = [s(6, 6.5), s(13, 19)]
        #expect(ConversationMetrics.longestMonologue(agent, other: customer) == 12)
        #expect(ConversationMetrics.longestMonologue(customer, other: agent) == 6)
    }
}
