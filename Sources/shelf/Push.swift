import ArgumentParser
import Foundation
import ShelfFeed
import ShelfPublish
import ShelfSite

/// `shelf push`: packages added to a feed where it is published, with nothing but the packages.
struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add packages to a published feed (a folder that holds one), from any machine.",
        discussion: """
            The destination remembers how it was built (base URL, site, host, policy), so a push needs \
            nothing but the packages: it reads the records of the ids it changes, renders them and the \
            feed-wide documents, and leaves exactly what `shelf build` of the resulting packages would. \
            A version already in the feed is refused (exit status 3), or left as it is with \
            --skip-duplicate. Pushes to one destination take turns: one that finds another running \
            waits for it (up to --wait seconds). A push killed anywhere leaves each id as it was or as \
            the push made it; pushing again completes it.

            Exit status: 0 every package pushed; 2 some package refused (each is listed with the \
            reason; the rest are in); 3 a version was already in the feed; 1 nothing changed (an error).
            """
    )

    @Argument(
        help: ArgumentHelp(
            "The .nupkg files (or folders of them) to push, then the destination: the folder that holds the feed, or s3://BUCKET[/PREFIX].",
            valueName: "package-or-folder ... destination"))
    var items: [String]

    @Option(name: .long, help: "Apply this policy file (and the advisories it imports) from now on.")
    var policy: String?

    @Flag(name: .customLong("skip-duplicate"), help: "Leave a version already in the feed as it is (exit status 0).")
    var skipDuplicate = false

    @OptionGroup var turn: TurnOptions

    @OptionGroup var s3: S3Options

    func validate() throws {
        guard items.count >= 1 else { throw ValidationError("name the packages to push and the destination") }
        if items.count == 1 && policy == nil {
            throw ValidationError("name the packages to push, then the destination (or give --policy)")
        }
    }

    func run() async throws {
        let destination = items.last!
        var packages: [String] = []
        for item in items.dropLast() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: item, isDirectory: &isDir) else {
                printError("error: \(item): no such file or folder; nothing was pushed")
                throw ExitCode.failure
            }
            if isDir.boolValue {
                let found = PackageScanner(root: item).scan().packages
                guard !found.isEmpty else {
                    printError("error: \(item): holds no .nupkg files; nothing was pushed")
                    throw ExitCode.failure
                }
                packages += found
            } else {
                packages.append(item)
            }
        }
        // The same file named twice (a folder and a file in it) is pushed once.
        var named = Set<String>()
        packages = packages.filter { named.insert(URL(fileURLWithPath: $0).standardizedFileURL.path).inserted }
        var options = FeedPusher.Options()
        options.packages = packages
        options.policyPath = policy
        options.skipDuplicate = skipDuplicate
        options.wait = turn.wait
        try await PushRun(destination: destination, options: options, s3: s3, turn: turn, verb: "pushed").run()
    }
}

/// `shelf delete`: a version removed from a published feed.
struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a version from a published feed (a PackageDelete in the catalog, as a rebuild without it).",
        discussion: """
            Exit status: 0 removed; 3 the feed does not have that version; 1 nothing changed (an error).
            """
    )

    @Argument(help: "The package id.")
    var id: String

    @Argument(help: "The version (any equivalent form: 1.0 is 1.0.0).")
    var version: String

    @Argument(help: "The destination: the folder that holds the feed, or s3://BUCKET[/PREFIX].")
    var destination: String

    @OptionGroup var turn: TurnOptions

    @OptionGroup var s3: S3Options

    func run() async throws {
        var options = FeedPusher.Options()
        options.deletes = [FeedPusher.Delete(id: id, version: version)]
        options.wait = turn.wait
        try await PushRun(destination: destination, options: options, s3: s3, turn: turn, verb: "deleted").run()
    }
}

/// The options `shelf push` and `shelf delete` share: taking turns at the destination, and what
/// they print.
struct TurnOptions: ParsableArguments {
    @Option(name: .long, help: "How long to wait for another push or build of the destination, in seconds.")
    var wait: Double = 300

