import Foundation
import ShelfTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `shelf serve --push` through the real binary: the official client's push and delete
/// (`nugetpush`, NuGet 5.4), keys and ownership as nuget.org has them, and the server as an
/// attacker meets it (wrong keys, bodies too large or too slow, hostile packages, many pushes at
/// once, a server killed during pushes).
@Suite(.serialized)
struct PushServerTests {
    static let nugetpush = Repo.realClient + "/nugetpush"

    /// A feed built from the sample packages (its policy reserves `Shelf.Sample.` for
    /// shelf-team), served with `--push`.
    struct Setup {
        let tmp: TemporaryFolder
        let packages: String
        let out: String
        let port: Int
        var server: StaticServer?
        var url: String { "http://127.0.0.1:\(port)/" }

        init(extra: [String] = []) throws {
            tmp = try TemporaryFolder()
            packages = tmp.sub("packages")
            out = tmp.sub("out")
            try FileManager.default.createDirectory(atPath: packages, withIntermediateDirectories: true)
            for name in try FileManager.default.contentsOfDirectory(atPath: Repo.sampleFeed) {
                try FileManager.default.copyItem(atPath: Repo.sampleFeed + "/" + name, toPath: packages + "/" + name)
            }
            port = try freePort()
            let b = try shelf(["build", packages, "--out", out, "--base-url", "http://127.0.0.1:\(port)/", "--quiet"])
            #expect(b.status == 0, "\(b.stderr)")
            try start(extra)
        }

        mutating func start(_ extra: [String] = []) throws {
            server = try StaticServer(
                port: port, executable: Repo.shelf,
                arguments: ["serve", out, "--port", String(port), "--push", "--packages", packages] + extra)
        }

        mutating func stop() {
            server?.stop()
            server = nil
        }

        /// A key from `shelf keys create`.
        func key(_ owner: String, _ options: [String] = []) throws -> String {
            let r = try shelf(["keys", "create", out, "--owner", owner] + options)
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// A small package with this id and version (and `padding` random bytes stored in it).
        func package(_ id: String, _ version: String, padding: Int = 0) throws -> String {
            let path = tmp.sub("made") + "/\(id).\(version).nupkg"
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let script = """
                import os, sys, zipfile
                pid, ver, out, pad = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
                nuspec = ('<?xml version="1.0" encoding="utf-8"?><package xmlns="http://schemas.microsoft.com/'
                          'packaging/2013/05/nuspec.xsd"><metadata><id>%s</id><version>%s</version><authors>t</authors>'
                          '<description>d</description></metadata></package>' % (pid, ver))
                with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
                    z.writestr(pid + '.nuspec', nuspec)
                    z.writestr('lib/net472/_._', '')
                    if pad:
                        z.writestr(zipfile.ZipInfo('content/pad.bin'), os.urandom(pad), zipfile.ZIP_STORED)
                """
            let r = try python(["-c", script, id, version, path, String(padding)])
            #expect(r.status == 0, "\(r.stderr)")
            return path
        }

        /// A push by curl (multipart, as the client sends it); the status and the body.
        func curlPush(_ file: String, key: String?, chunked: Bool = false) throws -> (status: Int, body: String) {
            var args = ["-s", "-o", "/dev/stderr", "-w", "%{http_code}", "-X", "PUT", "-F", "package=@\(file)"]
            if let key { args += ["-H", "X-NuGet-ApiKey: \(key)"] }
            if chunked { args += ["-H", "Transfer-Encoding: chunked"] }
            let r = try run("/usr/bin/curl", args + [url + "api/v2/package/"])
            return (Int(r.stdout) ?? 0, r.stderr)
        }

        /// The versions the feed serves of an id, and which of them are listed.
        func registration(_ id: String) throws -> [String: Bool] {
            guard
                let data = FileManager.default.contents(atPath: out + "/registration/\(id.lowercased())/index.json"),
                let doc = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return [:] }
            var out: [String: Bool] = [:]
            for page in doc["items"] as? [[String: Any]] ?? [] {
                for leaf in page["items"] as? [[String: Any]] ?? [] {
                    let entry = leaf["catalogEntry"] as? [String: Any] ?? [:]
                    out[entry["version"] as? String ?? ""] = entry["listed"] as? Bool ?? true
                }
            }
            return out
        }
    }

    /// `nugetpush`'s line: PASS, or FAIL with the client's message.
    static func clientPush(_ s: Setup, _ key: String, _ arguments: [String]) throws -> ProcessResult {
        try run("/usr/bin/timeout", ["120", nugetpush, s.url + "index.json", key] + arguments)
    }

