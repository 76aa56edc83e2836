import Foundation
import ShelfTestSupport
import Testing

/// Search, autocomplete, the catalog across builds, and the package site in headless Chromium,
/// all through the real `shelf` binary.
@Suite(.serialized)
struct DiscoveryTests {
    static let baseURL = "https://feed.example.com/"

    /// Where the browser test leaves its screenshots (named in the README).
    static let screenshots = Repo.root.appendingPathComponent("test-artifacts/screenshots").path

    static func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func catalogItems(_ feed: String, baseURL: String = baseURL) throws -> [[String: Any]] {
        let index = try json(feed + "/catalog/index.json")
        var items: [[String: Any]] = []
        for page in index["items"] as? [[String: Any]] ?? [] {
            let url = try #require(page["@id"] as? String)
            let path = feed + "/" + url.dropFirst(baseURL.count)
            items += try json(path)["items"] as? [[String: Any]] ?? []
        }
        return items
    }

    @Test(
        "a change of listing, deprecation or advisories appends a PackageDetails item; the registration links the new leaf and takes its commit"
    )
    func catalogFollowsAnnotations() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        let out = tmp.sub("feed")
        try FileManager.default.copyItem(atPath: Repo.sampleFeed, toPath: input)
        let policyPath = input + "/shelf.json"
        var policy = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: policyPath)))
                as? [String: Any])
        func build(_ change: ((inout [String: Any]) -> Void)? = nil) throws -> [[String: Any]] {
            if let change {
                change(&policy)
                try JSONSerialization.data(withJSONObject: policy).write(to: URL(fileURLWithPath: policyPath))
            }
            let r = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            return try Self.catalogItems(out)
        }
        /// The leaf of the last item, and the registration of its version in the SemVer 2.0.0 hive.
        func latest(_ items: [[String: Any]]) throws -> (item: [String: Any], leaf: [String: Any], reg: [String: Any]) {
            let item = try #require(items.last)
            let leaf = try Self.json(out + "/" + (try #require(item["@id"] as? String)).dropFirst(Self.baseURL.count))
            let id = try #require(item["nuget:id"] as? String).lowercased()
            let version = try #require(item["nuget:version"] as? String).lowercased()
            let reg = try Self.json(out + "/registration-semver2/\(id)/\(version).json")
            return (item, leaf, reg)
        }
        let first = try build()
        #expect(first.count == 9)

        // Unlisted: a new item; its leaf says so as nuget.org's do (published in 1900).
        let unlisted = try build { $0["unlisted"] = ["Shelf.Sample.Core": ["2.0.0-beta", "1.1.0"]] }
        #expect(unlisted.count == 10)
        let u = try latest(unlisted)
        #expect(u.item["nuget:version"] as? String == "1.1.0" && u.item["@type"] as? String == "nuget:PackageDetails")
        #expect(u.leaf["listed"] as? Bool == false && u.leaf["published"] as? String == "1900-01-01T00:00:00Z")
        #expect(u.reg["catalogEntry"] as? String == u.item["@id"] as? String, "the registration links the latest leaf")
        let index = try Self.json(out + "/registration-semver2/shelf.sample.core/index.json")
        #expect(index["commitId"] as? String == u.item["commitId"] as? String, "the index takes the id's last commit")

        // Deprecated, then an advisory: each a new item whose leaf carries it.
        let deprecated = try build { p in
            var list = p["deprecations"] as? [[String: Any]] ?? []
            list.append(["id": "Shelf.Sample.Preview", "reasons": ["Other"], "message": "Use Shelf.Sample.Core."])
            p["deprecations"] = list
        }
        #expect(deprecated.count == 11)
        let d = try latest(deprecated)
        #expect(d.item["nuget:id"] as? String == "Shelf.Sample.Preview")
        #expect((d.leaf["deprecation"] as? [String: Any])?["reasons"] as? [String] == ["Other"])
        let advised = try build { p in
            var list = p["vulnerabilities"] as? [[String: Any]] ?? []
            list.append([
                "id": "Shelf.Sample.Extensions", "versions": "[1.0.0]", "severity": "moderate",
                "advisoryUrl": "https://example.com/advisories/SHELF-2024-0002",
            ])
            p["vulnerabilities"] = list
        }
        #expect(advised.count == 12)
        let v = try latest(advised)
        #expect(v.item["nuget:id"] as? String == "Shelf.Sample.Extensions")
        let advisories = v.leaf["vulnerabilities"] as? [[String: Any]]
        #expect(advisories?.first?["advisoryUrl"] as? String == "https://example.com/advisories/SHELF-2024-0002")
        #expect(advisories?.first?["severity"] as? String == "1")

        // The same policy again: nothing new.
        #expect(try build().count == 12)
        let check = try checkFeed(out, baseURL: Self.baseURL)
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("static search: listed ids, latest version first, versions with links, totalHits == hits, at most 25")
    func search() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let out = tmp.sub("feed")
        let r = try shelf(["build", Repo.fixtures, "--out", out, "--base-url", Self.baseURL, "--quiet"])
        #expect(r.status == 2)
        let query = try Self.json(out + "/search/query.json")
        let data = try #require(query["data"] as? [[String: Any]])
        #expect(data.count == 25, "Visual Studio's page size: more would make it load the same page forever")
        #expect(query["totalHits"] as? Int == data.count)
        for hit in data {
            let versions = try #require(hit["versions"] as? [[String: Any]])
            #expect(!versions.isEmpty)
            for v in versions {
                let content = try #require(v["packageContent"] as? String)
                #expect(FileManager.default.fileExists(atPath: out + "/" + content.dropFirst(Self.baseURL.count)))
                let leaf = try #require(v["@id"] as? String)
                #expect(FileManager.default.fileExists(atPath: out + "/" + leaf.dropFirst(Self.baseURL.count)))
            }
            for key in ["id", "version", "description", "authors", "owners", "packageTypes", "verified", "tags"] {
                #expect(hit[key] != nil, "search hit lacks \(key)")
            }
        }
        let autocomplete = try Self.json(out + "/search/autocomplete.json")
        #expect((autocomplete["data"] as? [String])?.count == 36)
        #expect(autocomplete["totalHits"] as? Int == 36)
        let check = try checkFeed(out, baseURL: Self.baseURL)
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("the catalog is append-only across builds: deletes and re-adds are new items, history is kept")
    func catalogHistory() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        let out = tmp.sub("feed")
        try FileManager.default.copyItem(atPath: Repo.sampleFeed, toPath: input)
        func build() throws {
            let r = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        try build()
        let first = try Self.catalogItems(out)
        #expect(first.count == 9)
        #expect(first.allSatisfy { $0["@type"] as? String == "nuget:PackageDetails" })

        // A rebuild with nothing new adds nothing.
        try build()
        #expect(try Self.catalogItems(out).count == 9)

        // Remove one package: a PackageDelete is appended and the old leaf stays.
        let removed = input + "/Shelf.Sample.Legacy.1.2.3.4.nupkg"
        let kept = tmp.sub("Shelf.Sample.Legacy.1.2.3.4.nupkg")
        try FileManager.default.moveItem(atPath: removed, toPath: kept)
        try build()
        let second = try Self.catalogItems(out)
        #expect(second.count == 10)
        #expect(second.last?["@type"] as? String == "nuget:PackageDelete")
        #expect(second.last?["nuget:id"] as? String == "Shelf.Sample.Legacy")
        for item in first {
            let leaf = try #require(item["@id"] as? String)
            #expect(
                FileManager.default.fileExists(atPath: out + "/" + leaf.dropFirst(Self.baseURL.count)),
                "an old leaf stays readable: \(leaf)")
        }
        // Put it back: a new PackageDetails.
        try FileManager.default.moveItem(atPath: kept, toPath: removed)
        try build()
        let third = try Self.catalogItems(out)
        #expect(third.count == 11)
        #expect(third.last?["@type"] as? String == "nuget:PackageDetails")
        // Earlier items never change, and commit times strictly increase.
        #expect(NSArray(array: Array(third.prefix(10))).isEqual(to: second))
        let times = third.compactMap { $0["commitTimeStamp"] as? String }
        #expect(times.count == 11 && zip(times, times.dropFirst()).allSatisfy { $0 < $1 })

        // A lost state file: the history is read back from the catalog, and nothing changes.
        let before = try snapshot(out) { $0.hasPrefix(".shelf/") }
        try FileManager.default.removeItem(atPath: out + "/.shelf/catalog.bin")
        try build()
        #expect(try snapshot(out) { $0.hasPrefix(".shelf/") } == before)
        // A damaged one: a warning, the same recovery.
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: out + "/.shelf/catalog.bin"))
        let r = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL])
        #expect(r.status == 0)
        #expect(r.stderr.contains("warning: .shelf/catalog.bin is not valid"), "\(r.stderr)")
        #expect(try snapshot(out) { $0.hasPrefix(".shelf/") } == before)
        // A build that stopped after the catalog but before the state file: the stale state is
        // noticed and the catalog on disk wins, so no commit followers have seen is lost.
        // (The state is the history's base and the tail of items appended since.)
        let stateFiles = [out + "/.shelf/catalog.bin", out + "/.shelf/catalog-tail.bin"]
        let stale = try stateFiles.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        try FileManager.default.moveItem(atPath: removed, toPath: kept)
        try build()
        #expect(try Self.catalogItems(out).count == 12)
        for (data, path) in zip(stale, stateFiles) { try data.write(to: URL(fileURLWithPath: path)) }
        try FileManager.default.moveItem(atPath: kept, toPath: removed)
        let r3 = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL])
        #expect(r3.stderr.contains("is behind the catalog"), "\(r3.stderr)")
        let fourth = try Self.catalogItems(out)
        #expect(fourth.count == 13)
        #expect(fourth.suffix(2).map { $0["@type"] as? String } == ["nuget:PackageDelete", "nuget:PackageDetails"])
        let check = try checkFeed(out, baseURL: Self.baseURL)
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("package pages at every casing a client sends, per-id pages, badges, and --no-site")
    func siteFiles() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let out = tmp.sub("feed")
        let r = try shelf(["build", Repo.sampleFeed, "--out", out, "--base-url", Self.baseURL, "--quiet"])
        #expect(r.status == 0)
        let index = try Self.json(out + "/index.json")
        let resources = try #require(index["resources"] as? [[String: Any]])
        let template =
            resources.first { $0["@type"] as? String == "PackageDetailsUriTemplate/5.1.0" }?["@id"] as? String
        #expect(template == Self.baseURL + "packages/{id}/{version}.html")
        let readme = resources.first { $0["@type"] as? String == "ReadmeUriTemplate/6.13.0" }?["@id"] as? String
        #expect(readme == Self.baseURL + "flatcontainer/{lower_id}/{lower_version}/readme.md")
        for path in [
            "index.html", "packages/shelf.sample.core/2.0.0-rc.1.html", "packages/Shelf.Sample.Core/2.0.0-rc.1.html",
            "packages/Shelf.Sample.Core/index.html", "packages/shelf.sample.core/index.html",
            "packages/Shelf.Sample.Legacy/1.2.3.4.html", "badges/shelf.sample.core.svg",
            "badges/shelf.sample.core.json",
            "assets/search-index.js", "assets/search.js", "assets/site.css",
        ] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + path), "\(path) is missing")
        }
        // The copies for each casing are the same page.
        let a = try Data(contentsOf: URL(fileURLWithPath: out + "/packages/shelf.sample.core/2.0.0.html"))
        let b = try Data(contentsOf: URL(fileURLWithPath: out + "/packages/Shelf.Sample.Core/2.0.0.html"))
        #expect(a == b)
        let badge = try Self.json(out + "/badges/shelf.sample.core.json")
        #expect(badge["message"] as? String == "v2.0.0")
        let svg = try String(contentsOfFile: out + "/badges/shelf.sample.core.svg", encoding: .utf8)
        #expect(svg.contains("v2.0.0") && svg.hasPrefix("<svg"))

        // --no-site: no pages, no PackageDetailsUriTemplate, and the old pages are removed.
        let r2 = try shelf(["build", Repo.sampleFeed, "--out", out, "--base-url", Self.baseURL, "--quiet", "--no-site"])
        #expect(r2.status == 0)
        #expect(!FileManager.default.fileExists(atPath: out + "/index.html"))
        #expect(!FileManager.default.fileExists(atPath: out + "/packages"))
        let index2 = try String(contentsOfFile: out + "/index.json", encoding: .utf8)
        #expect(!index2.contains("PackageDetailsUriTemplate"))
    }

    @Test("an id with many versions: each version page lists the 21 nearest and links to the full list on the latest")
    func versionWindow() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        #expect(try python([IncrementalTests.generator, input, "--versions", "400", "--seed", "3"]).status == 0)
        let out = tmp.sub("feed")
        #expect(try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--quiet"]).status == 0)
        // The id with the most versions (all listed in the generated feed).
        let flat = out + "/flatcontainer"
        var best = ("", [String]())
        for id in try FileManager.default.contentsOfDirectory(atPath: flat) {
            let versions = try #require(Self.json(flat + "/" + id + "/index.json")["versions"] as? [String])
            if versions.count > best.1.count { best = (id, versions) }
        }
        let (id, versions) = best
        try #require(versions.count > 40, "the generator made an id with many versions")
        func rows(_ version: String) throws -> [String] {
            let html = try String(contentsOfFile: out + "/packages/\(id)/\(version).html", encoding: .utf8)
            let table = try #require(html.range(of: "<table class=\"versions\">").map { html[$0.upperBound...] })
            let body = table[..<table.range(of: "</table>")!.lowerBound]
            let link = try NSRegularExpression(pattern: "<a [^>]*>([^<]*)</a>")
            let text = String(body)
            return link.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
                String(text[Range($0.range(at: 1), in: text)!])
            }
        }
        // The id's index.html is its latest version's page.
        let all = try rows("index")
        #expect(all.count == versions.count, "the latest page lists every version")
        #expect(Set(all) == Set(versions), "the latest page lists every version")
        for version in [versions[0], versions[versions.count / 2], versions[versions.count - 2]] {
            let shown = try rows(version)
            #expect(shown.count == 21, "\(version): \(shown.count) rows")
            #expect(shown.contains(version), "\(version) is in its own list")
            let here = try #require(all.firstIndex(of: version))
            let start = max(0, min(here - 10, all.count - 21))
            #expect(shown == Array(all[start..<start + 21]), "\(version): the nearest versions, newest first")
            let html = try String(contentsOfFile: out + "/packages/\(id)/\(version).html", encoding: .utf8)
            #expect(html.contains(".html#versions-h\">All \(versions.count) versions</a>"))
        }
    }

    /// Headless Chromium through Selenium: see scripts/browser/site-check.py for each check.
    @Test(
        "the site in headless Chromium: search as you type, README, dependencies, hostile text runs nothing, long ids fit"
    )
    func browser() throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(
                FileManager.default.isExecutableFile(atPath: tool),
                "\(tool) is missing: install Debian's chromium and chromium-driver (.ci/run does)")
        }
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        let out = tmp.sub("feed")
        try FileManager.default.copyItem(atPath: Repo.sampleFeed, toPath: input)
        let made = try python([Repo.root.appendingPathComponent("scripts/make-hostile-packages.py").path, input])
        #expect(made.status == 0, "\(made.stderr)")
        let r = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL])
        #expect(r.status == 0, "\(r.stderr)")
        // An SVG icon or a .js license file would run on the feed's origin: not published, with a warning.
        let hostileFolder = out + "/flatcontainer/shelf.hostile/1.0.0/"
        let published = try FileManager.default.contentsOfDirectory(atPath: hostileFolder)
        #expect(!published.contains("icon.svg") && !published.contains("license.js"), "\(published)")
        #expect(r.stderr.contains("the icon 'icon.svg' has an extension NuGet does not accept"), "\(r.stderr)")
        #expect(r.stderr.contains("the license file 'LICENSE.js' has an extension NuGet does not accept"))
        // The long-id package's page (its id and version are the generator's).
        let ids = try FileManager.default.contentsOfDirectory(atPath: out + "/packages")
        let layoutId = try #require(ids.first { $0.hasPrefix("shelf.layout.") })
        let layoutPage = try #require(
            try FileManager.default.contentsOfDirectory(atPath: out + "/packages/" + layoutId).first {
                $0 != "index.html"
            })
        let server = try StaticServer(serving: out)
        defer { server.stop() }
        let check = try python([
            Repo.root.appendingPathComponent("scripts/browser/site-check.py").path, server.url, Self.screenshots,
            "--hostile", "shelf.hostile/1.0.0", "--layout", layoutId + "/" + layoutPage.dropLast(".html".count),
        ])
        #expect(check.status == 0, "\(check.stdout)\n\(check.stderr.suffix(3000))")
        for shot in ["home.png", "package.png"] {
            #expect(FileManager.default.fileExists(atPath: Self.screenshots + "/" + shot))
        }
    }
}
