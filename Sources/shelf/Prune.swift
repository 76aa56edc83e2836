import ArgumentParser
import Foundation
import NuGetCore
import ShelfFeed

/// `shelf prune`: removes the package files that the policy's retention leaves out of the feed.
struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove the package files that the policy's retention rules leave out of the feed.",
        discussion: """
            Reads every .nupkg below PACKAGES-DIR and the policy (shelf.json there, or --policy), and removes \
            the files of versions beyond the retention limits (the newest N stable and M prerelease versions of \
            each id are kept). With --dry-run it only prints what would go. Rebuild the feed afterwards: \
            `shelf build` already leaves these versions out, so the feed does not change.
            """
    )

    @Argument(help: "The folder that holds the .nupkg files.")
    var packagesDir: String

    @Option(name: .long, help: "The policy file (default: shelf.json in PACKAGES-DIR).")
    var policy: String?

    @Flag(name: .customLong("dry-run"), help: "Print what would be removed; remove nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Print only errors and the final line.")
    var quiet = false

    func run() async throws {
        let options = FeedBuilder.Options(
            input: packagesDir, output: "/nonexistent-output", baseURL: "https://x/", policyPath: policy)
        let plan: (files: [(path: String, relative: String, archive: PackageArchive)], policy: String?)
        do {
            plan = try await FeedBuilder(options: options).retentionPlan()
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        guard plan.policy != nil else {
            printError(
                "error: no policy file: put a shelf.json with \"retention\" in \(packagesDir), or pass --policy")
            throw ExitCode.failure
        }
        var bytes: Int64 = 0
        var failed = 0
        for f in plan.files.sorted(by: { $0.relative < $1.relative }) {
            bytes += f.archive.size
            let what = "\(f.relative) (\(f.archive.nuspec.id) \(f.archive.nuspec.version.normalizedString))"
            if dryRun {
                if !quiet { print("would remove \(what)") }
                continue
            }
            do {
                try FileManager.default.removeItem(atPath: f.path)
                if !quiet { print("removed \(what)") }
            } catch {
                failed += 1
                printError(
                    "error: \(f.relative): cannot remove it (\(error.localizedDescription)); check its permissions")
            }
        }
        let verb = dryRun ? "would remove" : "removed"
        print("shelf prune: \(verb) \(plan.files.count - failed) package files, \(bytes) bytes")
        if failed > 0 { throw ExitCode.failure }
    }
}
