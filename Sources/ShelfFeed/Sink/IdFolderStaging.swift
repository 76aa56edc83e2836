import Foundation
import NuGetCore

/// An id new to the feed has its flat container folder and its registration folders assembled
/// in the staging folder and moved into place in a few renames, with their `index.json`, just
/// before the other per-id indexes are written; so has a new version's flat container folder of
/// an id that is there. A crawler of the flat container or a
/// local-folder client never sees an id's folder without its `index.json`, even when the build
/// is killed: what a killed build left in the staging folder was never linked, and goes.
struct IdFolderStaging {
    let root: String
    /// The staging folder, relative to the root.
    let folder: String
    /// Id folder (`flatcontainer/x`) → its place in the staging folder.
    private(set) var staged: [String: String] = [:]
    private var stagedPrefixes: Set<String> = []

    init(root: String, folder: String) {
        self.root = root
        self.folder = folder
    }

    /// The documents, those of id folders that are not there yet moved into the staging folder;
    /// and, for an id that is there, those of its flat container's version folders that are not:
    /// a local-folder client reads a version folder as a package, so none may be seen before its
    /// package and `.sha512` are in it, even when the build is killed.
    mutating func divert(_ documents: [FeedDocument]) -> [FeedDocument] {
        var exists: [String: Bool] = [:]
        func there(_ folder: String) -> Bool {
            if let known = exists[folder] { return known }
            let answer = access(root + "/" + folder, F_OK) == 0
            exists[folder] = answer
            return answer
        }
        let out = documents.map { doc -> FeedDocument in
            guard let idFolder = FeedLayout.idFolder(doc.path) else { return doc }
            var unit = idFolder
            if staged[idFolder] == nil && there(idFolder) {
                guard let version = FeedLayout.flatVersionFolder(doc.path), !there(version) else { return doc }
                unit = version
            }
            if staged[unit] == nil { staged[unit] = folder + "/" + unit }
            var moved = doc
            moved.path = staged[unit]! + doc.path.dropFirst(unit.count)
            return moved
        }
        stagedPrefixes = Set(staged.values.map { $0 + "/" })
        return out
    }

    var isEmpty: Bool { staged.isEmpty }

    /// Whether a (relative) path was diverted into the staging folder.
    func isStaged(_ path: String) -> Bool {
        guard path.hasPrefix(folder + "/") else { return false }
        return stagedPrefixes.contains { path.hasPrefix($0) }
    }

    /// Whether an absolute path is inside the staging folder: nobody sees it until it moves into
    /// place whole, so it needs no temporary name.
    func contains(absolute target: String) -> Bool {
        target.utf8.count > root.utf8.count + folder.utf8.count + 1
            && target.utf8.dropFirst(root.utf8.count + 1).starts(with: (folder + "/").utf8)
    }

    /// The folders the staged id folders move into (`flatcontainer`, ...), which must exist.
    var destinationParents: Set<String> { Set(staged.keys.map(LocalFile.parent)) }

    /// Moves every staged id folder into place. Per id: the registration hives, then the flat
    /// container. Between two of these renames (microseconds), a registration can name a package
    /// whose folder is not in place yet; the other order would leave a flat container folder that
    /// no registration describes, which a feed check (and a crawler) counts as broken. A failed
    /// rename puts back what this id already moved, so that an error (unlike a kill) never leaves
    /// a registration without its packages.
    func moveIntoPlace() throws(LocalFile.Failure) {
        func id(_ folder: String) -> String { FeedLayout.idOfPath(folder + "/") ?? folder }
        let order = staged.keys.sorted {
            (id($0), $0.hasPrefix(FeedLayout.flatContainer) ? 1 : 0, $0)
                < (id($1), $1.hasPrefix(FeedLayout.flatContainer) ? 1 : 0, $1)
        }
        var movedForId: [(folder: String, staging: String)] = []
        for idFolder in order {
            if let last = movedForId.last, id(last.folder) != id(idFolder) {
                movedForId = []
            }
            let staging = staged[idFolder]!
            do {
                try LocalFile.rename(root + "/" + staging, to: root + "/" + idFolder, display: idFolder)
            } catch {
                for undo in movedForId.reversed() {
                    _ = POSIX.rename(root + "/" + undo.folder, root + "/" + undo.staging)
                }
                throw error
            }
            movedForId.append((idFolder, staging))
        }
    }

    /// Removes what a killed build left in the staging folder: never linked from the feed, all
    /// Shelf's own.
    static func clear(root: String, folder: String) {
        if access(root + "/" + folder, F_OK) == 0 {
            try? FileManager.default.removeItem(atPath: root + "/" + folder)
        }
    }
}
