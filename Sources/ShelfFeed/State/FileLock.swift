import Foundation
import NuGetCore

/// An exclusive, non-blocking `flock` on a file: held until `release()` or the end of the
/// process (a killed build never leaves a stale lock behind, unlike a lock file that exists).
final class FileLock: StateLock, @unchecked Sendable {
    private let lock = NSLock()
    private var fd: Int32

    /// Takes the lock on the file at `path` (created if missing); nil when another process
    /// holds it. Throws when the file cannot be opened.
    static func take(_ path: String) throws(LocalFile.Failure) -> FileLock? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LocalFile.Failure.current(path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return FileLock(fd: fd)
    }

    private init(fd: Int32) { self.fd = fd }

    func release() {
        lock.lock()
        defer { lock.unlock() }
        if fd >= 0 { close(fd) }
        fd = -1
    }

    deinit { if fd >= 0 { close(fd) } }
}
