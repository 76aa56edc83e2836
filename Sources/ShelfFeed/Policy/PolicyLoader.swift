import Foundation
import NuGetCore

/// A policy file that cannot be used: the file, the line, what is wrong and how to fix it.
public struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String

    public var description: String { file + (line.map { ":\($0)" } ?? "") + ": " + message }
}

extension FeedPolicy {
    static let members = [
        "$schema", "owners", "reservedPrefixes", "unlisted", "deprecations", "vulnerabilities", "advisories",
        "retention",
    ]

    /// The owners and unlisted versions `shelf serve --push` records (`serverFileName` in the
    /// packages folder), added to the policy's own: its entries carry line -1, so that they are
    /// never reported as typos. Nothing else may be in it.
    public static func loadServerFile(path: String) throws(PolicyError) -> FeedPolicy {
        var policy = try load(path: path)
        guard policy.reservedPrefixes.isEmpty, policy.deprecations.isEmpty, policy.vulnerabilities.isEmpty,
            policy.retention.isEmpty
        else {
            throw PolicyError(
                file: path, line: nil,
                message: "holds only owners and unlisted versions (shelf serve --push writes it); move the rest to "
                    + fileName)
        }
        for i in policy.owners.indices { policy.owners[i].line = -1 }
        for i in policy.unlisted.indices { policy.unlisted[i].line = -1 }
        return policy
    }

    /// This policy with `server`'s owners and unlisted versions added.
    public func adding(server: FeedPolicy) -> FeedPolicy {
        var out = self
        out.owners += server.owners
        out.unlisted += server.unlisted
        return out
    }

