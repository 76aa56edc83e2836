import Foundation
import NuGetCore

/// What applying a policy to a feed model gives: the model as clients will see it, the package
/// files refused (a reserved prefix not respected) or left out (retention), and remarks.
public struct PolicyOutcome: Sendable {
    public var model: FeedModel
    /// Versions refused because of a reserved prefix: one `error:` line each; they are skipped.
    public var refused: [Diagnostic] = []
    /// Warnings (entries that match nothing, prefix violations let through) and retention notes.
    public var diagnostics: [Diagnostic] = []
    /// Package files that retention leaves out (what `shelf prune` removes).
    public var pruned: [PackageArchive] = []
}

extension FeedPolicy {
    /// Applies the policy. `warnOnPrefixViolation` lets a package that breaks a prefix
    /// reservation through (unverified) with a warning instead of refusing it.
    public func apply(
        to model: FeedModel, warnOnPrefixViolation: Bool = false, relativePath: (String) -> String = { $0 }
    ) -> PolicyOutcome {
        var used = Set<String>()
        var outcome = PolicyOutcome(model: model)
        var registrations: [PackageRegistration] = []
        for r in model.registrations {
            let one = apply(to: r, warnOnPrefixViolation: warnOnPrefixViolation, relativePath: relativePath)
            used.formUnion(one.used)
            outcome.refused += one.refused
            outcome.diagnostics += one.diagnostics
            outcome.pruned += one.pruned
            if let kept = one.registration { registrations.append(kept) }
        }
        outcome.model = FeedModel(registrations: registrations, diagnostics: model.diagnostics)
        outcome.diagnostics += unusedDiagnostics(used: used)
        return outcome
    }

    /// What the policy does to one id (it never looks at another): the registration as served
    /// (nil when no version is left), and which of the policy's entries matched it (`used`).
    public struct IdOutcome: Sendable {
        public var registration: PackageRegistration?
        public var refused: [Diagnostic] = []
        public var diagnostics: [Diagnostic] = []
        public var pruned: [PackageArchive] = []
        public var used: Set<String> = []
    }

    /// Applies the policy to one id.
    public func apply(
        to registration: PackageRegistration, warnOnPrefixViolation: Bool = false,
        relativePath: (String) -> String = { $0 }
    ) -> IdOutcome {
        var r = registration
        var outcome = IdOutcome()
        func mark(_ kind: String, _ i: Int) { outcome.used.insert("\(kind)#\(i)") }
        let name = (file as NSString).lastPathComponent
        do {
            // Retention: the newest N stable and M prerelease versions are kept.
            if let (i, rule) = retention.enumerated().first(where: { $0.element.pattern.matches(r.id) }) {
                mark("retention", i)
                var keep: [PackageVersion] = []
                var stableLeft = rule.stable ?? Int.max
                var prereleaseLeft = rule.prerelease ?? Int.max
                for v in r.versions.reversed() {
                    let prerelease = v.version.isPrerelease
                    if prerelease ? prereleaseLeft > 0 : stableLeft > 0 {
                        keep.append(v)
                        if prerelease { prereleaseLeft -= 1 } else { stableLeft -= 1 }
                    } else {
                        outcome.pruned.append(v.archive)
                        let limit = prerelease ? "\(rule.prerelease!) prerelease" : "\(rule.stable!) stable"
                        outcome.diagnostics.append(
                            Diagnostic(
                                severity: .note, file: relativePath(v.archive.path),
                                message: "left out of the feed by retention (\(name):\(rule.line) keeps the newest "
                                    + "\(limit) versions of \(r.id)); `shelf prune` removes the file"))
                    }
                }
                r.versions = keep.reversed()
                if r.versions.isEmpty { return outcome }
            }

            // Owners: the policy's, else the nuspec's (already in the model).
            var owners: [String] = []
            for (i, rule) in self.owners.enumerated() where rule.pattern.matches(r.id) {
                mark("owners", i)
                for o in rule.owners where !owners.contains(where: { $0.lowercased() == o.lowercased() }) {
                    owners.append(o)
                }
            }
            let declaredInPolicy = !owners.isEmpty
            if owners.isEmpty { owners = r.owners }

            // Reserved prefixes: the most specific reservation that matches.
            let reservation = reservedPrefixes.enumerated().filter { $0.element.pattern.matches(r.id) }
                .max { $0.element.pattern.text.count < $1.element.pattern.text.count }
            r.verified = false
            if let (i, reserved) = reservation {
                mark("reservedPrefixes", i)
                if owners.isEmpty { owners = [reserved.owner] }
                let ownsIt = owners.contains { $0.lowercased() == reserved.owner.lowercased() }
                var kept: [PackageVersion] = []
                var allPass = ownsIt
                for v in r.versions {
                    var problem: String?
                    if !ownsIt {
                        problem =
                            "\(r.id) is in the ID prefix \(reserved.pattern) reserved for \(reserved.owner) "
                            + "(\(name):\(reserved.line)), but its owners are \(owners.joined(separator: ", "))"
                            + (declaredInPolicy ? " (\(name))" : " (its nuspec)")
                            + "; add \(reserved.owner) to its owners in \(name) if it is theirs, or rename the package"
                    } else if !reserved.certificates.isEmpty {
                        if let signer = v.archive.signerFingerprint, reserved.certificates.contains(signer) {
                        } else {
                            problem =
                                "\(r.id) is in the ID prefix \(reserved.pattern) reserved for \(reserved.owner) "
                                + "(\(name):\(reserved.line)), which requires a signature by one of its certificates; "
                                + (v.archive.isSigned
                                    ? "this package is signed by \(v.archive.signerFingerprint ?? "a certificate that cannot be read")"
                                    : "this package is not signed")
                                + ". Sign it with `dotnet nuget sign`, or add the certificate's SHA-256 fingerprint"
                        }
                    }
                    if let problem {
                        allPass = false
                        if warnOnPrefixViolation {
                            outcome.diagnostics.append(
                                Diagnostic(
                                    severity: .warning, file: relativePath(v.archive.path),
                                    message: problem + " (let through unverified: --prefix-violations warn)"))
                            kept.append(v)
                        } else {
                            outcome.refused.append(
                                Diagnostic(severity: .error, file: relativePath(v.archive.path), message: problem))
                        }
                    } else {
                        kept.append(v)
                    }
                }
                r.versions = kept
                r.verified = allPass
                if r.versions.isEmpty { return outcome }
            }
            r.owners = owners

            // Per version: unlisting, deprecation, vulnerabilities.
            for k in r.versions.indices {
                let version = r.versions[k].version
                for (i, rule) in unlisted.enumerated()
                where rule.pattern.matches(r.id) && rule.versions.satisfies(version) {
                    mark("unlisted", i)
                    r.versions[k].listed = false
                }
                if let (i, rule) = deprecations.enumerated().first(where: {
                    $0.element.pattern.matches(r.id) && $0.element.versions.satisfies(version)
                }) {
                    mark("deprecations", i)
                    r.versions[k].deprecation = rule.deprecation
                }
                var advisories: [Vulnerability] = []
                for (i, rule) in vulnerabilities.enumerated()
                where rule.pattern.matches(r.id) && rule.versions.satisfies(version) {
                    mark("vulnerabilities", i)
                    if !advisories.contains(where: { $0.advisoryURL == rule.advisory.advisoryURL }) {
                        advisories.append(rule.advisory)
                    }
                }
                r.versions[k].vulnerabilities = advisories
            }
            outcome.registration = r
        }
        return outcome
    }

