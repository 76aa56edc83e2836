import Foundation
import NuGetCore

#if canImport(Glibc)
    import Glibc
#endif

/// Writes feed documents into a local folder.
///
/// - Every file is written to a temporary name beside it and renamed into place, so a reader
///   never sees a half-written file.
/// - Documents go out phase by phase (packages, then per-version documents, then per-id indexes,
///   then `index.json`), so a client following links from the service index never meets a file
///   that is not there yet, even if the build is killed midway.
/// - A file whose bytes would not change is not touched.
/// - Files written by an earlier build and no longer part of the feed are removed after the
///   service index is in place; the list of files Shelf owns is kept in `.shelf/files.txt`, so
///   nothing else in the folder is ever removed.
/// - A lock (`.shelf/lock`) keeps two builds from writing the same folder at once.
public struct LocalFolderSink: Sendable {
    public let root: String
    public let concurrency: Int

    public static let stateFolder = ".shelf"
    static let manifestName = ".shelf/files.txt"
    static let lockName = ".shelf/lock"

    public init(root: String, concurrency: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
        self.concurrency = max(1, concurrency)
    }

    public struct Summary: Sendable {
        public var written = 0
        public var unchanged = 0
        public var removed = 0
        public var bytesWritten: Int64 = 0

        public init() {}

        public mutating func add(_ other: Summary) {
            written += other.written
            unchanged += other.unchanged
            removed += other.removed
            bytesWritten += other.bytesWritten
        }
    }

    public enum SinkError: Error, CustomStringConvertible {
        case cannotCreate(String, String)
        case locked(String)
        case writeFailed(String, String)
        case unsafePath(String)

        public var description: String {
            switch self {
            case .cannotCreate(let path, let why):
                return "cannot create \(path) (\(why)); check that the output folder is writable"
            case .locked(let path):
                return "another shelf build is writing to \(path); wait for it to finish, or remove "
                    + "\(LocalFolderSink.lockName) there if no build is running"
            case .writeFailed(let path, let why):
                return
                    "cannot write \(path) (\(why)); check free disk space and permissions. The previous feed is still served"
            case .unsafePath(let path):
                return "refusing to write \(path): it is outside the output folder"
            }
        }
    }

    /// Writes documents phase by phase (all of a lower phase before any of a higher one), each
    /// only if its bytes change. Removing what is gone is the caller's part (`removeFiles`),
    /// since only it knows which files an earlier build wrote.
    public func writeDocuments(
        _ documents: [FeedDocument], progress: (@Sendable (Int) -> Void)? = nil
    ) async throws -> Summary {
        var summary = Summary()
        for p in documents where !Self.isSafe(p.path) { throw SinkError.unsafePath(p.path) }

        // Every folder the documents need, made once, parents first (cheaper than a recursive
        // create per file).
        var folders = Set<String>()
        for doc in documents {
            var dir = Self.parent(doc.path)
            while !dir.isEmpty, folders.insert(dir).inserted { dir = Self.parent(dir) }
        }
        for dir in folders.sorted(by: { $0.count < $1.count }) {
            let full = root + "/" + dir
            if mkdir(full, 0o755) != 0, errno != EEXIST {
                throw SinkError.cannotCreate(full, String(cString: strerror(errno)))
            }
        }

        let phases = Dictionary(grouping: documents, by: \.phase)
        for phase in phases.keys.sorted() {
            let docs = phases[phase]!.sorted { $0.path < $1.path }
            try await withThrowingTaskGroup(of: (Bool, Int64).self) { group in
                var next = 0
                func add() {
                    let doc = docs[next]
                    next += 1
                    group.addTask { try self.writeDocument(doc) }
                }
                while next < docs.count && next < concurrency * 2 { add() }
                while let (changed, bytes) = try await group.next() {
                    if changed {
                        summary.written += 1
                        summary.bytesWritten += bytes
                    } else {
                        summary.unchanged += 1
                    }
                    progress?(summary.written + summary.unchanged)
                    if next < docs.count { add() }
                }
            }
        }
        return summary
    }

