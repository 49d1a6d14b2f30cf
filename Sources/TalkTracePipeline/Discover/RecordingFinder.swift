import Foundation

/// A recording found in the batch directory.
public struct RecordingFile: Sendable, Equatable, Hashable, Codable {
    /// Path relative to the recordings directory, `/`-separated (colons and spaces as on disk).
    public var relativePath: String
    /// Full path on disk.
    public var path: String
    public var size: Int64
    /// Modification time, seconds since 1970 (for `--resume`).
    public var modified: Double
}

/// Walks a recordings directory for `.wav` files (any case), recursively, in sorted order.
public enum RecordingFinder {
    public static func find(in directory: String) throws(PipelineError) -> [RecordingFile] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir) else {
            throw PipelineError("\(directory): no such directory")
        }
        guard isDir.boolValue else { throw PipelineError("\(directory): not a directory (batch takes a recordings directory)") }
        guard let walker = fm.enumerator(atPath: directory) else { throw PipelineError("\(directory): cannot list the directory") }
        var out: [RecordingFile] = []
        for case let rel as String in walker {
            guard rel.lowercased().hasSuffix(".wav") else { continue }
            if rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            let full = (directory as NSString).appendingPathComponent(rel)
            guard let attrs = try? fm.attributesOfItem(atPath: full), (attrs[.type] as? FileAttributeType) != .typeDirectory else { continue }
            let size = (attrs[.size] as? NSNumber)?.int64Value ?? 0
            let modified = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            out.append(RecordingFile(relativePath: rel, path: full, size: size, modified: modified))
        }
        return out.sorted { $0.relativePath < $1.relativePath }
    }
}

/// A batch-level failure (bad arguments, unwritable output), in one line.
public struct PipelineError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
