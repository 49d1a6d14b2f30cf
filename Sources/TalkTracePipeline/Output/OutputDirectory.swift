import Foundation

/// The output folder of a batch, claimed for one run at a time.
///
/// Two batches writing into one `--out` at once would leave a mixed set of outputs: the first to
/// claim the folder holds an exclusive `flock` on `OUT_DIR/.talktrace.lock` until it exits (the
/// kernel releases it even after `kill -9`), and a second is refused with a one-line error. Once
/// claimed, leftovers of killed runs are removed: temporary outputs (`.NAME.tmp-PID` and SQLite's
/// journals beside them, Foundation's `.dat.nosync*`), never anything else.
public final class OutputDirectory: @unchecked Sendable {
    public let path: String
    private var lockFD: Int32
    private let lock = NSLock()

    private init(path: String, lockFD: Int32) {
        self.path = path
        self.lockFD = lockFD
    }

    deinit { release() }

    /// Gives the folder up (the outputs are written); idempotent.
    public func release() {
        lock.lock(); defer { lock.unlock() }
        if lockFD >= 0 { close(lockFD); lockFD = -1 }
    }

    public static let lockName = ".talktrace.lock"

    public static func claim(_ dir: String) throws(PipelineError) -> OutputDirectory {
        try OutputFiles.makeDirectory(dir)
        let lockPath = (dir as NSString).appendingPathComponent(lockName)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PipelineError("\(dir): cannot write in the output directory (\(String(cString: strerror(errno))))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw PipelineError("\(dir): another talktrace batch is writing into this output directory\(holder.isEmpty ? "" : " (pid \(holder))"); wait for it to finish or choose another --out")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        removeLeftovers(in: dir)
        return OutputDirectory(path: dir, lockFD: fd)
    }

    /// Temporary files of earlier, killed runs.
    static func removeLeftovers(in dir: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where isLeftover(name) {
            unlink((dir as NSString).appendingPathComponent(name))
        }
    }

    static func isLeftover(_ name: String) -> Bool {
        if name.hasPrefix(".dat.nosync") { return true }
        guard name.hasPrefix("."), let range = name.range(of: ".tmp-") else { return false }
        // .NAME.tmp-PID, .NAME.tmp-PID-journal / -wal / -shm
        let rest = name[range.upperBound...]
        let pid = rest.prefix(while: \.isNumber)
        guard !pid.isEmpty else { return false }
        let suffix = rest.dropFirst(pid.count)
        return suffix.isEmpty || ["-journal", "-wal", "-shm"].contains(String(suffix))
    }
}

/// Text for a one-line message: control characters (line breaks, tabs, escape sequences that
/// would move the cursor or clear a terminal, C1 controls) written as `\n`, `\t`, `\u{1B}`… so
/// a file name can neither split an error line in two nor act on the terminal.
public enum OneLine {
    public static func sanitize(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x0a: out += "\\n"
            case 0x0d: out += "\\r"
            case 0x09: out += "\\t"
            case 0x00..<0x20, 0x7f, 0x80..<0xa0, 0x2028, 0x2029:
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
