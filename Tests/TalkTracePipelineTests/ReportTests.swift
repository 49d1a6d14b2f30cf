import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import TalkTraceAudio
@testable import TalkTracePipeline
import TalkTraceRecords
import _TestSupport

/// The timeline plot and the batch report on hand-built calls whose every figure is known:
/// exact bar positions, aggregation of a 2-hour call, escaping, the report at a few thousand
/// calls, and what headless Chromium (and rsvg-convert) actually draw, pixel by pixel.
@Suite("Report: hand-built calls, geometry, scale and the browser", .serialized)
struct ReportTests {
    // MARK: - Hand-built calls

    /// A real analysis of a tiny synthesized call, so every field the model gains later is filled;
    /// the tests then overwrite what they draw.
    static let base: Result<CallAnalysis, any Error> = Result {
        let dir = TestSupport.temporaryDirectory("reportBase")
        var l = TestSupport.silence(4), r = TestSupport.silence(4)
        TestSupport.addNoise(&l, rms: 0.001, seed: 3); TestSupport.addNoise(&r, rms: 0.001, seed: 4)
        TestSupport.addSpeechLike(&r, amplitude: 0.3, start: 0.5, end: 2)
        let url = dir.appendingPathComponent("base.wav")
        try TestSupport.writeStereo(url, left: l, right: r)
        return try CallAnalyzer.analyze(path: url.path)
    }

    static func seg(_ a: Double, _ b: Double) -> Segment { Segment(start: a, end: b) }

    /// A call of `duration` seconds with exactly these segments (each list sorted, disjoint).
    static func call(_ path: String, duration: Double, agent: [Segment], customer: [Segment]) throws -> CallAnalysis {
        var a = try base.get()
        a.recording.path = path
        a.recording.durationSeconds = duration
        a.recording.contactId = nil
        a.agent = channel(a.agent, agent, other: customer, duration: duration, level: 70)
        a.customer = channel(a.customer, customer, other: agent, duration: duration, level: 50)
        a.conversation = ConversationMetrics(agent: agent, customer: customer, duration: duration)
        a.quality.musicOnHold = CallQuality.MusicOnHold(detected: false, participant: nil, spans: [], totalSeconds: 0)
        a.quality.echo.detected = false
        a.quality.sidetone.detected = false
        a.quality.clipping.detected = false
        a.quality.oneWayAudio.detected = false
        a.quality.channelsSwapped.suspected = false
        return a
    }

    /// Talk time, segments and a per-second loudness (every second with at least 0.25 s of talk,
    /// as the analyzer reports it) around `level`.
    static func channel(_ base: ChannelAnalysis, _ segments: [Segment], other: [Segment], duration: Double, level: Int) -> ChannelAnalysis {
        var c = base
        c.segments = segments
        c.segmentCount = segments.count
        c.talkSeconds = segments.reduce(0) { $0 + $1.duration }
        c.talkRatio = duration > 0 ? c.talkSeconds / duration : 0
        c.longestMonologueSeconds = ConversationMetrics.longestMonologue(segments, other: other)
        var talk = [Double](repeating: 0, count: Int(duration.rounded(.up)) + 1)
        for s in segments {
            var k = Int(s.start)
            while Double(k) < s.end && k < talk.count {
                talk[k] += min(s.end, Double(k + 1)) - max(s.start, Double(k))
                k += 1
            }
        }
        var perSecond: [LoudnessSecond] = []
        for (k, t) in talk.enumerated() where t >= 0.25 {
            perSecond.append(LoudnessSecond(second: Int32(k), score: UInt8(max(0, min(100, level + (k * 7) % 21 - 10)))))
        }
        c.loudness = Loudness(mean: perSecond.isEmpty ? nil : Double(perSecond.reduce(0) { $0 + Int($1.score) }) / Double(perSecond.count),
                              perSecond: perSecond)
        return c
    }

    /// A 2-minute call with every feature the plot draws, at known times.
    static let shortAgent = [seg(0.5, 9.8), seg(12, 30.25), seg(45, 45.05), seg(50, 64), seg(70.5, 71.2), seg(78, 95), seg(112, 116)]
    static let shortCustomer = [seg(9, 11.5), seg(30.5, 33), seg(66, 80), seg(88, 88.6), seg(96, 104)]
    static let nastyName = #"2026-03-03 10:20 Q&A <test> "x" 'y'.wav"#
    static func shortCall() throws -> CallAnalysis {
        try call("connect/inst/CallRecordings/" + nastyName, duration: 120, agent: shortAgent, customer: shortCustomer)
    }

