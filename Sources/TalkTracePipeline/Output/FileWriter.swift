import Foundation
import TalkTraceStorage

/// Buffered writes to a file descriptor that report every failure (a full disk, a closed pipe,
/// `/dev/full`) as a one-line `PipelineError` naming the file, instead of trapping. Used for every
/// output file, the resume cache and the command line's standard output and error.
public final class FileWriter: @unchecked Sendable {
    private let fd: Int32
    private let owned: Bool
    /// The name errors use.
    public let name: String
    private var buffer: [UInt8] = []
    private let capacity: Int
    public private(set) var failure: PipelineError?
    /// Bytes handed to `write` so far.
    public private(set) var bytesWritten: Int64 = 0

    /// Writes to an open descriptor (not closed here), e.g. standard output.
    public init(fd: Int32, name: String, capacity: Int = 1 << 16) {
        self.fd = fd
        self.owned = false
        self.name = name
        self.capacity = capacity
        buffer.reserveCapacity(capacity)
    }

    /// Creates (truncating) or appends to `path`.
    public init(path: String, append: Bool = false, capacity: Int = 1 << 16) throws(PipelineError) {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw PipelineError("\(path): cannot write (\(String(cString: strerror(errno))))") }
        self.fd = fd
        self.owned = true
        self.name = path
        self.capacity = capacity
        buffer.reserveCapacity(capacity)
    }

    deinit { if owned { Glibc.close(fd) } }

    /// The descriptor written to (for `CrashGuard`, which writes from a signal handler).
    public var descriptor: Int32 { fd }

    public func write(_ bytes: some Sequence<UInt8>) {
        guard failure == nil else { return }
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { drain() }
    }

    public func write(_ text: String) { write(text.utf8) }

    /// Writes out what is buffered; throws the first failure.
    public func flush() throws(PipelineError) {
        drain()
        if let failure { throw failure }
    }

    /// Flushes, forces the data to the disk (`fsync`: an output renamed into place is complete
    /// even after a power cut) and closes.
    public func close(sync: Bool = true) throws(PipelineError) {
        try flush()
        if owned && sync && fsync(fd) != 0 && errno != EINVAL && errno != EROFS {
            throw PipelineError("\(name): cannot write (\(String(cString: strerror(errno))))")
        }
    }

    private func drain() {
        guard failure == nil else { buffer.removeAll(keepingCapacity: true); return }
        let (done, error) = Descriptor.writeAll(fd, buffer)
        if let error { failure = PipelineError("\(name): cannot write (\(error))") }
        bytesWritten += Int64(done)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// An output written under a temporary name in its folder and renamed into place when complete,
/// so an interrupted run never leaves half a file. The temporary name is `.NAME.tmp-PID`, which a
/// later run in the same folder removes if a killed run left it.
public final class AtomicOutput {
    public let final: String
    public let temp: String
    public let writer: FileWriter

    public init(dir: String, name: String) throws(PipelineError) {
        final = (dir as NSString).appendingPathComponent(name)
        temp = (dir as NSString).appendingPathComponent(".\(name).tmp-\(getpid())")
        writer = try FileWriter(path: temp)
    }

    /// Completes the file: flush, sync, rename into place. On failure the temporary is removed.
    public func commit() throws(PipelineError) {
        do { try writer.close() } catch {
            unlink(temp)
            throw PipelineError("\(final): \(error.message.replacingOccurrences(of: "\(temp): ", with: ""))")
        }
        try OutputFiles.rename(temp, to: final)
    }

    public func abandon() { unlink(temp) }
}
