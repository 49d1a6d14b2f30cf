import Foundation
import TalkTraceStorage

/// A recording found in the batch directory: relative path, full path, size, modification time,
/// device and inode (symbolic links followed), or the reason it cannot be read.
public typealias RecordingFile = FoundFile

/// Stage 1 of a batch: the `.wav` files (any case) under a recordings folder, recursively, in
/// sorted order. Nothing is left out silently: files that cannot be read (a name that is not
/// UTF-8, a path over the system's limit, a failing `stat`, a folder without permission) come
/// back with their `problem`, and the batch records them as failed.
public enum RecordingFinder {
    /// `directory` may be `s3://bucket/prefix`: then the objects under the prefix (see
    /// `S3Listing.list` for how their relative paths are made).
    public static func find(in directory: String) throws(PipelineError) -> [RecordingFile] {
        if S3Location.isS3(directory) {
            do { return try S3Listing.list(directory, include: { $0.lowercased().hasSuffix(".wav") }) } catch {
                throw PipelineError(error.message)
            }
        }
        do {
            return try DirectoryWalker.walk(directory, include: { $0.lowercased().hasSuffix(".wav") })
        } catch {
            throw PipelineError(error.message + (error.message.hasSuffix("not a directory") ? " (batch takes a recordings directory)" : ""))
        }
    }
}

/// A batch-level failure (bad arguments, unwritable output), in one line.
public struct PipelineError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
