import Foundation

/// An S3 object read by position, for a decoder that reads forward and seeks now and then.
///
/// Bytes come in ranged GETs of `chunkSize` (pinned to the listed ETag, so a replaced object is
/// an error, not a mix of two). Two chunks at most are held: the one being read and the next,
/// fetched in the background as soon as reading enters the current one, so a forward reader
/// rarely waits for the network. A read elsewhere (libsndfile seeking to a trailing chunk) is one
/// ranged GET of its own. Nothing is written to disk; memory is at most two chunks per object.
public final class S3ObjectSource: ByteSource, @unchecked Sendable {
    /// 4 MiB: two minutes of an 8 kHz stereo 16-bit recording, so most calls are one GET.
    public static let defaultChunkSize = 4 << 20

    public let client: S3Client
    public let location: S3Location
    public let size: Int64
    public let etag: String
    public let chunkSize: Int
    public var name: String { location.description }

    private let lock = NSCondition()
    private var current: (offset: Int64, bytes: [UInt8])?
    private var next: (offset: Int64, result: Result<[UInt8], StorageError>?)?

    /// `first`, when given, is the object's first chunk already fetched (the batch's read-ahead).
    public init(client: S3Client, location: S3Location, size: Int64, etag: String, first: [UInt8]? = nil,
                chunkSize: Int = S3ObjectSource.defaultChunkSize) {
        self.client = client
        self.location = location
        self.size = size
        self.etag = etag
        self.chunkSize = chunkSize
        if let first { current = (0, first) }
    }

    /// Opens `s3://bucket/key`: its first chunk, size and ETag in one ranged GET.
    public convenience init(url: String, client: S3Client = .shared, chunkSize: Int = S3ObjectSource.defaultChunkSize) throws(StorageError) {
        guard let location = S3Location(url), !location.key.isEmpty else { throw StorageError("\(url): not an s3://bucket/key address") }
        let first = try client.first(bucket: location.bucket, key: location.key, count: chunkSize)
        self.init(client: client, location: location, size: first.size, etag: first.etag, first: first.bytes, chunkSize: chunkSize)
    }

    /// Fetches the chunk starting at `offset`.
    public static func fetch(_ client: S3Client, _ location: S3Location, etag: String, offset: Int64, size: Int64,
                             chunkSize: Int) throws(StorageError) -> [UInt8] {
        let end = min(size, offset + Int64(chunkSize)) - 1
        guard end >= offset else { return [] }
        return try client.get(bucket: location.bucket, key: location.key, range: offset...end, etag: etag)
    }

    public func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(StorageError) -> Int {
        guard offset >= 0, offset < size, buffer.count > 0 else { return 0 }
        let chunk = try chunk(containing: offset)
        let start = Int(offset - chunk.offset)
        let n = min(buffer.count, chunk.bytes.count - start)
        guard n > 0 else { return 0 }
        chunk.bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + start, byteCount: n) }
        return n
    }

    private func chunk(containing offset: Int64) throws(StorageError) -> (offset: Int64, bytes: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        if let c = current, offset >= c.offset, offset < c.offset + Int64(c.bytes.count) {
            prefetch(after: c)
            return c
        }
        let start = offset / Int64(chunkSize) * Int64(chunkSize)
        if let n = next, n.offset == start {
            while next?.result == nil { lock.wait() }
            let result = next!.result!
            next = nil
            let bytes = try result.get()
            current = (start, bytes)
        } else {
            lock.unlock()
            let bytes: [UInt8]
            do { bytes = try Self.fetch(client, location, etag: etag, offset: start, size: size, chunkSize: chunkSize) } catch {
                lock.lock()
                throw error
            }
            lock.lock()
            current = (start, bytes)
        }
        guard let c = current, offset < c.offset + Int64(c.bytes.count) else {
            throw StorageError("\(name): the object is shorter than its listed \(size) bytes")
        }
        prefetch(after: c)
        return c
    }

    /// Starts fetching the chunk after `c` (lock held), unless it is the last or already coming.
    private func prefetch(after c: (offset: Int64, bytes: [UInt8])) {
        let start = c.offset + Int64(chunkSize)
        guard start < size, next?.offset != start else { return }
        next = (start, nil)
        let (client, location, etag, size, chunkSize) = (self.client, self.location, self.etag, self.size, self.chunkSize)
        DispatchQueue.global().async { [weak self] in
            let result: Result<[UInt8], StorageError>
            do throws(StorageError) {
                result = .success(try Self.fetch(client, location, etag: etag, offset: start, size: size, chunkSize: chunkSize))
            } catch { result = .failure(error) }
            guard let self else { return }
            self.lock.lock()
            if self.next?.offset == start { self.next!.result = result }
            self.lock.broadcast()
            self.lock.unlock()
        }
    }
}

/// S3 listings as `FoundFile`s, so a batch (or a manifest) treats an S3 prefix like a folder.
public enum S3Listing {
    /// The prefix up to and including its last `/` ("" when it has none).
    static func folder(of prefix: String) -> String {
        prefix.contains("/") ? String(prefix[...prefix.lastIndex(of: "/")!]) : ""
    }

    /// `s3://bucket/folder/`: what the relative paths of `list(url)` are relative to (a
    /// manifest's Root).
    public static func root(_ url: String) -> String {
        guard let location = S3Location(url) else { return url }
        return "s3://\(location.bucket)/" + folder(of: location.key)
    }

    /// The objects under `url` (`s3://bucket/prefix`) whose relative path passes `include`, sorted
    /// by relative path. The relative path is the key after the prefix's last `/` (what
    /// `aws s3 sync s3://bucket/prefix/ DIR` puts under DIR), so a batch over S3 and one over a
    /// synced copy name their recordings alike. Keys with a component starting with `.` are
    /// skipped, like hidden files, and so are folder markers (keys ending in `/`).
    public static func list(_ url: String, client: S3Client = .shared, include: (String) -> Bool) throws(StorageError) -> [FoundFile] {
        guard let location = S3Location(url) else { throw StorageError("\(url): not an s3://bucket/prefix address") }
        let folder = folder(of: location.key)
        var out: [FoundFile] = []
        for object in try client.list(bucket: location.bucket, prefix: location.key) {
            let relative = String(object.key.dropFirst(folder.count))
            if relative.isEmpty || relative.hasSuffix("/") { continue }
            if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            guard include(relative) else { continue }
            out.append(FoundFile(relativePath: relative, path: "s3://\(location.bucket)/\(object.key)", size: object.size,
                                 modified: object.lastModified, etag: object.etag))
        }
        return out.sorted { $0.relativePath < $1.relativePath }
    }
}
