// The one file that owns every libsndfile (`sf_*`) call.
import CSndFile
import Foundation
import TalkTraceStorage

/// A recording that cannot be analyzed. `description` is one line naming the file and the problem,
/// ready for stderr or the `Error` field of `recordings.jsonl`.
public struct AudioInputError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The path as the user gave it.
    public let path: String
    /// What is wrong, in words a user can act on (libsndfile's own text included where it has one).
    public let problem: String
    /// True when the recording's bytes could not be read (cannot open, an I/O or S3 read that
    /// failed): a fault of the storage or the permissions that may be gone next time, so `batch
    /// --resume` tries it again. False when the bytes were read and refused (not a WAV, mono,
    /// truncated): the same bytes would be refused again.
    public let unreadable: Bool

    public init(path: String, problem: String, unreadable: Bool = false) {
        self.path = path
        self.problem = problem
        self.unreadable = unreadable
    }

    public var description: String { "\(path): \(problem)" }
}

/// What libsndfile reports about a recording, plus what the analysis derives from it.
public struct AudioFormat: Sendable, Equatable {
    /// Samples per second per channel (Hz).
    public var sampleRate: Int
    /// Interleaved channels in the file.
    public var channels: Int
    /// Frames (samples per channel) the file holds.
    public var frames: Int64
    /// libsndfile's `SF_FORMAT_*` major format (e.g. `SF_FORMAT_WAV`).
    public var container: Int32
    /// libsndfile's `SF_FORMAT_*` subtype (e.g. `SF_FORMAT_PCM_16`, `SF_FORMAT_ULAW`).
    public var encoding: Int32

    /// Readable encoding name, e.g. `pcm_s16le`, `mulaw`, `float`.
    public var encodingName: String {
        switch encoding {
        case Int32(SF_FORMAT_PCM_S8): return "pcm_s8"
        case Int32(SF_FORMAT_PCM_U8): return "pcm_u8"
        case Int32(SF_FORMAT_PCM_16): return "pcm_s16"
        case Int32(SF_FORMAT_PCM_24): return "pcm_s24"
        case Int32(SF_FORMAT_PCM_32): return "pcm_s32"
        case Int32(SF_FORMAT_FLOAT): return "float"
        case Int32(SF_FORMAT_DOUBLE): return "double"
        case Int32(SF_FORMAT_ULAW): return "mulaw"
        case Int32(SF_FORMAT_ALAW): return "alaw"
        case Int32(SF_FORMAT_GSM610): return "gsm610"
        case Int32(SF_FORMAT_IMA_ADPCM): return "ima_adpcm"
        case Int32(SF_FORMAT_MS_ADPCM): return "ms_adpcm"
        case Int32(SF_FORMAT_VORBIS): return "vorbis"
        case Int32(SF_FORMAT_OPUS): return "opus"
        default: return String(format: "0x%04x", encoding)
        }
    }

    /// Whether libsndfile can hand us 16-bit integers without loss (the Connect fast path).
    public var isPCM16: Bool { encoding == Int32(SF_FORMAT_PCM_16) }

    /// Largest magnitude the encoding can represent, as a normalized float (1.0 for linear PCM and float;
    /// 32124/32768 for µ-law and 32256/32768 for A-law). Samples within 0.1% of it count as clipped.
    public var fullScale: Float {
        switch encoding {
        case Int32(SF_FORMAT_ULAW): return 32124.0 / 32768.0
        case Int32(SF_FORMAT_ALAW): return 32256.0 / 32768.0
        default: return 1.0
        }
    }

    /// Duration in seconds.
    public var durationSeconds: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }
}

/// libsndfile's `sf_open` and `sf_strerror(NULL)` share global state: serialize opening.
private let openLock = NSLock()

/// An open libsndfile handle (`SNDFILE*`) on a regular file's descriptor. One owner, closed
/// exactly once.
///
/// Reading is streaming: callers pass their own buffers and read a block at a time, so memory
/// does not grow with the length of the recording.
public struct SoundFile: ~Copyable {
    private let handle: OpaquePointer
    /// The descriptor libsndfile reads; closed after `sf_close`.
    private let file: InputFile?
    /// The byte source libsndfile reads through its virtual I/O, when not a file.
    private let virtual: VirtualReader?
    /// The path as given.
    public let path: String
    /// What the file holds.
    public let format: AudioFormat

