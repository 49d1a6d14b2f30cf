import Foundation

/// The one loop that writes a buffer to a file descriptor completely (short writes resumed,
/// EINTR retried), shared by every writer of outputs and spools.
public enum Descriptor {
    /// Writes all of `bytes` to `fd`. Returns the bytes written and, if it stopped early, the
    /// failure in words (`strerror`).
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> (written: Int, failure: String?) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                return (done, String(cString: strerror(errno)))
            }
            done += n
        }
        return (done, nil)
    }
}
