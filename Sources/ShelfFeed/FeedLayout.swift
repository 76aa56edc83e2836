import Foundation
import NuGetCore

/// Where each resource lives in the output folder and at which absolute URL.
public struct FeedLayout: Sendable {
    /// The base URL, always ending in `/`.
    public let baseURL: String

    public static let flatContainer = "flatcontainer/"
    /// The SemVer 1.0.0 registration hive (`RegistrationsBaseUrl`, `/3.0.0-rc`, `/3.0.0-beta`, `/3.4.0`).
    public static let registrationSemVer1 = "registration/"
    /// The hive that includes SemVer 2.0.0 versions (`/3.6.0`, `/Versioned`).
    public static let registrationSemVer2 = "registration-semver2/"

    public init(baseURL: String) {
        self.baseURL = baseURL.hasSuffix("/") ? baseURL : baseURL + "/"
    }

    public func url(_ path: String) -> String { baseURL + Self.escapePath(path) }

    // MARK: Flat container

    public static func flatIndex(_ lowerId: String) -> String { "\(flatContainer)\(lowerId)/index.json" }
    public static func flatFolder(_ lowerId: String, _ lowerVersion: String) -> String {
        "\(flatContainer)\(lowerId)/\(lowerVersion)/"
    }
    public static func nupkg(_ lowerId: String, _ lowerVersion: String) -> String {
        flatFolder(lowerId, lowerVersion) + "\(lowerId).\(lowerVersion).nupkg"
    }
    public static func nuspec(_ lowerId: String, _ lowerVersion: String) -> String {
        flatFolder(lowerId, lowerVersion) + "\(lowerId).nuspec"
    }
    public static func sha512(_ lowerId: String, _ lowerVersion: String) -> String {
        nupkg(lowerId, lowerVersion) + ".sha512"
    }
    public static func icon(_ lowerId: String, _ lowerVersion: String, _ ext: String) -> String {
        flatFolder(lowerId, lowerVersion) + "icon" + ext
    }
    public static func readme(_ lowerId: String, _ lowerVersion: String) -> String {
        flatFolder(lowerId, lowerVersion) + "readme.md"
    }
    public static func license(_ lowerId: String, _ lowerVersion: String, _ ext: String) -> String {
        flatFolder(lowerId, lowerVersion) + "license" + (ext.isEmpty ? ".txt" : ext)
    }
    /// The symbol package beside the package, as nuget.org serves it.
    public static func snupkg(_ lowerId: String, _ lowerVersion: String) -> String {
        flatFolder(lowerId, lowerVersion) + "\(lowerId).\(lowerVersion).snupkg"
    }

    // MARK: Symbols

    /// The symbol store (Simple Symbol Query Protocol): `symbols/{key}`.
    public static let symbols = "symbols/"
    public static func symbolFile(_ key: String) -> String { symbols + key }

    // MARK: Registration

    public static func registrationIndex(_ hive: String, _ lowerId: String) -> String { "\(hive)\(lowerId)/index.json" }
    public static func registrationLeaf(_ hive: String, _ lowerId: String, _ lowerVersion: String) -> String {
        "\(hive)\(lowerId)/\(lowerVersion).json"
    }
    public static func registrationPage(_ hive: String, _ lowerId: String, lower: String, upper: String) -> String {
        "\(hive)\(lowerId)/page/\(lower)/\(upper).json"
    }

    // MARK: Files of single ids

    /// The folders that hold documents of one id each: the flat container, the registration
    /// hives, and the package site's pages and badges (named here because this module cannot see
    /// the site's; a site test keeps the two in step). Named whatever the build's options, so that
    /// a build can find the files of an earlier build that had other options.
    public static let perIdFolders = [
        flatContainer, registrationSemVer1, registrationSemVer2, "packages/", "badges/", symbols,
    ]

