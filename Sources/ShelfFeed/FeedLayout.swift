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

    // MARK: Registration

    public static func registrationIndex(_ hive: String, _ lowerId: String) -> String { "\(hive)\(lowerId)/index.json" }
    public static func registrationLeaf(_ hive: String, _ lowerId: String, _ lowerVersion: String) -> String {
        "\(hive)\(lowerId)/\(lowerVersion).json"
    }
    public static func registrationPage(_ hive: String, _ lowerId: String, lower: String, upper: String) -> String {
        "\(hive)\(lowerId)/page/\(lower)/\(upper).json"
    }

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
