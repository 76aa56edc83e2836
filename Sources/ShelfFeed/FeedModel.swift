import Foundation
import NuGetCore

/// The whole feed as clients will see it: ids in canonical case, versions in NuGet order,
/// duplicates resolved. Immutable; built by `FeedModel.init(packages:)`.
public struct FeedModel: Sendable {
    /// One entry per id, ordered by lowercase id.
    public var registrations: [PackageRegistration]
    /// What was noticed while putting the feed together (duplicates, casings).
    public var diagnostics: [Diagnostic]
    /// Every id in the feed, lowercase. A build that renders only the ids that changed holds only
    /// those in `registrations`; this still names them all (pages link the dependencies in the feed).
    public var presentIds: Set<String>

    public init(registrations: [PackageRegistration], diagnostics: [Diagnostic], presentIds: Set<String>? = nil) {
        self.registrations = registrations
        self.diagnostics = diagnostics
        self.presentIds = presentIds ?? Set(registrations.map(\.lowerId))
    }
}

/// Every version of one package id.
public struct PackageRegistration: Sendable {
    /// The id in lowercase, as in every path.
    public var lowerId: String
    /// The id as shown: the casing of the highest version's nuspec.
    public var id: String
    /// Versions in ascending NuGet order, one per normalized version.
    public var versions: [PackageVersion]
    /// Owners, from the policy (or the nuspec when the policy names none).
    public var owners: [String] = []
    /// The id is in a reserved prefix and its owners include the prefix's owner.
    public var verified = false
}

/// One version of a package as the feed serves it.
public struct PackageVersion: Sendable {
    public var archive: PackageArchive
    public var listed: Bool
    public var deprecation: Deprecation? = nil
    public var vulnerabilities: [Vulnerability] = []
    /// Its symbol package (`.snupkg`), checked: served beside it and as a symbol store.
    public var symbols: Symbols? = nil

    public var nuspec: Nuspec {
        _read { yield archive.nuspec }
    }
    public var version: NuGetVersion {
        _read { yield archive.nuspec.version }
    }
    public var lowerVersion: String { archive.nuspec.version.pathSegment }
}

/// A version's symbol package as the feed serves it: the file, and its PDBs with their keys.
public struct Symbols: Sendable, Hashable {
    /// The `.snupkg` (in the packages folder, or its copy in the feed's flat container).
    public var path: String
    public var size: Int64
    public var sha512: String
    public var files: [SymbolPackage.File]

    public init(path: String, size: Int64, sha512: String, files: [SymbolPackage.File]) {
        self.path = path
        self.size = size
        self.sha512 = sha512
        self.files = files
    }
}

extension FeedModel {
    /// Groups packages by id and version and picks one file per id+version.
    ///
    /// When several files hold the same id and normalized version (a signed and an unsigned copy,
    /// `1.0.01` beside `1.0.1+abc`), the feed keeps, in this order of preference: a signed file
    /// (the copy a registry published), the most recently packed one, then the first by path.
    /// The choice depends only on the files, never on the order they were found in.
    public init(packages: [PackageArchive], relativePath: (String) -> String = { $0 }) {
        var diagnostics: [Diagnostic] = []
        var byId: [String: [String: [PackageArchive]]] = [:]
        for p in packages {
            byId[p.nuspec.id.lowercased(), default: [:]][p.nuspec.version.pathSegment, default: []].append(p)
        }
        var registrations: [PackageRegistration] = []
        // Ids in the order of their UTF-8 bytes (the order of Unicode scalars, without String's
        // normalising comparison on every step).
        for lowerId in byId.keys.sorted(by: ByteOrder.precedes) {
            var versions: [PackageVersion] = []
            // In version order, so that the duplicate warnings come in the same order on every run.
            for (_, candidates) in byId[lowerId]!.sorted(by: { ByteOrder.precedes($0.key, $1.key) }) {
                let ordered = candidates.sorted(by: Self.preferred)
                let winner = ordered[0]
                for loser in ordered.dropFirst() {
                    diagnostics.append(
                        Diagnostic(
                            severity: .warning, file: relativePath(loser.path),
                            message: "same package as \(relativePath(winner.path)) (\(winner.nuspec.id) "
                                + "\(winner.nuspec.version.normalizedString)); the feed keeps "
                                + "\(relativePath(winner.path)) because \(Self.reason(winner, over: loser)). "
                                + "Remove one of the two files to silence this."))
                }
                versions.append(PackageVersion(archive: winner, listed: true))
            }
            versions.sort { $0.version < $1.version }
            let id = versions.last!.nuspec.id
            let casings = Set(versions.map(\.nuspec.id))
            if casings.count > 1 {
                diagnostics.append(
                    Diagnostic(
                        severity: .warning, file: nil,
                        message:
                            "the id \(id) is written in \(casings.count) casings (\(casings.sorted().joined(separator: ", "))); "
                            + "the feed shows it as \(id), the casing of its highest version. Paths are lowercase, so "
                            + "every version is still found."))
            }
            let owners = (versions.last!.nuspec.owners ?? "").split(separator: ",")
                .map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
            registrations.append(PackageRegistration(lowerId: lowerId, id: id, versions: versions, owners: owners))
        }
        self.init(registrations: registrations, diagnostics: diagnostics)
    }

    static func preferred(_ a: PackageArchive, _ b: PackageArchive) -> Bool {
        if a.isSigned != b.isSigned { return a.isSigned }
        if a.packedAt != b.packedAt { return a.packedAt > b.packedAt }
        if a.path != b.path { return a.path.utf8.lexicographicallyPrecedes(b.path.utf8) }
        return a.sha512 < b.sha512
    }

    static func reason(_ winner: PackageArchive, over loser: PackageArchive) -> String {
        if winner.isSigned != loser.isSigned { return "it is signed" }
        if winner.packedAt != loser.packedAt { return "it was packed later" }
        return "its path sorts first"
    }
}

/// A problem found in the input, for the user. One line each.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable, Codable { case error, warning, note }
    public var severity: Severity
    /// The input file concerned, relative to the input folder, or nil for the feed as a whole.
    public var file: String?
    public var message: String

    public init(severity: Severity, file: String?, message: String) {
        self.severity = severity
        self.file = file
        self.message = message
    }

    public var description: String {
        "\(severity.rawValue): " + (file.map { "\($0): " } ?? "") + message
    }
}
