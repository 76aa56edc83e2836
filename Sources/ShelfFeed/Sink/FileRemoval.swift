import Foundation
import NuGetCore

/// Removes files of the feed that an earlier build wrote, so that no client ever sees an id or a
/// version half removed, and never removes a file Shelf did not write.
///
/// An id leaving the feed leaves each of its folders in one rename (into the trash), its flat
/// container first, then its registration (the reverse of how a new id comes in), so that no
/// folder of an id is ever seen without its `index.json` and a registration outlives its
/// packages only for the microseconds between two renames. Before the rename, the list of
/// Shelf's files in the folder is recorded, so that a build killed while emptying the trash is
/// finished by the next one (`recover`), which never puts Shelf's files back half removed.
struct FileRemoval {
    let root: String
    let scratch: ScratchFolders

    typealias Outcome = RemovalOutcome

    /// Removes files (relative paths), and the folders they leave empty.
    func remove<S: Sequence>(_ paths: S) -> Outcome where S.Element == String {
        var outcome = Outcome()
        var paths = Array(paths.filter(FeedLayout.isSafe))
        let stale = Set(paths)
        // The id folders that go whole: those whose index.json goes.
        var goneFolders: [String] = []
        for path in paths {
            guard path.hasSuffix("/index.json"), let folder = FeedLayout.idFolder(path), path == folder + "/index.json"
            else { continue }
            goneFolders.append(folder)
        }
        goneFolders.sort {
            (FeedLayout.idOfFolder($0), $0.hasPrefix(FeedLayout.flatContainer) ? 0 : 1, $0)
                < (FeedLayout.idOfFolder($1), $1.hasPrefix(FeedLayout.flatContainer) ? 0 : 1, $1)
        }
        var byFolder: [String: [String]] = [:]
        for path in paths {
            if let folder = FeedLayout.idFolder(path), stale.contains(folder + "/index.json") {
                byFolder[folder, default: []].append(String(path.dropFirst(folder.count + 1)))
            }
        }
        // Every list first, then the renames in one tight loop: between an id's flat container
        // leaving and its registration leaving there is nothing but another rename.
        var listed: [String] = []
        for folder in goneFolders {
            let list = root + "/" + scratch.trashLists + "/" + folder
            let files = byFolder[folder] ?? []
            guard (try? LocalFile.makeFolder(LocalFile.parent(list))) != nil,
                (try? LocalFile.replace(list, with: Data((files.joined(separator: "\n") + "\n").utf8), display: list))
                    != nil,
                (try? LocalFile.makeFolder(root + "/" + scratch.trash + "/" + LocalFile.parent(folder))) != nil
            else {
                unlink(list)
                continue
            }
            listed.append(folder)
        }
        var trashed: [String] = []
        for folder in listed {
            if POSIX.rename(root + "/" + folder, root + "/" + scratch.trash + "/" + folder) == 0 {
                trashed.append(folder)
            } else {
                unlink(root + "/" + scratch.trashLists + "/" + folder)
            }
        }
        let trashedSet = Set(trashed)
        for folder in trashed {
            let (went, kept) = emptyTrash(folder, files: byFolder[folder] ?? [])
            outcome.removed += went
            outcome.failed += kept
            removeEmptyParents(of: folder + "/index.json")
        }
        paths.removeAll { FeedLayout.idFolder($0).map(trashedSet.contains) ?? false }
        // An id folder that could not leave whole (its trash place was taken) loses its
        // index.json first, so that nothing names its versions while they go; a version folder
        // loses its .nupkg.sha512 first: a local-folder client takes a version only when that file
        // is there, so it never sees one half removed.
        func rank(_ path: String) -> Int {
            if let folder = FeedLayout.idFolder(path), path == folder + "/index.json" { return 0 }
            return path.hasSuffix(".sha512") ? 1 : 2
        }
        paths.sort { (rank($0), $0) < (rank($1), $1) }
        for path in paths {
            if unlink(root + "/" + path) == 0 {
                outcome.removed += 1
                removeEmptyParents(of: path)
            } else if let failure = Self.lastError(path) {
                outcome.failed.append(failure)
            }
        }
        return outcome
    }

