import Crypto
import Foundation
import NuGetCore

extension FeedPolicy {
    /// What of the policy applies to one id: every entry whose pattern matches it (owners, the
    /// prefix reservation, unlisted versions, deprecations, advisories, retention), with where it
    /// is written (its messages name the line), as a SHA-256. Two policies with the same view of
    /// an id give it the same documents and the same messages, so a change of the policy file
    /// puts together again only the ids whose view changed (`IdState.Entry.policyView`).
    ///
    /// The view lists the matching entries whole: what they say of versions the id does not have
    /// counts too (a version that comes later would be affected). An id no entry matches has the
    /// view of no policy at all: "".
    public func view(of id: String) -> String {
        var buffer: [UInt8] = []
        var matched = false
        func add(_ parts: String...) {
            matched = true
            for p in parts {
                buffer.append(contentsOf: p.utf8)
                buffer.append(0)
            }
            buffer.append(1)
        }
        for r in owners where r.pattern.matches(id) {
            add("owners", r.pattern.text, String(r.line), r.owners.joined(separator: "\u{2}"))
        }
        for r in reservedPrefixes where r.pattern.matches(id) {
            add("reserved", r.pattern.text, String(r.line), r.owner, r.certificates.joined(separator: ","))
        }
        for r in unlisted where r.pattern.matches(id) {
            add("unlisted", r.pattern.text, String(r.line), r.versions.normalizedString)
        }
        for r in deprecations where r.pattern.matches(id) {
            let d = r.deprecation
            add(
                "deprecated", r.pattern.text, String(r.line), r.versions.normalizedString,
                d.reasons.map(\.rawValue).joined(separator: ","), d.message ?? "\u{3}", d.alternateId ?? "\u{3}",
                d.alternateRange?.normalizedString ?? "*")
        }
        for r in vulnerabilities where r.pattern.matches(id) {
            add(
                "advisory", r.pattern.text, String(r.line), r.source, r.versions.normalizedString,
                r.advisory.advisoryURL, String(r.advisory.severity.rawValue))
        }
        for r in retention where r.pattern.matches(id) {
            add(
                "retention", r.pattern.text, String(r.line), r.stable.map(String.init) ?? "-",
                r.prerelease.map(String.init) ?? "-")
        }
        guard matched else { return "" }
        buffer += Array((file as NSString).lastPathComponent.utf8)
        return Hex.string(SHA256.hash(data: buffer))
    }

    /// The ids among `ids` whose view in this policy differs from the one recorded for them
    /// (`recorded`; "" where no entry of the last policy matched). On all cores: only a build
    /// whose policy files changed asks, and it looks at every id once.
    static func idsWithChangedView(
        _ policy: FeedPolicy?, _ ids: [String], recorded: @escaping @Sendable (String) -> String
    ) -> Set<String> {
        let changed = Parallel.map(ids, pieces: 16) { id in (policy?.view(of: id) ?? "") != recorded(id) ? id : nil }
        return Set(changed.compactMap { $0 })
    }
}