    /// Whether a file at `path` (relative to the output folder) is named as Shelf names the files
    /// it writes in `perIdFolders`. A build whose records cannot say which files earlier builds
    /// wrote removes such files when no id of its input has them; it never removes another file
    /// (one someone put there).
    public static func isPerIdDocumentName(_ path: String) -> Bool {
        guard let slash = path.lastIndex(of: "/") else { return false }
        // Shelf's names never hold a control character (a line break would split a journal
        // line), nor bytes that are not UTF-8 (read back as U+FFFD, the name could not be removed).
        if path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) || path.contains("\u{FFFD}") { return false }
        let name = path[path.index(after: slash)...]
        let depth = path.utf8.count { $0 == 0x2F }
        // A temporary file of a write that was cut short.
        if name.hasPrefix("."), name.hasSuffix(".shelf-tmp") { return perIdFolders.contains { path.hasPrefix($0) } }
        if path.hasPrefix(flatContainer) || path.hasPrefix(registrationSemVer1) || path.hasPrefix(registrationSemVer2) {
            // {hive}{id}/index.json, {id}/{version}.json, {id}/page/{lower}/{upper}.json,
            // {id}/{version}/{id}.{version}.nupkg(.sha512), {id}.nuspec, icon.*, readme.md, license.*
            return depth >= 2
                && (name.hasSuffix(".json") || name.hasSuffix(".nupkg") || name.hasSuffix(".nupkg.sha512")
                    || name.hasSuffix(".snupkg")
                    || name.hasSuffix(".nuspec") || name.hasPrefix("icon.") || name.hasPrefix("license.")
                    || name == "readme.md")
        }
        if path.hasPrefix("packages/") { return depth == 2 && name.hasSuffix(".html") }
        // symbols/{name}.pdb/{32 hex}ffffffff/{name}.pdb
        if path.hasPrefix(symbols) { return depth == 3 && name.hasSuffix(".pdb") }
        if path.hasPrefix("badges/") { return depth == 1 && (name.hasSuffix(".svg") || name.hasSuffix(".json")) }
        return false
    }

    /// A relative path that stays inside the output folder: not empty, not absolute, no `\`,
    /// NUL, empty, `.` or `..` segment. (A byte scan: this runs for every file of the feed.)
    public static func isSafe(_ path: String) -> Bool {
        var segmentLength = 0
        var allDots = true
        for b in path.utf8 {
            switch b {
            case UInt8(ascii: "/"):
                if segmentLength == 0 || (allDots && segmentLength <= 2) { return false }
                segmentLength = 0
                allDots = true
            case UInt8(ascii: "\\"), 0:
                return false
            default:
                segmentLength += 1
                if b != UInt8(ascii: ".") { allDots = false }
            }
        }
        return segmentLength > 0 && !(allDots && segmentLength <= 2)
    }

    /// The id folder (`flatcontainer/{id}`, `registration/{id}`, `registration-semver2/{id}`)
    /// a path lies below, else nil.
    static func idFolder(_ path: String) -> String? {
        for hive in idHives where path.hasPrefix(hive) {
            let rest = path.dropFirst(hive.count)
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            return hive + rest[..<slash]
        }
        return nil
    }

    /// The version folder of the flat container a path lies below (`flatcontainer/{id}/{version}`),
    /// else nil.
    static func flatVersionFolder(_ path: String) -> String? {
        guard path.hasPrefix(flatContainer) else { return nil }
        let parts = path.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        return parts[0...2].joined(separator: "/")
    }

    /// The lowercase id whose folder a path lies below (in the flat container or a registration
    /// hive), else nil.
    public static func idOfPath(_ path: String) -> String? { idFolder(path).map { String(idOfFolder($0)) } }

    /// The id of an id folder (its last segment).
    static func idOfFolder(_ folder: String) -> Substring {
        folder.lastIndex(of: "/").map { folder[folder.index(after: $0)...] } ?? Substring(folder)
    }

    /// The folders that hold a folder per id that clients read: the flat container and both
    /// registration hives.
    static let idHives = [flatContainer, registrationSemVer1, registrationSemVer2]

    /// Percent-encodes what a URL path may not carry as is (`+` in build metadata is kept out of
    /// paths by normalization; non-ASCII ids are encoded as UTF-8).
    static func escapePath(_ path: String) -> String {
        // Nearly every path is plain ASCII that needs no escaping: skip Foundation for those.
        if path.utf8.allSatisfy({ b in
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2E || b == 0x2D
                || b == 0x5F || b == 0x2F
        }) {
            return path
        }
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "+;=")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }
}
