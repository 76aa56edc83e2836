import Foundation
import NuGetCore

/// One file of the feed, as a renderer describes it; the sink does the I/O.
public struct FeedDocument: Sendable {
    /// Path relative to the output folder, `/`-separated, never starting with `/` or holding `..`.
    public var path: String
    public var content: Content
    public var contentType: String
    /// Writing order: a document is written only after every document of a lower phase, so that
    /// no client following links from the service index meets a file that is not there yet.
    public var phase: Phase

    public enum Content: Sendable {
        /// Bytes made by a renderer.
        case bytes(Data)
        /// A copy of an input file whose size and SHA-512 are known. With the file's identity
        /// when it was hashed, the copy is checked against that identity (a file that changed
        /// since has another); without, the copy is hashed.
        case file(path: String, size: Int64, sha512: String, identity: FileIdentity?)
        /// An entry of an input package, extracted (and CRC-checked) when written.
        case packageEntry(package: String, entry: String, size: Int64)
        /// Bytes made when the sink writes the document (an HTML page that needs a package's
        /// README, say), so that a build never holds every such input in memory at once.
        case deferred(@Sendable () throws -> Data)
        /// The same bytes as the document at `of` (a path of the same build, in an earlier
        /// phase): a page served at several casings. A sink that can link files links this one
        /// to that one, so that the bytes are on disk once; otherwise it writes what `make` makes.
        case alias(of: String, make: @Sendable () throws -> Data)
    }

    public enum Phase: Int, Sendable, Comparable {
        /// Packages and files inside a version folder.
        case content
        /// Per-version documents (registration leaves, external pages).
        case leaves
        /// Per-id documents that link to the above.
        case indexes
        /// Documents that are another document's bytes at another path (`Content.alias`).
        case aliases
        /// The service index: written last.
        case serviceIndex

        public static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
    }

    public init(path: String, content: Content, contentType: String, phase: Phase) {
        self.path = path
        self.content = content
        self.contentType = contentType
        self.phase = phase
    }

    public static func json(_ path: String, _ value: JSON, phase: Phase) -> FeedDocument {
        FeedDocument(path: path, content: .bytes(value.encoded()), contentType: "application/json", phase: phase)
    }

    /// The bytes of a document whose content is made in memory (`.bytes` or `.deferred`).
    public func data() throws -> Data? {
        switch content {
        case .bytes(let d): return d
        case .deferred(let make), .alias(_, let make): return try make()
        default: return nil
        }
    }
}