    /// Sample rates (Hz) a call recording can have. Telephone recordings are 8 or 16 kHz; exports
    /// at 44.1 or 48 kHz exist, and 96 or 192 kHz studio exports are the most anyone records. A
    /// header outside this range is damaged (the FFT size and every buffer follow the rate: a
    /// 32 KB file declaring 2,147,483,647 Hz once asked for a 67-million-point FFT and 4 GB).
    public static let sampleRates = 4000...192_000
    /// Channels a header may declare before we call it damaged (the read buffers follow it).
    public static let maxChannels = 64
    /// Largest sample magnitude kept from a float recording: +30 dBFS, the top of
    /// `LevelHistogram`. Larger values and ±infinity are clamped to it, NaN becomes 0 and
    /// subnormal values become 0 (see `sanitize`).
    public static let maxSampleMagnitude: Float = 31.622_776  // 10^(30/20)

    /// Opens `path` for reading and checks that it is a stereo recording with audio in it.
    /// - Throws: `AudioInputError` naming the file and the problem (missing, not a regular file,
    ///   unreadable, empty, not audio, truncated, a sample rate or channel count no recording has,
    ///   mono, more than two channels, no frames).
    public init(path: String, requireStereo: Bool = true) throws(AudioInputError) {
        let file = try InputFile(path: path)
        try Self.checkLayout(size: file.size, path: path, bytes: { file.read(at: $0, count: $1) })
        var info = SF_INFO()
        let opened = try Self.openLibsndfile(file, path: path, info: &info)
        self.format = try Self.checkFormat(opened, info: info, path: path, requireStereo: requireStereo)
        self.handle = opened
        self.file = Optional(file)
        self.virtual = nil
        self.path = path
    }

    /// Opens a recording read through `source` (an S3 object, say) with libsndfile's virtual I/O,
    /// with the same checks as a file; `path` is the source's name. A read that fails mid-way is
    /// reported by `sourceFailure` (libsndfile only sees the bytes stop).
    public init(source: any ByteSource, requireStereo: Bool = true) throws(AudioInputError) {
        let path = source.name
        let reader = VirtualReader(source)
        try Self.checkLayout(size: source.size, path: path, bytes: { reader.bytes(at: $0, count: $1) })
        if let failure = reader.failure { throw AudioInputError(path: path, problem: failure, unreadable: true) }
        var info = SF_INFO()
        openLock.lock()
        let opened = sf_open_virtual(&VirtualReader.callbacks, Int32(SFM_READ), &info, Unmanaged.passUnretained(reader).toOpaque())
        let openError = opened == nil ? String(cString: sf_strerror(nil)) : ""
        openLock.unlock()
        if let failure = reader.failure { if let opened { sf_close(opened) }; throw AudioInputError(path: path, problem: failure, unreadable: true) }
        guard let opened else {
            throw AudioInputError(path: path, problem: "not a readable audio file (libsndfile: \(Self.oneLine(openError)))")
        }
        self.format = try Self.checkFormat(opened, info: info, path: path, requireStereo: requireStereo)
        self.handle = opened
        self.file = nil
        self.virtual = reader
        self.path = path
    }

    /// Why the byte source stopped giving bytes (a network failure), when it did.
    public var sourceFailure: String? { virtual?.failure }

    /// Empty, or truncated by its WAV chunk layout: the data chunk declares more than the file holds.
    private static func checkLayout(size: Int64, path: String, bytes: (Int64, Int) -> [UInt8]) throws(AudioInputError) {
        if size == 0 { throw AudioInputError(path: path, problem: "empty file (0 bytes)") }
        if let layout = WAVLayout.read(fileSize: size, bytes: bytes), let cut = layout.truncation(fileSize: size) {
            let declared = cut.declared == Int64.max ? "more than \(Int64.max)" : "\(cut.declared)"
            throw AudioInputError(
                path: path,
                problem: "truncated: the header declares \(declared) bytes but the file holds \(cut.holds) (data chunk at byte \(layout.dataStart), \(max(0, cut.holds - layout.dataStart)) bytes of audio present)")
        }
    }

