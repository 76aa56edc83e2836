import Foundation
import NuGetCore

/// The feed's policy, read from `shelf.json` beside the packages (schema: `shelf.schema.json`):
/// who owns which ids, reserved ID prefixes, unlisted versions, deprecations, vulnerabilities and
/// retention. Each part mirrors a nuget.org feature; see the README's "Policy" section.
public struct FeedPolicy: Sendable {
    /// The file it was read from, for messages.
    public var file: String
    public var owners: [OwnerRule] = []
    public var reservedPrefixes: [PrefixReservation] = []
    public var unlisted: [VersionRule] = []
    public var deprecations: [DeprecationRule] = []
    public var vulnerabilities: [VulnerabilityRule] = []
    public var retention: [RetentionRule] = []
    /// The advisory files the policy imported (full paths), for the build's input signature.
    public var advisoryFiles: [String] = []

    public init(file: String) { self.file = file }

    /// The policy file's usual name, looked for in the packages folder.
    public static let fileName = "shelf.json"
    /// What `shelf serve --push` records beside the packages it stores: the owners of the ids
    /// pushed to it, and the versions unlisted through it (`loadServerFile`).
    public static let serverFileName = "shelf.server.json"

    /// `owners`: the people or organisations who own the matching ids (nuget.org package owners).
    public struct OwnerRule: Sendable {
        public var pattern: IdPattern
        public var owners: [String]
        public var line: Int
    }

    /// `reservedPrefixes`: an ID prefix reserved for an owner (nuget.org ID prefix reservation),
    /// optionally requiring packages signed with one of the given certificates.
    public struct PrefixReservation: Sendable {
        public var pattern: IdPattern
        public var owner: String
        /// Upper-case hex SHA-256 fingerprints of accepted signing certificates; empty: none required.
        public var certificates: [String]
        public var line: Int
    }

    /// `unlisted`: versions hidden from search and listings but still restorable.
    public struct VersionRule: Sendable {
        public var pattern: IdPattern
        public var versions: VersionRange
        public var line: Int
    }

    /// `deprecations`: nuget.org package deprecation.
    public struct DeprecationRule: Sendable {
        public var pattern: IdPattern
        public var versions: VersionRange
        public var deprecation: Deprecation
        public var line: Int
    }

    /// `vulnerabilities` (and imported advisory files): an advisory for a range of versions.
    public struct VulnerabilityRule: Sendable {
        public var pattern: IdPattern
        public var versions: VersionRange
        public var advisory: Vulnerability
        /// Where the rule came from (`shelf.json:12`, `advisories/GHSA-xxxx.json`).
        public var source: String
        public var line: Int
    }

    /// `retention`: how many versions of each id to keep, newest first.
    public struct RetentionRule: Sendable {
        public var pattern: IdPattern
        public var stable: Int?
        public var prerelease: Int?
        public var line: Int
    }
}

/// A package id pattern: an exact id (`Contoso.Core`), a glob with `*` (`Contoso.*`,
/// `*.Tests`), or a prefix ending in `.` (`Contoso.`, the same as `Contoso.*`). Ids compare
/// case-insensitively, as NuGet does.
public struct IdPattern: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    private let parts: [String]
    private let isGlob: Bool

    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.count <= 200 else { return nil }
        // Only what an id may hold, plus the wildcard.
        guard
            t.unicodeScalars.allSatisfy({
                $0 == "*" || $0 == "." || $0 == "-" || $0 == "_" || CharacterSet.alphanumerics.contains($0)
            })
        else { return nil }
        self.text = t
        var pattern = t.lowercased()
        if pattern.hasSuffix(".") { pattern += "*" }
        isGlob = pattern.contains("*")
        parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
    }

    public var description: String { text }

    /// For a prefix reservation: the prefix every matching id starts with.
    public var isPrefix: Bool { isGlob && parts.count == 2 && parts[1].isEmpty }

    public func matches(_ id: String) -> Bool {
        let s = id.lowercased()
        guard isGlob else { return s == parts[0] }
        guard s.hasPrefix(parts[0]) else { return false }
        var rest = s.dropFirst(parts[0].count)
        for (i, part) in parts.enumerated().dropFirst() {
            if i == parts.count - 1 { return part.isEmpty || rest.hasSuffix(part) }
            guard let r = rest.range(of: part) else { return false }
            rest = rest[r.upperBound...]
        }
        return true
    }
}

/// nuget.org package deprecation, as registration carries it.
public struct Deprecation: Sendable, Hashable {
    public enum Reason: String, Sendable, CaseIterable {
        case legacy = "Legacy", criticalBugs = "CriticalBugs", other = "Other"
    }
    public var reasons: [Reason]
    public var message: String?
    public var alternateId: String?
    /// nil: any version (`*` in registration).
    public var alternateRange: VersionRange?
}

/// An advisory that affects a version (registration `vulnerabilities`, VulnerabilityInfo).
public struct Vulnerability: Sendable, Hashable {
    public enum Severity: Int, Sendable, CaseIterable {
        case low = 0, moderate = 1, high = 2, critical = 3
        public var name: String { ["low", "moderate", "high", "critical"][rawValue] }

        /// `low`, `moderate`/`medium`, `high`, `critical`, or 0 to 3.
        public init?(text: String) {
            switch text.lowercased() {
            case "low", "0": self = .low
            case "moderate", "medium", "1": self = .moderate
            case "high", "2": self = .high
            case "critical", "3": self = .critical
            default: return nil
            }
        }
    }
    public var advisoryURL: String
    public var severity: Severity
}
