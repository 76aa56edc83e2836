import Foundation
import NuGetCore

/// Writes feed documents into a local folder.
///
/// - Every file is written to a temporary name beside it and renamed into place, so a reader
///   never sees a half-written file.
/// - Documents go out phase by phase (packages, then per-version documents, then per-id indexes,
///   then `index.json`), so a client following links from the service index never meets a file
///   that is not there yet, even if the build is killed midway. New ids' folders are assembled
///   aside and move into place whole (`IdFolderStaging`).
/// - A file whose bytes would not change is not touched.
/// - Removing what left the feed is `removeFiles` (`FileRemoval`); which files those are is the
///   build's to say, since only it knows what earlier builds wrote.
///
/// The lock and the journal are the state store's (`LocalStateStore`); the sink works in the
/// scratch folders it is given, which are on the same file system.
public struct LocalFolderSink: FeedSink {
    public let root: String
    public let concurrency: Int
    let scratch: ScratchFolders

    /// The most files of one folder a single worker writes in a row.
    static let folderPiece = 64

    public init(
        root: String, concurrency: Int = ProcessInfo.processInfo.activeProcessorCount, scratch: ScratchFolders? = nil
    ) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
        self.concurrency = max(1, concurrency)
        self.scratch = scratch ?? LocalStateStore(root: root).scratch
    }

    public typealias Summary = WriteSummary

    public enum SinkError: Error, Sendable, Equatable, CustomStringConvertible {
        /// A folder cannot be made.
        case cannotCreate(String, String)
        /// A file cannot be written: its path (relative when it is the feed's) and why.
        case writeFailed(String, String)
        /// A document's path leaves the output folder.
        case unsafePath(String)

        public var description: String {
            switch self {
            case .cannotCreate(let path, let why):
                return "cannot create \(path) (\(why)); check that the output folder is writable"
            case .writeFailed(let path, let why):
                return
                    "cannot write \(path) (\(why)); check free disk space and permissions. The previous feed is still served"
            case .unsafePath(let path):
                return "refusing to write \(path): it is outside the output folder"
            }
        }
    }

    /// Writes documents phase by phase (all of a lower phase before any of a higher one), each
    /// only if its bytes change.
    public func writeDocuments(
        _ documents: [FeedDocument], progress: (@Sendable (Int) -> Void)? = nil
    ) async throws -> Summary {
        var summary = Summary()
        for p in documents where !FeedLayout.isSafe(p.path) { throw SinkError.unsafePath(p.path) }

        var staging = IdFolderStaging(root: root, folder: scratch.staging)
        var documents = staging.divert(documents)
        // Staged documents of the index phase (and later) are written just before the move.
        let stagedIndexes = documents.filter { $0.phase >= .indexes && staging.isStaged($0.path) }
        documents.removeAll { $0.phase >= .indexes && staging.isStaged($0.path) }
        let stagedPhase: FeedDocument.Phase? = staging.isEmpty ? nil : .indexes
        let madeNow = try makeFolders(for: documents + stagedIndexes, and: staging.destinationParents)

        var phases = Dictionary(grouping: documents, by: \.phase)
        if let stagedPhase { phases[stagedPhase, default: []] += [] }
        var stagedDone = staging.isEmpty
        /// Writes documents on `concurrency` workers, a folder's files at a time (up to
        /// `folderPiece` of them): two workers creating files in one folder take turns at its
        /// lock, but a folder of thousands of pages (an id with many versions) is still shared.
        ///
        /// With `together`, documents whose bytes are made here are written under their temporary
        /// names first and renamed into place afterwards, one after another, an id's together:
        /// the per-id indexes (the flat container's version list, each registration hive's
        /// index) are what a client sees of an id, and a kill between two of them would show
        /// the id half old, half new for as long as the feed sits there. Renaming them in a row
        /// narrows that to the few renames of one id, where it cannot be closed: a folder has no
        /// way to replace two files at once.
        func write(_ docs: [FeedDocument], counted: Bool, together: Bool = false) async throws {
            var byFolder: [String: [FeedDocument]] = [:]
            for doc in docs { byFolder[LocalFile.parent(doc.path), default: []].append(doc) }
            var pieces: [(fresh: Bool, docs: ArraySlice<FeedDocument>)] = []
            for (folder, list) in byFolder.sorted(by: { $0.key < $1.key }) {
                let list = list.sorted { $0.path < $1.path }
                for start in stride(from: 0, to: list.count, by: Self.folderPiece) {
                    pieces.append((madeNow.contains(folder), list[start..<min(start + Self.folderPiece, list.count)]))
                }
            }
            let staging = staging
            var pending: [PendingRename] = []
            try await withThrowingTaskGroup(of: (Summary, [PendingRename]).self) { group in
                var next = 0
                func add() {
                    let (isFresh, piece) = pieces[next]
                    next += 1
                    group.addTask {
                        var part = Summary()
                        var renames: [PendingRename]? = together ? [] : nil
                        for doc in piece {
                            let (changed, bytes) = try self.writeDocument(
                                doc, fresh: isFresh, staging: staging, pending: &renames)
                            if changed {
                                part.written += 1
                                part.bytesWritten += bytes
                            } else {
                                part.unchanged += 1
                            }
                        }
                        return (part, renames ?? [])
                    }
                }
                while next < pieces.count && next < concurrency * 2 { add() }
                while let (done, renames) = try await group.next() {
                    var part = done
                    if !counted { part.unchanged = 0 }
                    summary.add(part)
                    pending += renames
                    if counted { progress?(summary.written + summary.unchanged) }
                    if next < pieces.count { add() }
                }
            }
            // An id's documents in a row; feed-wide ones (no id) last.
            pending.sort {
                ($0.id == nil ? 1 : 0, $0.id ?? "", $0.display) < ($1.id == nil ? 1 : 0, $1.id ?? "", $1.display)
            }
            for r in pending { try rename(r.temp, to: r.target, r.display) }
        }
        func moveStaged() async throws {
            try await write(stagedIndexes, counted: false)
            do {
                try staging.moveIntoPlace()
            } catch {
                throw SinkError.writeFailed(error.path, error.reason)
            }
            stagedDone = true
        }
        for phase in phases.keys.sorted() {
            if !stagedDone, let stagedPhase, phase >= stagedPhase { try await moveStaged() }
            try await write(phases[phase]!, counted: true, together: phase == .indexes)
        }
        if !stagedDone { try await moveStaged() }
        return summary
    }

    /// Makes every folder the documents need, once, parents first (cheaper than a recursive
    /// create per file): a depth at a time, each depth on every core, since a batch of new ids
    /// needs thousands of folders. Returns the folders made just now: they hold nothing yet, so
    /// their files need no look for an earlier copy.
    private func makeFolders(for documents: [FeedDocument], and extra: Set<String>) throws -> Set<String> {
        var folders = extra
        for doc in documents {
            var dir = LocalFile.parent(doc.path)
            while !dir.isEmpty, folders.insert(dir).inserted { dir = LocalFile.parent(dir) }
        }
        var fresh = Set<String>()
        let byDepth = Dictionary(grouping: folders) { $0.utf8.count { $0 == 0x2F } }
        for depth in byDepth.keys.sorted() {
            let level = byDepth[depth]!
            let root = self.root
            let made = Parallel.map(level, pieces: level.count < 64 ? 1 : concurrency * 4) {
                dir -> (String, Int32) in
                if mkdir(root + "/" + dir, 0o755) == 0 { return (dir, 0) }
                return (dir, errno)
            }
            for (dir, error) in made {
                if error == 0 {
                    fresh.insert(dir)
                } else if error != EEXIST {
                    throw SinkError.cannotCreate(root + "/" + dir, POSIX.message(error))
                }
            }
        }
        return fresh
    }

    // MARK: Reading the folder

    /// Reads a file of the feed, or nil if it is not there.
    public func read(_ path: String) -> Data? {
        guard FeedLayout.isSafe(path) else { return nil }
        return FileManager.default.contents(atPath: root + "/" + path)
    }

    /// Whether a file of the feed is there.
    public func exists(_ path: String) -> Bool {
        FeedLayout.isSafe(path) && access(root + "/" + path, F_OK) == 0
    }

    /// The regular files below `folders`, as relative paths (see `FolderListing`).
    public func files(below folders: [String]) -> [String] {
        FolderListing.files(root: root, below: folders)
    }

    // MARK: Removing and recovering

    /// Removes files an earlier build wrote (and folders left empty), see `FileRemoval`.
    public func removeFiles(_ paths: Set<String>) -> RemovalOutcome {
        FileRemoval(root: root, scratch: scratch).remove(paths)
    }

    /// Puts the folder back in order after a build that was killed: its staging goes, its
    /// removals are finished, and the temporary siblings of `journaled` files (those it was
    /// writing) go. Call with the folder's lock held.
    public func recover(journaled: [String] = []) {
        IdFolderStaging.clear(root: root, folder: scratch.staging)
        FileRemoval(root: root, scratch: scratch).recover()
        for path in journaled { unlink(LocalFile.temporaryName(for: root + "/" + path)) }
    }

    // MARK: Documents

    /// Writes one document unless its bytes are already there; returns whether it wrote.
    /// `fresh`: its folder was made by this call to `writeDocuments`, so nothing is there to compare.
    /// A file written under its temporary name, to be renamed into place with others.
    struct PendingRename: Sendable {
        let temp: String
        let target: String
        let display: String
        let id: String?
    }

    /// Writes one document. With `pending`, a document whose bytes are made here is left under
    /// its temporary name and its rename appended there instead.
    private func writeDocument(
        _ doc: FeedDocument, fresh: Bool, staging: IdFolderStaging, pending: inout [PendingRename]?
    ) throws -> (Bool, Int64) {
        let target = root + "/" + doc.path
        let staged = staging.contains(absolute: target)
        func writeBytes(_ data: Data) throws -> (Bool, Int64) {
            guard pending != nil, !staged else {
                return try writeIfChanged(data, to: target, fresh: fresh, staged: staged)
            }
            do {
                guard let temp = try LocalFile.prepare(target, with: data, display: doc.path, compare: !fresh) else {
                    return (false, 0)
                }
                pending?.append(
                    PendingRename(temp: temp, target: target, display: doc.path, id: FeedLayout.idOfPath(doc.path)))
                return (true, Int64(data.count))
            } catch {
                throw SinkError.writeFailed(error.path, error.reason)
            }
        }
        func writeMade(_ make: () throws -> Data) throws -> (Bool, Int64) {
            let data: Data
            do {
                data = try make()
            } catch {
                throw SinkError.writeFailed(doc.path, "\(error)")
            }
            return try writeBytes(data)
        }
        switch doc.content {
        case .bytes(let data):
            return try writeBytes(data)
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
                let temp = LocalFile.temporaryName(for: target)
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
            return try writeIfChanged(data, to: target, fresh: fresh, staged: staged)
        case .file(let source, let size, let sha512, let identity):
            // A copy is unchanged when the size matches and the .sha512 beside it (written after
            // the package, in a later phase) already records this package's hash.
            if !fresh, !staged, LocalFile.size(target) == size,
                (try? String(contentsOfFile: target + ".sha512", encoding: .utf8)) == sha512
            {
                return (false, 0)
            }
            let temp = staged ? target : LocalFile.temporaryName(for: target)
            do {
                // A package file changed after it was read must not reach the feed under the
                // hash of its old content: the copy is checked against the identity the file
                // had when it was hashed, or, without one, hashed on the way.
                let (copied, after) = try LocalFile.copy(source, to: temp, hashing: identity == nil)
                var same = identity.map { $0 == after } ?? (copied == sha512)
                if !same, identity != nil {
                    // Its identity moved (a permission change, a file system that reports
                    // another one): the bytes decide.
                    same = try LocalFile.copy(source, to: temp, hashing: true).sha512 == sha512
                }
                guard same else {
                    throw SinkError.writeFailed(
                        source, "the file changed after it was read; run the build again once it is completely written")
                }
            } catch let error as SinkError {
                unlink(temp)
                throw SinkError.writeFailed(doc.path, "\(error)")
            } catch let error as LocalFile.Failure {
                unlink(temp)
                throw SinkError.writeFailed(doc.path, "\(SinkError.writeFailed(error.path, error.reason))")
            }
            if temp != target { try rename(temp, to: target, doc.path) }
            return (true, size)
        }
    }

    private func writeIfChanged(_ data: Data, to target: String, fresh: Bool, staged: Bool) throws -> (Bool, Int64) {
        // A folder being assembled in the staging folder is not seen by anyone until it is moved
        // into place whole, and a killed build's staging is removed: no temporary name needed.
        if staged {
            guard LocalFile.writeAll(data, to: target) else {
                throw SinkError.writeFailed(relative(target), POSIX.message(errno))
            }
            return (true, Int64(data.count))
        }
        do {
            let wrote = try LocalFile.replace(target, with: data, display: relative(target), compare: !fresh)
            return (wrote, wrote ? Int64(data.count) : 0)
        } catch {
            throw SinkError.writeFailed(error.path, error.reason)
        }
    }

    private func rename(_ temp: String, to target: String, _ display: String) throws {
        do {
            try LocalFile.rename(temp, to: target, display: display)
        } catch {
            throw SinkError.writeFailed(error.path, error.reason)
        }
    }

    private func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}
