import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import TalkTraceAudio
@testable import TalkTracePipeline
import _TestSupport

/// The timeline plot and the batch report: well-formed, complete, escaped, and rendered by a real
/// browser when one is installed (scripts/test.sh installs Chromium).
@Suite("Plot and report", .serialized)
struct RenderTests {
    /// Counts elements by their `class` attribute while checking the XML parses.
    final class Collector: NSObject, XMLParserDelegate {
        var classes: [String: Int] = [:]
        var texts: [String] = []
        func parser(_ p: XMLParser, didStartElement e: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
            if let c = attributes["class"] { classes[c, default: 0] += 1 }
        }
        func parser(_ p: XMLParser, foundCharacters s: String) { texts.append(s) }
    }

    static func analysis(path: String = "calls/a & b <1>.wav") throws -> CallAnalysis {
        let dir = TestSupport.temporaryDirectory()
        var l = TestSupport.silence(30), r = TestSupport.silence(30)
        TestSupport.addNoise(&l, rms: 0.001, seed: 1); TestSupport.addNoise(&r, rms: 0.001, seed: 2)
        TestSupport.addSpeechLike(&r, amplitude: 0.3, start: 1, end: 6)
        TestSupport.addSpeechLike(&l, amplitude: 0.3, start: 5.2, end: 9, pitch: 200)   // interrupts the agent
        TestSupport.addSpeechLike(&r, amplitude: 0.3, start: 20, end: 24)
        let url = dir.appendingPathComponent("call.wav")
        try TestSupport.writeStereo(url, left: l, right: r)
        var a = try CallAnalyzer.analyze(path: url.path)
        a.recording.path = path
        return a
    }

    @Test("The timeline SVG is well-formed, with one bar per segment at the right place")
    func timeline() throws {
        let a = try Self.analysis()
        let svg = TimelineSVG.svg(a, width: 1200)
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(collector.classes["seg-agent"] == a.agent.segments.count)
        #expect(collector.classes["seg-customer"] == a.customer.segments.count)
        #expect(collector.classes["interruption"] == a.conversation.interruptions.total)
        #expect(a.conversation.interruptions.byCustomer == 1)
        #expect(collector.classes["nontalk"] == a.conversation.nonTalk.instances.count)
        // Escaped file name, and the first agent bar starts at 90 + 1/30 * 1090 px.
        #expect(svg.contains("a &amp; b &lt;1&gt;.wav"))
        let x = 90 + a.agent.segments[0].start / 30 * 1090
        #expect(svg.contains("class=\"seg-agent\" x=\"\(String(format: "%.1f", x))\""))
        #expect(collector.texts.contains("0:30"))
        #expect(collector.texts.contains { $0.contains("agent talk") })
    }

    @Test("The batch report lists every recording, escaped, and parses as XML")
    func report() throws {
        let root = TestSupport.temporaryDirectory()
        let (rec, ctr) = try BatchTests.makeInputs(root)
        let out = root.appendingPathComponent("out")
        let result = try BatchRunner.run(BatchOptions(recordingsDirectory: rec.path, ctrPaths: [ctr.path], outputDirectory: out.path))
        let summary = try OutputFiles.writeAll(result, to: out.path)
        let html = BatchReport.html(result, summary: summary)
        for r in result.recordings { #expect(html.contains(TimelineSVG.escape(r.file.relativePath))) }
        #expect(html.contains("not a readable audio file"))
        #expect(!html.contains("<script src"))      // only the inline table sorter
        #expect(html.contains("<th class=\"l\">queue</th>"))
        #expect(html.contains("href=\"#call-0\""))
        #expect(html.contains("matched no CTR"))
        #expect(!html.contains("http://") || !html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))
        // XHTML-compatible: strip the doctype and parse.
        let body = html.replacingOccurrences(of: "<!DOCTYPE html>", with: "")
        let parser = XMLParser(data: Data(body.utf8))
        let collector = Collector()
        parser.delegate = collector
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(collector.classes["seg-agent", default: 0] >= 3)
    }

    static func chromium() -> String? {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
                let p = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: p) { return p }
            }
        }
        return nil
    }

    /// Runs headless Chromium with `arguments`; returns stdout and stderr.
    static func runChromium(_ arguments: [String]) throws -> (String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium()!)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu"] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Drain stderr on another thread so neither pipe can fill up and stall the browser.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return (String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    @Test("Chromium renders the report and the plot: no console errors, a non-blank screenshot",
          .enabled(if: RenderTests.chromium() != nil, "Chromium is not installed (scripts/test.sh installs it)"))
    func browser() throws {
        let dir = TestSupport.temporaryDirectory()
        let a = try Self.analysis()
        let svgURL = dir.appendingPathComponent("plot.svg")
        try Data(TimelineSVG.svg(a).utf8).write(to: svgURL)
        let root = TestSupport.temporaryDirectory()
        let (rec, ctr) = try BatchTests.makeInputs(root)
        let out = root.appendingPathComponent("out")
        let result = try BatchRunner.run(BatchOptions(recordingsDirectory: rec.path, ctrPaths: [ctr.path], outputDirectory: out.path))
        let summary = try OutputFiles.writeAll(result, to: out.path)
        let reportURL = dir.appendingPathComponent("report.html")
        try Data(BatchReport.html(result, summary: summary).utf8).write(to: reportURL)

        for (page, size) in [(reportURL, "1280,1600"), (svgURL, "1200,260")] {
            let shot = dir.appendingPathComponent(page.lastPathComponent + ".png")
            let (_, log) = try Self.runChromium(["--enable-logging=stderr", "--v=0", "--hide-scrollbars",
                                                 "--user-data-dir=\(dir.appendingPathComponent("profile-\(page.lastPathComponent)").path)",
                                                 "--window-size=\(size)", "--screenshot=\(shot.path)", page.absoluteString])
            let consoleErrors = log.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
            #expect(consoleErrors.isEmpty, "\(consoleErrors)")
            let png = try Data(contentsOf: shot)
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
            // A blank page compresses to a few kB; a drawn one does not.
            #expect(png.count > 15_000, "\(page.lastPathComponent) screenshot is \(png.count) bytes")
        }
        // The DOM the browser built holds the expected parts.
        let (dom, _) = try Self.runChromium(["--user-data-dir=\(dir.appendingPathComponent("profile-dom").path)", "--dump-dom", reportURL.absoluteString])
        #expect(dom.contains("TalkTrace batch report"))
        #expect(dom.contains("id=\"calls\""))
        #expect(dom.contains("class=\"seg-agent\""))
        #expect(dom.contains("renamed call 10:20.WAV"))
    }
}
