import Foundation
import ShelfTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `shelf serve` on 127.0.0.1: feedcheck and `shelf validate` over HTTP, headers, conditional
/// requests, HEAD, paths that try to leave the folder, stored gzip, and real search.
@Suite(.serialized)
struct ServeTests {
    /// `shelf serve` on this port, ready to answer.
    static func serve(_ feed: String, port: Int) throws -> StaticServer {
        try StaticServer(port: port, executable: Repo.shelf, arguments: ["serve", feed, "--port", String(port)])
    }

    static func curl(_ arguments: [String]) throws -> (status: Int, headers: [String: String], body: String) {
        let r = try run("/usr/bin/curl", ["-s", "-D", "/dev/stderr", "--path-as-is"] + arguments)
        var headers: [String: String] = [:]
        var status = 0
        for line in r.stderr.split(separator: "\r\n") {
            if line.hasPrefix("HTTP/") {
                status = Int(line.split(separator: " ")[1]) ?? 0
            } else if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
        }
        return (status, headers, r.stdout)
    }

    static func json(_ url: String) throws -> [String: Any] {
        let r = try curl([url])
        return (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? [:]
    }

    @Test("feedcheck and shelf validate over HTTP, with and without --gzip; headers, ETag/304, HEAD, 404s")
    func servesTheFeed() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        for gzip in [false, true] {
            let port = try freePort()
            let base = "http://127.0.0.1:\(port)/"
            let out = tmp.sub(gzip ? "gz" : "plain")
            let build = try shelf(
                ["build", Repo.sampleFeed, "--out", out, "--base-url", base, "--quiet"]
                    + (gzip ? ["--host", "nginx", "--gzip"] : []))
            #expect(build.status == 0, "\(build.stderr)")
            let server = try Self.serve(out, port: port)
            defer { server.stop() }
            let check = try checkFeed(out, baseURL: base, extra: ["--http", base])
            #expect(check.errors == 0, "gzip \(gzip): \(check.output)")
            let validate = try shelf(["validate", base + "index.json", "--quiet"])
            #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")

            let hive = try Self.curl([base + "registration/shelf.sample.core/index.json", "-o", "/dev/null"])
            #expect(hive.status == 200)
            #expect(hive.headers["content-type"] == "application/json")
            #expect(hive.headers["content-encoding"] == (gzip ? "gzip" : nil))
            #expect(hive.headers["cache-control"] == "public, max-age=60, must-revalidate")
            #expect(hive.headers["access-control-allow-origin"] == "*")
            let etag = try #require(hive.headers["etag"])
            let again = try Self.curl([
                base + "registration/shelf.sample.core/index.json", "-H", "If-None-Match: \(etag)",
            ])
            #expect(again.status == 304)
            #expect(again.body.isEmpty)

            let nupkgURL = base + "flatcontainer/shelf.sample.core/1.0.0/shelf.sample.core.1.0.0.nupkg"
            let head = try Self.curl(["-I", nupkgURL])
            #expect(head.status == 200)
            #expect(head.headers["cache-control"] == "public, max-age=31536000, immutable")
            let size =
                try FileManager.default.attributesOfItem(
                    atPath: out + "/flatcontainer/shelf.sample.core/1.0.0/shelf.sample.core.1.0.0.nupkg")[.size] as? Int
            #expect(head.headers["content-length"] == size.map(String.init))
            #expect(try Self.curl(["-I", base]).headers["content-type"] == "text/html")

            for path in ["../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", ".shelf/input.sig", "missing.json", "a%00b"] {
                #expect(try Self.curl([base + path]).status == 404, "\(path)")
            }
        }
    }

