import ArgumentParser
import Foundation
import ShelfFeed
import ShelfSite

/// `shelf build`: the thin shell around `FeedBuilder`. Exit status 0 when every package was
/// built, 2 when the feed was built but some package files were skipped, 1 when no feed was built.
struct Build: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a static NuGet V3 feed from a folder of packages.",
        discussion: """
            Reads every .nupkg below PACKAGES-DIR and writes the feed into --out: the service index \
            (index.json), the flat container (also usable as a local-folder source), the registration \
            hives, search, autocomplete, the catalog, and a browsable package site (index.html) with badges. Run it again on the same --out to update the feed: unchanged files are not rewritten and \
            files of packages that are gone are removed.

            Exit status: 0 when every package is in the feed; 2 when the feed was built but some package \
            files were skipped (each is listed with the reason); 1 when no feed could be built.
            """
    )

    @Argument(help: "The folder that holds the .nupkg files (searched recursively).")
    var packagesDir: String

    @Option(name: .long, help: "The folder to write the feed into. Created if missing.")
    var out: String

    @Option(
        name: .customLong("base-url"),
        help:
            "The URL the feed will be served at, e.g. https://feed.example.com/. Every URL in the feed starts with it.")
    var baseURL: String

    @Flag(name: .long, help: "Print nothing but errors (for CI).")
    var quiet = false

    @Flag(name: .long, help: "Print the summary as JSON on standard output.")
    var json = false

    @Option(name: .long, help: "How many packages to read at once (default: the number of cores).")
    var jobs: Int?

    @Flag(name: .customLong("no-site"), help: "Do not write the HTML package site and badges.")
    var noSite = false

    @Flag(
        name: .long,
        help:
            "Ignore what earlier builds recorded (\(StateRecord.folder)/): read every package and render every document."
    )
    var full = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also write configuration for this web host: \(WebHost.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "host"))
    var host: WebHost?

    @Flag(
        name: .long,
        help:
            "Store the registration hives gzip-compressed, served with Content-Encoding: gzip by the --host configuration."
    )
    var gzip = false

    @Option(name: .long, help: "The policy file (default: shelf.json in PACKAGES-DIR, when there is one).")
    var policy: String?

    enum PrefixViolations: String, ExpressibleByArgument, CaseIterable { case refuse, warn }

    @Option(
        name: .customLong("prefix-violations"),
        help:
            "What to do with a package in a reserved ID prefix that its owner did not publish: refuse (skip it) or warn (keep it, unverified)."
    )
    var prefixViolations: PrefixViolations = .refuse

    func validate() throws {
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(),
            ["http", "https", "file"].contains(scheme),
            url.host != nil || scheme == "file"
        else {
            throw ValidationError(
                "--base-url must be an absolute http(s) URL such as https://feed.example.com/ (got '\(baseURL)')")
        }
        if baseURL.contains("?") || baseURL.contains("#") {
            throw ValidationError("--base-url must not have a query or fragment (got '\(baseURL)')")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if gzip {
            guard let host else {
                throw ValidationError(
                    "--gzip needs --host (nginx or apache): without a host that sends Content-Encoding: gzip, "
                        + "clients would read compressed bytes as JSON")
            }
            guard host.servesStoredGzip else {
                throw ValidationError(
                    "--gzip does not work with --host \(host.rawValue): it cannot send stored files with "
                        + "Content-Encoding: gzip on success only (it compresses on the fly by itself, or adds the "
                        + "header to error pages too); drop --gzip")
            }
        }
    }

    var extras: [any FeedDocumentRenderer] {
        var list: [any FeedDocumentRenderer] = noSite ? [] : [SiteRenderer()]
        if let host { list.append(HostConfigRenderer(host: host, gzip: gzip)) }
        return list
    }

    func run() async throws {
        let started = Date()
        var options = FeedBuilder.Options(
            input: packagesDir, output: out, baseURL: baseURL,
            concurrency: jobs ?? ProcessInfo.processInfo.activeProcessorCount, policyPath: policy,
            warnOnPrefixViolation: prefixViolations == .warn)
        options.full = full
        options.gzipRegistrations = gzip
        options.host = host?.rawValue
        options.leaveRecordsToExit = true
        let terminal = ProgressLine(enabled: !quiet && !json && isatty(STDERR_FILENO) == 1)
        let report: FeedBuilder.Report
        do {
            report = try await FeedBuilder(options: options, extras: extras).run {
                terminal.update($0)
            }
        } catch {
            terminal.finish()
            printError("error: \(error)")
            throw ExitCode.failure
        }
        terminal.finish()
        let seconds = Date().timeIntervalSince(started)
        for d in report.skipped { printError("\(d)") }
        if !quiet {
            for d in report.warnings { printError("\(d)") }
        }
        if json {
            print(Summary(report, seconds: seconds).jsonText)
        } else if !quiet {
            printError(Summary(report, seconds: seconds).text)
        }
        if !report.skipped.isEmpty { throw ExitCode(2) }
    }
}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

extension WebHost: ExpressibleByArgument {}
