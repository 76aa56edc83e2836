import Foundation
import ShelfTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `--host` configurations, and nginx (the Debian package, started here on 127.0.0.1) serving a
/// feed with the generated `server` block, with and without `--gzip`, checked with feedcheck over
/// HTTP, `shelf validate` and the response headers.
@Suite(.serialized)
struct HostingTests {
    /// nginx on 127.0.0.1 with the feed's generated configuration, edited as the README says.
    final class Nginx {
        let process = Process()
        let port: Int
        let folder: String

        init(feed: String, port: Int, scratch: String) throws {
            self.port = port
            folder = scratch
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let generated = try String(contentsOfFile: feed + "/.shelf/host/nginx.conf", encoding: .utf8)
            let site = generated.replacingOccurrences(of: "listen 80;", with: "listen 127.0.0.1:\(port);")
                .replacingOccurrences(of: "root /srv/shelf-feed;", with: "root \(feed);")
            try site.write(toFile: scratch + "/site.conf", atomically: true, encoding: .utf8)
            let main = """
                daemon off;
                worker_processes 1;
                pid \(scratch)/nginx.pid;
                error_log \(scratch)/error.log;
                events {}
                http {
                    access_log off;
                    client_body_temp_path \(scratch)/body;
                    proxy_temp_path \(scratch)/proxy;
                    fastcgi_temp_path \(scratch)/fastcgi;
                    uwsgi_temp_path \(scratch)/uwsgi;
                    scgi_temp_path \(scratch)/scgi;
                    include \(scratch)/site.conf;
                }
                """
            try main.write(toFile: scratch + "/nginx.conf", atomically: true, encoding: .utf8)
            let test = try run(Self.binary, ["-t", "-c", scratch + "/nginx.conf", "-p", scratch])
            #expect(test.status == 0, "nginx -t: \(test.stderr)")
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = ["-c", scratch + "/nginx.conf", "-p", scratch]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            try waitUntilListening(port: port, process: process)
        }

        static var binary: String {
            ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "nginx"
        }

        var url: String { "http://127.0.0.1:\(port)/" }

        func stop() {
            kill(process.processIdentifier, SIGQUIT)
            process.waitUntilExit()
        }
    }

    /// Response headers of a GET (lowercased names), and the status.
    static func headers(_ url: String) throws -> (status: Int, headers: [String: String]) {
        let r = try ServeTests.curl([url, "-o", "/dev/null"])
        return (r.status, r.headers)
    }

    @Test(
        "nginx with the generated server block serves the feed: feedcheck over HTTP passes", arguments: [false, true])
    func nginx(gzip: Bool) throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let port = try freePort()
        let base = "http://127.0.0.1:\(port)/"
        let out = tmp.sub("feed")
        let built = try shelf(
            ["build", Repo.sampleFeed, "--out", out, "--base-url", base, "--host", "nginx", "--quiet"]
                + (gzip ? ["--gzip"] : []))
        #expect(built.status == 0, "\(built.stderr)")
        let stored = try Data(contentsOf: URL(fileURLWithPath: out + "/registration/shelf.sample.core/index.json"))
        #expect(stored.starts(with: [0x1F, 0x8B]) == gzip, "registration stored compressed only with --gzip")

        let server = try Nginx(feed: out, port: port, scratch: tmp.sub("nginx"))
        defer { server.stop() }
        let check = try checkFeed(out, baseURL: base, extra: ["--http", base])
        #expect(check.errors == 0, "\(check.output)")
        let validate = try shelf(["validate", base + "index.json"])
        #expect(validate.status == 0, "\(validate.stderr)")

        let index = try Self.headers(base + "index.json")
        #expect(index.status == 200)
        #expect(index.headers["content-type"] == "application/json")
        #expect(index.headers["cache-control"] == "public, max-age=60, must-revalidate")
        #expect(index.headers["access-control-allow-origin"] == "*")
        let nupkg = try Self.headers(base + "flatcontainer/shelf.sample.core/1.0.0/shelf.sample.core.1.0.0.nupkg")
        #expect(nupkg.headers["content-type"] == "application/octet-stream")
        #expect(nupkg.headers["cache-control"] == "public, max-age=31536000, immutable")
        let registration = try Self.headers(base + "registration-semver2/shelf.sample.core/index.json")
        #expect(registration.headers["content-encoding"] == (gzip ? "gzip" : nil))
        #expect(registration.headers["content-type"] == "application/json")
        // A registration that is not there is a plain 404, never one that claims to be gzip.
        let missing = try Self.headers(base + "registration/shelf.sample.preview/index.json")
        #expect(missing.status == 404)
        #expect(missing.headers["content-encoding"] == nil)
        // Shelf's record stays private; the home page is the site, index.json stays the service index.
        #expect(try Self.headers(base + ".shelf/catalog.bin").status == 404)
        #expect(try Self.headers(base).headers["content-type"]?.hasPrefix("text/html") == true)
    }

    @Test("every host gets its files; changing host removes the old ones; --gzip only where it works")
    func hostFiles() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let out = tmp.sub("feed")
        let expected: [(String, [String])] = [
            ("apache", [".htaccess"]), ("iis", ["web.config"]), ("netlify", ["_headers", "_redirects"]),
            ("cloudflare", ["_headers"]), ("github-pages", [".nojekyll"]), ("nginx", [".shelf/host/nginx.conf"]),
        ]
        let all = Set(expected.flatMap(\.1))
        for (host, files) in expected {
            let r = try shelf([
                "build", Repo.sampleFeed, "--out", out, "--base-url", "https://feed.example.com/", "--host", host,
                "--quiet",
            ])
            #expect(r.status == 0, "\(host): \(r.stderr)")
            for file in files { #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(host): \(file)") }
            for file in all.subtracting(files) where !file.hasPrefix(".shelf/") {
                #expect(!FileManager.default.fileExists(atPath: out + "/" + file), "\(host) leaves no \(file)")
            }
        }
        for host in ["github-pages", "netlify", "cloudflare", "iis"] {
            let r = try shelf([
                "build", Repo.sampleFeed, "--out", tmp.sub("g"), "--base-url", "https://x/", "--host", host, "--gzip",
            ])
            #expect(r.status == 64, "\(host)")
            #expect(r.stderr.contains("--gzip does not work with --host \(host)"), "\(r.stderr)")
        }
        let bare = try shelf(["build", Repo.sampleFeed, "--out", tmp.sub("g"), "--base-url", "https://x/", "--gzip"])
        #expect(bare.status == 64 && bare.stderr.contains("--gzip needs --host"), "\(bare.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tmp.sub("g")), "nothing written when the options are refused")
    }
}