    /// The format libsndfile found, checked (closes `opened` before throwing).
    private static func checkFormat(_ opened: OpaquePointer, info: SF_INFO, path: String, requireStereo: Bool) throws(AudioInputError) -> AudioFormat {
        let format = AudioFormat(
            sampleRate: Int(info.samplerate), channels: Int(info.channels), frames: Int64(info.frames),
            container: info.format & Int32(SF_FORMAT_TYPEMASK), encoding: info.format & Int32(SF_FORMAT_SUBMASK))

        // Checks after opening close the handle before throwing.
        func fail(_ problem: String) -> AudioInputError {
            sf_close(opened)
            return AudioInputError(path: path, problem: problem)
        }
        if format.channels < 1 || format.channels > Self.maxChannels {
            throw fail("\(format.channels) channels in the header: a damaged file (expected a stereo recording)")
        }
        if requireStereo {
            if format.channels == 1 {
                throw fail("mono recording: agent and customer cannot be separated (expected 2 channels)")
            }
            if format.channels != 2 {
                throw fail("\(format.channels) channels: expected a stereo recording (customer and agent)")
            }
        }
        if format.frames <= 0 { throw fail("no audio in the file (0 frames)") }
        if format.sampleRate < Self.sampleRates.lowerBound {
            throw fail("sample rate \(format.sampleRate) Hz is too low to analyze (need at least \(Self.sampleRates.lowerBound) Hz)")
        }
        if format.sampleRate > Self.sampleRates.upperBound {
            throw fail("sample rate \(format.sampleRate) Hz is more than any call recording has (at most \(Self.sampleRates.upperBound) Hz): a damaged header")
        }
        return format
    }

    deinit { sf_close(handle) }  // closes libsndfile's duplicate; then `file` closes its own descriptor

    /// Opens libsndfile on a duplicate of `file`'s descriptor, which libsndfile owns.
    ///
    /// Not on the descriptor itself with `close_desc` false: libsndfile 1.2.0 (Debian 12) closes
    /// the descriptor when `sf_open_fd` fails, whatever `close_desc` says, and `InputFile` then
    /// closed it a second time: a double close that, in a batch, closes whatever another thread
    /// had just opened under the same number (seen as "Bad file descriptor" on the resume cache
    /// and the CTR spool). The duplicate shares the file offset, which only libsndfile moves
    /// (`InputFile.read` uses `pread`).
    static func openLibsndfile(_ file: borrowing InputFile, path: String, info: inout SF_INFO) throws(AudioInputError) -> OpaquePointer {
        let duplicate = dup(file.descriptor)
        guard duplicate >= 0 else {
            throw AudioInputError(path: path, problem: "cannot open: \(String(cString: strerror(errno)))", unreadable: true)
        }
        openLock.lock()
        let opened = sf_open_fd(duplicate, Int32(SFM_READ), &info, 1)
        let openError = opened == nil ? String(cString: sf_strerror(nil)) : ""
        openLock.unlock()
        guard let opened else {
            throw AudioInputError(path: path, problem: "not a readable audio file (libsndfile: \(Self.oneLine(openError)))")
        }
        return opened
    }

    /// Reads up to `frames` interleaved frames as normalized floats into `buffer`
    /// (capacity `frames * channels`), sanitized (`sanitize`). Returns frames read; 0 at the end.
    public mutating func read(into buffer: UnsafeMutablePointer<Float>, frames: Int) -> Int {
        let n = max(0, Int(sf_readf_float(handle, buffer, sf_count_t(frames))))
        Self.sanitize(buffer, count: n * format.channels)
        return n
    }

    /// Reads up to `frames` interleaved frames as 16-bit integers (the Connect fast path; lossless
    /// only when `format.isPCM16`). Returns frames read; 0 at the end.
    public mutating func read(into buffer: UnsafeMutablePointer<Int16>, frames: Int) -> Int {
        max(0, Int(sf_readf_short(handle, buffer, sf_count_t(frames))))
    }

