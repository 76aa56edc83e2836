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

        /// The server's environment (credentials for `--publish`).
        var environment: [String: String]?

        init(extra: [String] = [], environment: [String: String]? = nil) throws {
            self.environment = environment
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
                arguments: ["serve", out, "--port", String(port), "--push", "--packages", packages] + extra,
                environment: environment)
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

    /// Sends `head` (and then `body` pieces, `pause` seconds apart) on a new connection; returns
    /// what the server answered within `wait` seconds, and whether it closed the connection.
    static func raw(
        port: Int, head: String, body: [Data] = [], pause: Double = 0, wait: Double = 5
    ) throws -> (answer: String, closed: Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { return ("", true) }
        var timeout = timeval(tv_sec: Int(wait), tv_usec: Int((wait - Double(Int(wait))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func send(_ d: Data) { _ = d.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        send(Data(head.utf8))
        for piece in body {
            if pause > 0 { usleep(useconds_t(pause * 1_000_000)) }
            send(piece)
        }
        var answer = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var closed = false
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                answer.append(contentsOf: buffer[0..<n])
                continue
            }
            closed = n == 0 || (n < 0 && errno == ECONNRESET)
            break
        }
        return (String(decoding: answer, as: UTF8.self), closed)
    }

    @Test(
        "abuse: wrong keys are throttled (429, Retry-After); a body over the limit is refused unread; a stalled upload is cut off; hostile packages get the build's message"
    )
    func abuse() throws {
        var s = try Setup(extra: ["--wrong-keys", "4", "--max-package-size", "1", "--upload-timeout", "1"])
        defer {
            s.stop()
            s.tmp.cleanup()
        }
        let good = try s.key("mallory")
        let small = try s.package("Abuse.Small", "1.0.0")

        // Guessing: four wrong keys, then 429 for everyone from this address, right keys too.
        for i in 0..<4 {
            #expect(try s.curlPush(small, key: "shelf-00000000000\(i)-guess").status == 403)
        }
        let throttled = try ServeTests.curl([
            "-X", "PUT", "-H", "X-NuGet-ApiKey: \(good)", "-F", "package=@\(small)", s.url + "api/v2/package/",
        ])
        #expect(throttled.status == 429)
        // The refusal is in the audit log once per window, however many come.
        _ = try s.curlPush(small, key: good)
        let logged = try String(contentsOfFile: s.out + "/.shelf/audit.log", encoding: .utf8)
        #expect(logged.split(separator: "\n").filter { $0.contains("\"status\":429") }.count == 1, "\(logged)")
        #expect(Int(throttled.headers["retry-after"] ?? "") ?? 0 >= 1, "\(throttled.headers)")
        // Reads are not throttled.
        #expect(try ServeTests.curl([s.url + "index.json"]).status == 200)
        // The window passes (60 s is too long for a test: a server with a short window).
        s.stop()
        try s.start(["--wrong-keys", "4", "--max-package-size", "1", "--upload-timeout", "1"])

        // A body over the limit, by its length: answered before it is sent, and the connection closed.
        let head =
            "PUT /api/v2/package/ HTTP/1.1\r\nHost: x\r\nX-NuGet-ApiKey: \(good)\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Length: 10000000000\r\n\r\n"
        let started = Date()
        let big = try Self.raw(port: s.port, head: head, body: [Data(count: 65536)], wait: 10)
        #expect(big.answer.hasPrefix("HTTP/1.1 413"), "\(big.answer.prefix(200))")
        #expect(big.closed && Date().timeIntervalSince(started) < 8)
        // Chunked, so its size shows only as it streams: refused once it passes the limit.
        let chunkedHead =
            "PUT /api/v2/package/ HTTP/1.1\r\nHost: x\r\nX-NuGet-ApiKey: \(good)\r\n"
            + "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        let chunk = Data("10000\r\n".utf8) + Data(count: 65536) + Data("\r\n".utf8)
        let streamed = try Self.raw(
            port: s.port, head: chunkedHead, body: Array(repeating: chunk, count: 40), wait: 10)
        #expect(streamed.answer.hasPrefix("HTTP/1.1 413"), "\(streamed.answer.prefix(200))")
        // A curl push over the limit, as a client sees it.
        let tooBig = try s.package("Abuse.Big", "1.0.0", padding: 1_200_000)
        let tooBigPush = try s.curlPush(tooBig, key: good)
        #expect(tooBigPush.status == 413, "\(tooBigPush)")

        // Stalled: the head and a first piece, then nothing: cut off after --upload-timeout.
        let stalledAt = Date()
        let stalled = try Self.raw(port: s.port, head: chunkedHead, body: [Data("5\r\nhello\r\n".utf8)], wait: 10)
        #expect(stalled.closed, "\(stalled.answer.prefix(200))")
        #expect(Date().timeIntervalSince(stalledAt) < 8)
        // Nothing of these uploads is left, and nothing reached the packages folder.
        var left = try FileManager.default.contentsOfDirectory(atPath: s.packages)
        for _ in 0..<30 where left.contains(where: { $0.hasPrefix(".shelf-upload-") }) {
            usleep(100_000)
            left = try FileManager.default.contentsOfDirectory(atPath: s.packages)
        }
        #expect(!left.contains { $0.hasPrefix(".shelf-upload-") }, "\(left)")
        #expect(!left.contains { $0.hasPrefix("Abuse.") }, "\(left)")

        // Hostile packages: each refused with the words `shelf build` prints for it.
        let hostile = s.tmp.sub("hostile")
        #expect(try python([RobustnessTests.hostileMaker, hostile]).status == 0)
        let expected = try String(contentsOfFile: hostile + "/expected.tsv", encoding: .utf8)
        var refused = 0
        for line in expected.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            // Those the build reads (`-`, or `+` with a warning) are not refusals.
            guard parts.count == 2, !parts[1].hasPrefix("-"), !parts[1].hasPrefix("+"), parts[0].hasSuffix(".nupkg")
            else { continue }
            let file = hostile + "/" + parts[0]
            var isLink = stat()
            guard lstat(file, &isLink) == 0, isLink.st_mode & S_IFMT == S_IFREG, isLink.st_size > 0,
                isLink.st_size < 1_000_000
            else { continue }
            let r = try s.curlPush(file, key: good)
            #expect(r.status == 400, "\(parts[0]): \(r.status) \(r.body)")
            for word in parts[1].split(separator: " ") {
                #expect(r.body.lowercased().contains(word.lowercased()), "\(parts[0]): \(r.body) lacks \(word)")
            }
            refused += 1
        }
        #expect(refused >= 20, "hostile files pushed: \(refused)")
        let check = try checkFeed(s.out, baseURL: s.url, extra: ["--http", s.url])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("sixteen pushes at once all land while reads go on; the feed passes the checks")
    func sixteenAtOnce() throws {
        var s = try Setup()
        defer {
            s.stop()
            s.tmp.cleanup()
        }
        let key = try s.key("ci")
        let files = try (0..<16).map { try s.package("Concurrent.P\($0 % 5)", "1.0.\($0)") }
        let pushes = try StartedTogether(
            "/usr/bin/curl",
            files.map {
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "X-NuGet-ApiKey: \(key)",
                    "-H", "Transfer-Encoding: chunked", "-F", "package=@\($0)", s.url + "api/v2/package/",
                ]
            })
        // Reads go on while the pushes are built.
        var reads: [String] = []
        for _ in 0..<20 {
            reads.append(
                try run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", s.url + "index.json"]).stdout)
        }
        #expect(reads.allSatisfy { $0 == "200" }, "\(reads)")
        let codes = pushes.wait().map(\.stdout)
        #expect(codes.allSatisfy { $0 == "201" }, "\(codes)")
        for i in 0..<5 {
            let versions = try s.registration("Concurrent.P\(i)")
            #expect(
                versions.count == (0..<16).filter { $0 % 5 == i }.count,
                "\(i): \(versions); packages: \((try? FileManager.default.contentsOfDirectory(atPath: s.packages).filter { $0.hasPrefix("Concurrent") }.sorted()) ?? [])"
            )
        }
        let audit = try String(contentsOfFile: s.out + "/.shelf/audit.log", encoding: .utf8)
        #expect(audit.split(separator: "\n").filter { $0.contains("\"status\":201") }.count == 16)
        let check = try checkFeed(s.out, baseURL: s.url, extra: ["--http", s.url])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test(
        "a server killed at random points of pushes: no partial package, a feed that passes the checks, and the retry succeeds"
    )
    func killedServer() throws {
        var s = try Setup()
        defer {
            s.stop()
            s.tmp.cleanup()
        }
        let key = try s.key("ci")
        var rng = SeededRandom(seed: 23)
        var landedMidway = 0
        for trial in 0..<8 {
            let file = try s.package("Killed.P\(trial % 3)", "1.0.\(trial)", padding: 200_000)
            // curl at a limited rate, so the upload and the build take a while; the server is
            // killed somewhere in it.
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            p.arguments = [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "--limit-rate", "400k", "-X", "PUT",
                "-H", "X-NuGet-ApiKey: \(key)", "-F", "package=@\(file)", s.url + "api/v2/package/",
            ]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            usleep(useconds_t(rng.below(900) * 1000))
            s.stop()
            p.waitUntilExit()
            let answered = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            if answered != "201" { landedMidway += 1 }
            // No package file but whole ones (an upload is never under a package's name until
            // it is complete); the server starts again, building what it stored.
            let whole = try python([
                "-c",
                "import glob,sys,zipfile; bad=[p for p in glob.glob(sys.argv[1]+'/*.nupkg') if zipfile.ZipFile(p).testzip() is not None]; print(bad); sys.exit(1 if bad else 0)",
                s.packages,
            ])
            #expect(whole.status == 0, "trial \(trial): \(whole.stdout) \(whole.stderr)")
            try s.start()
            let check = try checkFeed(s.out, baseURL: s.url, extra: ["--http", s.url])
            #expect(check.errors == 0, "trial \(trial): \(check.output)")
            // The client's retry: 201 unless the first push was answered (then it is there: 409).
            let retry = try s.curlPush(file, key: key)
            #expect(retry.status == (answered == "201" ? 409 : 201), "trial \(trial): \(answered) then \(retry)")
            #expect(try s.registration("Killed.P\(trial % 3)")["1.0.\(trial)"] != nil)
            if check.errors != 0 { break }
        }
        #expect(landedMidway >= 3, "kills that landed while a push ran: \(landedMidway) of 8")
        let rebuilt = s.tmp.sub("rebuilt")
        #expect(try shelf(["build", s.packages, "--out", rebuilt, "--base-url", s.url, "--quiet"]).status == 0)
        #expect(try historyFreeSnapshot(s.out) == (try historyFreeSnapshot(rebuilt)))
    }

    @Test("--publish: each push is also published to a bucket, and the official client restores from it over HTTP")
    func publishing() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let moto = try PublishTests.Moto(scratch: tmp.path)
        defer { moto.stop() }
        try moto.makePublicBucket("feed")
        let base = "\(moto.endpoint)/feed/nuget/"
        // The feed is built for the bucket's URL; the server takes pushes beside it.
        let packages = tmp.sub("packages")
        try FileManager.default.createDirectory(atPath: packages, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: Repo.sampleFeed + "/Shelf.Sample.Core.1.0.0.nupkg",
            toPath: packages + "/Shelf.Sample.Core.1.0.0.nupkg")
        // The id there before the server has its owner in the policy.
        try Data(#"{"owners": {"Shelf.Sample.*": ["ci"]}}"#.utf8).write(
            to: URL(fileURLWithPath: packages + "/shelf.json"))
        let out = tmp.sub("out")
        #expect(try shelf(["build", packages, "--out", out, "--base-url", base, "--quiet"]).status == 0)
        let port = try freePort()
        let server = try StaticServer(
            port: port, executable: Repo.shelf,
            arguments: [
                "serve", out, "--port", String(port), "--push", "--packages", packages, "--publish", "s3://feed/nuget",
                "--endpoint", moto.endpoint,
            ], environment: moto.env)
        defer { server.stop() }
        let key = try shelf(["keys", "create", out, "--owner", "ci"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        for name in ["Shelf.Sample.Core.1.1.0.nupkg", "Shelf.Sample.Extensions.1.0.0.nupkg"] {
            let r = try run(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/stderr", "-w", "%{http_code}", "-X", "PUT", "-H", "X-NuGet-ApiKey: \(key)", "-F",
                    "package=@\(Repo.sampleFeed)/\(name)", server.url + "api/v2/package/",
                ])
            #expect(r.stdout == "201", "\(name): \(r.stdout) \(r.stderr)")
        }
        // When the push was answered, the bucket had it.
        let keys = try moto.keys(bucket: "feed", prefix: "nuget/flatcontainer/")
        #expect(keys.contains("nuget/flatcontainer/shelf.sample.extensions/1.0.0/shelf.sample.extensions.1.0.0.nupkg"))
        let local = tmp.sub("local")
        try PublishTests().snapshot(moto, bucket: "feed", prefix: "nuget/", into: local)
        let check = try checkFeed(local, baseURL: base, extra: ["--http", base])
        #expect(check.errors == 0, "\(check.output)")
        if RealClientTests.available() {
            let client = try run(
                "/usr/bin/timeout",
                [
                    "600", RealClientTests.nugetcheck, base + "index.json", "--packages",
                    "Shelf.Sample.Core@1.1.0,Shelf.Sample.Extensions@1.0.0", "--restore", "Shelf.Sample.Core@1.1.0",
                ])
            #expect(client.status == 0, "\(client.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") })")
        }
    }

    @Test(
        "ownership holds against look-alike ids, ids that climb out of the URL, a versions-only key on a new id, the same version under two names at once; bloated multipart and a hand-broken shelf.server.json are refused"
    )
    func ownershipEdges() throws {
        var s = try Setup()
        defer {
            s.stop()
            s.tmp.cleanup()
        }
        let bob = try s.key("bob")
        let eve = try s.key("eve", ["--scope", "push", "--scope", "unlist"])
        let teamVersionsOnly = try s.key("shelf-team", ["--scope", "push-versions"])
        #expect(try s.curlPush(try s.package("Bob.Tools", "1.0.0"), key: bob).status == 201)
        // `ſ` folds to `s` in a case-insensitive compare, not in NuGet's: another id, Eve's.
        #expect(try s.curlPush(try s.package("Bob.Tool\u{017F}", "1.0.0"), key: eve).status == 201)
        #expect(try s.curlPush(try s.package("Bob.Tools", "6.6.6"), key: eve).status == 403)
        let unlist = { (key: String, path: String) in
            try run(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", "-H", "X-NuGet-ApiKey: \(key)",
                    s.url + "api/v2/package/" + path,
                ]
            ).stdout
        }
        #expect(try unlist(eve, "Bob.Tools/1.0.0") == "403")
        #expect(try s.registration("Bob.Tools")["1.0.0"] == true)
        let server = try String(contentsOfFile: s.packages + "/shelf.server.json", encoding: .utf8)
        #expect(!server.contains("\"eve\"") || server.contains("Bob.Tool\u{017F}"), "\(server)")
        // An id that climbs out of the URL is not an id.
        #expect(try unlist(eve, "Shelf.Sample.Core%2F..%2Fshelf.sample.core/1.1.0") == "400")
        // A key for new versions only does not make a new id, even one an owner rule covers.
        #expect(try s.curlPush(try s.package("Shelf.Sample.BrandNew", "1.0.0"), key: teamVersionsOnly).status == 403)
        // The same version under two names, at once: one is taken.
        let a = try s.package("Dup.Lib", "1.0.0")
        let b = s.tmp.sub("made2") + "/dup.lib.1.0.0.0.nupkg"
        try FileManager.default.createDirectory(
            atPath: (b as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let other = try s.package("dup.lib", "1.0.0.0", padding: 10)
        try FileManager.default.moveItem(atPath: other, toPath: b)
        let statuses = try StartedTogether(
            "/usr/bin/curl",
            [a, b].map {
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "X-NuGet-ApiKey: \(bob)", "-F",
                    "package=@\($0)", s.url + "api/v2/package/",
                ]
            }
        ).wait().map { Int($0.stdout) ?? 0 }.sorted()
        #expect(statuses == [201, 409], "\(statuses)")
        let dups = try FileManager.default.contentsOfDirectory(atPath: s.packages).filter {
            $0.lowercased().hasPrefix("dup.lib")
        }
        #expect(dups.count == 1, "\(dups)")
        // A multipart header megabytes long: refused once it passes 64 KB, quickly.
        let bloated = s.tmp.sub("bloated.txt")
        var body = Data(
            "--XyZ\r\nContent-Disposition: form-data; name=\"package\"; filename=\"p.nupkg\"\r\nX-Pad: ".utf8)
        body.append(Data(repeating: 0x61, count: 4_000_000))
        body.append(Data("\r\n\r\nzip\r\n--XyZ--\r\n".utf8))
        try body.write(to: URL(fileURLWithPath: bloated))
        let started = Date()
        let r = try run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "X-NuGet-ApiKey: \(bob)", "-H",
                "Content-Type: multipart/form-data; boundary=XyZ", "--data-binary", "@\(bloated)",
                s.url + "api/v2/package/",
            ])
        #expect(r.stdout == "400", "\(r.stdout)")
        #expect(Date().timeIntervalSince(started) < 10)
        // shelf.server.json broken by hand: a push that would change it is refused; the file stays.
        let serverPath = s.packages + "/shelf.server.json"
        try Data(#"{"owners": {"Bob.Tools": 42}}"#.utf8).write(to: URL(fileURLWithPath: serverPath))
        #expect(try s.curlPush(try s.package("Bob.Fresh", "1.0.0"), key: bob).status == 500)
        #expect(try String(contentsOfFile: serverPath, encoding: .utf8) == #"{"owners": {"Bob.Tools": 42}}"#)
    }
}