    /// Finishes what a killed build was removing, as it recorded before moving each folder into
    /// the trash: Shelf's files go, files Shelf did not write go back where they were. (Putting a
    /// half-emptied folder back would show an id without its index.json.) Anything else in the
    /// trash (moved without a list) goes back where it was, if nothing took its place; the
    /// build's removals then take Shelf's files out again.
    func recover() {
        let lists = root + "/" + scratch.trashLists
        for hive in FeedLayout.idHives {
            for id in (try? FileManager.default.contentsOfDirectory(atPath: lists + "/" + hive)) ?? [] {
                let folder = hive + id
                let text = FileManager.default.contents(atPath: lists + "/" + folder) ?? Data()
                let files = text.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
                _ = emptyTrash(folder, files: files)
            }
        }
        _ = LocalFile.removeEmptyTree(lists)
        let trash = root + "/" + scratch.trash
        for hive in FeedLayout.idHives {
            for id in (try? FileManager.default.contentsOfDirectory(atPath: trash + "/" + hive)) ?? []
            where access(root + "/" + hive + id, F_OK) != 0 {
                try? LocalFile.makeFolder(root + "/" + hive)
                _ = POSIX.rename(trash + "/" + hive + id, root + "/" + hive + id)
            }
        }
        _ = LocalFile.removeEmptyTree(trash)
    }

    /// Unlinks Shelf's files from an id folder moved into the trash; what is left (files Shelf
    /// did not write) goes back where it was, if nothing took its place. Then forgets the list.
    /// Returns how many files went, and those of Shelf's that could not (they go back with the
    /// folder, under their own paths).
    private func emptyTrash(_ folder: String, files: [String]) -> (Int, [Outcome.Failure]) {
        let trash = root + "/" + scratch.trash + "/" + folder
        var removed = 0
        var failed: [Outcome.Failure] = []
        for file in files where FeedLayout.isSafe(file) {
            if unlink(trash + "/" + file) == 0 {
                removed += 1
            } else if let failure = Self.lastError(folder + "/" + file) {
                failed.append(failure)
            }
        }
        // Only empty folders go; files Shelf did not write stay, and the folder goes back (or, if
        // something took its place meanwhile, aside under the orphaned folder, never served and
        // never removed, so that the trash is free for the next removal of this id).
        // Shelf's files that could not go are reported only if they are served again.
        var servedAgain = false
        if !LocalFile.removeEmptyTree(trash) {
            if access(root + "/" + folder, F_OK) != 0 {
                try? LocalFile.makeFolder(root + "/" + LocalFile.parent(folder))
                servedAgain = POSIX.rename(trash, root + "/" + folder) == 0
            } else {
                let aside = root + "/" + scratch.orphaned + "/" + folder
                try? LocalFile.makeFolder(root + "/" + scratch.orphaned + "/" + LocalFile.parent(folder))
                var n = 1
                while access(aside + "-\(n)", F_OK) == 0 { n += 1 }
                _ = POSIX.rename(trash, aside + "-\(n)")
            }
        }
        unlink(root + "/" + scratch.trashLists + "/" + folder)
        return (removed, servedAgain ? failed : [])
    }

    /// The failure `errno` describes for `path`, after a failed `unlink`; nil when the file was
    /// already gone.
    private static func lastError(_ path: String) -> Outcome.Failure? {
        errno == ENOENT ? nil : Outcome.Failure(path: path, reason: POSIX.message(errno))
    }

    /// Removes the folders a removed file leaves empty, up to the root.
    private func removeEmptyParents(of path: String) {
        var dir = LocalFile.parent(path)
        while !dir.isEmpty {
            if rmdir(root + "/" + dir) != 0 { return }
            dir = LocalFile.parent(dir)
        }
    }
}