    /// Removes files an earlier build wrote (and folders left empty); returns how many went.
    public func removeFiles<S: Sequence>(_ paths: S) -> Int where S.Element == String {
        var removed = 0
        for path in paths where Self.isSafe(path) {
            if unlink(root + "/" + path) == 0 {
                removed += 1
                removeEmptyParents(of: path)
            }
        }
        return removed
    }

    // MARK: Journal

    static let journalName = ".shelf/journal.txt"

    /// Records paths about to be written, before they are, so that if this build is killed the
    /// next one knows these files are Shelf's and removes those it does not write again.
    public func journal<S: Sequence>(_ paths: S) throws where S.Element == String {
        let text = paths.joined(separator: "\n")
        guard !text.isEmpty else { return }
        let data = Data((text + "\n").utf8)
        guard writeAll(data, to: root + "/" + Self.journalName, flags: O_APPEND) else {
            throw SinkError.writeFailed(Self.journalName, String(cString: strerror(errno)))
        }
    }

    /// Paths an unfinished earlier build recorded (and the file list of builds before the
    /// per-id record existed); empty when the last build finished.
    public func unfinishedPaths() -> [String] {
        var out: [String] = []
        for name in [Self.journalName, Self.manifestName] {
            if let data = FileManager.default.contents(atPath: root + "/" + name) {
                out += data.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }.filter(Self.isSafe)
            }
        }
        return out
    }

    /// Whether an earlier build left a journal (it did not finish).
    public var hasUnfinishedBuild: Bool {
        access(root + "/" + Self.journalName, F_OK) == 0 || access(root + "/" + Self.manifestName, F_OK) == 0
    }

    /// Called when a build has finished and its record is written.
    public func finishJournal() {
        // Record files of earlier versions of Shelf go too.
        for name in [
            Self.journalName, Self.manifestName, ".shelf/ids.bin", ".shelf/read-cache.bin", ".shelf/catalog.json",
        ] {
            unlink(root + "/" + name)
        }
    }

    /// The folder part of a relative path (`a/b/c.json` → `a/b`), without Foundation's path APIs.
    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    // MARK: Documents

    /// Writes one document unless its bytes are already there; returns whether it wrote.
    private func writeDocument(_ doc: FeedDocument) throws -> (Bool, Int64) {
        let target = root + "/" + doc.path
        switch doc.content {
        case .bytes(let data):
            return try writeIfChanged(data, to: target)
        case .deferred(let make):
            let data: Data
            do {
                data = try make()
            } catch {
                throw SinkError.writeFailed(doc.path, "\(error)")
            }
            return try writeIfChanged(data, to: target)
        case .packageEntry(let package, let entry, let limit):
            let data: Data
            do {
                data = try PackageArchive.extractEntry(entry, fromPackageAt: package, limit: limit)
            } catch {
                throw SinkError.writeFailed(doc.path, "cannot extract \(entry) from \(package): \(error)")
            }
            return try writeIfChanged(data, to: target)
        case .file(let source, let size, let sha512):
            // A copy is unchanged when the size matches and the .sha512 beside it (written after
            // the package, in a later phase) already records this package's hash.
            if fileSize(target) == size,
                (try? String(contentsOfFile: target + ".sha512", encoding: .utf8)) == sha512
            {
                return (false, 0)
            }
            let temp = temporaryName(for: target)
            do {
                try copyFile(source, to: temp)
            } catch {
                unlink(temp)
                throw SinkError.writeFailed(doc.path, "\(error)")
            }
            try rename(temp, to: target, doc.path)
            return (true, size)
        }
    }

    private func writeIfChanged(_ data: Data, to target: String) throws -> (Bool, Int64) {
        if fileSize(target) == Int64(data.count), let existing = FileManager.default.contents(atPath: target),
            existing == data
        {
            return (false, 0)
        }
        let temp = temporaryName(for: target)
        if !writeAll(data, to: temp) {
            let why = String(cString: strerror(errno))
            unlink(temp)
            // The folder may be missing (the manifest, or a folder removed meanwhile): make it, retry once.
            try makeDirectory((target as NSString).deletingLastPathComponent)
            guard writeAll(data, to: temp) else {
                unlink(temp)
                throw SinkError.writeFailed(relative(target), why)
            }
        }
        try rename(temp, to: target, relative(target))
        return (true, Int64(data.count))
    }

    /// Writes bytes to a file (a new one, or appended with `O_APPEND`) with plain POSIX calls;
    /// false with `errno` set on failure.
    private func writeAll(_ data: Data, to path: String, flags: Int32 = O_TRUNC) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }

    private func rename(_ temp: String, to target: String, _ display: String) throws {
        if Glibc.rename(temp, target) != 0 {
            let why = String(cString: strerror(errno))
            unlink(temp)
            throw SinkError.writeFailed(display, why)
        }
    }

    private func temporaryName(for target: String) -> String {
        let dir = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        return "\(dir)/.\(name).shelf-tmp"
    }

    private func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    /// Copies through a 1 MiB buffer (the page cache makes this close to the cost of the read).
    private func copyFile(_ source: String, to destination: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw SinkError.writeFailed(source, String(cString: strerror(errno))) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw SinkError.writeFailed(destination, String(cString: strerror(errno))) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if n == 0 { return }
            if n < 0 {
                if errno == EINTR { continue }
                throw SinkError.writeFailed(source, String(cString: strerror(errno)))
            }
            var offset = 0
            while offset < n {
                let w = buffer.withUnsafeBytes { Glibc.write(output, $0.baseAddress! + offset, n - offset) }
                if w < 0 {
                    if errno == EINTR { continue }
                    throw SinkError.writeFailed(destination, String(cString: strerror(errno)))
                }
                offset += w
            }
        }
    }

    // MARK: Folder state

    private func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    private func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw SinkError.cannotCreate(path, error.localizedDescription)
        }
    }

    /// Takes the folder's lock (creating the folder if needed), or fails at once if another
    /// build holds it. Release it with `unlock`.
    public func lock() throws -> Int32 {
        try makeDirectory(root)
        try makeDirectory(root + "/" + Self.stateFolder)
        let path = root + "/" + Self.lockName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SinkError.cannotCreate(path, String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw SinkError.locked(root)
        }
        return fd
    }

    public func unlock(_ fd: Int32) { close(fd) }

    public func removeState(_ path: String) {
        guard Self.isSafe(path), path.hasPrefix(Self.stateFolder + "/") else { return }
        unlink(root + "/" + path)
    }

    /// Writes a small state file of the feed (under `.shelf/`), atomically, outside the manifest:
    /// it is Shelf's own record, never served.
    public func writeState(_ path: String, _ data: Data) throws {
        guard Self.isSafe(path), path.hasPrefix(Self.stateFolder + "/") else { throw SinkError.unsafePath(path) }
        _ = try writeIfChanged(data, to: root + "/" + path)
    }

    /// Reads a file of the folder (the feed's own state), or nil if it is not there.
    public func read(_ path: String) -> Data? {
        guard Self.isSafe(path) else { return nil }
        return FileManager.default.contents(atPath: root + "/" + path)
    }

    private func removeEmptyParents(of path: String) {
        var dir = (path as NSString).deletingLastPathComponent
        while !dir.isEmpty, dir != "." {
            if rmdir(root + "/" + dir) != 0 { return }
            dir = (dir as NSString).deletingLastPathComponent
        }
    }

    /// A relative path that stays inside the output folder: not empty, not absolute, no `\`,
    /// NUL, empty, `.` or `..` segment. (A byte scan: this runs for every file of the feed.)
    static func isSafe(_ path: String) -> Bool {
        var segmentLength = 0
        var allDots = true
        for b in path.utf8 {
            switch b {
            case UInt8(ascii: "/"):
                if segmentLength == 0 || (allDots && segmentLength <= 2) { return false }
                segmentLength = 0
                allDots = true
            case UInt8(ascii: "\\"), 0:
                return false
            default:
                segmentLength += 1
                if b != UInt8(ascii: ".") { allDots = false }
            }
        }
        return segmentLength > 0 && !(allDots && segmentLength <= 2)
    }
}
