import Foundation

/// The members of an analysis that recordings.csv and talktrace.sqlite show, read from the
/// analysis's JSON (the bytes recordings.jsonl carries) with `StrictJSONReader`. A one-machine
/// batch and a join both write their CSV and database from these, so both write the same bytes
/// whether the analysis was just made or read back from a shard. Numbers come back as the very
/// Doubles they were written from (the encoder writes the shortest text that reads back exactly).
struct AnalysisRow {
    struct Channel {
        var talkSeconds: Double?
        var talkRatio: Double?
        var segmentCount: Int?
        var longestMonologueSeconds: Double?
        var speechLevelDbfs: Double?
        var noiseFloorDbfs: Double?
        var snrDb: Double?
        var peakDbfs: Double?
        var clippedRatio: Double?
        var dropoutSeconds: Double?
        var gatedSilenceSeconds: Double?
        var loudnessMean: Double?
        /// `[start, end]` pairs; only read when `details` is asked for.
        var segments: [(Double?, Double?)] = []
    }

    struct NonTalk {
        var begin: Double?, end: Double?, duration: Double?
    }

    struct Interruption {
        var by: String?, begin: Double?, end: Double?, overlap: Double?
    }

    var durationSeconds: Double?
    var sampleRate: Int?
    var encoding: String?
    var talkSeconds: Double?
    var silenceSeconds: Double?
    var overlapSeconds: Double?
    var nonTalkSeconds: Double?
    var nonTalkCount = 0
    var interruptions: Int?
    var interruptionsByAgent: Int?
    var interruptionsByCustomer: Int?
    var backchannels: Int?
    var agentTalkShare: Double?
    var medianResponseSeconds: Double?
    var agent = Channel()
    var customer = Channel()
    /// Only with `details`.
    var nonTalk: [NonTalk] = []
    var interruptionInstances: [Interruption] = []

    typealias Reader = StrictJSONReader
    typealias Failure = StrictJSONReader.Failure

    /// Reads `json`, one analysis object; `details`: also the segments, non-talk instances and
    /// interruptions (the database's detail tables).
    static func read(_ json: Data, details: Bool) throws(PipelineError) -> AnalysisRow {
        var row = AnalysisRow()
        let result: Failure? = json.withUnsafeBytes { bytes in
            var r = Reader(bytes)
            do throws(Failure) {
                try row.read(&r, details: details)
                try r.finish()
                return nil
            } catch { return error }
        }
        if let result { throw PipelineError("analysis JSON: \(result.problem) at byte \(result.offset)") }
        return row
    }

    private mutating func read(_ r: inout Reader, details: Bool) throws(Failure) {
        try r.object { (r: inout Reader, k: Range<Int>) throws(Failure) in
            if r.key(k, is: "Agent") { try Self.channel(&r, into: &agent, details: details) }
            else if r.key(k, is: "Customer") { try Self.channel(&r, into: &customer, details: details) }
            else if r.key(k, is: "Conversation") { try conversation(&r, details: details) }
            else if r.key(k, is: "Recording") {
                try r.object(depth: 1) { (r: inout Reader, k: Range<Int>) throws(Failure) in
                    if r.key(k, is: "DurationSeconds") { durationSeconds = try r.double() }
                    else if r.key(k, is: "SampleRate") { sampleRate = try r.int() }
                    else if r.key(k, is: "Encoding") { encoding = try r.optionalString() }
                    else { try r.skip(depth: 2) }
                }
            } else { try r.skip(depth: 1) }
        }
    }

