import ArgumentParser
import Foundation
import ShelfFeed
import ShelfServe

/// `shelf serve`: a built feed over HTTP on 127.0.0.1, with real search.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a built feed on 127.0.0.1, with real search, for local use and testing.",
        discussion: """
            Serves the folder `shelf build` wrote as a configured host would: Content-Type per file, \
            Content-Encoding: gzip for documents stored compressed (--gzip), ETag and 304 Not Modified, HEAD, \
            a short cache for indexes and an immutable one for packages, CORS, 404 for anything outside the \
            folder or under \(StateRecord.folder)/. The search and autocomplete URLs of the service index answer real \
            queries (q, skip, take, prerelease, semVerLevel, packageType) from the feed's own documents, \
            read again after each build. A feed built for another --base-url is served with its links \
            rewritten to this server's URL. Stops on Ctrl-C.
            """
    )

    @Argument(help: "The folder `shelf build --out` wrote.")
    var dir: String

    @Option(name: .long, help: "The port on 127.0.0.1 (0: any free port).")
    var port: UInt16 = 8080

    func run() async throws {
        let server: FeedServer
        do {
            server = try FeedServer(root: dir)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(66)
        }
        let url: String
        do {
            url = try await server.start(port: port)
        } catch {
            FileHandle.standardError.write(
                Data(
                    "error: cannot listen on 127.0.0.1:\(port): \(error). Try another --port, or 0 for any free one.\n"
                        .utf8))
            throw ExitCode(69)
        }
        let feedBase = await server.feedBaseURL
        var lines = ["shelf serve: \(await server.idCount) ids at \(url)index.json"]
        if feedBase != url {
            lines.append("  the feed was built for \(feedBase); its links are rewritten to \(url)")
        }
        lines.append("  Ctrl-C stops the server.")
        // Unbuffered, so that a script reading the URL sees it at once.
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        // Runs until the process is stopped.
        while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
    }
}
