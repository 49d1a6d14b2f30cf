// The one file that owns every zlib call.
import CIsal
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

/// The streaming GZIP inflater CTR files go through: Intel ISA-L's igzip (`isal_inflate`, the
/// gzip header parsed and the CRC-32 and length of every member checked by the library), which
/// inflates Firehose objects in under a quarter of zlib's instructions (callgrind; zlib's
/// inflate and table CRC-32 were a quarter of reading a gzipped CTR file). The same contract as `GzipInflater`: compressed bytes
/// in, at most what the caller's buffer holds out per call, so memory stays bounded whatever the
/// file inflates to; members concatenated are one stream; corrupt or truncated data is an error
/// that says after how many inflated bytes.
public struct IsalGzipInflater: ~Copyable {
    private let state = UnsafeMutablePointer<inflate_state>.allocate(capacity: 1)
    private var failed = false
    /// A member's trailer was checked; the next input, if any, starts another member.
    private var memberEnded = false
    /// Compressed bytes not consumed yet, and whether more will follow.
    private var input: UnsafeMutablePointer<UInt8>?
    private var inputCapacity = 0
    private var inputCount = 0
    private var consumed = 0
    private var last = false
    /// The last call filled the output: the library may hold more for the same input.
    private var outputFull = false
    /// The last call could not use the input left: it needs more first.
    private var stalled = false
    /// The next input starts a member (its header not checked yet).
    private var atMemberStart = true
    public private(set) var inflatedBytes = 0

    public init() {
        isal_inflate_init(state)
        state.pointee.crc_flag = UInt32(ISAL_GZIP)
    }

    deinit {
        state.deallocate()
        input?.deallocate()
    }

    /// Whether `feed` should be called before the next `inflate`.
    public var needsInput: Bool { !failed && !last && (consumed >= inputCount || stalled) && !outputFull }
    /// Whether everything has been inflated (or the data broke).
    public var isFinished: Bool { failed || (last && consumed >= inputCount && !outputFull) }

    /// The next compressed bytes; `last` when no more follow.
    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, last: Bool) {
        let keep = inputCount - consumed
        if keep + bytes.count > inputCapacity {
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: keep + bytes.count)
            if let input, keep > 0 { grown.update(from: input + consumed, count: keep) }
            input?.deallocate()
            input = grown
            inputCapacity = keep + bytes.count
        } else if keep > 0, consumed > 0, let input {
            input.update(from: input + consumed, count: keep)
        }
        if let base = bytes.baseAddress, bytes.count > 0 { (input! + keep).update(from: base, count: bytes.count) }
        inputCount = keep + bytes.count
        consumed = 0
        self.last = last
    }

    /// Inflates what was fed into `out` (up to `capacity` bytes); returns how many were written
    /// and, when the data broke (corrupt, or truncated once `last` was fed), where: the bytes
    /// inflated before the break are written and counted all the same.
    public mutating func inflate(into out: UnsafeMutablePointer<UInt8>, capacity: Int) -> (count: Int, error: RecordsError?) {
        if failed { return (0, nil) }
        var produced = 0
        outputFull = false
        stalled = false
        while produced < capacity {
            let available = inputCount - consumed
            if memberEnded {
                // A member ended: another may follow (or trailing garbage, judged below).
                if available == 0 { break }
                isal_inflate_reset(state)
                state.pointee.crc_flag = UInt32(ISAL_GZIP)
                memberEnded = false
                atMemberStart = true
            }
            if atMemberStart {
                // ISA-L 2.30 misreads a header with optional fields (FEXTRA, FCOMMENT) that
                // arrives in pieces, so it gets each member's header whole, in one call.
                switch Self.header(input! + consumed, available) {
                case .some(0):
                    failed = true
                    inflatedBytes += produced
                    return (produced, RecordsError("corrupt gzip data after \(inflatedBytes) inflated bytes: incorrect header check (not a gzip member)"))
                case .some: atMemberStart = false
                case .none where available >= 1 << 16:
                    failed = true
                    inflatedBytes += produced
                    return (produced, RecordsError("corrupt gzip data after \(inflatedBytes) inflated bytes: a gzip header longer than 64 KiB"))
                case .none:
                    stalled = true
                }
                if stalled { break }
            }
            state.pointee.next_in = available > 0 ? input! + consumed : nil
            state.pointee.avail_in = UInt32(available)
            state.pointee.next_out = out + produced
            state.pointee.avail_out = UInt32(min(capacity - produced, Int(UInt32.max)))
            let status = isal_inflate(state)
            let n = (capacity - produced) - Int(state.pointee.avail_out)
            produced += n
            consumed = inputCount - Int(state.pointee.avail_in)
            if status != ISAL_DECOMP_OK {
                failed = true
                inflatedBytes += produced
                return (produced, RecordsError("corrupt gzip data after \(inflatedBytes) inflated bytes: \(Self.describe(status))"))
            }
            if state.pointee.block_state == ISAL_BLOCK_FINISH {
                memberEnded = true
                continue
            }
            if state.pointee.avail_out == 0 { outputFull = true; break }
            if state.pointee.avail_in == 0 { break }
            if n == 0 && inputCount - consumed == available {
                // Input left, room left, nothing taken or produced: the library needs more bytes
                // than there are (a partial header or symbol).
                stalled = true
                break
            }
        }
        inflatedBytes += produced
        if produced >= capacity { outputFull = true }
        if last && (consumed >= inputCount || stalled) && !outputFull && !memberEnded {
            failed = true
            return (produced, RecordsError("compressed data ends early (truncated gzip) after \(inflatedBytes) inflated bytes"))
        }
        return (produced, nil)
    }

    /// The length of the gzip member header (RFC 1952) the `n` bytes at `p` start with; 0 when
    /// they do not start with the gzip magic; nil when the header runs past them.
    static func header(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        if n >= 1 && p[0] != 0x1f || n >= 2 && p[1] != 0x8b { return 0 }
        guard n >= 10 else { return nil }
        let flags = p[3]
        var at = 10
        if flags & 0x04 != 0 {  // FEXTRA: a length, then that many bytes
            guard n >= at + 2 else { return nil }
            at += 2 + (Int(p[at]) | Int(p[at + 1]) << 8)
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT: up to a NUL
            while true {
                guard at < n else { return nil }
                at += 1
                if p[at - 1] == 0 { break }
            }
        }
        if flags & 0x02 != 0 { at += 2 }  // FHCRC
        return at <= n ? at : nil
    }

    static func describe(_ status: Int32) -> String {
        switch status {
        case ISAL_INVALID_BLOCK: "invalid deflate block"
        case ISAL_INVALID_SYMBOL: "invalid code in the deflate data"
        case ISAL_INVALID_LOOKBACK: "invalid distance too far back"
        case ISAL_INVALID_WRAPPER: "incorrect header check (not a gzip member)"
        case ISAL_UNSUPPORTED_METHOD: "unknown compression method"
        case ISAL_INCORRECT_CHECKSUM: "incorrect data check (CRC-32 or length)"
        case ISAL_NEED_DICT: "needs a preset dictionary"
        default: "isa-l error \(status)"
        }
    }
}