    @Option(name: .long, help: "How long the claim on an s3:// destination lasts if this command dies, in seconds.")
    var lease: Double = 300

    @Flag(name: .long, help: "Print nothing but errors (for CI).")
    var quiet = false

    @Flag(name: .long, help: "Print the summary as JSON on standard output.")
    var json = false

    func validate() throws {
        if !(wait >= 0 && wait <= 86_400) { throw ValidationError("--wait must be 0 to 86400 seconds") }
        if !(lease > 0 && lease <= 86_400) {
            throw ValidationError("--lease must be more than 0, at most 86400 seconds")
        }
    }
}

/// What `shelf push` and `shelf delete` share: the destination, the run, the summary.
struct PushRun {
    let destination: String
    let options: FeedPusher.Options
    let s3: S3Options
    let turn: TurnOptions
    let verb: String
    var lease: Double { turn.lease }
    var quiet: Bool { turn.quiet }
    var json: Bool { turn.json }

    /// The renderers a feed built with these options has.
    static func extras(_ record: BuildOptionsRecord) -> [any FeedDocumentRenderer] {
        var list: [any FeedDocumentRenderer] = []
        if record.renderers.contains(String(describing: SiteRenderer.self)) { list.append(SiteRenderer()) }
        if let host = record.host.flatMap(WebHost.init(rawValue:)) {
            list.append(HostConfigRenderer(host: host, gzip: record.gzipRegistrations))
        }
        return list
    }

    func run() async throws {
        let started = Date()
        let pusher: FeedPusher
        var traffic: Traffic?
        if destination.hasPrefix("s3://") {
            let target: S3Destination
            let client: S3Client
            do {
                (target, client) = try s3.client(for: destination)
            } catch {
                printError("error: \(error)")
                throw ExitCode(64)
            }
            let feed = S3Feed(client: client, destination: target, lease: lease)
            traffic = client.traffic
            pusher = FeedPusher(
                options: options, state: feed.state, sink: feed.sink, destination: destination, localRoot: nil,
                extras: Self.extras)
        } else {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: destination, isDirectory: &isDir), isDir.boolValue else {
                printError(
                    "error: \(destination) is not a folder that holds a feed; give the folder `shelf build --out` "
                        + "wrote, or s3://BUCKET[/PREFIX]")
                throw ExitCode.failure
            }
            pusher = FeedPusher(options: options, folder: destination, extras: Self.extras)
        }
        let report: FeedPusher.Report
        do {
            report = try await pusher.run()
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        for d in report.refused + report.duplicates + report.notFound { printError("\(d)") }
        if !quiet { for d in report.warnings { printError("\(d)") } }
        let seconds = Date().timeIntervalSince(started)
        if json {
            var object: [String: Any] = [
                "pushed": report.pushed, "deleted": report.deleted,
                "duplicates": report.duplicates.map { "\($0)" }, "refused": report.refused.map { "\($0)" },
                "notFound": report.notFound.map { "\($0)" }, "ids": report.ids, "versions": report.versions,
                "idsRendered": report.idsRendered, "filesWritten": report.filesWritten,
                "bytesWritten": report.bytesWritten,
                "filesRemoved": report.filesRemoved, "catalogItemsAdded": report.catalogItemsAdded,
                "waitedSeconds": (report.waited * 1000).rounded() / 1000, "seconds": (seconds * 1000).rounded() / 1000,
            ]
            if let traffic {
                let t = traffic.totals
                object["requests"] = t.requests
                object["bytesSent"] = t.sent
                object["bytesReceived"] = t.received
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else if !quiet {
            let done = verb == "pushed" ? report.pushed : report.deleted
            printError(
                "shelf \(verb == "pushed" ? "push" : "delete"): \(done.count) \(done.count == 1 ? "version" : "versions") "
                    + "\(verb)\(done.isEmpty ? "" : " (" + done.joined(separator: ", ") + ")") to \(destination); "
                    + "\(report.versions) versions of \(report.ids) ids in the feed; \(report.idsRendered) ids rendered, "
                    + "files: \(report.filesWritten) written, \(report.filesRemoved) removed; "
                    + String(format: "%.1f s", seconds))
        }
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }
}
