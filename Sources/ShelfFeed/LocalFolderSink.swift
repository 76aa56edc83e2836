import Crypto
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
    /// The most files of one folder a single worker writes in a row.
    static let folderPiece = 64
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

        // An id new to the feed has its flat container folder and its registration folders
        // assembled under .shelf/staging/ and moved into place in a few renames, with their index.json,
        // just before the other per-id indexes. A crawler of the flat container or a local-folder
        // client never sees an id's folder without its index.json, even when the build is killed.
        var staged: [String: String] = [:]  // id folder (flatcontainer/x) -> staging folder
        var documents = documents.map { doc -> FeedDocument in
            guard let folder = Self.idFolder(doc.path) else { return doc }
            if staged[folder] == nil {
                guard access(root + "/" + folder, F_OK) != 0 else { return doc }
                staged[folder] = Self.stagingFolder + "/" + folder
            }
            var moved = doc
            moved.path = staged[folder]! + doc.path.dropFirst(folder.count)
            return moved
        }
        let stagedPrefixes = Set(staged.values.map { $0 + "/" })
        func isStaged(_ path: String) -> Bool {
            guard path.hasPrefix(Self.stagingFolder + "/") else { return false }
            return stagedPrefixes.contains { path.hasPrefix($0) }
        }
        // Staged documents of the index phase (and later) are written just before the move.
        let stagedIndexes = documents.filter { $0.phase >= .indexes && isStaged($0.path) }
        documents.removeAll { $0.phase >= .indexes && isStaged($0.path) }
        let stagedPhase: FeedDocument.Phase? = staged.isEmpty ? nil : .indexes

        // Every folder the documents need, made once, parents first (cheaper than a recursive
        // create per file).
        var folders = Set(staged.keys.map(Self.parent))
        for doc in documents + stagedIndexes {
            var dir = Self.parent(doc.path)
            while !dir.isEmpty, folders.insert(dir).inserted { dir = Self.parent(dir) }
        }
        // A folder made just now holds nothing yet: its files need no look for an earlier copy.
        // Made a depth at a time (parents first), each depth on every core: a batch of new ids
        // needs thousands of folders.
        var fresh = Set<String>()
        let byDepth = Dictionary(grouping: folders) { $0.utf8.count { $0 == 0x2F } }
        for depth in byDepth.keys.sorted() {
            let level = byDepth[depth]!
            let root = self.root
            let made = FeedRenderer.concurrentMap(level, pieces: level.count < 64 ? 1 : concurrency * 4) {
                dir -> (String, Int32) in
                if mkdir(root + "/" + dir, 0o755) == 0 { return (dir, 0) }
                return (dir, errno)
            }
            for (dir, error) in made {
                if error == 0 {
                    fresh.insert(dir)
                } else if error != EEXIST {
                    throw SinkError.cannotCreate(root + "/" + dir, String(cString: strerror(error)))
                }
            }
        }
        let madeNow = fresh

        var phases = Dictionary(grouping: documents, by: \.phase)
        if let stagedPhase { phases[stagedPhase, default: []] += [] }
        var stagedDone = staged.isEmpty
        /// Writes documents on `concurrency` workers, a folder's files at a time (up to
        /// `folderPiece` of them): two workers creating files in one folder take turns at its
        /// lock, but a folder of thousands of pages (an id with many versions) is still shared.
        func write(_ docs: [FeedDocument], counted: Bool) async throws {
            var byFolder: [String: [FeedDocument]] = [:]
            for doc in docs { byFolder[Self.parent(doc.path), default: []].append(doc) }
            var pieces: [(fresh: Bool, docs: ArraySlice<FeedDocument>)] = []
            for (folder, list) in byFolder.sorted(by: { $0.key < $1.key }) {
                let list = list.sorted { $0.path < $1.path }
                for start in stride(from: 0, to: list.count, by: Self.folderPiece) {
                    pieces.append((madeNow.contains(folder), list[start..<min(start + Self.folderPiece, list.count)]))
                }
            }
            try await withThrowingTaskGroup(of: Summary.self) { group in
                var next = 0
                func add() {
                    let (isFresh, piece) = pieces[next]
                    next += 1
                    group.addTask {
                        var part = Summary()
                        for doc in piece {
                            let (changed, bytes) = try self.writeDocument(doc, fresh: isFresh)
                            if changed {
                                part.written += 1
                                part.bytesWritten += bytes
                            } else {
                                part.unchanged += 1
                            }
                        }
                        return part
                    }
                }
                while next < pieces.count && next < concurrency * 2 { add() }
                while var part = try await group.next() {
                    if !counted { part.unchanged = 0 }
                    summary.add(part)
                    if counted { progress?(summary.written + summary.unchanged) }
                    if next < pieces.count { add() }
                }
            }
        }
        func moveStaged() async throws {
            try await write(stagedIndexes, counted: false)
            // Per id: the registration hives, then the flat container. Between two of these
            // renames (microseconds), a registration can name a package whose folder is not in
            // place yet; the other order would leave a flat container folder that no
            // registration describes, which a feed check (and a crawler) counts as broken.
            let order = staged.keys.sorted {
                (Self.idOfFolder($0), $0.hasPrefix(FeedLayout.flatContainer) ? 1 : 0, $0)
                    < (Self.idOfFolder($1), $1.hasPrefix(FeedLayout.flatContainer) ? 1 : 0, $1)
            }
            // A failed rename puts back what this id already moved, so an error (unlike a kill)
            // never leaves a registration without its packages.
            var movedForId: [(folder: String, staging: String)] = []
            for folder in order {
                if let last = movedForId.last, Self.idOfFolder(last.folder) != Self.idOfFolder(folder) {
                    movedForId = []
                }
                let staging = staged[folder]!
                do {
                    try rename(root + "/" + staging, to: root + "/" + folder, folder)
                } catch {
                    for undo in movedForId.reversed() {
                        _ = Glibc.rename(root + "/" + undo.folder, root + "/" + undo.staging)
                    }
                    throw error
                }
                movedForId.append((folder, staging))
            }
            stagedDone = true
        }
        for phase in phases.keys.sorted() {
            if !stagedDone, let stagedPhase, phase >= stagedPhase { try await moveStaged() }
            try await write(phases[phase]!, counted: true)
        }
        if !stagedDone { try await moveStaged() }
        return summary
    }

    /// Removes a folder whose tree holds only folders, bottom-up with `rmdir`; true when it is
    /// gone (or was never there). Never removes a file.
    static func removeEmptyTree(_ path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0 else { return true }
        guard st.st_mode & S_IFMT == S_IFDIR else { return false }
        var empty = true
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        where !removeEmptyTree(path + "/" + name) {
            empty = false
        }
        return empty && rmdir(path) == 0
    }

    /// The regular files below `folders` (relative to the root), as relative paths; a folder
    /// that is not there has none. Listed with `readdir`, its entries' types from the listing.
    public func files(below folders: [String]) -> [String] {
        var out: [String] = []
        func walk(_ relative: String) {
            guard let handle = opendir(root + "/" + relative) else { return }
            defer { closedir(handle) }
            var subfolders: [String] = []
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let path = relative + "/" + name
                var type = entry.pointee.d_type
                if type == UInt8(DT_UNKNOWN) {
                    var st = stat()
                    guard lstat(root + "/" + path, &st) == 0 else { continue }
                    type =
                        st.st_mode & S_IFMT == S_IFDIR
                        ? UInt8(DT_DIR) : st.st_mode & S_IFMT == S_IFREG ? UInt8(DT_REG) : 0
                }
                if type == UInt8(DT_DIR) {
                    subfolders.append(path)
                } else if type == UInt8(DT_REG) {
                    out.append(path)
                }
            }
            for folder in subfolders { walk(folder) }
        }
        for folder in folders {
            let name = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
            // A folder that is a link leads out of the output folder: not Shelf's to list.
            var st = stat()
            guard lstat(root + "/" + name, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { continue }
            walk(name)
        }
        return out
    }

    /// The folders that hold a folder per id: the flat container and both registration hives.
    static let idHives = [FeedLayout.flatContainer, FeedLayout.registrationSemVer1, FeedLayout.registrationSemVer2]

    static let stagingFolder = ".shelf/staging"
    static let trashFolder = ".shelf/trash"

    /// The id folder (`flatcontainer/{id}`, `registration/{id}`, `registration-semver2/{id}`)
    /// a path lies below, else nil.
    static func idFolder(_ path: String) -> String? {
        for hive in Self.idHives
        where path.hasPrefix(hive) {
            let rest = path.dropFirst(hive.count)
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            return hive + rest[..<slash]
        }
        return nil
    }

    static func idOfFolder(_ folder: String) -> Substring {
        folder.lastIndex(of: "/").map { folder[folder.index(after: $0)...] } ?? Substring(folder)
    }

    /// What `removeFiles` did: how many files went, and those that could not (a file already
    /// gone is not a failure).
    public struct Removal: Sendable {
        public var removed = 0
        public var failed: [Failure] = []

        public struct Failure: Sendable, Equatable {
            public var path: String
            public var reason: String

            /// The failure `errno` describes for `path`, after a failed `unlink`; nil when the
            /// file was already gone.
            static func lastError(_ path: String) -> Failure? {
                errno == ENOENT ? nil : Failure(path: path, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Removes files an earlier build wrote (and folders left empty).
    public func removeFiles<S: Sequence>(_ paths: S) -> Removal where S.Element == String {
        var removed = 0
        var failed: [Removal.Failure] = []
        var paths = Array(paths.filter(Self.isSafe))
        // An id leaving the feed leaves each of its folders in one rename (into .shelf/trash/),
        // its flat container first, then its registration (the reverse of how a new id comes in),
        // so that no folder of an id is ever seen without its index.json and a registration
        // outlives its packages only for the microseconds between two renames. Before the rename,
        // the list of Shelf's files in the folder is recorded, so that a build killed while
        // emptying the trash is finished by the next one, which never puts Shelf's files back
        // half removed.
        let stale = Set(paths)
        var goneFolders: [String] = []
        for path in paths {
            guard path.hasSuffix("/index.json"), let folder = Self.idFolder(path), path == folder + "/index.json"
            else { continue }
            goneFolders.append(folder)
        }
        goneFolders.sort {
            (Self.idOfFolder($0), $0.hasPrefix(FeedLayout.flatContainer) ? 0 : 1, $0)
                < (Self.idOfFolder($1), $1.hasPrefix(FeedLayout.flatContainer) ? 0 : 1, $1)
        }
        var byFolder: [String: [String]] = [:]
        for path in paths {
            if let folder = Self.idFolder(path), stale.contains(folder + "/index.json") {
                byFolder[folder, default: []].append(String(path.dropFirst(folder.count + 1)))
            }
        }
        // Every list first, then the renames in one tight loop: between an id's flat container
        // leaving and its registration leaving there is nothing but another rename.
        var listed: [String] = []
        for folder in goneFolders {
            let list = Self.trashListFolder + "/" + folder
            let files = byFolder[folder] ?? []
            guard (try? makeDirectory(root + "/" + Self.parent(list))) != nil,
                (try? writeIfChanged(Data((files.joined(separator: "\n") + "\n").utf8), to: root + "/" + list))
                    != nil,
                (try? makeDirectory(root + "/" + Self.trashFolder + "/" + Self.parent(folder))) != nil
            else {
                unlink(root + "/" + list)
                continue
            }
            listed.append(folder)
        }
        var trashed: [String] = []
        for folder in listed {
            if Glibc.rename(root + "/" + folder, root + "/" + Self.trashFolder + "/" + folder) == 0 {
                trashed.append(folder)
            } else {
                unlink(root + "/" + Self.trashListFolder + "/" + folder)
            }
        }
        let trashedSet = Set(trashed)
        for folder in trashed {
            let (went, kept) = emptyTrash(folder, files: byFolder[folder] ?? [])
            removed += went
            failed += kept
            removeEmptyParents(of: folder + "/index.json")
        }
        paths.removeAll { Self.idFolder($0).map(trashedSet.contains) ?? false }
        // An id folder that could not leave whole (its trash place was taken) loses its
        // index.json first, so that nothing names its versions while they go; a version folder
        // loses its .nupkg.sha512 first: a local-folder client takes a version only when that file
        // is there, so it never sees one half removed.
        func rank(_ path: String) -> Int {
            if let folder = Self.idFolder(path), path == folder + "/index.json" { return 0 }
            return path.hasSuffix(".sha512") ? 1 : 2
        }
        paths.sort { (rank($0), $0) < (rank($1), $1) }
        for path in paths {
            if unlink(root + "/" + path) == 0 {
                removed += 1
                removeEmptyParents(of: path)
            } else if let failure = Removal.Failure.lastError(path) {
                failed.append(failure)
            }
        }
        return Removal(removed: removed, failed: failed)
    }

    static let trashListFolder = ".shelf/trash-lists"
    static let orphanedFolder = ".shelf/orphaned"

    /// Unlinks Shelf's files from an id folder moved into the trash; what is left (files Shelf
    /// did not write) goes back where it was, if nothing took its place. Then forgets the list.
    /// Returns how many files went, and those of Shelf's that could not (they go back with the
    /// folder, under their own paths).
    private func emptyTrash(_ folder: String, files: [String]) -> (Int, [Removal.Failure]) {
        let trash = root + "/" + Self.trashFolder + "/" + folder
        var removed = 0
        var failed: [Removal.Failure] = []
        for file in files where Self.isSafe(file) {
            if unlink(trash + "/" + file) == 0 {
                removed += 1
            } else if let failure = Removal.Failure.lastError(folder + "/" + file) {
                failed.append(failure)
            }
        }
        // Only empty folders go; files Shelf did not write stay, and the folder goes back (or, if
        // something took its place meanwhile, aside under .shelf/orphaned/, never served and never
        // removed, so that the trash is free for the next removal of this id).
        // Shelf's files that could not go are reported only if they are served again.
        var servedAgain = false
        if !Self.removeEmptyTree(trash) {
            if access(root + "/" + folder, F_OK) != 0 {
                try? makeDirectory(root + "/" + Self.parent(folder))
                servedAgain = Glibc.rename(trash, root + "/" + folder) == 0
            } else {
                let aside = root + "/" + Self.orphanedFolder + "/" + folder
                try? makeDirectory(root + "/" + Self.orphanedFolder + "/" + Self.parent(folder))
                var n = 1
                while access(aside + "-\(n)", F_OK) == 0 { n += 1 }
                _ = Glibc.rename(trash, aside + "-\(n)")
            }
        }
        unlink(root + "/" + Self.trashListFolder + "/" + folder)
        return (removed, servedAgain ? failed : [])
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
        // A build killed while writing a file leaves its temporary sibling: never served, removed.
        for path in out { unlink(temporaryName(for: root + "/" + path)) }
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
    /// `fresh`: its folder was made by this call to `writeDocuments`, so nothing is there to compare.
    private func writeDocument(_ doc: FeedDocument, fresh: Bool) throws -> (Bool, Int64) {
        let target = root + "/" + doc.path
        func writeMade(_ make: () throws -> Data) throws -> (Bool, Int64) {
            let data: Data
            do {
                data = try make()
            } catch {
                throw SinkError.writeFailed(doc.path, "\(error)")
            }
            return try writeIfChanged(data, to: target, fresh: fresh)
        }
        switch doc.content {
        case .bytes(let data):
            return try writeIfChanged(data, to: target, fresh: fresh)
        case .deferred(let make):
            return try writeMade(make)
        case .alias(let source, let make):
            // A hard link to the document it repeats: its bytes are on disk once. `link` puts a
            // complete file under the name or fails, so a new name needs no temporary one.
            let from = root + "/" + source
            if link(from, target) == 0 { return (true, 0) }
            if errno == EEXIST {
                var a = stat()
                var b = stat()
                if stat(from, &a) == 0, stat(target, &b) == 0, a.st_ino == b.st_ino, a.st_dev == b.st_dev {
                    return (false, 0)
                }
                let temp = temporaryName(for: target)
                unlink(temp)
                if link(from, temp) == 0 {
                    try rename(temp, to: target, doc.path)
                    return (true, 0)
                }
            }
            // No hard links on this file system (or no such source): the bytes themselves.
            return try writeMade(make)
        case .packageEntry(let package, let entry, let limit):
            let data: Data
            do {
                data = try PackageArchive.extractEntry(entry, fromPackageAt: package, limit: limit)
            } catch {
                throw SinkError.writeFailed(doc.path, "cannot extract \(entry) from \(package): \(error)")
            }
            return try writeIfChanged(data, to: target, fresh: fresh)
        case .file(let source, let size, let sha512, let identity):
            // A copy is unchanged when the size matches and the .sha512 beside it (written after
            // the package, in a later phase) already records this package's hash.
            if !fresh, !isStaging(target), fileSize(target) == size,
                (try? String(contentsOfFile: target + ".sha512", encoding: .utf8)) == sha512
            {
                return (false, 0)
            }
            let temp = isStaging(target) ? target : temporaryName(for: target)
            do {
                // A package file changed after it was read must not reach the feed under the
                // hash of its old content: the copy is checked against the identity the file
                // had when it was hashed, or, without one, hashed on the way.
                let (copied, after) = try copyFile(source, to: temp, hashing: identity == nil)
                var same = identity.map { $0 == after } ?? (copied == sha512)
                if !same, identity != nil {
                    // Its identity moved (a permission change, a file system that reports
                    // another one): the bytes decide.
                    same = try copyFile(source, to: temp, hashing: true).sha512 == sha512
                }
                guard same else {
                    throw SinkError.writeFailed(
                        source, "the file changed after it was read; run the build again once it is completely written")
                }
            } catch {
                unlink(temp)
                throw SinkError.writeFailed(doc.path, "\(error)")
            }
            if temp != target { try rename(temp, to: target, doc.path) }
            return (true, size)
        }
    }

    private func writeIfChanged(_ data: Data, to target: String, fresh: Bool = false) throws -> (Bool, Int64) {
        // A folder being assembled under .shelf/staging/ is not seen by anyone until it is moved
        // into place whole, and a killed build's staging is removed: no temporary name needed.
        if isStaging(target) {
            guard writeAll(data, to: target) else {
                throw SinkError.writeFailed(relative(target), String(cString: strerror(errno)))
            }
            return (true, Int64(data.count))
        }
        if !fresh, fileSize(target) == Int64(data.count), let existing = FileManager.default.contents(atPath: target),
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

    private func isStaging(_ target: String) -> Bool {
        target.utf8.count > root.utf8.count + Self.stagingFolder.utf8.count + 1
            && target.utf8.dropFirst(root.utf8.count + 1).starts(with: (Self.stagingFolder + "/").utf8)
    }

    private func temporaryName(for target: String) -> String {
        guard let slash = target.utf8.lastIndex(of: 0x2F) else { return ".\(target).shelf-tmp" }
        return "\(target[..<slash])/.\(target[target.index(after: slash)...]).shelf-tmp"
    }

    private func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    /// Copies through a 1 MiB buffer (the page cache makes this close to the cost of the read).
    /// Returns the base64 SHA-512 of the bytes copied (when `hashing`), and the source's identity
    /// once copied.
    private func copyFile(_ source: String, to destination: String, hashing: Bool) throws -> (
        sha512: String?, identity: FileIdentity?
    ) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw SinkError.writeFailed(source, String(cString: strerror(errno))) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw SinkError.writeFailed(destination, String(cString: strerror(errno))) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var hasher = SHA512()
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if n == 0 {
                return (hashing ? Data(hasher.finalize()).base64EncodedString() : nil, .of(descriptor: input))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SinkError.writeFailed(source, String(cString: strerror(errno)))
            }
            if hashing {
                buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
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
        // What a killed build left half made: never linked from the feed, all Shelf's own.
        if access(root + "/" + Self.stagingFolder, F_OK) == 0 {
            try? FileManager.default.removeItem(atPath: root + "/" + Self.stagingFolder)
        }
        // What a killed build was removing is removed now, as it recorded before moving each
        // folder into the trash: Shelf's files go, files Shelf did not write go back where they
        // were. (Putting a half-emptied folder back would show an id without its index.json.)
        let lists = root + "/" + Self.trashListFolder
        for hive in Self.idHives {
            for id in (try? FileManager.default.contentsOfDirectory(atPath: lists + "/" + hive)) ?? [] {
                let folder = hive + id
                let text = FileManager.default.contents(atPath: lists + "/" + folder) ?? Data()
                let files = text.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
                _ = emptyTrash(folder, files: files)
            }
        }
        _ = Self.removeEmptyTree(lists)
        // Anything else in the trash (moved without a list) goes back where it was, if nothing
        // took its place; this build's removals then take Shelf's files out again.
        let trash = root + "/" + Self.trashFolder
        for hive in Self.idHives {
            for id in (try? FileManager.default.contentsOfDirectory(atPath: trash + "/" + hive)) ?? []
            where access(root + "/" + hive + id, F_OK) != 0 {
                try? makeDirectory(root + "/" + hive)
                _ = Glibc.rename(trash + "/" + hive + id, root + "/" + hive + id)
            }
        }
        _ = Self.removeEmptyTree(trash)
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
