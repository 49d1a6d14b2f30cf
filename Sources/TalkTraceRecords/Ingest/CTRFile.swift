import Foundation
import TalkTraceStorage

/// A CTR file's bytes, a chunk at a time: plain, or GZIP inflated as it is read (detected by the
/// magic bytes, never the name). Only regular files are opened (a FIFO or device would block the
/// batch), and memory stays at about two chunks whatever the file's size.
public struct CTRFile: ~Copyable {
    public static let chunkSize = 1 << 20
    private let fd: Int32
    /// Where the bytes come from when not a file (an S3 object), and how far it has been read.
    private let source: (any ByteSource)?
    private var sourceOffset: Int64 = 0
    private var inflater = IsalGzipInflater()
    private var compressed = false
    private var pending: [UInt8] = []
    private var atEnd = false
    /// Bytes of a plain file delivered so far (a read error says after how many).
    private var plainBytesRead = 0
    /// Why the file stopped early (a read error or damaged gzip data), after what was read.
    public private(set) var failure: String?
    public let path: String

    /// Opens `path`, or says in words why not.
    public init(path: String) throws(RecordsError) {
        self.path = path
        var st = stat()
        if stat(path, &st) != 0 {
            let e = errno
            var lst = stat()
            if e == ENOENT, lstat(path, &lst) == 0 { throw RecordsError("symbolic link to a missing file") }
            throw RecordsError(e == ENOENT ? "no such file" : "cannot read the file (\(String(cString: strerror(e))))")
        }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG else { throw RecordsError("\(DirectoryWalker.describe(kind)), not a CTR file") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RecordsError("cannot read the file (\(String(cString: strerror(errno))))") }
        self.fd = fd
        self.source = nil
        // Sniff the first two bytes for the GZIP magic.
        var head = [UInt8](repeating: 0, count: 2)
        let n = head.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, 2) }
        if n > 0 { pending = Array(head[0..<n]) }
        if n == 2, Gzip.isCompressed(head) { compressed = true }
    }

    /// Reads the CTR object behind `source` (an S3 object), named by its name.
    public init(source: any ByteSource) {
        self.path = source.name
        self.fd = -1
        self.source = source
        pending = readSource(count: 2)
        if pending.count == 2, Gzip.isCompressed(pending) { compressed = true }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Up to `count` bytes from the source, fewer at its end or on a failure (then `failure` says why).
    private mutating func readSource(count: Int) -> [UInt8] {
        guard let source, failure == nil else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let offset = sourceOffset
            let result: Result<Int, StorageError> = out.withUnsafeMutableBytes { b in
                do throws(StorageError) { return .success(try source.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: b[got...]))) }
                catch { return .failure(error) }
            }
            var n = 0
            switch result {
            case .success(let count): n = count
            case .failure(let error):
                failure = "read error after \(sourceOffset) bytes: \(ContactStore.withoutName(error.message, source.name))"
            }
            if n <= 0 { break }
            got += n
            sourceOffset += Int64(n)
        }
        return Array(out.prefix(got))
    }

    /// Appends the next decoded bytes to `buffer` (at most about a chunk; possibly none while a
    /// gzip header is read); false once the file has nothing more.
    public mutating func read(appendingTo buffer: inout [UInt8]) -> Bool {
        let room = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.chunkSize)
        defer { room.deallocate() }
        guard let n = read(into: room, capacity: Self.chunkSize) else { return false }
        buffer.append(contentsOf: UnsafeBufferPointer(start: room, count: n))
        return true
    }

    /// Writes the next decoded bytes straight into `out` (at most `capacity`, at most a chunk;
    /// possibly none while a gzip header is read): the bytes a file's reader sees are read or
    /// inflated once, into the scanner's own buffer. Nil once the file has nothing more.
    public mutating func read(into out: UnsafeMutablePointer<UInt8>, capacity: Int) -> Int? {
        let capacity = min(capacity, Self.chunkSize)
        if compressed {
            if inflater.isFinished { return nil }
            if inflater.needsInput {
                let raw = readRaw()
                raw.withUnsafeBufferPointer { inflater.feed($0, last: raw.count < Self.chunkSize) }
            }
            let (n, error) = inflater.inflate(into: out, capacity: capacity)
            if let error, failure == nil { failure = "gzip: \(error)" }
            return n
        }
        if atEnd { return nil }
        if source != nil {
            // An S3 object: its bytes come through the byte source, not a descriptor.
            let raw = pending + readSource(count: capacity - pending.count)
            pending = []
            if raw.count < capacity { atEnd = true }
            if raw.isEmpty { return nil }
            raw.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: raw.count) }
            return raw.count
        }
        var got = pending.count
        for (k, b) in pending.enumerated() { out[k] = b }
        pending = []
        while got < capacity {
            let n = Foundation.read(fd, out + got, capacity - got)
            if n < 0 {
                if errno == EINTR { continue }
                if failure == nil { failure = "read error after \(plainBytesRead + got) bytes: \(String(cString: strerror(errno)))" }
                atEnd = true
                break
            }
            if n == 0 { atEnd = true; break }
            got += n
        }
        plainBytesRead += got
        return got == 0 && atEnd ? nil : got
    }

    /// The next chunk of the file's own bytes (short only at the end or on a read error).
    private mutating func readRaw() -> [UInt8] {
        var raw = pending
        pending = []
        let want = Self.chunkSize - raw.count
        if source != nil { return raw + readSource(count: want) }
        var chunk = [UInt8](repeating: 0, count: want)
        var got = 0
        while got < want {
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + got, want - got) }
            if n < 0 {
                if errno == EINTR { continue }
                if failure == nil { failure = "read error after \(raw.count + got) bytes: \(String(cString: strerror(errno)))" }
                break
            }
            if n == 0 { break }
            got += n
        }
        raw += chunk[0..<got]
        return raw
    }

    public var isCompressed: Bool { compressed }
}