    private static func channel(_ r: inout Reader, into c: inout Channel, details: Bool) throws(Failure) {
        try r.object(depth: 1) { (r: inout Reader, k: Range<Int>) throws(Failure) in
            if r.key(k, is: "TalkSeconds") { c.talkSeconds = try r.double() }
            else if r.key(k, is: "TalkRatio") { c.talkRatio = try r.double() }
            else if r.key(k, is: "SegmentCount") { c.segmentCount = try r.int() }
            else if r.key(k, is: "LongestMonologueSeconds") { c.longestMonologueSeconds = try r.double() }
            else if r.key(k, is: "Levels") {
                try r.object(depth: 2) { (r: inout Reader, k: Range<Int>) throws(Failure) in
                    if r.key(k, is: "SpeechLevelDbfs") { c.speechLevelDbfs = try r.double() }
                    else if r.key(k, is: "NoiseFloorDbfs") { c.noiseFloorDbfs = try r.double() }
                    else if r.key(k, is: "SnrDb") { c.snrDb = try r.double() }
                    else if r.key(k, is: "PeakDbfs") { c.peakDbfs = try r.double() }
                    else if r.key(k, is: "ClippedRatio") { c.clippedRatio = try r.double() }
                    else if r.key(k, is: "DropoutSeconds") { c.dropoutSeconds = try r.double() }
                    else if r.key(k, is: "GatedSilenceSeconds") { c.gatedSilenceSeconds = try r.double() }
                    else { try r.skip(depth: 3) }
                }
            } else if r.key(k, is: "Loudness") {
                try r.object(depth: 2) { (r: inout Reader, k: Range<Int>) throws(Failure) in
                    if r.key(k, is: "Mean") { c.loudnessMean = try r.double() } else { try r.skip(depth: 3) }
                }
            } else if details, r.key(k, is: "Segments") {
                try r.array(depth: 2) { (r: inout Reader) throws(Failure) in
                    var pair: [Double?] = []
                    try r.array(depth: 3) { (r: inout Reader) throws(Failure) in pair.append(try r.double()) }
                    guard pair.count == 2 else { throw r.fail("a segment is not [start, end]") }
                    c.segments.append((pair[0], pair[1]))
                }
            } else { try r.skip(depth: 2) }
        }
    }

    private mutating func conversation(_ r: inout Reader, details: Bool) throws(Failure) {
        try r.object(depth: 1) { (r: inout Reader, k: Range<Int>) throws(Failure) in
            if r.key(k, is: "TalkSeconds") { talkSeconds = try r.double() }
            else if r.key(k, is: "SilenceSeconds") { silenceSeconds = try r.double() }
            else if r.key(k, is: "OverlapSeconds") { overlapSeconds = try r.double() }
            else if r.key(k, is: "AgentTalkShare") { agentTalkShare = try r.double() }
            else if r.key(k, is: "NonTalk") {
                try r.object(depth: 2) { (r: inout Reader, k: Range<Int>) throws(Failure) in
                    if r.key(k, is: "TotalSeconds") { nonTalkSeconds = try r.double() }
                    else if r.key(k, is: "Instances") {
                        try r.array(depth: 3) { (r: inout Reader) throws(Failure) in
                            nonTalkCount += 1
                            guard details else { try r.skip(depth: 4); return }
                            var n = NonTalk()
                            try r.object(depth: 4) { (r: inout Reader, k: Range<Int>) throws(Failure) in
                                if r.key(k, is: "BeginOffsetSeconds") { n.begin = try r.double() }
                                else if r.key(k, is: "EndOffsetSeconds") { n.end = try r.double() }
                                else if r.key(k, is: "DurationSeconds") { n.duration = try r.double() }
                                else { try r.skip(depth: 5) }
                            }
                            nonTalk.append(n)
                        }
                    } else { try r.skip(depth: 3) }
                }
            } else if r.key(k, is: "Interruptions") {
                try r.object(depth: 2) { (r: inout Reader, k: Range<Int>) throws(Failure) in
                    if r.key(k, is: "Total") { interruptions = try r.int() }
                    else if r.key(k, is: "ByAgent") { interruptionsByAgent = try r.int() }
                    else if r.key(k, is: "ByCustomer") { interruptionsByCustomer = try r.int() }
                    else if details, r.key(k, is: "Instances") {
                        try r.array(depth: 3) { (r: inout Reader) throws(Failure) in
                            var e = Interruption()
                            try r.object(depth: 4) { (r: inout Reader, k: Range<Int>) throws(Failure) in
                                if r.key(k, is: "By") { e.by = try r.optionalString() }
                                else if r.key(k, is: "BeginOffsetSeconds") { e.begin = try r.double() }
                                else if r.key(k, is: "EndOffsetSeconds") { e.end = try r.double() }
                                else if r.key(k, is: "OverlapSeconds") { e.overlap = try r.double() }
                                else { try r.skip(depth: 5) }
                            }
                            interruptionInstances.append(e)
                        }
                    } else { try r.skip(depth: 3) }
                }
            } else if r.key(k, is: "Backchannels") {
                try r.object(depth: 2) { (r: inout Reader, k: Range<Int>) throws(Failure) in
                    if r.key(k, is: "Total") { backchannels = try r.int() } else { try r.skip(depth: 3) }
                }
            } else if r.key(k, is: "ResponseLatency") {
                try r.object(depth: 2) { (r: inout Reader, k: Range<Int>) throws(Failure) in
                    if r.key(k, is: "MedianSeconds") { medianResponseSeconds = try r.double() } else { try r.skip(depth: 3) }
                }
            } else { try r.skip(depth: 2) }
        }
    }
}