    @Test(
        "the official client pushes and deletes; it is refused with a wrong, expired, revoked or out-of-scope key, an existing version, someone else's reserved prefix, a broken package; then it restores"
    )
    func officialClient() throws {
        guard RealClientTests.available(), FileManager.default.fileExists(atPath: Self.nugetpush) else { return }
        var s = try Setup()
        defer {
            s.stop()
            s.tmp.cleanup()
        }
        let team = try s.key("shelf-team", ["--glob", "Shelf.*"])
        let mallory = try s.key("mallory")
        let unlister = try s.key("shelf-team", ["--scope", "unlist", "--glob", "Shelf.Sample.*"])
        let otherIds = try s.key("shelf-team", ["--glob", "Contoso.*"])
        let versionsOnly = try s.key("mallory", ["--scope", "push-versions"])
        let expired = try s.key("shelf-team")
        let revoked = try s.key("shelf-team")
        // Expiry is at least a day: the record is moved back in time, as time would.
        let keysPath = s.out + "/.shelf/keys.json"
        var keysDoc =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: keysPath))) as! [String: Any]
        var keys = keysDoc["keys"] as! [[String: Any]]
        let expiredId = expired.split(separator: "-")[1]
        for i in keys.indices where keys[i]["id"] as? String == String(expiredId) {
            keys[i]["expires"] = "2020-01-01T00:00:00Z"
        }
        keysDoc["keys"] = keys
        try JSONSerialization.data(withJSONObject: keysDoc).write(to: URL(fileURLWithPath: keysPath))
        #expect(try shelf(["keys", "revoke", s.out, String(revoked.split(separator: "-")[1])]).status == 0)
        let listed = try shelf(["keys", "list", s.out])
        #expect(listed.stdout.contains("expired") && listed.stdout.contains("revoked"), "\(listed.stdout)")
        #expect(!listed.stdout.contains(team.split(separator: "-")[2]), "the list never shows a key")
        #expect(!(try String(contentsOfFile: keysPath, encoding: .utf8)).contains(team.split(separator: "-")[2]))

        let newVersion = try s.package("Shelf.Sample.Core", "3.0.0")
        let newId = try s.package("Mallory.Tools", "1.0.0")
        let intruder = try s.package("Shelf.Sample.Intruder", "1.0.0")
        let mallorysSecond = try s.package("Mallory.Other", "1.0.0")
        let broken = s.tmp.sub("made") + "/Broken.1.0.0.nupkg"
        try Data("this is not a zip".utf8).write(to: URL(fileURLWithPath: broken))

        let cases: [(String, String, [String], String)] = [
            ("a new version of an id its owner has", team, ["push", newVersion], "PASS"),
            ("a new id", mallory, ["push", newId], "PASS"),
            ("the same version again", team, ["push", newVersion], "409"),
            ("with --skip-duplicate", team, ["push", newVersion, "--skip-duplicate"], "PASS"),
            ("a wrong key", "shelf-0123456789ab-nope", ["push", newVersion], "403 (the API key is not valid"),
            ("an expired key", expired, ["push", try s.package("Shelf.Sample.Core", "3.0.1")], "expired"),
            ("a revoked key", revoked, ["push", try s.package("Shelf.Sample.Core", "3.0.2")], "revoked"),
            ("a key for other ids", otherIds, ["push", try s.package("Shelf.Sample.Core", "3.0.3")], "does not cover"),
            ("another owner's id", mallory, ["push", try s.package("Shelf.Sample.Core", "3.0.4")], "belongs to"),
            ("someone else's reserved prefix", mallory, ["push", intruder], "reserved for shelf-team"),
            ("a new id with a key for new versions only", versionsOnly, ["push", mallorysSecond], "new id"),
            ("a broken package", mallory, ["push", broken], "400 (package.nupkg:"),
            (
                "delete with a key that may not unlist", team, ["delete", "Shelf.Sample.Core", "3.0.0"],
                "may not unlist"
            ),
            ("delete", unlister, ["delete", "Shelf.Sample.Core", "3.0.0"], "PASS"),
            ("delete of a version the feed does not have", unlister, ["delete", "Shelf.Sample.Core", "9.9.9"], "404"),
        ]
        for (name, key, arguments, expected) in cases {
            let r = try Self.clientPush(s, key, arguments)
            let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("PASS") || $0.hasPrefix("FAIL") } ?? ""
            if expected == "PASS" {
                #expect(line.hasPrefix("PASS"), "\(name): \(r.stdout) \(r.stderr)")
            } else {
                #expect(line.hasPrefix("FAIL") && line.contains(expected), "\(name): \(line)")
            }
        }
        // Unlisted, still served; the new id's owner recorded beside the packages.
        #expect(try s.registration("Shelf.Sample.Core")["3.0.0"] == false)
        let serverFile = try String(contentsOfFile: s.packages + "/shelf.server.json", encoding: .utf8)
        #expect(serverFile.contains("Mallory.Tools") && serverFile.contains("mallory"), "\(serverFile)")
        // Relist (POST, as nuget.org takes it).
        let relist = try run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "X-NuGet-ApiKey: \(unlister)",
                s.url + "api/v2/package/Shelf.Sample.Core/3.0.0",
            ])
        #expect(relist.stdout == "200")
        #expect(try s.registration("Shelf.Sample.Core")["3.0.0"] == true)
        // The audit log has every attempt, never a key.
        let audit = try String(contentsOfFile: s.out + "/.shelf/audit.log", encoding: .utf8)
        #expect(audit.split(separator: "\n").count >= cases.count + 1)
        for key in [team, mallory, unlister, expired] {
            #expect(!audit.contains(key.split(separator: "-")[2]))
        }
        // The feed as the client reads it, the pushed packages restored.
        let check = try checkFeed(s.out, baseURL: s.url, extra: ["--http", s.url])
        #expect(check.errors == 0, "\(check.output)")
        let client = try run(
            "/usr/bin/timeout",
            [
                "600", RealClientTests.nugetcheck, s.url + "index.json", "--packages",
                "Mallory.Tools@1.0.0,Shelf.Sample.Core@3.0.0", "--restore", "Mallory.Tools@1.0.0",
            ])
        #expect(client.status == 0, "\(client.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") })")
        // The same feed as a build of the packages folder (which now holds what was pushed).
        let rebuilt = s.tmp.sub("rebuilt")
        #expect(try shelf(["build", s.packages, "--out", rebuilt, "--base-url", s.url, "--quiet"]).status == 0)
        #expect(try historyFreeSnapshot(s.out) == (try historyFreeSnapshot(rebuilt)))
    }
}
