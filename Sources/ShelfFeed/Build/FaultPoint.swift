import Foundation

/// A point in a build where a test stops it as a kill would: nothing after it runs, and what the
/// build wrote up to there stays. The build calls `FeedBuilder.Options.faults` at each point; a
/// test's hook throws there (`BuildKilled`), and the next build has to converge.
@_spi(Testing) public enum FaultPoint: String, Sendable, CaseIterable {
    /// Every document and this build's records are written; nothing is removed yet.
    case afterRecord = "after-record"
    /// Just before the files of what left the feed are removed (only when there are some).
    case beforeRemove = "before-remove"
}

/// What a test's fault hook throws to stop a build at a `FaultPoint`.
@_spi(Testing) public struct BuildKilled: Error, Sendable, Equatable {
    public let at: FaultPoint
    public init(at: FaultPoint) { self.at = at }
}
