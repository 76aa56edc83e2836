import Foundation

/// Where a feed's files go: a local folder today (`LocalFolderSink`), a bucket for `shelf push`.
/// The build's commit stage writes documents and removes files only through this; which files
/// those are, and in what order relative to the journal and the records, is the build's.
public protocol FeedSink: Sendable {
    /// Writes documents phase by phase (all of a lower `FeedDocument.Phase` before any of a
    /// higher one), each only where its bytes change; `progress` hears how many are done.
    func writeDocuments(_ documents: [FeedDocument], progress: (@Sendable (Int) -> Void)?) async throws
        -> WriteSummary
    /// Removes files an earlier build wrote, so that no client sees an id or a version half
    /// removed; never fails as a whole: what could not go is in the outcome.
    func removeFiles(_ paths: Set<String>) async -> RemovalOutcome
    /// A file of the feed, or nil when it is not there.
    func read(_ path: String) async -> Data?
    /// Whether a file of the feed is there.
    func exists(_ path: String) async -> Bool
    /// The files below these folders (relative paths), for a build that must find files no
    /// record names.
    func files(below folders: [String]) async -> [String]
    /// Puts the destination back in order after a build that was killed (what it was writing
    /// or removing), given the paths its journal names. Called with the feed's lock held.
    func recover(journaled: [String]) async
}

extension FeedSink {
    public func writeDocuments(_ documents: [FeedDocument]) async throws -> WriteSummary {
        try await writeDocuments(documents, progress: nil)
    }
}

/// What writing did: files written (and their bytes), files left as they were, files removed.
public struct WriteSummary: Sendable, Equatable {
    public var written = 0
    public var unchanged = 0
    public var removed = 0
    public var bytesWritten: Int64 = 0

    public init() {}

    public mutating func add(_ other: WriteSummary) {
        written += other.written
        unchanged += other.unchanged
        removed += other.removed
        bytesWritten += other.bytesWritten
    }
}

/// What a removal did: how many files went, and those that could not (a file already gone is
/// not a failure).
public struct RemovalOutcome: Sendable, Equatable {
    public var removed = 0
    public var failed: [Failure] = []

    public init(removed: Int = 0, failed: [Failure] = []) {
        self.removed = removed
        self.failed = failed
    }

    public struct Failure: Sendable, Equatable {
        public var path: String
        public var reason: String

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }
}
