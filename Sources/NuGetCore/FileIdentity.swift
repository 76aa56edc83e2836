import Foundation
import NuGetCore

/// What tells that a file's bytes are the ones seen before, without reading them: its size, its
/// modification and change times (nanoseconds), its inode and its device. Writing a file changes
/// its change time, which no user can set back; replacing it changes its inode.
public struct FileIdentity: Sendable, Hashable {
    public var size: Int64
    public var mtime: Int64
    public var ctime: Int64
    public var inode: Int64
    public var device: Int64

    public init(size: Int64, mtime: Int64, ctime: Int64, inode: Int64, device: Int64) {
        self.size = size
        self.mtime = mtime
        self.ctime = ctime
        self.inode = inode
        self.device = device
    }

    public init(_ st: stat) {
        self.init(
            size: Int64(st.st_size), mtime: POSIX.modificationTime(st), ctime: POSIX.changeTime(st),
            inode: Int64(st.st_ino), device: Int64(st.st_dev))
    }

    /// The identity of the file at `path` (following links); nil when it cannot be read.
    /// The identity as one line of text, for records that keep it (`size mtime ctime inode device`).
    public var text: String { "\(size) \(mtime) \(ctime) \(inode) \(device)" }

    public static func of(_ path: String) -> FileIdentity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileIdentity(st)
    }

    /// The identity of an open file; nil when it cannot be read.
    public static func of(descriptor fd: Int32) -> FileIdentity? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return FileIdentity(st)
    }
}
