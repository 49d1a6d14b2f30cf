#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An open, read-only file descriptor of a **regular file**: what every recording is opened
/// through before libsndfile sees it (`sf_open_fd`). One owner, closed exactly once.
///
/// The path is checked with `stat` (following symbolic links) before anything is opened, so a
/// FIFO, a socket or a device is never opened: opening a FIFO for reading blocks until a writer
/// comes, and opening a device can have side effects. The open itself is non-blocking and the
/// descriptor is checked again with `fstat` (same file, still regular), so a file swapped for a
/// FIFO between the two checks cannot block either.
struct InputFile: ~Copyable {
    /// The descriptor, open for reading, blocking mode restored.
    let descriptor: Int32
    /// Bytes in the file when it was opened.
    let size: Int64

    /// Opens `path`.
    /// - Throws: `AudioInputError` naming the file and what it is instead of a regular file, or why
    ///   it cannot be opened (missing, broken symbolic link, permission denied, ...).
    init(path: String) throws(AudioInputError) {
        func fail(_ problem: String, unreadable: Bool = false) -> AudioInputError {
            AudioInputError(path: path, problem: problem, unreadable: unreadable)
        }
        var target = stat()
        if stat(path, &target) != 0 {
            throw fail(Self.explainStatError(errno, path: path), unreadable: true)
        }
        if let kind = Self.nonRegularKind(target.st_mode) {
            throw fail("is \(kind), not a recording\(Self.isSymbolicLink(path) ? " (through a symbolic link)" : "")")
        }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            throw fail(code == EACCES || code == EPERM ? "permission denied: the file cannot be read" : "cannot open: \(Self.text(code))",
                       unreadable: true)
        }
        var opened = stat()
        guard fstat(fd, &opened) == 0, Self.nonRegularKind(opened.st_mode) == nil,
              opened.st_dev == target.st_dev, opened.st_ino == target.st_ino
        else {
            close(fd)
            throw fail("changed while being opened (no longer the regular file it was)")
        }
        // A regular file never blocks; clear O_NONBLOCK so reads behave as libsndfile expects.
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        descriptor = fd
        size = Int64(opened.st_size)
    }

    deinit { close(descriptor) }

    /// Reads up to `count` bytes at `offset` without moving the file position (libsndfile's
    /// reads start where the descriptor is: at 0). Fewer bytes at the end of the file.
    func read(at offset: Int64, count: Int) -> [UInt8] {
        guard count > 0, offset >= 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + got, count - got, off_t(offset) + off_t(got)) }
            if n > 0 { got += n } else if n < 0 && errno == EINTR { continue } else { break }
        }
        return Array(bytes.prefix(got))
    }

    /// What a file of mode `mode` is, in words, when it is not a regular file; nil when it is.
    static func nonRegularKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }

    static func isSymbolicLink(_ path: String) -> Bool {
        var link = stat()
        return lstat(path, &link) == 0 && (link.st_mode & S_IFMT) == S_IFLNK
    }

    /// `stat` failed with `code`: say why in words a user can act on.
    static func explainStatError(_ code: Int32, path: String) -> String {
        switch code {
        case ENOENT:
            return isSymbolicLink(path) ? "symbolic link to a missing file" : "no such file"
        case ENOTDIR: return "no such file (a part of the path is not a directory)"
        case EACCES, EPERM: return "permission denied: a folder on the path cannot be searched"
        case ELOOP: return "too many levels of symbolic links (a symbolic link loop?)"
        case ENAMETOOLONG: return "the path is too long"
        default: return "cannot read the file's status: \(text(code))"
        }
    }

    static func text(_ code: Int32) -> String {
        guard let s = strerror(code) else { return "error \(code)" }
        return String(cString: s)
    }
}
