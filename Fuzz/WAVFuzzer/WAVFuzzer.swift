// libFuzzer entry point: each input is written to a file and analyzed like a recording.
// Every input must give an analysis with finite numbers or a one-line AudioInputError naming the
// file; anything else traps, and libFuzzer keeps the input.
import Foundation
import TalkTraceAudio

/// One file per process, in memory-backed storage when there is some.
let inputPath: String = {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return (dir as NSString).appendingPathComponent("talktrace-fuzz-\(getpid()).wav")
}()

/// libFuzzer's driver, for a `main` of our own: SwiftPM links an executable target's entry point
/// as `WAVFuzzer_main`, so libFuzzer's `main` is not used.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("WAVFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return fuzzEmpty() }
    let bytes = Data(bytes: data, count: size)
    guard FileManager.default.createFile(atPath: inputPath, contents: bytes) else { fatalError("cannot write \(inputPath)") }
    do {
        let a = try CallAnalyzer.analyze(path: inputPath)
        // Foundation's encoder throws on NaN or infinity anywhere in the document.
        guard (try? JSONEncoder().encode(a)) != nil else { fatalError("a non-finite number in the analysis") }
        guard (0...1).contains(a.agent.talkRatio), (0...1).contains(a.customer.talkRatio),
              a.conversation.silenceSeconds >= 0, a.recording.durationSeconds >= 0
        else { fatalError("an impossible figure: \(a.agent.talkRatio) \(a.customer.talkRatio) \(a.conversation.silenceSeconds)") }
    } catch {
        guard error.path == inputPath, error.description.hasPrefix(inputPath + ": "),
              !error.description.contains("\n"), !error.problem.isEmpty
        else { fatalError("a malformed error: \(error.description)") }
    }
    return 0
}

func fuzzEmpty() -> CInt {
    var none: UInt8 = 0
    return fuzz(&none, 0)
}
