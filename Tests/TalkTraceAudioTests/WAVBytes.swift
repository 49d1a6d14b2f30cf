import Foundation
@testable import TalkTraceAudio

/// WAV files built byte by byte, so a test can write exactly the header a damaged, odd or
/// third-party file has (a wrong byte rate, "unknown size" sentinels, an absurd sample rate).
enum WAVBytes {
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
    static func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xff) } }
    static func u64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * $0)) & 0xff) } }

    /// A canonical WAV: `RIFF` size, a 16-byte `fmt ` chunk, optional `extra` chunks, then `data`.
    /// Every header field can be overridden; by default they are consistent with `data`.
    static func wav(
        tag: UInt16 = 1, channels: UInt16 = 2, rate: UInt32 = 8000, bits: UInt16 = 16, data: [UInt8],
        riffSize: UInt32? = nil, dataSize: UInt32? = nil, byteRate: UInt32? = nil, blockAlign: UInt16? = nil,
        extra: [UInt8] = []
    ) -> [UInt8] {
        let align = blockAlign ?? channels &* (bits / 8)
        let fmt = Array("fmt ".utf8) + u32(16) + u16(tag) + u16(channels) + u32(rate)
            + u32(byteRate ?? rate &* UInt32(align)) + u16(align) + u16(bits)
        let body = Array("WAVE".utf8) + fmt + extra + Array("data".utf8) + u32(dataSize ?? UInt32(data.count)) + data
        return Array("RIFF".utf8) + u32(riffSize ?? UInt32(body.count)) + body
    }

    /// An RF64 file: `RF64` and `data` sizes 0xFFFFFFFF, the real sizes in `ds64`.
    static func rf64(channels: UInt16 = 2, rate: UInt32 = 8000, data: [UInt8], declaredData: UInt64? = nil) -> [UInt8] {
        let align = channels * 2
        let ds64 = Array("ds64".utf8) + u32(28) + u64(UInt64(data.count + 72)) + u64(declaredData ?? UInt64(data.count))
            + u64(UInt64(data.count) / UInt64(align)) + u32(0)
        let fmt = Array("fmt ".utf8) + u32(16) + u16(1) + u16(channels) + u32(rate) + u32(rate * UInt32(align)) + u16(align) + u16(16)
        return Array("RF64".utf8) + u32(0xFFFF_FFFF) + Array("WAVE".utf8) + ds64 + fmt + Array("data".utf8) + u32(0xFFFF_FFFF) + data
    }

    /// Interleaved 16-bit little-endian samples from normalized floats.
    static func pcm16(_ interleaved: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(2 * interleaved.count)
        for x in interleaved {
            let v = Int16(max(-32768, min(32767, (x * 32768).rounded())))
            out += u16(UInt16(bitPattern: v))
        }
        return out
    }

    /// Interleaved 32-bit IEEE float samples, bit for bit (NaN and infinity kept).
    static func float32(_ interleaved: [Float]) -> [UInt8] {
        interleaved.flatMap { u32($0.bitPattern) }
    }

    /// `left` and `right` interleaved.
    static func interleave(_ left: [Float], _ right: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: 2 * left.count)
        for i in left.indices { out[2 * i] = left[i]; out[2 * i + 1] = right[i] }
        return out
    }

    /// Writes `bytes` to `name` in `dir`; returns the path.
    @discardableResult
    static func write(_ bytes: [UInt8], _ name: String, in dir: URL) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }
}

/// Assertions shared by the input tests.
enum InputChecks {
    /// Whether every number in `a` is finite: Foundation's encoder, with its default strategy,
    /// throws on NaN or infinity anywhere in the document.
    static func allFinite(_ a: CallAnalysis) -> Bool {
        (try? JSONEncoder().encode(a)) != nil
    }

    /// The error contract: one line, naming the file first.
    static func isOneLineNaming(_ error: AudioInputError, path: String) -> Bool {
        error.path == path && error.description.hasPrefix(path + ": ") && !error.description.contains("\n")
            && !error.description.contains("\r") && !error.problem.isEmpty
    }
}
