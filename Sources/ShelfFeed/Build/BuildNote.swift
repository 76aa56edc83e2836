import Foundation
import NuGetCore

/// What a build says about the feed's own records and output folder (what it says about each
/// package is in that package's `Diagnostic`s). Each is a case a test can match; `diagnostic` is
/// the line a user reads.
public enum BuildNote: Sendable, Equatable {
    /// Part of the read cache cannot be read: the packages it covered are read again.
    case readCacheDamaged
    /// Part of the per-id record cannot be read: those ids are rendered again.
    case idRecordDamaged
    /// The per-id record is gone after a finished build: every id is put together again, and
    /// the output folder is listed for files of packages that left.
    case idRecordMissing
    /// The output folder holds a feed no finished build recorded: nothing there is removed.
    case feedNotRecorded
    /// The file lists of some ids are damaged: the output folder is listed to find their files.
    case fileListsDamaged(ids: Int)
    /// Files named as Shelf names its own, of no package of the input, found by listing the
    /// output folder: removed.
    case strayFilesRemoved(count: Int)
    /// Files of packages that left the input could not be removed; the next build tries again.
    case removalFailed(path: String, reason: String, count: Int)
    /// The catalog record is behind the catalog in the feed (a build stopped between the two).
    case catalogRecordBehind
    /// The catalog record cannot be read: the history is read from the feed's catalog.
    case catalogRecordUnreadable(CatalogState.LoadError)
    /// Neither the record nor the feed's catalog can be read: the catalog starts again.
    case catalogUnreadable(CatalogState.LoadError)
    /// A package's own timestamp is in the future.
    case timestampInFuture(file: String, timestamp: String)

    /// The line a user reads.
    public var diagnostic: Diagnostic {
        let state = StateRecord.folder
        let readCache = LocalFile.parent(StateRecord.readCache(shard: 0).path) + "/"
        let ids = LocalFile.parent(StateRecord.ids(shard: 0).path) + "/"
        switch self {
        case .readCacheDamaged:
            return Diagnostic(
                severity: .note, file: nil,
                message: "part of the read cache (\(readCache)) is damaged or from another version of shelf; "
                    + "the packages it covered are read again")
        case .idRecordDamaged:
            return Diagnostic(
                severity: .note, file: nil,
                message: "part of the per-id record (\(ids)) is damaged or from another version of shelf; "
                    + "those ids are rendered again")
        case .idRecordMissing:
            return Diagnostic(
                severity: .note, file: nil,
                message: "the per-id record of the last build (\(ids)) is missing; every id is put together "
                    + "again, and the output folder is listed for files of packages no longer in the input")
        case .feedNotRecorded:
            return Diagnostic(
                severity: .warning, file: nil,
                message: "the output folder holds a feed that no finished shelf build recorded (\(state)/ is "
                    + "missing or incomplete): files there that this build does not write are left as they are, "
                    + "so packages no longer in the input may still be found. Build into an empty folder (or "
                    + "empty this one) for a feed of exactly this input")
        case .fileListsDamaged(let count):
            return Diagnostic(
                severity: .note, file: nil,
                message: "the record of which files \(count) id(s) had (\(ids)) is damaged; "
                    + "the output folder is listed to find them")
        case .strayFilesRemoved(let count):
            return Diagnostic(
                severity: .note, file: nil,
                message: "\(count) file(s) in the output folder named as shelf names its own belong "
                    + "to no package of the input; they are removed")
        case .removalFailed(let path, let reason, let count):
            return Diagnostic(
                severity: .warning, file: nil,
                message: "\(path) in the output folder\(count == 1 ? "" : " and \(count - 1) more files"), "
                    + "left from packages no longer in the input, could not be removed (\(reason)). No index "
                    + "lists them, but their URLs still work. Fix the output folder's permissions and build again: "
                    + "the next build removes them")
        case .catalogRecordBehind:
            return Diagnostic(
                severity: .note, file: nil,
                message: "\(StateRecord.catalog.path) is behind the catalog (an earlier build stopped early); "
                    + "reading the history from the catalog")
        case .catalogRecordUnreadable(let error):
            return Diagnostic(
                severity: .warning, file: nil,
                message: "\(error); reading the history from the catalog in the output folder instead")
        case .catalogUnreadable(let error):
            return Diagnostic(
                severity: .warning, file: nil,
                message: "the catalog in the output folder cannot be read (\(error)); it starts again from this "
                    + "build, so catalog followers must reset their cursor")
        case .timestampInFuture(let file, let timestamp):
            return Diagnostic(
                severity: .warning, file: file,
                message: "the package's timestamp (\(timestamp)) is in the future; its published date and catalog "
                    + "commit time follow it, and later catalog commits come after it. Repack it on a machine with "
                    + "a correct clock")
        }
    }
}
