import Testing
@testable import TalkTraceAudio

/// `ListeningSound`: sound on a channel while the other side talks and its participant does not.
@Suite("ListeningSound")
struct ListeningSoundTests {
    /// Feeds `frames` frames; `close` is called at `closeAt`, before that frame, like
    /// `ChannelTrack` settling a candidate the builder closed.
    static func run(frames: Int, other: (Int) -> Bool, sound: (Int) -> Bool, inCandidate: (Int) -> Bool,
                    near: (Int) -> Bool, head: Int, closeAt: Int,
                    close: (inout ListeningSound) -> Void) -> ListeningSound {
        var l = ListeningSound()
        for f in 0..<frames {
            if f == closeAt { close(&l) }
            l.push(sound: sound(f), otherNear: other(f), inCandidate: inCandidate(f), near: near(f), headFrames: head)
        }
        return l
    }

    @Test("A segment's counts come from its own frames; the rest is the listening share")
    func segmentAndShare() throws {
        var inside = ListeningSound.Counts()
        // The other side talks for frames 0..<60; this channel's candidate is open 10..<30 (its
        // segment 10..<30), and it has sound there and again at 40..<50, outside any candidate.
        let l = Self.run(frames: 100, other: { $0 < 60 }, sound: { (10..<30).contains($0) || (40..<50).contains($0) },
                         inCandidate: { (10..<30).contains($0) }, near: { (12..<28).contains($0) }, head: 2,
                         closeAt: 30) { l in
            inside = l.counts(in: [10..<30], within: 10..<30)
            #expect(l.candidate == ListeningSound.Counts(other: 20, sound: 20))
            l.closeCandidate()
        }
        #expect(inside == ListeningSound.Counts(other: 20, sound: 20))
        // Outside: 40 frames of the other side's talk, 10 of them with sound here: 25 %.
        let share = try #require(l.share(outside: [inside], minimumFrames: 40))
        #expect(share >= 0.25 && share < 0.26, "\(share)")
        #expect(l.share(outside: [inside], minimumFrames: 41) == nil)  // too little evidence
    }

    @Test("A long candidate keeps only the frames from `head` before its first near frame")
    func historyFromFirstNear() {
        var inside = ListeningSound.Counts()
        // Sound and the other side's talk throughout; a candidate open 0..<80 whose first near
        // frame is 70: its segment can reach back to 68 at most, and is counted exactly there.
        _ = Self.run(frames: 90, other: { _ in true }, sound: { $0 % 2 == 0 }, inCandidate: { $0 < 80 },
                     near: { (70..<78).contains($0) }, head: 2, closeAt: 80) { l in
            inside = l.counts(in: [68..<80, 75..<79], within: 0..<79)
            l.closeCandidate()
        }
        // 68..<79: 11 frames, 6 even; 75..<79: 4 frames, 2 even.
        #expect(inside == ListeningSound.Counts(other: 15, sound: 8))
    }
}
