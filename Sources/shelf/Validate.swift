import ArgumentParser
import Foundation
import ShelfValidate

/// `shelf validate`: checks any NuGet V3 feed, in a folder or at a URL, the way a client reads it.
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a NuGet V3 feed (a folder or a URL) the way a client reads it.",
        discussion: """
            Reads the service index, then for every id: the flat container index, each package (hashed \
            and compared with its .nupkg.sha512), each nuspec, and both registration hives with every page, \
            leaf and packageContent link. Reports SemVer 2.0.0 versions in the SemVer 1.0.0 hive, \
            registration and flat container that disagree, gzip bytes served without Content-Encoding: gzip, \
            and (for a folder) an incomplete local-folder layout. Works on any V3 feed, not only Shelf's. \
            Over HTTP the ids come from autocomplete or search. Exit status: 0 no error, 1 some error.
            """
    )

    @Argument(help: "A folder holding index.json, or the URL of a service index.")
    var feed: String

    @Option(
        name: .customLong("base-url"),
        help:
            "The URL the feed's documents name: for a folder (found when omitted), or for a feed served from another URL."
    )
    var baseURL: String?

    @Flag(name: .long, help: "Print only problems and the final line.")
    var quiet = false

    @Option(name: .long, help: "How many ids to check at once.")
    var jobs = 8

    func run() async throws {
        let target =
            feed.hasPrefix("http://") || feed.hasPrefix("https://")
            ? feed : URL(fileURLWithPath: feed).standardizedFileURL.path
        let report = await FeedValidator(target: target, baseURL: baseURL, concurrency: max(jobs, 1)).run()
        for problem in report.problems {
            FileHandle.standardError.write(Data((problem.description + "\n").utf8))
        }
        print(
            "shelf validate: \(report.ids) ids, \(report.versions) versions, \(report.packagesHashed) packages "
                + "hashed, \(report.documents) documents; \(report.errors) errors, \(report.warnings) warnings")
        if report.errors > 0 { throw ExitCode.failure }
    }
}