    /// Makes float samples safe for the analysis: NaN -> 0; ±infinity and anything beyond
    /// `maxSampleMagnitude` (+30 dBFS) -> ±`maxSampleMagnitude`; subnormal values -> 0 (they are
    /// below -750 dBFS, and would slow every sum they enter). A float file can hold any bit
    /// pattern: one sample of 1e20 once made a frame's power infinite and trapped the process.
    /// Only the float path pays for this; 16-bit PCM is bounded by its type.
    @inlinable
    public static func sanitize(_ samples: UnsafeMutablePointer<Float>, count: Int) {
        let bound = maxSampleMagnitude, tiny = Float.leastNormalMagnitude
        // Selects, no branches, so the loop vectorizes. NaN fails both comparisons: 0.
        for i in 0..<count {
            let x = samples[i]
            let m = abs(x)
            let clamped = m > bound ? Float(signOf: x, magnitudeOf: bound) : x
            samples[i] = m >= tiny ? clamped : 0
        }
    }

    /// libsndfile's error text for this handle, or nil when it reports none.
    public func errorText() -> String? {
        let code = sf_error(handle)
        return code == 0 ? nil : Self.oneLine(String(cString: sf_strerror(handle)))
    }

    static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }
}

/// Writes a WAV file through libsndfile; used by fixture generators and tests.
public enum SoundFileWriter {
    /// Writes interleaved normalized float samples to `path` as WAV with the given libsndfile subtype
    /// (default `SF_FORMAT_PCM_16`).
    public static func writeWAV(
        path: String, sampleRate: Int, channels: Int, interleaved: [Float], encoding: Int32 = Int32(SF_FORMAT_PCM_16)
    ) throws(AudioInputError) {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = Int32(SF_FORMAT_WAV) | encoding
        openLock.lock()
        let handle = sf_open(path, Int32(SFM_WRITE), &info)
        let openError = handle == nil ? String(cString: sf_strerror(nil)) : ""
        openLock.unlock()
        guard let handle else { throw AudioInputError(path: path, problem: "cannot write: \(openError)") }
        defer { sf_close(handle) }
        let frames = interleaved.count / max(channels, 1)
        let written = interleaved.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress, sf_count_t(frames)) }
        if written != frames { throw AudioInputError(path: path, problem: "short write (\(written) of \(frames) frames)") }
    }
}

/// libsndfile's virtual I/O over a `ByteSource`: a position, and the source's first failure
/// (after which it reads as ended, and the analysis reports the failure instead of "truncated").
final class VirtualReader: @unchecked Sendable {
    let source: any ByteSource
    var position: Int64 = 0
    private(set) var failure: String?

    init(_ source: any ByteSource) { self.source = source }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard failure == nil else { return 0 }
        var got = 0
        while got < buffer.count {
            let n: Int
            do { n = try source.read(at: position, into: UnsafeMutableRawBufferPointer(rebasing: buffer[got...])) } catch {
                failure = error.message.hasPrefix(source.name + ": ") ? String(error.message.dropFirst(source.name.count + 2)) : error.message
                break
            }
            if n <= 0 { break }
            got += n
            position += Int64(n)
        }
        return got
    }

    /// For the layout check: bytes at `offset`, the position untouched.
    func bytes(at offset: Int64, count: Int) -> [UInt8] {
        let saved = position
        defer { position = saved }
        position = offset
        var out = [UInt8](repeating: 0, count: max(0, count))
        let n = out.withUnsafeMutableBytes { read(into: $0) }
        return Array(out.prefix(n))
    }

    static func from(_ p: UnsafeMutableRawPointer?) -> VirtualReader { Unmanaged<VirtualReader>.fromOpaque(p!).takeUnretainedValue() }

    nonisolated(unsafe) static var callbacks = SF_VIRTUAL_IO(
        get_filelen: { user in from(user).source.size },
        seek: { offset, whence, user in
            let r = from(user)
            switch whence {
            case SEEK_SET: r.position = offset
            case SEEK_CUR: r.position += offset
            case SEEK_END: r.position = r.source.size + offset
            default: break
            }
            r.position = max(0, r.position)
            return r.position
        },
        read: { pointer, count, user in
            guard let pointer, count > 0 else { return 0 }
            return sf_count_t(from(user).read(into: UnsafeMutableRawBufferPointer(start: pointer, count: Int(count))))
        },
        write: { _, _, _ in 0 },
        tell: { user in from(user).position })
}
