import Foundation
@_spi(Testing) import ShelfFeed
import ShelfTestSupport
import Testing

/// A change of the policy file costs the ids whose view of it changed (`FeedPolicy.view(of:)`):
/// each step below renders only the ids it names, and leaves the feed a fresh build of the same
/// input writes (its history aside).
@Suite(.serialized)
struct PolicyChangeTests {
    typealias H = BuildHarness

    @Test("unlisting, owners, an advisory, a deprecation: one id rendered each; a rule that matches nothing: none")
    func policyChangesCostTheirIds() async throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        try FileManager.default.copyItem(atPath: H.root.appendingPathComponent("SampleFeed").path, toPath: input)
        let policyPath = input + "/shelf.json"
        let original = try String(contentsOfFile: policyPath, encoding: .utf8)
        let out = tmp.sub("out")
        let first = try await H.build(input, out)
        #expect(first.idsRendered == 5)

        /// Edits the policy file (its text, with `edit`), builds, and expects `rendered` ids
        /// rendered and the same feed as a fresh build.
        var step = 0
        func change(_ edit: (String) -> String, rendered: Int, _ what: String) async throws {
            let text = try String(contentsOfFile: policyPath, encoding: .utf8)
            let changed = edit(text)
            #expect(changed != text, "\(what): the edit changes the policy")
            try changed.write(toFile: policyPath, atomically: true, encoding: .utf8)
            let report = try await H.build(input, out)
            #expect(report.idsRendered == rendered, "\(what): \(report.idsRendered) ids rendered")
            #expect(report.warnings.allSatisfy { !$0.message.contains("is not valid") }, "\(report.warnings)")
            step += 1
            let fresh = tmp.sub("fresh-\(step)")
            try await H.build(input, fresh)
            try H.expectSame(out, fresh, what)
        }

        try await change(
            {
                $0.replacingOccurrences(
                    of: #""Shelf.Sample.Core": "2.0.0-beta""#, with: #""Shelf.Sample.Core": ["2.0.0-beta", "1.1.0"]"#)
            },
            rendered: 1, "a version unlisted")
        try await change(
            {
                $0.replacingOccurrences(
                    of: #""Shelf.Sample.Legacy": ["shelf-team", "Jane Doe"]"#,
                    with:
                        #""Shelf.Sample.Legacy": ["shelf-team", "Jane Doe"], "Shelf.Sample.Preview": ["preview-team"]"#)
            }, rendered: 1, "an owner added")
        try await change(
            {
                $0.replacingOccurrences(
                    of: #""advisoryUrl": "https://example.com/advisories/SHELF-2024-0001","#,
                    with: #""advisoryUrl": "https://example.com/advisories/SHELF-2024-0001b","#)
            }, rendered: 1, "an advisory changed")
        try await change(
            {
                $0.replacingOccurrences(
                    of: #""message": "Shelf.Sample.Legacy is no longer maintained.","#,
                    with: #""message": "Shelf.Sample.Legacy is retired.","#)
            }, rendered: 1, "a deprecation's message changed")
        try await change(
            { $0.replacingOccurrences(of: #""unlisted": {"#, with: #""unlisted": { "Nothing.Like.This": "1.0.0","#) },
            rendered: 0, "a rule that matches no id")
        // Every line moves: the ids a rule matches are put together again (their messages name
        // lines), but their documents are the same, so none is rendered.
        try await change({ "\n" + $0 }, rendered: 0, "every line moved")
        try await change({ _ in original }, rendered: 3, "the policy as it was: Core, Preview and Legacy")
    }
}