    /// Reads and checks a policy file; advisory files it names are read relative to it.
    public static func load(path: String) throws(PolicyError) -> FeedPolicy {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PolicyError(file: path, line: nil, message: "cannot be read; check that it exists and is readable")
        }
        return try parse(data, file: path, folder: (path as NSString).deletingLastPathComponent)
    }

    public static func parse(_ data: Data, file: String, folder: String) throws(PolicyError) -> FeedPolicy {
        let root: PositionedJSON
        do {
            root = try PositionedJSON.parse(data)
        } catch {
            throw PolicyError(
                file: file, line: error.line, message: "column \(error.column): \(error.message); the file must be JSON"
            )
        }
        let p = PolicyParser(file: file)
        var policy = FeedPolicy(file: file)
        let members = try p.object(root, "the policy file")
        for (key, line, value) in members {
            switch key {
            case "$schema": break
            case "owners":
                for (pattern, l, v) in try p.object(value, "owners") {
                    let owners = try p.strings(v, "the owners of \(pattern)")
                    guard !owners.isEmpty else {
                        throw p.error(l, "owners of \(pattern) is empty; name at least one owner")
                    }
                    policy.owners.append(OwnerRule(pattern: try p.pattern(pattern, l), owners: owners, line: l))
                }
            case "reservedPrefixes":
                for (prefix, l, v) in try p.object(value, "reservedPrefixes") {
                    let pattern = try p.pattern(prefix, l)
                    var owner: String
                    var certificates: [String] = []
                    if case .string(let s, _) = v {
                        owner = s
                    } else {
                        let fields = try p.fields(
                            v, "the reservation of \(prefix)", allowed: ["owner", "certificates"])
                        owner = try p.string(
                            try p.required(fields, "owner", v.line, "the reservation of \(prefix)"), "owner")
                        if let c = fields["certificates"] {
                            for text in try p.strings(c, "certificates") {
                                certificates.append(try p.fingerprint(text, c.line))
                            }
                        }
                    }
                    owner = owner.trimmingCharacters(in: .whitespaces)
                    guard !owner.isEmpty else { throw p.error(l, "the owner of \(prefix) is empty") }
                    policy.reservedPrefixes.append(
                        PrefixReservation(pattern: pattern, owner: owner, certificates: certificates, line: l))
                }
            case "unlisted":
                for (pattern, l, v) in try p.object(value, "unlisted") {
                    let ranges: [PositionedJSON]
                    if case .array(let items, _) = v { ranges = items } else { ranges = [v] }
                    for r in ranges {
                        policy.unlisted.append(
                            VersionRule(pattern: try p.pattern(pattern, l), versions: try p.range(r), line: r.line))
                    }
                }
            case "deprecations":
                for item in try p.array(value, "deprecations") {
                    let f = try p.fields(
                        item, "a deprecation", allowed: ["id", "versions", "reasons", "message", "alternatePackage"])
                    let id = try p.string(try p.required(f, "id", item.line, "a deprecation"), "id")
                    var reasons: [Deprecation.Reason] = []
                    let reasonsValue = try p.required(f, "reasons", item.line, "the deprecation of \(id)")
                    for r in try p.strings(reasonsValue, "reasons") {
                        guard
                            let reason = Deprecation.Reason.allCases.first(where: {
                                $0.rawValue.lowercased() == r.lowercased()
                            })
                        else {
                            throw p.error(
                                reasonsValue.line,
                                "unknown deprecation reason '\(r)'; use Legacy, CriticalBugs or Other")
                        }
                        reasons.append(reason)
                    }
                    guard !reasons.isEmpty else {
                        throw p.error(reasonsValue.line, "reasons is empty; give Legacy, CriticalBugs or Other")
                    }
                    var deprecation = Deprecation(reasons: reasons)
                    if let m = f["message"] { deprecation.message = try p.string(m, "message") }
                    if let alt = f["alternatePackage"] {
                        let af = try p.fields(alt, "alternatePackage", allowed: ["id", "versions"])
                        let altId = try p.string(try p.required(af, "id", alt.line, "alternatePackage"), "id")
                        guard PackageId.isValid(altId) else {
                            throw p.error(alt.line, "'\(altId)' is not a valid package id")
                        }
                        deprecation.alternateId = altId
                        if let r = af["versions"] {
                            let range = try p.range(r)
                            deprecation.alternateRange = range == .all ? nil : range
                        }
                    }
                    var versions = VersionRange.all
                    if let v = f["versions"] { versions = try p.range(v) }
                    policy.deprecations.append(
                        DeprecationRule(
                            pattern: try p.pattern(id, item.line), versions: versions, deprecation: deprecation,
                            line: item.line))
                }
            case "vulnerabilities":
                for item in try p.array(value, "vulnerabilities") {
                    let f = try p.fields(
                        item, "a vulnerability", allowed: ["id", "versions", "advisoryUrl", "severity"])
                    let id = try p.string(try p.required(f, "id", item.line, "a vulnerability"), "id")
                    let versions = try p.range(try p.required(f, "versions", item.line, "the vulnerability of \(id)"))
                    let urlValue = try p.required(f, "advisoryUrl", item.line, "the vulnerability of \(id)")
                    let url = try p.string(urlValue, "advisoryUrl")
                    guard url.hasPrefix("https://") || url.hasPrefix("http://"), URL(string: url) != nil else {
                        throw p.error(urlValue.line, "advisoryUrl '\(url)' is not an http(s) URL")
                    }
                    let severityValue = try p.required(f, "severity", item.line, "the vulnerability of \(id)")
                    let severityText: String
                    switch severityValue {
                    case .number(let n, _): severityText = String(Int(n))
                    default: severityText = try p.string(severityValue, "severity")
                    }
                    guard let severity = Vulnerability.Severity(text: severityText) else {
                        throw p.error(
                            severityValue.line,
                            "unknown severity '\(severityText)'; use low, moderate, high or critical")
                    }
                    policy.vulnerabilities.append(
                        VulnerabilityRule(
                            pattern: try p.pattern(id, item.line), versions: versions,
                            advisory: Vulnerability(advisoryURL: url, severity: severity),
                            source: "\((file as NSString).lastPathComponent):\(item.line)", line: item.line))
                }
            case "advisories":
                for item in try p.array(value, "advisories") {
                    let relative = try p.string(item, "an advisory file")
                    let path = relative.hasPrefix("/") ? relative : folder + "/" + relative
                    policy.advisoryFiles.append(path)
                    do {
                        policy.vulnerabilities += try AdvisoryImport.read(path: path, display: relative)
                    } catch {
                        throw p.error(item.line, "the advisory file \(relative): \(error)")
                    }
                }
            case "retention":
                let rules: [PositionedJSON]
                if case .array(let items, _) = value { rules = items } else { rules = [value] }
                for r in rules {
                    let f = try p.fields(r, "a retention rule", allowed: ["id", "stable", "prerelease"])
                    var pattern = IdPattern("*")!
                    if let v = f["id"] { pattern = try p.pattern(try p.string(v, "id"), v.line) }
                    var stable: Int?
                    if let v = f["stable"] { stable = try p.count(v, "stable") }
                    var prerelease: Int?
                    if let v = f["prerelease"] { prerelease = try p.count(v, "prerelease") }
                    guard stable != nil || prerelease != nil else {
                        throw p.error(
                            r.line, "a retention rule needs stable, prerelease or both (how many versions to keep)")
                    }
                    policy.retention.append(
                        RetentionRule(pattern: pattern, stable: stable, prerelease: prerelease, line: r.line))
                }
            default:
                throw p.error(
                    line,
                    "unknown member '\(key)'; the policy file has \(Self.members.filter { $0 != "$schema" }.joined(separator: ", "))"
                )
            }
        }
        return policy
    }
}

