import Foundation
import NuGetCore

/// Who is publishing from this folder to one destination: an id kept in the folder's state
/// (`StateRecord.publishOwner`) until the publish finishes, and an `flock` on that record while
/// it runs. A publish killed and run again from the same folder finds its own id and takes its
/// lease back at once; a second publish of the same folder to the same destination on this
/// machine finds the record locked.
public final class PublishOwner: @unchecked Sendable {
    private let fd: Int32
    /// The lease owner id.
    public let token: String

    /// Locks the owner record at `path` and reads its id, or writes a new one; nil when another
    /// process holds it.
    static func take(_ path: String) throws(LocalFile.Failure) -> PublishOwner? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .current(path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        let existing = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if !existing.isEmpty { return PublishOwner(fd: fd, token: existing) }
        let token = UUID().uuidString.lowercased()
        _ = ftruncate(fd, 0)
        let bytes = Array((token + "\n").utf8)
        _ = pwrite(fd, bytes, bytes.count, 0)
        return PublishOwner(fd: fd, token: token)
    }

    private init(fd: Int32, token: String) {
        self.fd = fd
        self.token = token
    }

    /// The publish finished: the next one is a new owner.
    public func finished() { _ = ftruncate(fd, 0) }

    /// Lets another publish take it.
    public func release() { close(fd) }
}