    /// Warnings for the entries that matched no id (`used` joins every id's `IdOutcome.used`).
    public func unusedDiagnostics(used: Set<String>) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let name = (file as NSString).lastPathComponent
        // Entries that match nothing are most likely typos.
        func unused(_ kind: String, _ lines: [(Int, String)]) {
            // Entries of `shelf.server.json` (line -1) are the server's own: never typos.
            for (i, (line, what)) in lines.enumerated() where !used.contains("\(kind)#\(i)") && line >= 0 {
                diagnostics.append(
                    Diagnostic(
                        severity: .warning, file: line > 0 ? "\(name):\(line)" : name,
                        message:
                            "\(kind): \(what) matches no package in the feed; check the id and versions, or remove the entry"
                    ))
            }
        }
        unused("owners", owners.map { ($0.line, "\($0.pattern)") })
        unused("reservedPrefixes", reservedPrefixes.map { ($0.line, "\($0.pattern)") })
        unused("unlisted", unlisted.map { ($0.line, "\($0.pattern) \($0.versions.normalizedString)") })
        unused("deprecations", deprecations.map { ($0.line, "\($0.pattern) \($0.versions.normalizedString)") })
        unused("retention", retention.map { ($0.line, "\($0.pattern)") })
        // Imported advisory files cover many packages a private feed never has: only the
        // policy file's own entries are reported one by one.
        var importedUnused = 0
        for (i, rule) in vulnerabilities.enumerated() where !used.contains("vulnerabilities#\(i)") {
            if rule.line > 0 {
                diagnostics.append(
                    Diagnostic(
                        severity: .warning, file: "\(name):\(rule.line)",
                        message:
                            "vulnerabilities: \(rule.pattern) \(rule.versions.normalizedString) matches no package in "
                            + "the feed; check the id and versions, or remove the entry"))
            } else {
                importedUnused += 1
            }
        }
        if importedUnused > 0 {
            diagnostics.append(
                Diagnostic(
                    severity: .note, file: name,
                    message: "\(importedUnused) imported advisory entries match no package in the feed"))
        }
        return diagnostics
    }
}
