import ArgumentParser
import Foundation
import NuGetCore
import ShelfFeed
import ShelfPublish
import ShelfServe

/// `shelf serve`: a built feed over HTTP, with real search; with `--push`, a push server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Serve a built feed over HTTP, with real search; with --push, take `dotnet nuget push` with API keys.",
        discussion: """
            Serves the folder `shelf build` wrote as a configured host would: Content-Type per file, \
            Content-Encoding: gzip for documents stored compressed (--gzip), ETag and 304 Not Modified, HEAD, \
            a short cache for indexes and an immutable one for packages, CORS, 404 for anything outside the \
            folder or under \(StateRecord.folder)/. The search and autocomplete URLs of the service index answer real \
            queries (q, skip, take, prerelease, semVerLevel, packageType) from the feed's own documents, \
            read again after each build. A feed built for another --base-url is served with its links \
            rewritten to this server's URL (not with --behind-proxy). Stops on Ctrl-C.

            With --push --packages FOLDER, the service index also names a PackagePublish/2.0.0 endpoint \
            (api/v2/package): `dotnet nuget push` with a key from `shelf keys create` stores the package in \
            FOLDER, the feed is rebuilt (pushes arriving together are built together), and only then the \
            client is answered (201). `dotnet nuget delete` unlists, a POST to the same URL relists; both are \
            recorded in FOLDER/\(FeedPolicy.serverFileName) with the owners of ids first pushed here, and \
            every build reads it with the policy. Statuses: 400 a bad package (the message `shelf build` gives), \
            401 no key, 403 a wrong, expired, revoked or out-of-scope key, or an id someone else owns, \
            409 a version already there, 413 over --max-package-size, 408 an upload that stalls for \
            --upload-timeout seconds, 429 after too many wrong keys from one address (Retry-After). \
            Every push, delete and relist is written to \(StateRecord.auditLog.path).
            """
    )

    @Argument(help: "The folder `shelf build --out` wrote.")
    var dir: String

    @Option(name: .long, help: "The port (0: any free port).")
    var port: Int = 8080

    @Option(name: .long, help: "The address to listen on.")
    var bind: String = "127.0.0.1"

    @Flag(
        name: .customLong("behind-proxy"),
        help:
            "A reverse proxy on this machine serves the feed at the URL it was built for: links are served as built, and a client's address is the last in X-Forwarded-For."
    )
    var behindProxy = false

    @Option(name: .customLong("idle-timeout"), help: "Close a connection that sends nothing for this many seconds.")
    var idleTimeout: Double = 30

    @Flag(name: .long, help: "Take pushes (PackagePublish/2.0.0) with API keys; needs --packages.")
    var push = false

    @Option(name: .long, help: "With --push: the packages folder the feed is built from; pushed packages go there.")
    var packages: String?

    @Option(name: .long, help: "With --push: the policy file builds use (default: shelf.json in --packages).")
    var policy: String?

    @Option(name: .customLong("max-package-size"), help: "With --push: the largest package taken, in MB.")
    var maxPackageSize: Int64 = 250

    @Option(
        name: .customLong("upload-timeout"),
        help: "With --push: cut off an upload that sends nothing for this many seconds."
    )
    var uploadTimeout: Double = 30

    @Option(
        name: .customLong("wrong-keys"),
        help: "With --push: wrong API keys one address may send in a minute before it is answered 429.")
    var wrongKeys: Int = 10

    @Option(name: .long, help: "With --push: publish the feed to s3://BUCKET[/PREFIX] after every change.")
    var publish: String?

    @OptionGroup var s3: S3Options

    func validate() throws {
        if push && packages == nil { throw ValidationError("--push needs --packages FOLDER") }
        if !push && (packages != nil || publish != nil) {
            throw ValidationError("--packages and --publish go with --push")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard maxPackageSize > 0, maxPackageSize <= 4096 else {
            throw ValidationError("--max-package-size must be 1 to 4096 (MB)")
        }
        guard uploadTimeout > 0, uploadTimeout <= 3600, idleTimeout > 0, idleTimeout <= 3600 else {
            throw ValidationError("--upload-timeout and --idle-timeout must be more than 0, at most 3600 seconds")
        }
        guard wrongKeys >= 1 else { throw ValidationError("--wrong-keys must be 1 or more") }
    }

    func run() async throws {
        let root = URL(fileURLWithPath: dir).standardizedFileURL.path
        var endpoint: PushEndpoint?
        if push, let packages {
            endpoint = try await pushEndpoint(root: root, packages: packages)
        }
        let server: FeedServer
        do {
            server = try FeedServer(root: dir)
        } catch {
            printError("error: \(error)")
            throw ExitCode(66)
        }
        var listen = ListenOptions()
        listen.host = bind
        listen.port = port
        listen.behindProxy = behindProxy
        listen.idleTimeout = idleTimeout
        let front = ServeFront(feed: server, push: endpoint, options: listen)
        let url: String
        do {
            url = try await front.start()
        } catch {
            printError("error: cannot listen on \(bind):\(port): \(error). Try another --port, or 0 for any free one.")
            throw ExitCode(69)
        }
        let feedBase = server.feedBaseURL
        var lines = ["shelf serve: \(server.idCount) ids at \(behindProxy ? feedBase : url)index.json"]
        if feedBase != url && !behindProxy {
            lines.append("  the feed was built for \(feedBase); its links are rewritten to \(url)")
        }
        if behindProxy { lines.append("  listening on \(url), behind a proxy serving \(feedBase)") }
        if endpoint != nil {
            lines.append(
                "  pushes: \(behindProxy ? feedBase : url)\(String(PushEndpoint.path.dropFirst())) "
                    + "(keys: shelf keys create \(dir) --owner NAME)")
        }
        lines.append("  Ctrl-C stops the server.")
        // Unbuffered, so that a script reading the URL sees it at once.
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        // Runs until the process is stopped.
        while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
    }

    /// The push endpoint, after a build that brings the feed up to date with the packages folder
    /// (a server stopped during a push may have stored a package it did not build).
    func pushEndpoint(root: String, packages: String) async throws -> PushEndpoint {
        guard let data = FileManager.default.contents(atPath: root + "/" + StateRecord.buildOptions.path),
            let record = BuildOptionsRecord.decode(data)
        else {
            printError(
                "error: \(dir) holds no feed built by this Shelf (no \(StateRecord.buildOptions.path)); "
                    + "run `shelf build \(packages) --out \(dir) --base-url URL` first")
            throw ExitCode(66)
        }
        var publishing: (S3Destination, S3Client)?
        if let publish {
            do {
                publishing = try s3.client(for: publish)
            } catch {
                printError("error: \(error)")
                throw ExitCode(64)
            }
        }
        let packagesRoot = URL(fileURLWithPath: packages).standardizedFileURL.path
        let rebuild = Rebuild(
            packages: packagesRoot, output: root, record: record,
            policy: policy.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, publishing: publishing)
        let first = await rebuild.run()
        if let failure = first.failure {
            printError("error: the feed cannot be built from \(packages): \(failure)")
            throw ExitCode.failure
        }
        var settings = PushSettings(packages: packagesRoot)
        settings.policyPath = rebuild.policy
        settings.maxPackageSize = maxPackageSize * 1024 * 1024
        settings.uploadIdleTimeout = uploadTimeout
        settings.wrongKeysAllowed = wrongKeys
        return PushEndpoint(
            settings: settings, feedRoot: root, keys: KeyRing(store: KeyStore(feedRoot: root)),
            rebuild: { await rebuild.run() })
    }
}

