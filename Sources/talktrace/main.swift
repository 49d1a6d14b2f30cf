import TalkTraceAudio
import Foundation
let a = try CallAnalyzer.analyze(path: CommandLine.arguments[1])
print(String(decoding: try CallAnalysis.encoder(pretty: true).encode(a), as: UTF8.self))
