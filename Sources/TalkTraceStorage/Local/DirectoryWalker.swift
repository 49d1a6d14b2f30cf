import Foundation

/// One file found under a folder, or one place that could not be listed or looked at.
public struct FoundFile: Sendable, Equatable, Hashable, Codable {
    /// Path relative to the folder walked, `/`-separated, exactly as on disk when the name is
    /// UTF-8 (colons, spaces and all); bytes that are not UTF-8 are shown as `\xNN`.
    public var relativePath: String
    /// Full path on disk (what `open` takes).
    public var path: String
    /// Of the file itself, symbolic links followed: bytes, modification time (seconds since 1970,
    /// nanosecond precision), device and inode (which file it is, whatever name reaches it).
    public var size: Int64
    public var modified: Double
    public var device: UInt64
    public var inode: UInt64
    /// Why this entry cannot be read, when it cannot (the batch records it as failed).
    public var problem: String?
    /// For an S3 object (`path` is then `s3://bucket/key`): its ETag, which with the key and the
    /// size says which object it is (`--resume`). Nil for a local file.
    public var etag: String?

    public init(relativePath: String, path: String, size: Int64 = 0, modified: Double = 0, device: UInt64 = 0,
                inode: UInt64 = 0, problem: String? = nil, etag: String? = nil) {
        self.relativePath = relativePath
        self.path = path
        self.size = size
        self.modified = modified
        self.device = device
        self.inode = inode
        self.problem = problem
        self.etag = etag
    }
}

/// Walks a folder recursively with `openat`/`fdopendir`, so nothing below it is left out
/// silently: folders on other file systems (mount points) are entered, symbolic links to folders
/// are followed (each folder once: a link cycle is not walked twice), and every entry that cannot
/// be listed or looked at — a folder without permission, a name that is not UTF-8, a path longer
/// than the system's limit, a failing `stat` — comes back with its `problem` rather than being
/// skipped. Names starting with `.` are skipped (hidden files, and TalkTrace's own bookkeeping).
public enum DirectoryWalker {
    /// The files under `root` for which `include(name)` is true (plus every problem entry whose
    /// name would be included, and every folder that could not be listed), sorted by relative path.
    public static func walk(_ root: String, include: (String) -> Bool) throws(StorageError) -> [FoundFile] {
        var st = stat()
        guard stat(root, &st) == 0 else {
            throw StorageError("\(root): \(errno == ENOENT ? "no such directory" : String(cString: strerror(errno)))")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw StorageError("\(root): not a directory") }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError("\(root): cannot list the directory (\(String(cString: strerror(errno))))") }
        var out: [FoundFile] = []
        var visited: Set<[UInt64]> = [[UInt64(st.st_dev), UInt64(st.st_ino)]]
        walk(fd: fd, relative: [], root: root, include: include, visited: &visited, out: &out)
        return out.sorted { $0.relativePath < $1.relativePath }
    }

    static let pathMax = Int(PATH_MAX)

    /// Walks the open folder `fd` (closed here), whose path relative to the root is `relative`.
    private static func walk(fd: Int32, relative: [UInt8], root: String, include: (String) -> Bool,
                             visited: inout Set<[UInt64]>, out: inout [FoundFile]) {
        guard let dir = fdopendir(fd) else { close(fd); return }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name.first == 0x2e { continue }  // ., .., hidden
            names.append(name)
        }
        for name in names.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let relBytes = relative.isEmpty ? name : relative + [0x2f] + name
            let rel = display(relBytes)
            let fullBytes = Array(root.utf8) + (root.hasSuffix("/") ? [] : [0x2f]) + relBytes
            let full = display(fullBytes)
            var st = stat()
            let statResult = withCName(name) { fstatat(fd, $0, &st, 0) }
            if statResult != 0 {
                let e = errno
                var lst = stat()
                if e == ENOENT, withCName(name, { fstatat(fd, $0, &lst, AT_SYMLINK_NOFOLLOW) }) == 0 {
                    if include(rel) { out.append(FoundFile(relativePath: rel, path: full, problem: "symbolic link to a missing file")) }
                } else if include(rel) {
                    out.append(FoundFile(relativePath: rel, path: full, problem: "cannot look at the file (\(String(cString: strerror(e))))"))
                }
                continue
            }
            let kind = st.st_mode & S_IFMT
            if kind == S_IFDIR {
                guard visited.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted else { continue }
                let child = withCName(name) { openat(fd, $0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
                if child < 0 {
                    out.append(FoundFile(relativePath: rel + "/", path: full,
                                         problem: "cannot list this folder (\(String(cString: strerror(errno)))): files in it are not analyzed"))
                    continue
                }
                walk(fd: child, relative: relBytes, root: root, include: include, visited: &visited, out: &out)
                continue
            }
            guard include(rel) else { continue }
            var problem: String?
            if kind != S_IFREG {
                problem = "\(Self.describe(kind)), not a regular file"
            } else if String(validating: name, as: UTF8.self) == nil {
                problem = "the file name is not valid UTF-8 (shown with \\xNN escapes): rename the file to analyze it"
            } else if fullBytes.count >= pathMax {
                problem = "the path is \(fullBytes.count) bytes, longer than the system's limit of \(pathMax - 1): move the file to a shorter path to analyze it"
            }
            let modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
            out.append(FoundFile(relativePath: rel, path: full, size: Int64(st.st_size), modified: modified,
                                 device: UInt64(st.st_dev), inode: UInt64(st.st_ino), problem: problem))
        }
    }

    /// What a file that is not a regular file is, for an error line ("is a FIFO (named pipe)").
    public static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: "is a directory"
        case S_IFIFO: "is a FIFO (named pipe)"
        case S_IFSOCK: "is a socket"
        case S_IFCHR: "is a character device"
        case S_IFBLK: "is a block device"
        default: "is not a regular file"
        }
    }

    /// Calls `body` with `name` as a NUL-terminated C string of its exact bytes (a name that is
    /// not UTF-8 cannot round-trip through `String`).
    private static func withCName<R>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (name + [0]).withUnsafeBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { body($0) }
        }
    }

    /// `bytes` as text: UTF-8 as is, any other byte as `\xNN`.
    public static func display(_ bytes: [UInt8]) -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        var out = ""
        var i = 0
        while i < bytes.count {
            var matched = false
            for length in stride(from: min(4, bytes.count - i), through: 1, by: -1) {
                if let s = String(validating: bytes[i..<(i + length)], as: UTF8.self) {
                    out += s
                    i += length
                    matched = true
                    break
                }
            }
            if !matched {
                out += "\\x" + (bytes[i] < 16 ? "0" : "") + String(bytes[i], radix: 16)
                i += 1
            }
        }
        return out
    }
}

/// A failure to list or read where the data lives, in one line.
public struct StorageError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