/// The build a push server runs after each change: the feed's recorded options, the packages
/// folder, then (with --publish) a publish.
struct Rebuild: Sendable {
    let packages: String
    let output: String
    let record: BuildOptionsRecord
    let policy: String?
    let publishing: (S3Destination, S3Client)?

    func run() async -> RebuildOutcome {
        var options = FeedBuilder.Options(
            input: packages, output: output, baseURL: record.baseURL, policyPath: policy,
            warnOnPrefixViolation: record.warnOnPrefixViolation)
        options.gzipRegistrations = record.gzipRegistrations
        options.host = record.host
        let report: FeedBuilder.Report
        var waited = 0
        while true {
            do {
                report = try await FeedBuilder(options: options, extras: PushRun.extras(record)).run()
                break
            } catch StateError.locked(_, _) where waited < 300 {
                // A `shelf build` of the same folder by hand: wait for it.
                try? await Task.sleep(nanoseconds: 200_000_000)
                waited += 1
            } catch {
                printError("shelf serve: the feed could not be rebuilt: \(error)")
                return RebuildOutcome(failure: "\(error)")
            }
        }
        var refused: [String: String] = [:]
        for d in report.skipped {
            if let file = d.file { refused[packages + "/" + file] = d.message }
        }
        if let (target, client) = publishing {
            do {
                _ = try await Publisher(root: output, destination: target, client: client, options: .init()).run()
            } catch {
                return RebuildOutcome(failure: "the feed was built but not published: \(error)", refused: refused)
            }
        }
        return RebuildOutcome(refused: refused)
    }
}
