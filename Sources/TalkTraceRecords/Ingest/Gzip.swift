// The one file that owns every zlib call.
import CZlib
import Foundation

/// GZIP detection and decompression. Firehose objects carry no extension, so compression is
/// recognized by the magic bytes `1f 8b`, never by the file name.
public enum Gzip {
    /// Whether `data` starts with the GZIP magic bytes.
    public static func isCompressed(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
    }

    /// Inflates every GZIP member of `data` (concatenated members are one stream, as `gzip -c a b` makes).
    /// Returns what could be inflated and, if the stream broke, a message saying where.
    public static func decompress(_ data: Data) -> (data: Data, error: RecordsError?) {
        var out = Data()
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return (Data(), RecordsError("zlib could not start"))
        }
        defer { inflateEnd(&stream) }
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        var failure: String?
        data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            guard let base = input.baseAddress else { return }
            stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            while true {
                let status: Int32 = buffer.withUnsafeMutableBufferPointer { b in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    let s = inflate(&stream, Z_NO_FLUSH)
                    out.append(b.baseAddress!, count: chunk - Int(stream.avail_out))
                    return s
                }
                if status == Z_STREAM_END {
                    if stream.avail_in == 0 { return }
                    // Another member follows (or trailing garbage: let inflate judge it).
                    if inflateReset(&stream) != Z_OK { failure = "cannot restart after member"; return }
                    continue
                }
                if status == Z_OK { continue }
                if status == Z_BUF_ERROR && stream.avail_in == 0 {
                    failure = "compressed data ends early (truncated gzip) after \(out.count) bytes"
                    return
                }
                let msg = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                failure = "corrupt gzip data at compressed byte \(Int(stream.total_in)): \(msg)"
                return
            }
        }
        return (out, failure.map(RecordsError.init))
    }
}

/// A problem with a CTR file or record, in one line.
public struct RecordsError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
