import Foundation

/// Many S3 reads in flight ahead of the analysis: a recording's first byte takes about 0.1 s to
/// arrive and its analysis a few milliseconds, so a batch that fetched one object per worker
/// would wait on the network almost all the time.
///
/// `depth` fetcher threads take the objects in order and fetch each one's first chunk
/// (`S3ObjectSource.defaultChunkSize`, most recordings whole), at most `depth` objects ahead of
/// the consumer: memory is bounded by `depth` chunks. `take(i)` waits for object `i` and hands
/// it over as a `ByteSource` (the rest, if any, streams in as it is read), or the error that
/// kept it from being read. A fetcher claims its slot before its object, so the slots are always
/// held by the lowest objects not yet taken and taking in order never deadlocks.
public final class S3ReadAhead: @unchecked Sendable {
    /// Objects read at once by default: enough that 0.1 s of latency per object is hidden behind
    /// two cores of analysis (measured in the README's S3 section).
    public static let defaultDepth = 32

    private let files: [FoundFile]
    private let client: S3Client
    private let slots: DispatchSemaphore
    private let lock = NSCondition()
    private var results: [Int: Result<[UInt8], StorageError>] = [:]
    private var nextToFetch = 0
    private var cancelled = false
    private let depth: Int

    /// Starts reading `files` (each `s3://…` with size and ETag, from `S3Listing`) in order.
    public init(files: [FoundFile], depth: Int = S3ReadAhead.defaultDepth, client: S3Client = .shared) {
        self.files = files
        self.client = client
        self.depth = max(1, depth)
        slots = DispatchSemaphore(value: 0)
        for _ in 0..<self.depth { slots.signal() }
        for _ in 0..<min(self.depth, files.count) {
            Thread.detachNewThread { [self] in fetchLoop() }
        }
    }

    private func fetchLoop() {
        while true {
            slots.wait()
            lock.lock()
            let i = nextToFetch
            nextToFetch += 1
            let stop = cancelled || i >= files.count
            lock.unlock()
            if stop { slots.signal(); return }
            let f = files[i]
            let result: Result<[UInt8], StorageError>
            if let location = S3Location(f.path) {
                do throws(StorageError) {
                    result = .success(try S3ObjectSource.fetch(client, location, etag: f.etag ?? "", offset: 0, size: f.size,
                                                               chunkSize: S3ObjectSource.defaultChunkSize))
                } catch { result = .failure(error) }
            } else {
                result = .failure(StorageError("\(f.path): not an s3:// object"))
            }
            lock.lock()
            results[i] = result
            lock.broadcast()
            lock.unlock()
        }
    }

    /// Object `i` of the list, once its first chunk is here.
    public func take(_ i: Int) throws(StorageError) -> any ByteSource {
        lock.lock()
        while results[i] == nil { lock.wait() }
        let result = results.removeValue(forKey: i)!
        lock.unlock()
        slots.signal()
        let f = files[i]
        let first = try result.get()
        return S3ObjectSource(client: client, location: S3Location(f.path)!, size: f.size, etag: f.etag ?? "", first: first)
    }

    /// Stops fetching (objects not yet taken are dropped); the fetchers end.
    public func cancel() {
        lock.lock()
        cancelled = true
        results.removeAll()
        lock.unlock()
        for _ in 0..<depth { slots.signal() }
    }
}