/// Typed access to a parsed policy document, with errors that name the line.
struct PolicyParser {
    let file: String

    func error(_ line: Int, _ message: String) -> PolicyError { PolicyError(file: file, line: line, message: message) }

    func object(_ v: PositionedJSON, _ what: String) throws(PolicyError) -> [(
        key: String, line: Int, value: PositionedJSON
    )] {
        guard case .object(let members, _) = v else {
            throw error(v.line, "\(what) must be an object ({ ... }), not \(v.kind)")
        }
        var seen = Set<String>()
        for m in members where !seen.insert(m.key).inserted {
            throw error(m.line, "'\(m.key)' appears twice in \(what); merge the two entries")
        }
        return members
    }

    func fields(_ v: PositionedJSON, _ what: String, allowed: [String]) throws(PolicyError) -> [String: PositionedJSON]
    {
        var out: [String: PositionedJSON] = [:]
        for (key, line, value) in try object(v, what) {
            guard allowed.contains(key) else {
                throw error(line, "unknown member '\(key)' in \(what); it may have \(allowed.joined(separator: ", "))")
            }
            out[key] = value
        }
        return out
    }

    func required(_ f: [String: PositionedJSON], _ key: String, _ line: Int, _ what: String) throws(PolicyError)
        -> PositionedJSON
    {
        guard let v = f[key] else { throw error(line, "\(what) has no '\(key)'; add it") }
        return v
    }

    func array(_ v: PositionedJSON, _ what: String) throws(PolicyError) -> [PositionedJSON] {
        guard case .array(let items, _) = v else {
            throw error(v.line, "\(what) must be an array ([ ... ]), not \(v.kind)")
        }
        return items
    }

    func string(_ v: PositionedJSON, _ what: String) throws(PolicyError) -> String {
        guard case .string(let s, _) = v else { throw error(v.line, "\(what) must be a string, not \(v.kind)") }
        return s
    }

    /// A string or an array of strings.
    func strings(_ v: PositionedJSON, _ what: String) throws(PolicyError) -> [String] {
        if case .string(let s, _) = v { return [s] }
        var out: [String] = []
        for item in try array(v, what) {
            let s = try string(item, what).trimmingCharacters(in: .whitespaces)
            if !s.isEmpty { out.append(s) }
        }
        return out
    }

    func count(_ v: PositionedJSON, _ what: String) throws(PolicyError) -> Int {
        guard case .number(let n, _) = v, n >= 0, n == n.rounded(), n < 1_000_000 else {
            throw error(v.line, "\(what) must be a whole number of versions (0 or more)")
        }
        return Int(n)
    }

    func pattern(_ text: String, _ line: Int) throws(PolicyError) -> IdPattern {
        guard let p = IdPattern(text) else {
            throw error(
                line,
                "'\(text)' is not a package id or pattern; use an id (Contoso.Core), a prefix (Contoso.) or a glob (Contoso.*)"
            )
        }
        return p
    }

    /// A version range as NuGet writes it, with two conveniences: `*` means every version, and a
    /// bare version means that version only (in NuGet it would mean "this or later", which is
    /// rarely what unlisting or deprecating `1.0.0` intends).
    func range(_ v: PositionedJSON) throws(PolicyError) -> VersionRange {
        let text = try string(v, "versions").trimmingCharacters(in: .whitespaces)
        if text == "*" { return .all }
        if let exact = NuGetVersion(text) {
            return VersionRange(minVersion: exact, isMinInclusive: true, maxVersion: exact, isMaxInclusive: true)
        }
        guard let r = VersionRange(text, allowFloating: false) else {
            throw error(
                v.line,
                "'\(text)' is not a version range; write one as NuGet does: [1.0.0, 2.0.0) for 1.0.0 up to 2.0.0, "
                    + "[1.0.0, ) for 1.0.0 and later, 1.2.3 for that version only, * for every version")
        }
        return r
    }

    /// A SHA-256 certificate fingerprint: 64 hex digits, colons and spaces ignored.
    func fingerprint(_ text: String, _ line: Int) throws(PolicyError) -> String {
        let hex = text.filter { $0 != ":" && $0 != " " }.uppercased()
        guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
            throw error(line, "'\(text)' is not a SHA-256 certificate fingerprint (64 hex digits)")
        }
        return hex
    }
}