    @Test("A symlink that leaves the folder is not followed")
    func symlinkEscape() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let port = try freePort()
        let out = tmp.sub("out")
        #expect(
            try shelf(["build", Repo.sampleFeed, "--out", out, "--base-url", "http://127.0.0.1:\(port)/"]).status == 0)
        try "secret".write(toFile: tmp.sub("secret.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: out + "/leak.txt", withDestinationPath: tmp.sub("secret.txt"))
        try FileManager.default.createSymbolicLink(atPath: out + "/up", withDestinationPath: tmp.path)
        let server = try Self.serve(out, port: port)
        defer { server.stop() }
        #expect(try Self.curl([server.url + "leak.txt"]).status == 404)
        #expect(try Self.curl([server.url + "up/secret.txt"]).status == 404)
    }

    @Test("Search: q, skip, take, prerelease, semVerLevel, packageType; autocomplete ids and versions")
    func search() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let port = try freePort()
        let out = tmp.sub("out")
        // Built for another URL: the server rewrites the links to its own.
        #expect(
            try shelf(["build", Repo.sampleFeed, "--out", out, "--base-url", "https://feed.example.com/x/"]).status == 0
        )
        let server = try Self.serve(out, port: port)
        defer { server.stop() }
        let q = server.url + "search/query.json"
        func ids(_ doc: [String: Any]) -> [String] {
            (doc["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        }

        let all = try Self.json(q + "?prerelease=true&semVerLevel=2.0.0")
        #expect(all["totalHits"] as? Int == 5)
        let stable = try Self.json(q)
        #expect(!ids(stable).contains("Shelf.Sample.Preview"), "prerelease-only ids need prerelease=true")
        let exact = try Self.json(q + "?q=shelf.sample.core")
        #expect(ids(exact).first == "Shelf.Sample.Core")
        let hit = try #require((exact["data"] as? [[String: Any]])?.first)
        #expect((hit["registration"] as? String)?.hasPrefix(server.url + "registration/") == true)
        #expect(
            (hit["versions"] as? [[String: Any]])?.allSatisfy { ($0["@id"] as? String)?.hasPrefix(server.url) == true }
                == true)
        #expect((hit["iconUrl"] as? String)?.hasPrefix(server.url) == true, "links are rewritten to the server")
        let semver2 = try Self.json(q + "?q=shelf.sample.core&semVerLevel=2.0.0")
        #expect(
            ((semver2["data"] as? [[String: Any]])?.first?["registration"] as? String)?.contains(
                "/registration-semver2/") == true)

        let page1 = try Self.json(q + "?prerelease=true&semVerLevel=2.0.0&take=2")
        let page2 = try Self.json(q + "?prerelease=true&semVerLevel=2.0.0&take=2&skip=2")
        #expect(ids(page1).count == 2 && ids(page2).count == 2)
        #expect(Set(ids(page1)).isDisjoint(with: ids(page2)))
        #expect(ids(try Self.json(q + "?skip=26")).isEmpty)
        #expect(try Self.curl([q + "?take=abc"]).status == 400)
        #expect(ids(try Self.json(q + "?packageType=DotnetTool&prerelease=true&semVerLevel=2.0.0")).isEmpty)
        #expect(ids(try Self.json(q + "?packageType=dependency")).count == ids(stable).count)
        #expect(ids(try Self.json(q + "?q=packageid:shelf.sample.legacy")) == ["Shelf.Sample.Legacy"])
        #expect(ids(try Self.json(q + "?q=nothing-like-this")).isEmpty)
        // Package types as nuget.org reads them: every list, names trimmed, exact repeats dropped.
        let custom = try Self.json(q + "?packageType=Shelf.Custom")
        #expect(ids(custom) == ["Shelf.Sample.Analyzers"])
        let types = (custom["data"] as? [[String: Any]])?.first?["packageTypes"] as? [[String: String]]
        #expect(types == [["name": "Dependency"], ["name": "Shelf.Custom"]])

        let a = server.url + "search/autocomplete.json"
        let auto = try Self.json(a + "?q=sample&prerelease=true&semVerLevel=2.0.0")
        #expect((auto["data"] as? [String])?.count == 5)
        let versions = try Self.json(a + "?id=shelf.sample.core")
        #expect(versions["data"] as? [String] == ["1.0.0", "1.1.0", "2.0.0"])

        let check = try checkFeed(out, baseURL: server.url, extra: ["--http", server.url])
        #expect(check.errors == 0, "\(check.output)")
    }
}
