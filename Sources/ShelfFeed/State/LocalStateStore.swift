import Foundation
import NuGetCore

/// Shelf's state kept in the output folder itself, under `.shelf/`: the records (`StateRecord`),
/// the build journal, the lock, and the scratch folders the local sink needs on the same file
/// system as the feed (for renames). This is the only place that knows where these live.
///
/// Keeping the state in the feed's folder means it travels with the feed (a copy, a share) and
/// is never out of step with the files it describes; hosts are told to keep `.shelf/` private.
public struct LocalStateStore: StateStore {
    /// The output folder (standardized, no trailing slash).
    public let root: String

    public init(root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    /// A record's absolute path.
    public func path(of record: StateRecord) -> String { root + "/" + record.path }

    /// The lock file, relative to the root (as messages name it).
    static let lockName = StateRecord.folder + "/lock"

    var journal: Journal {
        Journal(
            path: root + "/" + StateRecord.folder + "/journal.txt",
            legacyPaths: [root + "/" + StateRecord.folder + "/files.txt"])
    }

    /// Folders the local sink works in, relative to the root: on the feed's file system, so that
    /// what is made there moves into place (and out of it) by rename; never served.
    public var scratch: ScratchFolders {
        let f = StateRecord.folder
        return ScratchFolders(
            staging: f + "/staging", trash: f + "/trash", trashLists: f + "/trash-lists", orphaned: f + "/orphaned")
    }

    // MARK: Records

    public func read(_ record: StateRecord) -> Data? {
        FileManager.default.contents(atPath: path(of: record))
    }

    public func exists(_ record: StateRecord) -> Bool { access(path(of: record), F_OK) == 0 }

    public func open(_ record: StateRecord) -> StoredRecordOpening {
        let fd = openReadOnly(path(of: record))
        guard fd >= 0 else { return errno == ENOENT ? .missing : .unreadable }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            return .unreadable
        }
        return .opened(OpenFile(fd: fd, size: Int(st.st_size)))
    }

    public func write(_ record: StateRecord, _ data: Data) throws(StateError) {
        do {
            _ = try LocalFile.replace(path(of: record), with: data, display: record.path)
        } catch {
            throw error.isFolder
                ? .cannotCreate(path: error.path, reason: error.reason)
                : .cannotWrite(path: error.path, reason: error.reason)
        }
    }

    public func remove(_ record: StateRecord) { unlink(path(of: record)) }

    /// Takes the owner record of a publish from this folder to one destination (`name`), held
    /// open and locked until released; nil when another publish on this machine holds it.
    public func takePublishOwner(_ name: String) throws(StateError) -> PublishOwner? {
        let record = StateRecord.publishOwner(name)
        let folder = LocalFile.parent(path(of: record))
        do {
            try LocalFile.makeFolder(folder)
            return try PublishOwner.take(path(of: record))
        } catch {
            throw .cannotCreate(path: error.path, reason: error.reason)
        }
    }

    // MARK: Lock and journal

    /// Takes the output folder's lock (making the folder and its state folder if needed).
    public func lock() throws(StateError) -> any StateLock {
        for folder in [root, root + "/" + StateRecord.folder] {
            do {
                try LocalFile.makeFolder(folder)
            } catch {
                throw .cannotCreate(path: folder, reason: error.reason)
            }
        }
        let taken: FileLock?
        do {
            taken = try FileLock.take(root + "/" + Self.lockName)
        } catch {
            throw .cannotCreate(path: error.path, reason: error.reason)
        }
        guard let taken else { throw .locked(feed: root, lock: Self.lockName) }
        return taken
    }

    public func journal(_ paths: [String]) throws(StateError) {
        do {
            try journal.append(paths)
        } catch {
            throw .cannotWrite(path: StateRecord.folder + "/journal.txt", reason: error.reason)
        }
    }

    public func journaledPaths() -> [String] { journal.lines().filter(FeedLayout.isSafe) }

    public func hasUnfinishedBuild() -> Bool { journal.exists }

    public func finishJournal() {
        journal.remove()
        // Record files of earlier versions of Shelf go too.
        for name in ["ids.bin", "read-cache.bin", "catalog.json"] {
            unlink(root + "/" + StateRecord.folder + "/" + name)
        }
    }

    public func recordIdentity() -> String {
        let records: [StateRecord] =
            [.feedFiles, .catalog, .catalogTail, .lastReport]
            + (0..<ReadCache.shardCount).map { .readCache(shard: $0) }
            + (0..<IdState.shardCount).map { .ids(shard: $0) }
        let paths =
            ["index.json"] + records.prefix(4).map(\.path) + [CatalogLayout.index] + records.dropFirst(4).map(\.path)
        return paths.map { path in
            guard let s = FileIdentity.of(root + "/" + path) else { return "-" }
            return "\(s.size):\(s.mtime):\(s.ctime):\(s.inode)"
        }.joined(separator: " ")
    }
}

/// The scratch folders of a local sink, relative to the output folder.
public struct ScratchFolders: Sendable {
    /// Where a new id's folders are assembled before they move into place whole.
    public var staging: String
    /// Where a leaving id's folders go (in one rename each) to be emptied.
    public var trash: String
    /// The list of Shelf's files in each folder in the trash, written before it is moved there.
    public var trashLists: String
    /// Where a trashed folder that still holds someone else's files goes when its place was taken.
    public var orphaned: String
}

/// One version of a local record, read through the descriptor it was opened with.
private final class OpenFile: StoredRecord {
    let fd: Int32
    let size: Int

    init(fd: Int32, size: Int) {
        self.fd = fd
        self.size = size
    }

    deinit { close(fd) }

    func read(_ range: Range<Int>) -> [UInt8]? {
        guard range.lowerBound >= 0, range.upperBound <= size else { return nil }
        var out = [UInt8](repeating: 0, count: range.count)
        var done = 0
        while done < range.count {
            let n = out.withUnsafeMutableBytes {
                POSIX.pread(fd, $0.baseAddress! + done, range.count - done, range.lowerBound + done)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        return out
    }
}

/// `open(2)` for reading (a free function: inside `LocalStateStore`, `open` is its own method).
private func openReadOnly(_ path: String) -> Int32 { open(path, O_RDONLY | O_CLOEXEC) }
