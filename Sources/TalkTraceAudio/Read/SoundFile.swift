// The one file that owns every libsndfile (`sf_*`) call.
import CSndFile
import Foundation

/// A recording that cannot be analyzed. `description` is one line naming the file and the problem,
/// ready for stderr or the `Error` field of `recordings.jsonl`.
public struct AudioInputError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The path as the user gave it.
    public let path: String
    /// What is wrong, in words a user can act on (libsndfile's own text included where it has one).
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
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

/// An open libsndfile handle (`SNDFILE*`). One owner, closed exactly once.
///
/// Reading is streaming: callers pass their own buffers and read a block at a time, so memory
/// does not grow with the length of the recording.
public struct SoundFile: ~Copyable {
    private let handle: OpaquePointer
    /// The path as given.
    public let path: String
    /// What the file holds.
    public let format: AudioFormat

    /// Opens `path` for reading and checks that it is a stereo recording with audio in it.
    /// - Throws: `AudioInputError` naming the file and the problem (missing, a directory, empty,
    ///   not audio, truncated, mono, more than two channels, no frames).
    public init(path: String, requireStereo: Bool = true) throws(AudioInputError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw AudioInputError(path: path, problem: "no such file")
        }
        if isDirectory.boolValue { throw AudioInputError(path: path, problem: "is a directory, not a recording") }
        let byteSize = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if byteSize == 0 { throw AudioInputError(path: path, problem: "empty file (0 bytes)") }

        var info = SF_INFO()
        openLock.lock()
        let opened = sf_open(path, Int32(SFM_READ), &info)
        let openError = opened == nil ? String(cString: sf_strerror(nil)) : ""
        openLock.unlock()
        guard let opened else {
            throw AudioInputError(path: path, problem: "not a readable audio file (libsndfile: \(Self.oneLine(openError)))")
        }
        let format = AudioFormat(
            sampleRate: Int(info.samplerate), channels: Int(info.channels), frames: Int64(info.frames),
            container: info.format & Int32(SF_FORMAT_TYPEMASK), encoding: info.format & Int32(SF_FORMAT_SUBMASK))

        // Checks after opening close the handle before throwing.
        func fail(_ problem: String) -> AudioInputError {
            sf_close(opened)
            return AudioInputError(path: path, problem: problem)
        }
        if let truncation = Self.truncationNote(opened) {
            throw fail("truncated: \(Self.explainTruncation(truncation))")
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
        if format.sampleRate < 4000 { throw fail("sample rate \(format.sampleRate) Hz is too low to analyze (need at least 4000 Hz)") }
        self.handle = opened
        self.path = path
        self.format = format
    }

    deinit { sf_close(handle) }

    /// Reads up to `frames` interleaved frames as normalized floats into `buffer`
    /// (capacity `frames * channels`). Returns frames read; 0 at the end.
    public mutating func read(into buffer: UnsafeMutablePointer<Float>, frames: Int) -> Int {
        Int(sf_readf_float(handle, buffer, sf_count_t(frames)))
    }

    /// Reads up to `frames` interleaved frames as 16-bit integers (the Connect fast path; lossless
    /// only when `format.isPCM16`). Returns frames read; 0 at the end.
    public mutating func read(into buffer: UnsafeMutablePointer<Int16>, frames: Int) -> Int {
        Int(sf_readf_short(handle, buffer, sf_count_t(frames)))
    }

    /// libsndfile's error text for this handle, or nil when it reports none.
    public func errorText() -> String? {
        let code = sf_error(handle)
        return code == 0 ? nil : Self.oneLine(String(cString: sf_strerror(handle)))
    }

    /// libsndfile notes a data chunk that claims more bytes than the file holds in its log;
    /// it then reads what is there. We treat that as a broken recording, not a short call.
    private static func truncationNote(_ handle: OpaquePointer) -> String? {
        var log = [CChar](repeating: 0, count: 4096)
        let n = log.withUnsafeMutableBytes { sf_command(handle, Int32(SFC_GET_LOG_INFO), $0.baseAddress, Int32($0.count)) }
        guard n > 0 else { return nil }
        let text = log.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // The first line names the file, whose name may contain anything: skip it.
        for line in text.split(separator: "\n").dropFirst() where line.localizedCaseInsensitiveContains("too big")
            || line.localizedCaseInsensitiveContains("truncated") || line.localizedCaseInsensitiveContains("should be")
        {
            return oneLine(String(line)).trimmingCharacters(in: CharacterSet(charactersIn: "* "))
        }
        return nil
    }

    /// libsndfile logs `RIFF : 960036 (should be 64036)`; say it in words, keep its text.
    static func explainTruncation(_ note: String) -> String {
        let numbers = note.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        if note.hasPrefix("RIFF"), numbers.count == 2 {
            return "the header declares \(numbers[0] + 8) bytes but the file holds \(numbers[1] + 8) (libsndfile: \(note))"
        }
        return note
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
