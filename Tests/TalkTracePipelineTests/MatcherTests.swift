import Foundation
import Testing
@testable import TalkTracePipeline
@testable import TalkTraceRecords

@Suite("Join")
struct MatcherTests {
    func contact(_ json: String) -> ContactRecord {
        ContactRecord(json: Data(("{\"InitiationTimestamp\":\"2026-03-03T10:00:00Z\"," + json.dropFirst()).utf8))!
    }

    func file(_ rel: String) -> RecordingFile { RecordingFile(relativePath: rel, path: "/r/" + rel, size: 1, modified: 0) }

    let id1 = "1c48cc28-1c14-4f71-a0ff-8870e8595f01"
    let id2 = "2d48cc28-1c14-4f71-a0ff-8870e8595f02"

    @Test("Location suffix match beats the contact ID in the name; percent-escapes decoded")
    func location() {
        // The file carries id2 in its name, but id1's CTR names the file: location wins.
        let rel = "connect/inst/CallRecordings/2026/03/03/\(id2)_20260303T10:15_UTC.wav"
        let c1 = contact(#"{"ContactId":"\#(id1)","Recordings":[{"Location":"bucket/connect/inst/CallRecordings/2026/03/03/\#(id2)_20260303T10%3A15_UTC.wav"}]}"#)
        let c2 = contact(#"{"ContactId":"\#(id2)","Recording":null}"#)
        let m = RecordingMatcher(recordings: [file(rel)], contacts: [c1, c2])
        #expect(m.matches[0] == .init(contactId: id1, by: .location, location: "bucket/connect/inst/CallRecordings/2026/03/03/\(id2)_20260303T10%3A15_UTC.wav"))
    }

    @Test("A synced folder with extra leading components still matches; a different folder does not")
    func suffix() {
        let c = contact(#"{"ContactId":"\#(id1)","Recording":{"Location":"bucket/connect/inst/CallRecordings/2026/03/03/call 1.wav"}}"#)
        let m = RecordingMatcher(recordings: [file("bucket/connect/inst/CallRecordings/2026/03/03/call 1.wav"),
                                              file("other/2026/03/04/call 1.wav"),
                                              file("call 1.wav")], contacts: [c])
        // The longest common suffix wins the location; the others stay unmatched.
        #expect(m.matches[0]?.by == .location)
        #expect(m.matches[1] == nil)
        #expect(m.matches[2] == nil)
    }

    @Test("Extra folders above the synced keys: the longest common suffix matches, if long enough and unique")
    func extraFolders() {
        // The real-data case: RECDIR/sync/connect/... against mybucket/connect/...
        let loc = "mybucket/connect/inst/CallRecordings/2025/02/21/call-0001.wav"
        let c = contact(#"{"ContactId":"\#(id1)","Recording":{"Location":"\#(loc)"}}"#)
        let m = RecordingMatcher(recordings: [file("sync/connect/inst/CallRecordings/2025/02/21/call-0001.wav")], contacts: [c])
        #expect(m.matches[0] == .init(contactId: id1, by: .location, location: loc))
        // Two components in common (a day folder and the name) are not enough to be safe.
        let short = RecordingMatcher(recordings: [file("elsewhere/21/call-0001.wav")], contacts: [c])
        #expect(short.matches[0] == nil)
        // Three are (name, day and month folders), when one file has them.
        let three = RecordingMatcher(recordings: [file("x/02/21/call-0001.wav")], contacts: [c])
        #expect(three.matches[0]?.contactId == id1)
        // Two files equally close: neither is taken by this location.
        let tie = RecordingMatcher(recordings: [file("a/inst/CallRecordings/2025/02/21/call-0001.wav"),
                                                file("b/inst/CallRecordings/2025/02/21/call-0001.wav")], contacts: [c])
        #expect(tie.matches == [nil, nil])
    }

    @Test("Contact ID in the file name is the fallback; Kinesis Video locations match nothing")
    func fallbackAndKVS() {
        let kvs = contact(#"{"ContactId":"\#(id1)","Recordings":[{"Location":"arn:aws:kinesisvideo:us-east-1:1:stream/x/1.wav","StorageType":"KINESIS_VIDEO_STREAM"}]}"#)
        let m = RecordingMatcher(recordings: [file("x/1.wav"), file("a/\(id1.uppercased())_20260303T10:15_UTC.wav"), file("a/\(id2)_x.wav")], contacts: [kvs])
        #expect(m.matches[0] == nil)
        #expect(m.matches[1] == .init(contactId: id1, by: .contactId, location: nil))
        #expect(m.matches[2] == nil)
    }

    @Test("Cross-check: recording against interaction + hold")
    func crossCheck() {
        let c = contact(#"{"ContactId":"\#(id1)","Agent":{"AgentInteractionDuration":100,"CustomerHoldDuration":20}}"#)
        let ok = CrossCheck(recordingSeconds: 121.5, contact: c)
        #expect(ok.differenceSeconds == 1.5)
        #expect(ok.consistent == true)
        let off = CrossCheck(recordingSeconds: 60, contact: c)
        #expect(off.consistent == false)
        let none = CrossCheck(recordingSeconds: 60, contact: contact(#"{"ContactId":"\#(id1)","Agent":null}"#))
        #expect(none.consistent == nil)
    }
}
