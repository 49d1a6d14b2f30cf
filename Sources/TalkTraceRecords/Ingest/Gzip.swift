// The one file that owns every zlib call.
import CZlib
import Foundation

/// GZIP detection and streaming decompression. Firehose objects carry no extension, so
/// compression is recognized by the magic bytes `1f 8b`, never by the file name.
public enum Gzip {
    /// Whether `data` starts with the GZIP magic bytes.
    public static func isCompressed<C: Collection<UInt8>>(_ data: C) -> Bool {
        var it = data.makeIterator()
        return it.next() == 0x1f && it.next() == 0x8b
    }

    /// Inflates every GZIP member of `data` at once (tests and small inputs; files are streamed
    /// through `GzipInflater`). Returns what could be inflated and, if the stream broke, where.
    public static func decompress(_ data: Data) -> (data: Data, error: RecordsError?) {
        var inflater = GzipInflater()
        var out = Data()
        inflater.feed([UInt8](data), last: true)
        while !inflater.isFinished {
            if case .failure(let error) = inflater.inflate(into: &out) { return (out, error) }
        }
        return (out, nil)
    }
}

extension Gzip {
    /// `data` as one GZIP member (tests make Firehose-style `.gz` objects with it, in process).
    public static func compress(_ data: Data, level: Int32 = 6) -> Data {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return Data() }
        defer { deflateEnd(&stream) }
        var out = Data()
        var input = [UInt8](data)
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            var status: Int32 = Z_OK
            while status != Z_STREAM_END {
                buffer.withUnsafeMutableBufferPointer { b in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    status = deflate(&stream, Z_FINISH)
                    out.append(b.baseAddress!, count: chunk - Int(stream.avail_out))
                }
                if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR { break }
            }
        }
        return out
    }
}

/// A streaming GZIP inflater: compressed bytes in, at most about `maxOutput` bytes out per call,
/// so a 1 MB object that inflates to 1 GB never needs 1 GB of memory. Concatenated members are
/// one stream (`gzip -c a b`, and Firehose appends).
public struct GzipInflater: ~Copyable {
    private var stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var started = false
    private var ended = false
    private var failed = false
    /// Compressed bytes not consumed yet, and whether more will follow.
    private var input: [UInt8] = []
    private var consumed = 0
    private var last = false
    /// The last call filled its output: zlib may have more for the same input.
    private var outputFull = false
    public private(set) var inflatedBytes = 0
    /// zlib's output goes here first (allocated once, not per call).
    private let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: GzipInflater.chunk)
    static let chunk = 1 << 16

    public init() {
        stream.initialize(to: z_stream())
    }

    deinit {
        if started { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        scratch.deallocate()
    }

    /// Whether `feed` should be called before the next `inflate`.
    public var needsInput: Bool { !failed && !last && consumed >= input.count && !outputFull }
    /// Whether everything has been inflated (or the data broke).
    public var isFinished: Bool { failed || (last && consumed >= input.count && !outputFull) }

    /// The next compressed bytes; `last` when no more follow.
    public mutating func feed(_ bytes: [UInt8], last: Bool) {
        input = Array(input[consumed...]) + bytes
        consumed = 0
        self.last = last
    }

    /// Inflates what was fed, appending at most about `maxOutput` bytes to `out`. Fails with where
    /// the data broke (corrupt, or truncated once `last` was fed).
    public mutating func inflate(into out: inout Data, maxOutput: Int = 1 << 20) -> Result<Void, RecordsError> {
        inflate(maxOutput: maxOutput) { out.append($0.baseAddress!, count: $0.count) }
    }

    /// The same, appending to a byte array (the CTR reader's buffer: one copy fewer).
    public mutating func inflate(appendingTo out: inout [UInt8], maxOutput: Int = 1 << 20) -> Result<Void, RecordsError> {
        inflate(maxOutput: maxOutput) { out.append(contentsOf: $0) }
    }

    private mutating func inflate(maxOutput: Int, _ emit: (UnsafeBufferPointer<UInt8>) -> Void) -> Result<Void, RecordsError> {
        if failed { return .success(()) }
        if !started {
            guard inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                failed = true
                return .failure(RecordsError("zlib could not start"))
            }
            started = true
        }
        let chunk = Self.chunk
        let buffer = scratch
        var produced = 0
        let result: Result<Void, RecordsError> = input.withUnsafeBufferPointer { inBuf in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress.map { $0 + consumed })
            stream.pointee.avail_in = uInt(inBuf.count - consumed)
            defer { consumed = inBuf.count - Int(stream.pointee.avail_in) }
            outputFull = false
            while produced < maxOutput {
                if ended {
                    // A member ended: another may follow (or trailing garbage, which inflate judges).
                    if stream.pointee.avail_in == 0 { break }
                    if inflateReset(stream) != Z_OK { return .failure(RecordsError("cannot restart after a member")) }
                    ended = false
                }
                stream.pointee.next_out = buffer
                stream.pointee.avail_out = uInt(chunk)
                let status = CZlib.inflate(stream, Z_NO_FLUSH)
                let n = chunk - Int(stream.pointee.avail_out)
                if n > 0 { emit(UnsafeBufferPointer(start: buffer, count: n)) }
                let full = stream.pointee.avail_out == 0
                produced += n
                if status == Z_STREAM_END { ended = true; continue }
                if status == Z_OK || (status == Z_BUF_ERROR && stream.pointee.avail_in == 0) {
                    if full { outputFull = true; continue }
                    if stream.pointee.avail_in == 0 { break }
                    continue
                }
                let msg = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                return .failure(RecordsError("corrupt gzip data after \(inflatedBytes + produced) inflated bytes: \(msg)"))
            }
            if produced >= maxOutput { outputFull = true }
            return .success(())
        }
        inflatedBytes += produced
        if case .failure = result { failed = true; return result }
        if last && consumed >= input.count && !outputFull && !ended {
            failed = true
            return .failure(RecordsError("compressed data ends early (truncated gzip) after \(inflatedBytes) inflated bytes"))
        }
        return .success(())
    }
}

/// A problem with a CTR file or record, in one line.
public struct RecordsError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