    /// A deterministic 2-hour conversation: alternating turns, overlaps, backchannels, long
    /// pauses, and three quiet minutes each holding one isolated 0.25 s blip per participant.
    static func longCall() throws -> (CallAnalysis, blips: [(Participant, Segment)]) {
        let duration = 7200.0
        var rng = TestSupport.Random(seed: 42)
        func u() -> Double { (Double(rng.uniform()) + 1) / 2 }
        var agent: [Segment] = [], customer: [Segment] = []
        func add(_ who: Participant, _ s: Segment) {
            guard s.end <= duration, s.end > s.start else { return }
            if who == .agent {
                if let last = agent.last, s.start < last.end + 0.3 { return }
                agent.append(s)
            } else {
                if let last = customer.last, s.start < last.end + 0.3 { return }
                customer.append(s)
            }
        }
        var t = 1.0
        var who = Participant.agent
        while t < duration {
            let length = u() < 0.3 ? 0.3 + u() * 0.7 : 1 + u() * 4
            add(who, seg(t, t + length))
            if length > 3 && u() < 0.5 {       // a backchannel from the other side
                let at = t + 1 + u() * (length - 3)
                add(who == .agent ? .customer : .agent, seg(at, at + 0.3 + u() * 0.5))
            }
            let gap = u() < 0.05 ? 5 + u() * 30 : u() * 2 - 0.5   // sometimes a long pause, sometimes an overlap
            t += max(0.2, length + gap)
            who = who == .agent ? .customer : .agent
        }
        var blips: [(Participant, Segment)] = []
        for w in [1000.0, 3600.0, 6500.0] {
            agent.removeAll { $0.end > w && $0.start < w + 60 }
            customer.removeAll { $0.end > w && $0.start < w + 60 }
            let a = seg(w + 20, w + 20.25), c = seg(w + 40, w + 40.25)
            agent.append(a); customer.append(c)
            blips += [(.agent, a), (.customer, c)]
        }
        agent.sort { $0.start < $1.start }; customer.sort { $0.start < $1.start }
        return (try call("long/2h call & co.wav", duration: duration, agent: agent, customer: customer), blips)
    }

    // MARK: - Parsing what was drawn

    /// Every element with its attributes and direct text, in document order.
    final class Tree: NSObject, XMLParserDelegate {
        struct Element { var name: String; var attributes: [String: String]; var text = ""; var parent: Int? }
        var elements: [Element] = []
        private var stack: [Int] = []
        func parser(_ p: XMLParser, didStartElement e: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
            elements.append(Element(name: e, attributes: attributes, parent: stack.last))
            stack.append(elements.count - 1)
        }
        func parser(_ p: XMLParser, didEndElement e: String, namespaceURI: String?, qualifiedName: String?) { stack.removeLast() }
        func parser(_ p: XMLParser, foundCharacters s: String) { if let i = stack.last { elements[i].text += s } }

        /// Parses `xml` (a leading HTML doctype is dropped); records an issue when it is not well-formed.
        static func parse(_ xml: String, sourceLocation: SourceLocation = #_sourceLocation) -> Tree {
            let tree = Tree()
            let parser = XMLParser(data: Data(xml.replacingOccurrences(of: "<!DOCTYPE html>", with: "").utf8))
            parser.delegate = tree
            let ok = parser.parse()
            #expect(ok, "not well-formed: \(parser.parserError.map { "\($0)" } ?? "?") at line \(parser.lineNumber)", sourceLocation: sourceLocation)
            return tree
        }

        func all(_ name: String, class cls: String? = nil) -> [Element] {
            elements.filter { $0.name == name && (cls == nil || $0.attributes["class"] == cls) }
        }
        var texts: [String] { elements.filter { $0.name == "text" }.map(\.text) }
    }


    /// The plot area, read from the drawing itself (the two lane frames), so the checks do not
    /// hard-code the layout: (left, width, agent lane (y, height), customer lane (y, height)).
    static func lanes(_ tree: Tree) throws -> (left: Double, width: Double, agent: (y: Double, h: Double), customer: (y: Double, h: Double)) {
        let frames = tree.all("rect").filter { $0.attributes["fill"] == "none" }
        try #require(frames.count == 2, "expected two lane frames, found \(frames.count)")
        #expect(num(frames[0], "x") == num(frames[1], "x") && num(frames[0], "width") == num(frames[1], "width"))
        let agentLabel = try #require(tree.all("text").first { $0.text == "Agent" })
        let customerLabel = try #require(tree.all("text").first { $0.text == "Customer" })
        func lane(of label: Tree.Element) throws -> (y: Double, h: Double) {
            let y = num(label, "y")
            let f = try #require(frames.first { y >= num($0, "y") && y <= num($0, "y") + num($0, "height") }, "no lane frame beside its label")
            return (num(f, "y"), num(f, "height"))
        }
        return (num(frames[0], "x"), num(frames[0], "width"), try lane(of: agentLabel), try lane(of: customerLabel))
    }

    // MARK: - Timeline

