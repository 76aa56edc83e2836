import Foundation
import NuGetCore

/// Reads advisory exports into vulnerability rules. Accepted, as one object or an array of them:
/// - **OSV** (ossf.github.io/osv-schema; what GitHub's advisory database and osv.dev publish):
///   `affected[].package` with ecosystem `NuGet`, `ranges[]` of type `ECOSYSTEM` or `SEMVER`
///   with `introduced` / `fixed` / `last_affected` events, or an explicit `versions[]`; the severity
///   from `database_specific.severity` (GitHub's LOW, MODERATE, HIGH, CRITICAL); the advisory URL
///   from the first `ADVISORY` reference, else the first `WEB` one, else osv.dev.
/// - **GitHub's REST API** (`GET /advisories`): `html_url`, `severity`, and
///   `vulnerabilities[].package` with ecosystem `nuget` and `vulnerable_version_range`
///   (`>= 1.0.0, < 1.2.3`).
/// - Shelf's own form: `{ "id", "versions", "advisoryUrl", "severity" }`.
/// Entries for other ecosystems are ignored. An advisory without a severity counts as moderate.
enum AdvisoryImport {
    struct ImportError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func read(path: String, display: String) throws -> [FeedPolicy.VulnerabilityRule] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImportError(message: "cannot be read")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ImportError(message: "is not JSON")
        }
        let items = (json as? [Any]) ?? [json]
        var rules: [FeedPolicy.VulnerabilityRule] = []
        for (n, item) in items.enumerated() {
            guard let advisory = item as? [String: Any] else {
                throw ImportError(message: "entry \(n + 1) is not an object")
            }
            let source = items.count > 1 ? "\(display) entry \(n + 1)" : display
            if advisory["affected"] != nil {
                rules += try osv(advisory, source: source)
            } else if advisory["vulnerabilities"] != nil {
                rules += try github(advisory, source: source)
            } else if let id = advisory["id"] as? String, let versions = advisory["versions"] as? String,
                let url = advisory["advisoryUrl"] as? String
            {
                guard let pattern = IdPattern(id), let range = VersionRange(versions, allowFloating: false) else {
                    throw ImportError(message: "entry \(n + 1) has an invalid id or versions")
                }
                let severity = Vulnerability.Severity(text: "\(advisory["severity"] ?? "moderate")") ?? .moderate
                rules.append(
                    .init(
                        pattern: pattern, versions: range,
                        advisory: Vulnerability(advisoryURL: url, severity: severity),
                        source: source, line: 0))
            } else {
                throw ImportError(message: "entry \(n + 1) is neither an OSV advisory nor a GitHub advisory")
            }
        }
        return rules
    }

    static func osv(_ a: [String: Any], source: String) throws -> [FeedPolicy.VulnerabilityRule] {
        let refs = (a["references"] as? [[String: Any]]) ?? []
        let url =
            (refs.first { $0["type"] as? String == "ADVISORY" }?["url"] as? String)
            ?? (refs.first { $0["type"] as? String == "WEB" }?["url"] as? String)
            ?? "https://osv.dev/vulnerability/\(a["id"] as? String ?? "")"
        let severityText = ((a["database_specific"] as? [String: Any])?["severity"] as? String) ?? "moderate"
        let severity = Vulnerability.Severity(text: severityText) ?? .moderate
        var rules: [FeedPolicy.VulnerabilityRule] = []
        for affected in (a["affected"] as? [[String: Any]]) ?? [] {
            guard let package = affected["package"] as? [String: Any],
                (package["ecosystem"] as? String)?.lowercased() == "nuget", let name = package["name"] as? String,
                let pattern = IdPattern(name)
            else { continue }
            var ranges: [VersionRange] = []
            for r in (affected["ranges"] as? [[String: Any]]) ?? []
            where ["ECOSYSTEM", "SEMVER"].contains(r["type"] as? String ?? "") {
                var start: NuGetVersion?
                var open = false
                for event in (r["events"] as? [[String: String]]) ?? [] {
                    if let v = event["introduced"] {
                        start = v == "0" ? nil : NuGetVersion(v)
                        open = true
                    } else if let v = event["fixed"], open, let end = NuGetVersion(v) {
                        ranges.append(
                            VersionRange(
                                minVersion: start, isMinInclusive: true, maxVersion: end, isMaxInclusive: false))
                        open = false
                    } else if let v = event["last_affected"], open, let end = NuGetVersion(v) {
                        ranges.append(
                            VersionRange(minVersion: start, isMinInclusive: true, maxVersion: end, isMaxInclusive: true)
                        )
                        open = false
                    }
                }
                if open {
                    ranges.append(
                        VersionRange(minVersion: start, isMinInclusive: true, maxVersion: nil, isMaxInclusive: false))
                }
            }
            if ranges.isEmpty {
                for v in (affected["versions"] as? [String]) ?? [] {
                    if let version = NuGetVersion(v) {
                        ranges.append(
                            VersionRange(
                                minVersion: version, isMinInclusive: true, maxVersion: version, isMaxInclusive: true))
                    }
                }
            }
            for range in ranges {
                rules.append(
                    .init(
                        pattern: pattern, versions: range,
                        advisory: Vulnerability(advisoryURL: url, severity: severity),
                        source: source, line: 0))
            }
        }
        return rules
    }

    static func github(_ a: [String: Any], source: String) throws -> [FeedPolicy.VulnerabilityRule] {
        let url = (a["html_url"] as? String) ?? (a["url"] as? String) ?? ""
        let severity = Vulnerability.Severity(text: a["severity"] as? String ?? "moderate") ?? .moderate
        var rules: [FeedPolicy.VulnerabilityRule] = []
        for v in (a["vulnerabilities"] as? [[String: Any]]) ?? [] {
            guard let package = v["package"] as? [String: Any],
                (package["ecosystem"] as? String)?.lowercased() == "nuget", let name = package["name"] as? String,
                let pattern = IdPattern(name), let text = v["vulnerable_version_range"] as? String
            else { continue }
            guard let range = constraintRange(text) else {
                throw ImportError(message: "the range '\(text)' for \(name) cannot be read")
            }
            rules.append(
                .init(
                    pattern: pattern, versions: range, advisory: Vulnerability(advisoryURL: url, severity: severity),
                    source: source, line: 0))
        }
        return rules
    }

    /// GitHub's constraint form: `>= 1.0.0, < 1.2.3`, `< 2.0`, `= 1.0.0`, `<= 1.0`.
    static func constraintRange(_ text: String) -> VersionRange? {
        var min: NuGetVersion?
        var minInclusive = false
        var max: NuGetVersion?
        var maxInclusive = false
        for part in text.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            guard let op = [">=", "<=", ">", "<", "="].first(where: { t.hasPrefix($0) }) else {
                // A bare version is that version only.
                guard let v = NuGetVersion(t) else { return nil }
                (min, minInclusive, max, maxInclusive) = (v, true, v, true)
                continue
            }
            guard let v = NuGetVersion(t.dropFirst(op.count).trimmingCharacters(in: .whitespaces)) else { return nil }
            switch op {
            case ">=", ">": (min, minInclusive) = (v, op == ">=")
            case "<=", "<": (max, maxInclusive) = (v, op == "<=")
            default: (min, minInclusive, max, maxInclusive) = (v, true, v, true)
            }
        }
        guard min != nil || max != nil else { return nil }
        return VersionRange(
            minVersion: min, isMinInclusive: minInclusive, maxVersion: max, isMaxInclusive: maxInclusive)
    }
}
