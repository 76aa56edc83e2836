import Foundation
import NuGetCore

/// The build journal: a file of paths, one per line, appended to before each batch of the
/// feed's files is written or removed. A build that finishes removes it; one that is killed
/// leaves it, and the next build reads it to learn which files were Shelf's (it removes those it
/// does not write again) and not to trust the records the killed build may have half written.
struct Journal: Sendable {
    /// The journal file.
    let path: String
    /// The file list of Shelf versions before the journal: read, and removed, the same way.
    let legacyPaths: [String]

    /// Appends paths (nothing for none).
    func append(_ paths: [String]) throws(LocalFile.Failure) {
        let text = paths.joined(separator: "\n")
        guard !text.isEmpty else { return }
        guard LocalFile.writeAll(Data((text + "\n").utf8), to: path, flags: O_APPEND) else {
            throw LocalFile.Failure.current(path)
        }
    }

    /// Whether a build left the journal (or an older Shelf its file list).
    var exists: Bool { ([path] + legacyPaths).contains { access($0, F_OK) == 0 } }

    /// Every line of the journal and the legacy lists.
    func lines() -> [String] {
        var out: [String] = []
        for file in [path] + legacyPaths {
            if let data = FileManager.default.contents(atPath: file) {
                out += data.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            }
        }
        return out
    }

    /// Removes the journal and the legacy lists.
    func remove() {
        for file in [path] + legacyPaths { unlink(file) }
    }
}