    @Test("A 2-minute call: one bar per segment at the computed x, width ≥ 1 px, every mark in its lane")
    func shortTimeline() throws {
        let a = try Self.shortCall()
        let c = a.conversation
        // The fixture is what it claims to be.
        #expect(c.interruptions.byAgent == 1 && c.interruptions.byCustomer == 1)
        #expect(c.backchannels.byAgent == 1 && c.backchannels.byCustomer == 1)
        #expect(c.nonTalk.instances.map(\.beginOffsetSeconds) == [33, 45.05, 104, 116])

        let svg = TimelineSVG.svg(a, width: 1200)
        let tree = Tree.parse(svg)
        #expect(tree.elements.first?.name == "svg" && tree.elements.first?.attributes["width"] == "1200")
        let (left, width, agentLane, customerLane) = try Self.lanes(tree)
        #expect(left > 0 && left + width <= 1200 && width > 900)
        #expect(agentLane.y + agentLane.h <= customerLane.y, "the agent lane is above the customer lane")
        func x(_ t: Double) -> Double { left + t / 120 * width }
        func close(_ a: Double, _ b: Double, _ tol: Double = 0.051) -> Bool { abs(a - b) <= tol }

        for (cls, segments, lane) in [("seg-agent", Self.shortAgent, agentLane), ("seg-customer", Self.shortCustomer, customerLane)] {
            let bars = tree.all("rect", class: cls)
            try #require(bars.count == segments.count, "\(cls): \(bars.count) bars for \(segments.count) segments")
            for (bar, s) in zip(bars.sorted { num($0, "x") < num($1, "x") }, segments) {
                #expect(close(num(bar, "x"), x(s.start)), "\(cls) \(s.start)–\(s.end): x \(num(bar, "x")), expected \(x(s.start))")
                #expect(close(num(bar, "width"), max(1, x(s.end) - x(s.start))), "\(cls) \(s.start)–\(s.end): width \(num(bar, "width"))")
                #expect(num(bar, "y") == lane.y && num(bar, "height") == lane.h)
            }
        }
        // The 50 ms segment is 0.45 px at this scale: drawn one pixel wide.
        #expect(tree.all("rect", class: "seg-agent").contains { close(num($0, "x"), x(45)) && num($0, "width") == 1 })

        // Overlap: the four stretches both talk, under the lanes.
        let overlaps = tree.all("rect", class: "overlap").sorted { num($0, "x") < num($1, "x") }
        let both = [(9.0, 9.8), (70.5, 71.2), (78.0, 80.0), (88.0, 88.6)]
        try #require(overlaps.count == both.count)
        for (r, (s, e)) in zip(overlaps, both) {
            #expect(close(num(r, "x"), x(s)) && close(num(r, "width"), x(e) - x(s)))
            #expect(num(r, "y") >= customerLane.y + customerLane.h)
        }
        // Non-talk (≥ 3 s of mutual silence) shaded across both lanes.
        let nonTalk = tree.all("rect", class: "nontalk").sorted { num($0, "x") < num($1, "x") }
        try #require(nonTalk.count == c.nonTalk.instances.count)
        for (r, n) in zip(nonTalk, c.nonTalk.instances) {
            #expect(close(num(r, "x"), x(n.beginOffsetSeconds)) && close(num(r, "width"), x(n.endOffsetSeconds) - x(n.beginOffsetSeconds)))
            #expect(num(r, "y") <= agentLane.y && num(r, "y") + num(r, "height") >= customerLane.y + customerLane.h)
        }
        // Interruptions: a marker at the interrupter's start, on the interrupter's lane, saying who.
        let markers = tree.all("path", class: "interruption")
        try #require(markers.count == 2)
        for e in c.interruptions.instances {
            let lane = e.by == .agent ? agentLane : customerLane
            let who = e.by == .agent ? "agent" : "customer"
            let m = try #require(markers.first { marker in tree.elements.contains { $0.name == "title" && $0.text.hasPrefix(who) && $0.parent.map { tree.elements[$0].attributes["d"] } == marker.attributes["d"] } },
                                 "no \(who) interruption marker")
            let points = (m.attributes["d"] ?? "").split(whereSeparator: { "MLZ ".contains($0) }).map { $0.split(separator: ",").compactMap { Double($0) } }
            #expect(points.contains { $0.count == 2 && close($0[0], x(e.beginOffsetSeconds), 0.11) }, "\(who) marker not at \(x(e.beginOffsetSeconds)): \(points)")
            #expect(points.allSatisfy { $0.count == 2 && $0[1] >= lane.y - 12 && $0[1] <= lane.y + 1 }, "\(who) marker not on the \(who) lane")
        }
        // Backchannels: a tick under the lane of who said "uh-huh".
        let ticks = tree.all("line", class: "backchannel")
        try #require(ticks.count == 2)
        for e in c.backchannels.instances {
            let lane = e.by == .agent ? agentLane : customerLane
            #expect(ticks.contains { close(num($0, "x1"), x(e.beginOffsetSeconds)) && num($0, "y1") >= lane.y && num($0, "y1") <= lane.y + lane.h + 6 })
        }
        // Loudness: a line per stretch of talk, inside its lane and the plot.
        let lines = tree.all("polyline", class: "loudness")
        #expect(lines.count >= 2)
        for l in lines {
            let pts = (l.attributes["points"] ?? "").split(separator: " ").map { $0.split(separator: ",").compactMap { Double($0) } }
            #expect(!pts.isEmpty && pts.allSatisfy { p in
                p.count == 2 && p[0] >= left && p[0] <= left + width
                    && ((p[1] >= agentLane.y && p[1] <= agentLane.y + agentLane.h) || (p[1] >= customerLane.y && p[1] <= customerLane.y + customerLane.h))
            })
        }
        // Axis in m:ss, title escaped, legend, caption with the headline numbers.
        let texts = tree.texts
        for label in ["0:00", "0:30", "1:00", "1:30", "2:00"] { #expect(texts.contains(label), "axis label \(label)") }
        #expect(!texts.contains { $0.range(of: #"^\d+:\d\d:\d\d$"#, options: .regularExpression) != nil }, "h:mm:ss on a 2-minute call")
        #expect(texts.contains(Self.nastyName))
        #expect(svg.contains("Q&amp;A &lt;test&gt; &quot;x&quot; &apos;y&apos;.wav"))
        #expect(texts.contains { $0.hasPrefix("2:00") }, "duration in the header")
        for entry in ["agent talk", "customer talk", "overlap", "non-talk", "loudness"] {
            #expect(texts.contains { $0.contains(entry) }, "legend entry \(entry)")
        }
        #expect(tree.all("rect").contains { $0.attributes["fill"] == TimelineSVG.colors.agent && $0.attributes["width"] == "12" }, "agent swatch")
        #expect(tree.all("rect").contains { $0.attributes["fill"] == TimelineSVG.colors.customer && $0.attributes["width"] == "12" }, "customer swatch")
        #expect(texts.contains { $0.contains("interruptions 2 (agent 1, customer 1)") })
        // Self-contained: no script, no link to anything.
        #expect(!svg.contains("<script") && !svg.contains("href") && !svg.contains("url("))
    }

    @Test("A 2-hour call: aggregated to the pixel, nothing talk-less drawn as talk, every blip visible, small file")
    func longTimeline() throws {
        let (a, blips) = try Self.longCall()
        // More segments per lane than the lane has pixels: aggregation is what keeps it drawable.
        #expect(a.agent.segments.count > 1100 && a.customer.segments.count > 1100, "\(a.agent.segments.count), \(a.customer.segments.count)")
        let svg = TimelineSVG.svg(a, width: 1200)
        #expect(svg.utf8.count < 300_000, "\(svg.utf8.count) bytes")
        let tree = Tree.parse(svg)
        #expect(tree.elements.count < 10_000, "\(tree.elements.count) elements")
        let (left, width, _, _) = try Self.lanes(tree)
        let secondsPerPixel = 7200 / width
        func x(_ t: Double) -> Double { left + t / 7200 * width }

        for (cls, segments) in [("seg-agent", a.agent.segments), ("seg-customer", a.customer.segments)] {
            let bars = tree.all("rect", class: cls).map { (x: num($0, "x"), w: num($0, "width")) }.sorted { $0.x < $1.x }
            #expect(bars.count < Int(width), "\(cls): \(bars.count) bars in \(Int(width)) px")
            #expect(bars.allSatisfy { $0.w >= 1 })
            // Each segment belongs to the last bar starting at or before it; a bar starts at its
            // first segment, ends at its last one's end (or one pixel on), and bridges no silence
            // of a pixel or more: aggregation never draws talk-less time as talk.
            var owned = [[Segment]](repeating: [], count: bars.count)
            var k = 0
            for s in segments {
                while k + 1 < bars.count && bars[k + 1].x <= x(s.start) + 0.06 { k += 1 }
                if !owned.isEmpty { owned[k].append(s) }
            }
            for (b, mine) in zip(bars, owned) {
                guard let first = mine.first, let last = mine.last else { Issue.record("\(cls) bar at \(b.x) px covers no talk"); continue }
                #expect(abs(b.x - x(first.start)) <= 0.06, "\(cls) bar at \(b.x) px, its first segment at \(x(first.start)) px")
                #expect(abs(b.x + b.w - max(x(last.end), x(first.start) + 1)) <= 0.11, "\(cls) bar at \(b.x) px ends at \(b.x + b.w), its talk at \(x(last.end))")
                for (p, q) in zip(mine, mine.dropFirst()) {
                    #expect(q.start - p.end < secondsPerPixel, "\(cls) bar at \(b.x) px bridges \(q.start - p.end) s of silence")
                }
            }
        }
        // The isolated 0.25 s blips (0.04 px) are each a visible bar.
        for (who, s) in blips {
            let bars = tree.all("rect", class: who == .agent ? "seg-agent" : "seg-customer")
            #expect(bars.contains { abs(num($0, "x") - x(s.start)) <= 0.06 && num($0, "width") >= 1 }, "\(who) blip at \(s.start) s")
        }
        #expect(tree.all("rect", class: "nontalk").count == a.conversation.nonTalk.instances.count)
        #expect(tree.all("rect", class: "nontalk").allSatisfy { num($0, "width") >= 1 })
        // Loudness: at most about one point per pixel per participant.
        let points = tree.all("polyline", class: "loudness").reduce(0) { $0 + ($1.attributes["points"] ?? "").split(separator: " ").count }
        #expect(points > 100 && points <= 4 * (Int(width) + 1), "\(points) loudness points")
        // Axis in h:mm:ss past the hour, never "75:00".
        let texts = tree.texts
        #expect(texts.contains("1:00:00") && texts.contains("2:00:00"))
        #expect(!texts.contains { $0.range(of: #"^([6-9]\d|\d{3,}):\d\d$"#, options: .regularExpression) != nil })
        #expect(texts.contains("2h call & co.wav"))
    }

    @Test("Clock: m:ss under an hour, h:mm:ss from one")
    func clock() {
        #expect(TimelineSVG.clock(0) == "0:00")
        #expect(TimelineSVG.clock(59.6) == "1:00")
        #expect(TimelineSVG.clock(3599.4) == "59:59")
        #expect(TimelineSVG.clock(3600) == "1:00:00")
        #expect(TimelineSVG.clock(7325) == "2:02:05")
    }

    @Test("An analysis read back from its JSON (CallAnalysis.decoder) draws the same picture")
    func fromJSON() throws {
        let a = try Self.shortCall()
        let json = try CallAnalysis.encoder().encode(a)
        let back = try CallAnalysis.decoder().decode(CallAnalysis.self, from: json)
        #expect(TimelineSVG.svg(back) == TimelineSVG.svg(a))
    }

    @Test("PNG plot: rsvg-convert draws the bars when installed; false and no file when not")
    func png() throws {
        let dir = TestSupport.temporaryDirectory()
        let out = dir.appendingPathComponent("call 10:20 & co.png")
        let svg = TimelineSVG.svg(try Self.shortCall(), width: 1200)
        let available = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/rsvg-convert") }
        let wrote = try TimelineSVG.writePNG(svg: svg, to: out.path)
        #expect(wrote == available)
        guard wrote else {
            #expect(!FileManager.default.fileExists(atPath: out.path))
            return
        }
        let image = try PNG.decode(Data(contentsOf: out))
        let height = Int(num(Tree.parse(svg).elements[0], "height"))
        #expect(image.width == 1200 && image.height == height)
        let stats = image.stats(agent: TimelineSVG.colors.agent, customer: TimelineSVG.colors.customer)
        #expect(stats.agent > 5_000 && stats.customer > 2_000, "\(stats)")
        #expect(stats.agentMeanY < stats.customerMeanY, "agent lane above customer lane")
    }

    // MARK: - Batch report

    /// A batch of `count` recordings (every 37th unreadable, every 3rd unmatched, the rest
    /// matched to two CTRs with nasty fields), with one unreadable CTR file.
    static func batch(_ count: Int, dir: URL) throws -> (BatchResult, BatchSummary) {
        let ctr = dir.appendingPathComponent("ctr.json")
        let idA = "11111111-2222-4333-8444-555555555555", idB = "66666666-7777-4888-9999-000000000000"
        try Data(("""
            {"ContactId":"\(idA)","Queue":{"Name":"Billing & <Refunds>"},"Agent":{"Username":"o'brien \\"ob\\""},"InitiationTimestamp":"2026-03-03T10:15:00Z"}
            {"ContactId":"\(idB)","Queue":{"Name":"Sales"},"Agent":{"Username":"maria"},"InitiationTimestamp":"2026-03-03T10:20:00Z"}

            """).utf8).write(to: ctr)
        let contacts = try ContactStore(paths: [ctr.path, dir.appendingPathComponent("missing ctr & co.json").path])
        var recordings: [RecordingResult] = []
        var byContact: [String: [Int]] = [:]
        for i in 0..<count {
            let name = i % 5 == 0 ? "call \(i) & <co> 10:\(i % 60).wav" : "\(UUID().uuidString.lowercased())_20260303T10:\(i % 60)_UTC.wav"
            let rel = "connect/inst/CallRecordings/2026/03/03/\(name)"
            let file = RecordingFile(relativePath: rel, path: "/recordings/" + rel, size: 960_044, modified: 0)
            if i % 37 == 36 {
                recordings.append(RecordingResult(file: file, match: nil, analysis: nil, error: "/recordings/\(rel): not a readable audio file (bad <header> & more)"))
                continue
            }
            let match: RecordingMatcher.Match? = i % 3 == 2 ? nil : RecordingMatcher.Match(contactId: i % 2 == 0 ? idA : idB, by: i % 2 == 0 ? .location : .contactId, location: nil)
            // Varied calls, so the distributions spread: talk share, pauses and overlaps change with i.
            let d = 60 + Double(i % 7) * 30, share = Double(i % 10) / 10
            var agent: [Segment] = [], customer: [Segment] = []
            var t = 0.5
            while t + 8 < d {
                let turn = 2 + 6 * share
                agent.append(seg(t, t + turn))
                t += turn - Double(i % 4) * 0.2 + 0.1
                customer.append(seg(t, t + 8 - turn + 0.5))
                t += 8 - turn + 0.5 + (i % 6 == 0 ? 4 : 0.4)
            }
            var a = try call(rel, duration: d, agent: agent, customer: customer)
            a.recording.contactId = match?.contactId
            // Every 11th call has someone behind the caller (a television heard while they listen).
            let nobody = CallQuality.BackgroundSpeech(detected: false, seconds: 0, levelDb: nil, soundWhileListening: 0.02)
            a.quality.backgroundSpeech = CallQuality.BackgroundSpeechByParticipant(
                agent: nobody, customer: i % 11 == 5 ? CallQuality.BackgroundSpeech(detected: true, seconds: 0, levelDb: nil, soundWhileListening: 0.4) : nobody)
            if let m = match { byContact[m.contactId, default: []].append(recordings.count) }
            recordings.append(RecordingResult(file: file, match: match, analysis: a, error: nil))
        }
        let result = BatchResult(recordings: recordings, contacts: contacts, analysesByContact: byContact, wallSeconds: 2.5, jobs: 2)
        return (result, BatchSummary(result))
    }

    @Test("The report: summary, every recording escaped, failures, CTR problems, distributions, 200 timelines, well-formed")
    func report() throws {
        let dir = TestSupport.temporaryDirectory()
        let (result, summary) = try Self.batch(260, dir: dir)
        let html = BatchReport.html(result, summary: summary)
        try Data(html.utf8).write(to: dir.appendingPathComponent("report.html"))
        let tree = Tree.parse(html)
        let texts = tree.elements.map(\.text)
        func has(_ s: String) -> Bool { texts.contains { $0.contains(s) } }

        // Summary numbers.
        #expect(summary.recordingsFailed == 7 && summary.recordingsAnalyzed == 253 && summary.ctrProblems.count == 1)
        #expect(has("253 / 260"))
        for n in [summary.recordingsFailed, summary.recordingsUnmatched, summary.contacts, summary.contactsWithRecording, summary.contactsWithoutRecording] {
            #expect(tree.all("b").contains { $0.text == "\(n)" }, "summary figure \(n)")
        }
        #expect(has(String(format: "%.2f h", summary.audioHours)) && has("real time"))
        // One table row per recording, every path escaped in the source and intact in the text.
        #expect(tree.all("tr").count == result.recordings.count + 1)
        for r in result.recordings {
            #expect(html.contains(TimelineSVG.escape(r.file.relativePath)))
            #expect(has(r.file.relativePath), "\(r.file.relativePath)")
        }
        #expect(!html.contains("& <co>"), "a raw & or < got through")
        // Quality notes: someone behind the caller on exactly the calls that have one.
        let behind = result.recordings.filter { $0.analysis?.quality.backgroundSpeech?.customer.detected == true }.count
        #expect(behind == 23)
        #expect(tree.all("td").filter { $0.text == "someone behind the customer" }.count == behind)
        // CTR fields of matched rows, escaped.
        #expect(texts.contains("Billing & <Refunds>") && texts.contains(#"o'brien "ob""#) && texts.contains("2026-03-03T10:20:00Z"))
        // Failures, unmatched recordings and the unreadable CTR file are listed.
        let items = tree.all("li").map(\.text)
        for f in summary.failures { #expect(items.contains { $0.contains("bad <header> & more") && $0.contains(f.path) }, "failure \(f.path)") }
        for r in result.recordings where r.match == nil && r.analysis != nil {
            #expect(items.contains { $0.contains(r.file.relativePath) && $0.contains("matched no CTR") })
        }
        #expect(items.contains { $0.contains("missing ctr & co.json") })
        // Distributions: inline SVG histograms with bars; agent talk share is one of them.
        let svgs = tree.elements.indices.filter { tree.elements[$0].name == "svg" }
        var timelineSVGs = Set<Int>()
        for e in tree.elements where e.attributes["class"] == "seg-agent" {
            var p = e.parent
            while let i = p, tree.elements[i].name != "svg" { p = tree.elements[i].parent }
            if let i = p { timelineSVGs.insert(i) }
        }
        let histograms = svgs.filter { !timelineSVGs.contains($0) }
        #expect(histograms.count >= 4, "\(histograms.count) distribution charts")
        #expect(has("Agent talk share") && has("Non-talk"))
        // Timelines: the first 200, and it says so.
        #expect(tree.all("div", class: "call").count == BatchReport.maxTimelines)
        #expect(timelineSVGs.count == BatchReport.maxTimelines)
        #expect(has("first \(BatchReport.maxTimelines) of 253"))
        // Every in-page link lands on an element.
        let ids = Set(tree.elements.compactMap { $0.attributes["id"] })
        let links = tree.elements.compactMap { $0.attributes["href"] }
        #expect(links.count >= BatchReport.maxTimelines)
        for link in links where link.hasPrefix("#") { #expect(ids.contains(String(link.dropFirst())), "dangling link \(link)") }
        // Self-contained: only in-page links, no sources, no CSS urls or imports.
        #expect(tree.elements.allSatisfy { ($0.attributes["href"] ?? "#").hasPrefix("#") && $0.attributes["src"] == nil })
        #expect(!html.contains("url(") && !html.contains("@import"))
        #expect(!html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"))
        #expect(html.utf8.count < 5_000_000, "\(html.utf8.count) bytes for 260 calls")
    }

    @Test("A few thousand calls: timelines stay capped, each further call costs a table row, built in seconds")
    func reportScale() throws {
        let dir = TestSupport.temporaryDirectory()
        let (small, smallSummary) = try Self.batch(250, dir: dir)
        let (big, bigSummary) = try Self.batch(3000, dir: dir)
        let smallSize = BatchReport.html(small, summary: smallSummary).utf8.count
        let started = Date()
        let html = BatchReport.html(big, summary: bigSummary)
        let seconds = Date().timeIntervalSince(started)
        #expect(seconds < 10, "\(seconds) s to build the report of 3000 calls")
        let perRow = Double(html.utf8.count - smallSize) / 2750
        #expect(perRow < 1_500, "\(Int(perRow)) bytes per extra call")
        #expect(html.utf8.count < 10_000_000, "\(html.utf8.count) bytes")
    }

    // MARK: - In a real browser

    static func chromium() -> String? {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
                let p = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: p) { return p }
            }
        }
        return nil
    }

    /// Headless Chromium on `url`; returns stdout (the DOM with `--dump-dom`) and the console lines
    /// from its log (Chromium logs every console message and uncaught error as `CONSOLE`).
    static func browse(_ url: URL, profile: URL, _ arguments: [String]) throws -> (stdout: String, console: [String], seconds: Double) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium()!)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                       "--user-data-dir=\(profile.path)"] + arguments + [url.absoluteString]
        defer { try? FileManager.default.removeItem(at: profile) }     // a profile is ~3 MB of caches
        let started = Date()
        let c = try TestSupport.capture(p)
        let console = String(decoding: c.stderr, as: UTF8.self).split(separator: "\n").map(String.init)
            .filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        return (String(decoding: c.stdout, as: UTF8.self), console, Date().timeIntervalSince(started))
    }

    @Test("Chromium: the timeline and the report load without console errors and draw what they should")
    func browser() throws {
        let dir = TestSupport.temporaryDirectory()
        let svgURL = dir.appendingPathComponent("call 10:20 & co.svg")     // a file URL needing escapes, like real names
        try Data(TimelineSVG.svg(try Self.shortCall(), width: 1200).utf8).write(to: svgURL)
        let (result, summary) = try Self.batch(40, dir: dir)
        let reportURL = dir.appendingPathComponent("report.html")
        try Data(BatchReport.html(result, summary: summary).utf8).write(to: reportURL)
        let (big, bigSummary) = try Self.batch(3000, dir: dir)
        let bigURL = dir.appendingPathComponent("report-3000.html")
        try Data(BatchReport.html(big, summary: bigSummary).utf8).write(to: bigURL)

        guard Self.chromium() != nil else {
            // No browser (scripts/test.sh installs one): still prove the pages need nothing from the
            // network and are well-formed, which is what a browser could otherwise trip on.
            for url in [svgURL, reportURL] {
                let text = try String(contentsOf: url, encoding: .utf8)
                let tree = Tree.parse(text)
                #expect(tree.elements.allSatisfy { ($0.attributes["href"] ?? "#").hasPrefix("#") && $0.attributes["src"] == nil })
                #expect(!text.contains("url(") && !text.contains("@import"))
            }
            print("ReportTests: Chromium is not installed; checked the pages without a browser")
            return
        }

        // The console check must be able to fail: a page with a console error and an uncaught
        // exception is caught by the same filter.
        let badURL = dir.appendingPathComponent("bad.html")
        try Data(#"<!DOCTYPE html><html><body><p>x</p><script>console.error("planted error"); notDefined();</script></body></html>"#.utf8).write(to: badURL)
        let bad = try Self.browse(badURL, profile: dir.appendingPathComponent("profile-bad"), ["--dump-dom"])
        try #require(bad.console.contains { $0.contains("planted error") } && bad.console.contains { $0.contains("notDefined") },
                     "this Chromium does not log console errors to stderr; the check below would be blind: \(bad.console)")

        // The timeline: the bars are drawn, agent above customer, overlap red present.
        let svgShot = dir.appendingPathComponent("timeline.png")
        let plot = try Self.browse(svgURL, profile: dir.appendingPathComponent("profile-svg"), ["--window-size=1280,400", "--screenshot=\(svgShot.path)"])
        #expect(plot.console.isEmpty, "\(plot.console)")
        let timeline = try PNG.decode(Data(contentsOf: svgShot))
        #expect(timeline.width == 1280 && timeline.height == 400)
        let t = timeline.stats(agent: TimelineSVG.colors.agent, customer: TimelineSVG.colors.customer)
        #expect(t.agent > 5_000 && t.customer > 2_000 && t.red > 50, "\(t)")
        #expect(t.agentMeanY < t.customerMeanY, "agent lane above customer lane")

        // The 2-hour call: still two filled lanes, not a smear across the picture.
        let longURL = dir.appendingPathComponent("long.svg"), longShot = dir.appendingPathComponent("long.png")
        try Data(TimelineSVG.svg(try Self.longCall().0, width: 1200).utf8).write(to: longURL)
        let long = try Self.browse(longURL, profile: dir.appendingPathComponent("profile-long"), ["--window-size=1280,400", "--screenshot=\(longShot.path)"])
        #expect(long.console.isEmpty, "\(long.console)")
        let l = try PNG.decode(Data(contentsOf: longShot)).stats(agent: TimelineSVG.colors.agent, customer: TimelineSVG.colors.customer)
        #expect(l.agent > 10_000 && l.customer > 10_000 && l.agentMeanY < l.customerMeanY, "\(l)")

        // The report: no console errors, a drawn page, the parts in the DOM the browser built.
        let reportShot = dir.appendingPathComponent("report.png")
        let page = try Self.browse(reportURL, profile: dir.appendingPathComponent("profile-report"), ["--window-size=1280,2000", "--screenshot=\(reportShot.path)"])
        #expect(page.console.isEmpty, "\(page.console)")
        let shot = try PNG.decode(Data(contentsOf: reportShot))
        #expect(shot.width == 1280 && shot.height == 2000)
        let r = shot.stats(agent: "#2563eb", customer: TimelineSVG.colors.customer)
        #expect(r.nonWhite > shot.width * shot.height / 50, "\(r): the page looks blank")
        #expect(r.agent > 2_000, "no histogram bars drawn: \(r)")
        let dom = try Self.browse(reportURL, profile: dir.appendingPathComponent("profile-dom"), ["--dump-dom"])
        #expect(dom.console.isEmpty, "\(dom.console)")
        #expect(dom.stdout.contains("TalkTrace batch report"))
        #expect(dom.stdout.components(separatedBy: "<tr").count - 1 == result.recordings.count + 1)
        #expect(dom.stdout.components(separatedBy: "class=\"seg-agent\"").count > 40)
        for r in result.recordings { #expect(dom.stdout.contains(TimelineSVG.escape(r.file.relativePath).replacingOccurrences(of: "&quot;", with: "\""))) }

        // The table sorts: click the duration heading (ascending, then descending) and a text
        // column, from a copy of the page with a few lines appended that click and record.
        let probe = """
            <script>
            var heads = Array.prototype.slice.call(document.querySelectorAll('#calls th'));
            function column(prefix) {
              var th = heads.filter(function (h) { return h.textContent.indexOf(prefix) === 0; })[0];
              th.click();
              return Array.prototype.map.call(document.querySelectorAll('#calls tbody tr'), function (r) {
                return r.cells[th.cellIndex] ? r.cells[th.cellIndex].textContent : '';
              }).join('|');
            }
            var out = document.createElement('pre'); out.id = 'probe';
            out.textContent = [column('duration'), column('duration'), column('path')].join('\\n');
            document.body.appendChild(out);
            </script>
            """
        let sortURL = dir.appendingPathComponent("sort.html")
        try Data(try String(contentsOf: reportURL, encoding: .utf8).replacingOccurrences(of: "</body>", with: probe + "</body>").utf8).write(to: sortURL)
        let sorted = try Self.browse(sortURL, profile: dir.appendingPathComponent("profile-sort"), ["--dump-dom"])
        #expect(sorted.console.isEmpty, "\(sorted.console)")
        let probeText = sorted.stdout.components(separatedBy: "<pre id=\"probe\">").dropFirst().first?.components(separatedBy: "</pre>").first ?? ""
        let columns = probeText.components(separatedBy: "\n").map { $0.components(separatedBy: "|") }
        try #require(columns.count == 3 && columns.allSatisfy { $0.count == result.recordings.count }, "sort probe: \(probeText.prefix(300))")
        let ascending = columns[0].compactMap(Double.init), descending = columns[1].compactMap(Double.init)
        #expect(ascending.count == result.recordings.filter { $0.analysis != nil }.count)
        #expect(ascending == ascending.sorted() && descending == ascending.sorted(by: >), "\(columns[0])")
        let paths = columns[2].map { $0.replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">") }
        #expect(paths.sorted() == result.recordings.map(\.file.relativePath).sorted(), "sorting lost or duplicated rows")

        // 3000 calls open quickly.
        let large = try Self.browse(bigURL, profile: dir.appendingPathComponent("profile-big"), ["--dump-dom"])
        #expect(large.console.isEmpty, "\(large.console)")
        #expect(large.stdout.components(separatedBy: "<tr").count - 1 == 3001)
        #expect(large.seconds < 30, "\(large.seconds) s to load 3000 calls")
        print("ReportTests: Chromium loaded 3000 calls in \(String(format: "%.1f", large.seconds)) s; screenshots in \(dir.path)")
    }
}

