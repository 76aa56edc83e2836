import Foundation
import ShelfTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `shelf publish` against an S3 server on 127.0.0.1 (`moto_server`, from PyPI, started here),
/// checked with the AWS CLI (`aws s3api`), feedcheck over HTTP at the bucket's URL and
/// `shelf validate`: publish twice (the second uploads nothing), updates and deletions (objects
/// Shelf did not write stay), publishes killed at random points (the feed behind `index.json`
/// passes feedcheck after every kill; the rerun converges), and two publishers at once.
@Suite(.serialized)
struct PublishTests {
    /// The credentials moto accepts, from a shared credentials file and a profile, as a user's would be.
    static let environment: [String: String] = {
        var env = ProcessInfo.processInfo.environment
        for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"] {
            env[key] = nil
        }
        env["AWS_DEFAULT_REGION"] = "us-east-1"
        return env
    }()

    final class Moto {
        let port: Int
        let credentials: String

        var process = Process()
        init(scratch: String) throws {
            credentials = scratch + "/credentials"
            try "[shelf-test]\naws_access_key_id = testing\naws_secret_access_key = testing\n".write(
                toFile: credentials, atomically: true, encoding: .utf8)
            // Suites run side by side: a port picked free may be taken by another suite's server
            // before this one binds it. Then this moto_server exits, and the port answers for the
            // other one: a server is only ours if it is still running once the port answers.
            var attempt = 0
            while true {
                let port = try freePort()
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                p.arguments = ["moto_server", "-H", "127.0.0.1", "-p", String(port)]
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                do {
                    try waitUntilListening(port: port, process: p)
                    Thread.sleep(forTimeInterval: 0.3)
                    guard p.isRunning else { throw ServerError.didNotStart(port) }
                    self.port = port
                    process = p
                    return
                } catch {
                    kill(p.processIdentifier, SIGKILL)
                    attempt += 1
                    if attempt >= 5 { throw error }
                }
            }
        }

        var endpoint: String { "http://127.0.0.1:\(port)" }

        var env: [String: String] {
            var e = PublishTests.environment
            e["AWS_SHARED_CREDENTIALS_FILE"] = credentials
            e["AWS_PROFILE"] = "shelf-test"
            return e
        }

        /// `aws s3api ...` against this server.
        @discardableResult
        func aws(_ arguments: [String]) throws -> ProcessResult {
            try runWith(env, "/usr/bin/env", ["aws", "--endpoint-url", endpoint] + arguments)
        }

        /// A bucket anyone may read, as the README sets one up.
        func makePublicBucket(_ name: String) throws {
            #expect(try aws(["s3api", "create-bucket", "--bucket", name]).status == 0)
            let policy = """
                {"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*",\
                "Action":"s3:GetObject","Resource":"arn:aws:s3:::\(name)/*"}]}
                """
            let r = try aws(["s3api", "put-bucket-policy", "--bucket", name, "--policy", policy])
            #expect(r.status == 0, "\(r.stderr)")
        }

        func keys(bucket: String, prefix: String) throws -> [String] {
            let r = try aws([
                "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", prefix, "--query", "Contents[].Key",
                "--output", "text",
            ])
            return r.stdout.split(whereSeparator: { $0 == "\t" || $0 == "\n" }).map(String.init).filter { $0 != "None" }
        }

        func headObject(bucket: String, key: String) throws -> [String: Any] {
            let r = try aws(["s3api", "head-object", "--bucket", bucket, "--key", key])
            return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? [:]
        }

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func publish(_ moto: Moto, _ feed: String, _ destination: String, _ extra: [String] = []) throws -> ProcessResult {
        try runWith(
            moto.env, Repo.shelf, ["publish", feed, destination, "--endpoint", moto.endpoint, "--quiet"] + extra)
    }

    /// A folder standing for the bucket's feed at this moment, for feedcheck (which lists ids from
    /// a folder): an id is in the feed once its flat container `index.json` is.
    func snapshot(_ moto: Moto, bucket: String, prefix: String, into folder: String) throws {
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder + "/flatcontainer", withIntermediateDirectories: true)
        for key in try moto.keys(bucket: bucket, prefix: prefix + "flatcontainer/") {
            let parts = key.dropFirst(prefix.count).split(separator: "/")
            if parts.count == 3 && parts[2] == "index.json" {
                try FileManager.default.createDirectory(
                    atPath: folder + "/flatcontainer/" + parts[1], withIntermediateDirectories: true)
            }
        }
    }

    @Test("Publish, then publish again: the second uploads nothing; metadata per object; feedcheck over HTTP")
    func publishTwice() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let moto = try Moto(scratch: tmp.path)
        defer { moto.stop() }
        try moto.makePublicBucket("feed")
        let base = "\(moto.endpoint)/feed/nuget/"
        let out = tmp.sub("out")
        #expect(try shelf(["build", Repo.sampleFeed, "--out", out, "--base-url", base, "--quiet"]).status == 0)

        let dry = try publish(moto, out, "s3://feed/nuget", ["--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("would upload"), "\(dry.stdout)")
        #expect(try moto.keys(bucket: "feed", prefix: "nuget/").isEmpty, "--dry-run changed the bucket")

        let first = try publish(moto, out, "s3://feed/nuget/")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("deleted 0; 0 unchanged"), "\(first.stdout)")

        let index = try moto.headObject(bucket: "feed", key: "nuget/registration/shelf.sample.core/index.json")
        #expect(index["ContentType"] as? String == "application/json")
        #expect(index["ContentEncoding"] as? String == "gzip")
        #expect(index["CacheControl"] as? String == "public, max-age=60, must-revalidate")
        let nupkg = try moto.headObject(
            bucket: "feed", key: "nuget/flatcontainer/shelf.sample.core/1.0.0/shelf.sample.core.1.0.0.nupkg")
        #expect(nupkg["ContentType"] as? String == "application/octet-stream")
        #expect(nupkg["CacheControl"] as? String == "public, max-age=31536000, immutable")
        #expect(nupkg["ContentEncoding"] == nil)
        // Shelf's records: the publish manifest, and what `shelf push` needs (not the read cache,
        // the lock or the journal, which are the build machine's).
        let records = try moto.keys(bucket: "feed", prefix: "nuget/.shelf/").map {
            String($0.dropFirst("nuget/".count))
        }
        #expect(records.contains(".shelf/publish.json") && records.contains(".shelf/build.json"), "\(records)")
        #expect(
            records.contains { $0.hasPrefix(".shelf/packages/") } && records.contains { $0.hasPrefix(".shelf/ids/") })
        #expect(
            records.allSatisfy { $0 == ".shelf/publish.json" || StateRecordPaths.travels($0) }, "\(records)")

        let check = try checkFeed(out, baseURL: base, extra: ["--http", base])
        #expect(check.errors == 0, "\(check.output)")
        let validate = try shelf(["validate", base + "index.json", "--quiet"])
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")

        let second = try publish(moto, out, "s3://feed/nuget")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.hasPrefix("shelf publish: uploaded 0 files (0 bytes), deleted 0;"), "\(second.stdout)")
    }

    @Test("An update uploads the changes, deletes what Shelf wrote and no longer has, keeps foreign objects")
    func updateAndDelete() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let moto = try Moto(scratch: tmp.path)
        defer { moto.stop() }
        try moto.makePublicBucket("feed")
        let base = "\(moto.endpoint)/feed/"
        let (a, b, out) = (tmp.sub("a"), tmp.sub("b"), tmp.sub("out"))
        #expect(try python([RobustnessTests.generator, a, "--versions", "60", "--seed", "3"]).status == 0)
        #expect(try python([RobustnessTests.generator, b, "--versions", "60", "--seed", "4"]).status == 0)
        #expect(try shelf(["build", a, "--out", out, "--base-url", base, "--quiet"]).status == 0)
        #expect(try publish(moto, out, "s3://feed").status == 0)
        try "mine".write(toFile: tmp.sub("foreign.txt"), atomically: true, encoding: .utf8)
        #expect(try moto.aws(["s3", "cp", tmp.sub("foreign.txt"), "s3://feed/notes/foreign.txt"]).status == 0)

        #expect(try shelf(["build", b, "--out", out, "--base-url", base, "--quiet"]).status == 0)
        let update = try publish(moto, out, "s3://feed")
        #expect(update.status == 0, "\(update.stderr)")
        #expect(update.stdout.contains("1 objects under s3://feed/ that Shelf did not write were left alone"))
        let keys = Set(try moto.keys(bucket: "feed", prefix: ""))
        #expect(keys.contains("notes/foreign.txt"))
        // The bucket holds exactly the folder's served files and the records that travel with
        // them (and the manifest).
        var local = Set<String>()
        let walker = FileManager.default.enumerator(atPath: out)!
        while let p = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            if !p.hasPrefix(".shelf") || StateRecordPaths.travels(p),
                FileManager.default.fileExists(atPath: out + "/" + p, isDirectory: &isDir), !isDir.boolValue
            {
                local.insert(p)
            }
        }
        #expect(keys.subtracting(["notes/foreign.txt", ".shelf/publish.json"]) == local)
        let check = try checkFeed(out, baseURL: base, extra: ["--http", base, "--nupkgs", b])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("Publishes killed at random points: feedcheck passes over HTTP after every kill; the rerun converges")
    func killedPublishes() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let moto = try Moto(scratch: tmp.path)
        defer { moto.stop() }
        try moto.makePublicBucket("feed")
        let base = "\(moto.endpoint)/feed/v3/"
        let inputs = [tmp.sub("a"), tmp.sub("b")]
        for (i, input) in inputs.enumerated() {
            #expect(
                try python([RobustnessTests.generator, input, "--versions", "120", "--seed", "\(21 + i)"]).status == 0)
        }
        // One folder, rebuilt from either input before each publish, as a team's CI does.
        let out = tmp.sub("out")
        func build(_ input: String) throws {
            #expect(try shelf(["build", input, "--out", out, "--base-url", base, "--quiet"]).status == 0)
        }
        // How long a publish of a switch between the two inputs takes here, now.
        var durations: [Double] = []
        for input in [inputs[0], inputs[1], inputs[0]] {
            try build(input)
            let start = Date()
            #expect(try publish(moto, out, "s3://feed/v3").status == 0)
            durations.append(Date().timeIntervalSince(start))
        }
        let duration = max(durations.dropFirst().min() ?? 0.5, 0.2)
        var rng = SeededRandom(seed: 7)
        var killedMidway = 0
        for trial in 0..<12 {
            try build(inputs[(trial + 1) % 2])
            let delay = Double(rng.below(1000)) / 1000 * duration
            if try killShelf(
                ["publish", out, "s3://feed/v3", "--endpoint", moto.endpoint, "--quiet"], environment: moto.env,
                after: delay)
            {
                killedMidway += 1
            }
            try snapshot(moto, bucket: "feed", prefix: "v3/", into: tmp.sub("snapshot"))
            let check = try checkFeed(tmp.sub("snapshot"), baseURL: base, extra: ["--http", base])
            #expect(check.errors == 0, "trial \(trial), killed after \(delay) s: \(check.output)")
            if check.errors != 0 { break }
        }
        #expect(killedMidway >= 6, "most kills should land while the publish runs (\(killedMidway) of 12)")
        // The rerun from the same folder (its own lease, taken back at once) converges.
        let rerun = try publish(moto, out, "s3://feed/v3")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        // The last trial built inputs[0].
        let check = try checkFeed(out, baseURL: base, extra: ["--http", base, "--nupkgs", inputs[0]])
        #expect(check.errors == 0, "\(check.output)")
        let again = try publish(moto, out, "s3://feed/v3")
        #expect(again.stdout.hasPrefix("shelf publish: uploaded 0 files (0 bytes), deleted 0;"), "\(again.stdout)")
    }

    @Test("Two publishers: the second finds the lease taken, changes nothing and says so; then succeeds")
    func twoPublishers() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let moto = try Moto(scratch: tmp.path)
        defer { moto.stop() }
        try moto.makePublicBucket("feed")
        let base = "\(moto.endpoint)/feed/"
        let (a, b) = (tmp.sub("a"), tmp.sub("b"))
        #expect(try python([RobustnessTests.generator, a, "--versions", "300", "--seed", "5"]).status == 0)
        #expect(try shelf(["build", a, "--out", tmp.sub("fa"), "--base-url", base, "--quiet"]).status == 0)
        #expect(
            try shelf(["build", Repo.sampleFeed, "--out", tmp.sub("fb"), "--base-url", base, "--quiet"]).status == 0)
        _ = b
        let first = Process()
        first.executableURL = URL(fileURLWithPath: Repo.shelf)
        first.arguments = ["publish", tmp.sub("fa"), "s3://feed", "--endpoint", moto.endpoint, "--quiet"]
        first.environment = moto.env
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        // Wait until the first holds the lease.
        var held = false
        for _ in 0..<300 where first.isRunning {
            let r = try moto.aws(["s3", "cp", "s3://feed/.shelf/publish.json", "-"])
            if r.stdout.contains("\"lock\"") {
                held = true
                break
            }
            usleep(20_000)
        }
        #expect(held, "the first publish never showed its lease")
        let second = try publish(moto, tmp.sub("fb"), "s3://feed")
        if held && first.isRunning {
            #expect(second.status == 75, "\(second.stdout)\(second.stderr)")
            #expect(second.stderr.contains("is being published by another `shelf publish`"), "\(second.stderr)")
        }
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        let check = try checkFeed(tmp.sub("fa"), baseURL: base, extra: ["--http", base])
        #expect(check.errors == 0, "\(check.output)")
        let after = try publish(moto, tmp.sub("fb"), "s3://feed")
        #expect(after.status == 0, "\(after.stderr)")
        let final = try checkFeed(tmp.sub("fb"), baseURL: base, extra: ["--http", base])
        #expect(final.errors == 0, "\(final.output)")
    }

    @Test("Credentials: a clear message when there are none; a profile is read from the shared file")
    func credentials() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        var env = Self.environment
        env["HOME"] = tmp.path
        env["AWS_SHARED_CREDENTIALS_FILE"] = tmp.sub("none")
        env["AWS_CONFIG_FILE"] = tmp.sub("none")
        let r = try runWith(env, Repo.shelf, ["publish", tmp.path, "s3://bucket", "--endpoint", "http://127.0.0.1:1"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("no AWS credentials"), "\(r.stderr)")
        let bad = try runWith(env, Repo.shelf, ["publish", tmp.path, "bucket/prefix"])
        #expect(bad.stderr.contains("is not an s3:// URL"), "\(bad.stderr)")
    }
}

/// Runs a program with the given environment.
func runWith(_ environment: [String: String], _ executable: String, _ arguments: [String]) throws -> ProcessResult {
    try run(executable, arguments, environment: environment)
}

/// The records that travel with a published feed, as `StateRecord.travelsWithFeed` names them
/// (spelled out here: the test checks the rule, not itself).
enum StateRecordPaths {
    static func travels(_ path: String) -> Bool {
        [
            ".shelf/build.json", ".shelf/catalog.bin", ".shelf/catalog-tail.bin", ".shelf/feed-files.txt",
            ".shelf/last-report.json",
        ]
        .contains(path) || [".shelf/policy/", ".shelf/ids/", ".shelf/packages/"].contains { path.hasPrefix($0) }
    }
}
