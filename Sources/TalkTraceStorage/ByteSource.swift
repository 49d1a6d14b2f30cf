import Foundation

/// Bytes read by position from somewhere: an S3 object, or anything else with a size. libsndfile
/// reads recordings through one (its virtual I/O), the CTR reader reads CTR objects through one.
public protocol ByteSource: AnyObject, Sendable {
    /// What to call it in an error line (`s3://bucket/key`).
    var name: String { get }
    /// Bytes in all.
    var size: Int64 { get }
    /// Copies up to `buffer.count` bytes from `offset` into `buffer`; fewer only at the end.
    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(StorageError) -> Int
}

extension StorageError {
    /// The message without a leading "`name`: ", for callers that name the object themselves.
    public func problem(of name: String) -> String {
        message.hasPrefix(name + ": ") ? String(message.dropFirst(name.count + 2)) : message
    }
}