/// Just enough PNG to check what a screenshot shows: 8-bit RGB or RGBA, not interlaced.
struct PNG {
    var width = 0, height = 0
    /// RGBA, row by row.
    var pixels: [UInt8] = []

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func decode(_ data: Data) throws -> PNG {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw Failure(description: "not a PNG") }
        func u32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var png = PNG(), idat = Data(), channels = 0
        var i = 8
        while i + 8 <= bytes.count {
            let length = u32(i), type = String(decoding: bytes[i + 4..<i + 8], as: UTF8.self), body = i + 8
            guard body + length <= bytes.count else { throw Failure(description: "truncated \(type)") }
            switch type {
            case "IHDR":
                png.width = u32(body); png.height = u32(body + 4)
                let depth = bytes[body + 8], color = bytes[body + 9], interlace = bytes[body + 12]
                guard depth == 8, color == 2 || color == 6, interlace == 0 else {
                    throw Failure(description: "unsupported PNG: depth \(depth), color type \(color), interlace \(interlace)")
                }
                channels = color == 2 ? 3 : 4
            case "IDAT": idat.append(contentsOf: bytes[body..<body + length])
            default: break
            }
            i = body + length + 4
        }
        let (raw, error) = Gzip.decompress(idat)     // zlib stream: inflate detects the header
        if let error { throw Failure(description: "IDAT: \(error)") }
        let stride = png.width * channels
        let scan = [UInt8](raw)
        guard scan.count == png.height * (stride + 1) else { throw Failure(description: "IDAT holds \(scan.count) bytes, expected \(png.height * (stride + 1))") }
        var previous = [UInt8](repeating: 0, count: stride), line = [UInt8](repeating: 0, count: stride)
        png.pixels.reserveCapacity(png.width * png.height * 4)
        for y in 0..<png.height {
            let start = y * (stride + 1), filter = scan[start]
            for x in 0..<stride {
                let v = scan[start + 1 + x]
                let a = x >= channels ? Int(line[x - channels]) : 0, b = Int(previous[x]), c = x >= channels ? Int(previous[x - channels]) : 0
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: throw Failure(description: "bad filter \(filter) on row \(y)")
                }
                line[x] = UInt8(truncatingIfNeeded: Int(v) + predicted)
            }
            for x in 0..<png.width {
                png.pixels += line[x * channels..<x * channels + 3]
                png.pixels.append(channels == 4 ? line[x * channels + 3] : 255)
            }
            swap(&previous, &line)
        }
        return png
    }

    /// Pixels not white, pixels of the agent and customer colors (solid or at any opacity over
    /// white: same hue, lighter), strong red, and the mean row of the agent and customer pixels.
    func stats(agent: String, customer: String) -> (nonWhite: Int, agent: Int, customer: Int, red: Int, agentMeanY: Double, customerMeanY: Double) {
        func rgb(_ hex: String) -> (Double, Double, Double) {
            let v = Int(hex.dropFirst(), radix: 16) ?? 0
            return (Double(v >> 16 & 255), Double(v >> 8 & 255), Double(v & 255))
        }
        /// Whether `p` is `color` blended over white at some opacity from 0.3 to 1.
        func matches(_ p: (Double, Double, Double), _ color: (Double, Double, Double)) -> Bool {
            for alpha in stride(from: 0.3, through: 1.0, by: 0.05) {
                let e = (color.0 * alpha + 255 * (1 - alpha), color.1 * alpha + 255 * (1 - alpha), color.2 * alpha + 255 * (1 - alpha))
                if abs(p.0 - e.0) < 12 && abs(p.1 - e.1) < 12 && abs(p.2 - e.2) < 12 { return true }
            }
            return false
        }
        let a = rgb(agent), c = rgb(customer)
        var nonWhite = 0, na = 0, nc = 0, red = 0, ya = 0.0, yc = 0.0
        for y in 0..<height {
            for x in 0..<width {
                let k = (y * width + x) * 4
                let p = (Double(pixels[k]), Double(pixels[k + 1]), Double(pixels[k + 2]))
                if p.0 < 245 || p.1 < 245 || p.2 < 245 { nonWhite += 1 } else { continue }
                if matches(p, a) { na += 1; ya += Double(y) }
                if matches(p, c) { nc += 1; yc += Double(y) }
                if p.0 > 180 && p.1 < 90 && p.2 < 90 { red += 1 }
            }
        }
        return (nonWhite, na, nc, red, na > 0 ? ya / Double(na) : .nan, nc > 0 ? yc / Double(nc) : .nan)
    }
}

/// A numeric attribute of a drawn element (NaN when missing).
func num(_ e: ReportTests.Tree.Element, _ key: String) -> Double { Double(e.attributes[key] ?? "") ?? .nan }
