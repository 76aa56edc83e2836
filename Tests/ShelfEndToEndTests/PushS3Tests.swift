import Foundation
import ShelfTestSupport
import Testing

/// `shelf push` and `shelf delete` to a bucket (`moto_server` on 127.0.0.1), through the real
/// binary: a feed published by `shelf publish` accepts pushes; after each push, delete and policy
/// change the bucket holds exactly what `shelf build` then `shelf publish` of the same packages
/// puts there (every object's bytes, Content-Type, Content-Encoding and Cache-Control); eight
/// pushes at once all land, and the official client restores from the bucket over HTTP; pushes
/// killed at random points leave a feed that passes the checks.
@Suite(.serialized)
struct PushS3Tests {
    typealias Moto = PublishTests.Moto

    /// Every object under a prefix but Shelf's records: its MD5, Content-Type, Content-Encoding
    /// and Cache-Control (one boto3 process: a process per object would take minutes).
    static func objects(_ moto: Moto, bucket: String, prefix: String) throws -> [String: String] {
        let script = """
            import boto3, json, sys
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            out = {}
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2], Prefix=sys.argv[3]):
                for o in page.get("Contents", []):
                    k = o["Key"][len(sys.argv[3]):]
                    if k.startswith(".shelf/"):
                        continue
                    h = s3.head_object(Bucket=sys.argv[2], Key=o["Key"])
                    out[k] = "|".join([o["ETag"], h.get("ContentType", ""), h.get("ContentEncoding", ""),
                                       h.get("CacheControl", "")])
            print(json.dumps(out))
            """
        let r = try python(["-c", script, moto.endpoint, bucket, prefix])
        #expect(r.status == 0, "\(r.stderr)")
        return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: String] ?? [:]
    }

    /// Expects the pushed prefix to hold what the built one does.
    static func expectSame(
        _ moto: Moto, _ pushed: String, _ built: String, _ step: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let a = try objects(moto, bucket: "feed", prefix: pushed)
        let b = try objects(moto, bucket: "feed", prefix: built)
        let differ =
            Set(a.keys).symmetricDifference(b.keys).sorted() + a.keys.filter { b[$0] != nil && a[$0] != b[$0] }.sorted()
        #expect(!a.isEmpty && differ.isEmpty, "\(step): \(differ.prefix(8))", sourceLocation: sourceLocation)
    }

    /// A bucket on moto, and the shelf commands that reach it.
    struct Bucket {
        let moto: Moto

        init(_ tmp: TemporaryFolder) throws {
            moto = try Moto(scratch: tmp.path)
            try moto.makePublicBucket("feed")
        }

        /// The URL a feed under `prefix` is served from.
        func base(_ prefix: String) -> String { "\(moto.endpoint)/feed/\(prefix)/" }

        /// A shelf command against this bucket (`--endpoint` and `--quiet` added).
        func shelf(_ arguments: [String]) throws -> ProcessResult {
            try runWith(moto.env, Repo.shelf, arguments + ["--endpoint", moto.endpoint, "--quiet"])
        }

        /// `shelf publish` of a built folder to `s3://feed/PREFIX`.
        func publish(_ folder: String, _ prefix: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let p = try shelf(["publish", folder, "s3://feed/" + prefix])
            #expect(p.status == 0, "\(p.stderr)", sourceLocation: sourceLocation)
        }

        func stop() { moto.stop() }
    }

    /// Generated packages in `pool`, the first `initially` of them copied to `input`; the names
    /// of the others, in order.
    static func generated(
        _ tmp: TemporaryFolder, seed: Int, initially: Int
    ) throws -> (pool: String, input: String, rest: [String]) {
        let pool = tmp.sub("pool")
        #expect(try python([PushTests.generator, pool, "--versions", "40", "--seed", "\(seed)"]).status == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: pool).filter { $0.hasSuffix(".nupkg") }.sorted()
        let input = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        for name in names.prefix(initially) {
            try FileManager.default.copyItem(atPath: pool + "/" + name, toPath: input + "/" + name)
        }
        return (pool, input, Array(names.dropFirst(initially)))
    }

    @Test(
        "a published feed accepts pushes; pushes, deletes and a policy change: the bucket holds what build and publish put there"
    )
    func sequence() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let bucket = try Bucket(tmp)
        defer { bucket.stop() }
        let moto = bucket.moto
        let base = bucket.base("pushed")
        let (pool, input, names) = try Self.generated(tmp, seed: 41, initially: 20)
        // The reference folder is built for the pushed prefix's URL, and published beside it.
        let out = tmp.sub("out")
        func buildAndPublish(_ prefix: String) throws {
            let b = try shelf(["build", input, "--out", out, "--base-url", base, "--quiet"])
            #expect(b.status == 0 || b.status == 2, "\(b.stderr)")
            try bucket.publish(out, prefix)
        }
        let push = bucket.shelf
        try buildAndPublish("pushed")
        try buildAndPublish("built")
        try Self.expectSame(moto, "pushed/", "built/", "published twice")

        // Two pushes, one of two packages.
        for batch in [[names[0]], [names[1], names[2]]] {
            let r = try push(["push"] + batch.map { pool + "/" + $0 } + ["s3://feed/pushed"])
            #expect(r.status == 0, "\(r.stderr)")
            for name in batch {
                try FileManager.default.copyItem(atPath: pool + "/" + name, toPath: input + "/" + name)
            }
            try buildAndPublish("built")
            try Self.expectSame(moto, "pushed/", "built/", "pushed \(batch)")
        }
        // A delete.
        let victim = try FileManager.default.contentsOfDirectory(atPath: input).filter { $0.hasSuffix(".nupkg") }
            .sorted()[3]
        let (id, version) = try PushTests.identity(input + "/" + victim)
        let d = try push(["delete", id, version, "s3://feed/pushed"])
        #expect(d.status == 0, "\(d.stderr)")
        try FileManager.default.removeItem(atPath: input + "/" + victim)
        try buildAndPublish("built")
        try Self.expectSame(moto, "pushed/", "built/", "deleted \(id) \(version)")
        // A policy.
        let (pid, pversion) = try PushTests.identity(input + "/" + names[1])
        let policy = "{ \"owners\": { \"Synthetic.*\": [\"team\"] }, \"unlisted\": { \"\(pid)\": \"\(pversion)\" } }"
        try policy.write(toFile: input + "/shelf.json", atomically: true, encoding: .utf8)
        let policyFile = tmp.sub("policy") + "/shelf.json"
        try FileManager.default.createDirectory(atPath: tmp.sub("policy"), withIntermediateDirectories: true)
        try policy.write(toFile: policyFile, atomically: true, encoding: .utf8)
        let p = try push(["push", "--policy", policyFile, "s3://feed/pushed"])
        #expect(p.status == 0, "\(p.stderr)")
        try buildAndPublish("built")
        try Self.expectSame(moto, "pushed/", "built/", "policy")
        // And a push after it, that reads the policy back from the bucket.
        let r = try push(["push", pool + "/" + names[3], "s3://feed/pushed"])
        #expect(r.status == 0, "\(r.stderr)")
        try FileManager.default.copyItem(atPath: pool + "/" + names[3], toPath: input + "/" + names[3])
        try buildAndPublish("built")
        try Self.expectSame(moto, "pushed/", "built/", "a push under the policy")

        // Then seeded random steps: pushes of one or two packages, and deletes.
        var rng = SeededRandom(seed: 17)
        var left = Array(names.dropFirst(4))
        for step in 0..<6 {
            if rng.below(3) < 2, !left.isEmpty {
                let n = min(left.count, 1 + rng.below(2))
                let batch = Array(left.prefix(n))
                left.removeFirst(n)
                let r = try push(["push"] + batch.map { pool + "/" + $0 } + ["s3://feed/pushed"])
                #expect(r.status == 0, "step \(step): \(r.stderr)")
                for name in batch {
                    try FileManager.default.copyItem(atPath: pool + "/" + name, toPath: input + "/" + name)
                }
            } else {
                let present = try FileManager.default.contentsOfDirectory(atPath: input).filter {
                    $0.hasSuffix(".nupkg")
                }.sorted()
                let name = present[rng.below(present.count)]
                let (id, version) = try PushTests.identity(input + "/" + name)
                let r = try push(["delete", id, version, "s3://feed/pushed"])
                #expect(r.status == 0, "step \(step): \(r.stderr)")
                try FileManager.default.removeItem(atPath: input + "/" + name)
            }
            try buildAndPublish("built")
            try Self.expectSame(moto, "pushed/", "built/", "random step \(step)")
        }

        let check = try checkFeed(out, baseURL: base, extra: ["--http", base])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test(
        "eight pushes to a bucket at once: all land, each once in the catalog; the official client restores over HTTP")
    func concurrentPushes() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let bucket = try Bucket(tmp)
        defer { bucket.stop() }
        let moto = bucket.moto
        let base = bucket.base("nuget")
        let input = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        var packages = try FileManager.default.contentsOfDirectory(atPath: Repo.sampleFeed).filter {
            $0.hasSuffix(".nupkg")
        }.sorted()
        // Core 1.0.0 starts the feed; the eight others are pushed at once.
        packages.removeAll { $0 == "Shelf.Sample.Core.1.0.0.nupkg" }
        try FileManager.default.copyItem(
            atPath: Repo.sampleFeed + "/Shelf.Sample.Core.1.0.0.nupkg", toPath: input + "/Shelf.Sample.Core.1.0.0.nupkg"
        )
        let out = tmp.sub("out")
        #expect(try shelf(["build", input, "--out", out, "--base-url", base, "--quiet"]).status == 0)
        try bucket.publish(out, "nuget")
        let statuses = try StartedTogether(
            Repo.shelf,
            packages.map {
                [
                    "push", Repo.sampleFeed + "/" + $0, "s3://feed/nuget", "--endpoint", moto.endpoint, "--quiet",
                    "--wait", "180",
                ]
            }, environment: moto.env
        ).wait().map(\.status)
        #expect(statuses.allSatisfy { $0 == 0 }, "\(statuses)")
        let versions = try moto.keys(bucket: "feed", prefix: "nuget/flatcontainer/").filter { $0.hasSuffix(".nupkg") }
        #expect(versions.count == 9, "\(versions)")
        // The feed as a folder (for the checkers that list ids) and over HTTP.
        let local = tmp.sub("local")
        let snapshot = PublishTests()
        try snapshot.snapshot(moto, bucket: "feed", prefix: "nuget/", into: local)
        let check = try checkFeed(local, baseURL: base, extra: ["--http", base])
        #expect(check.errors == 0, "\(check.output)")
        // Each version once in the catalog.
        let catalog =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(string: base + "catalog/page0.json")!))
            as? [String: Any]
        let items = (catalog?["items"] as? [[String: Any]] ?? []).filter {
            $0["@type"] as? String == "nuget:PackageDetails"
        }
        #expect(
            items.count == 9 && Set(items.map { "\($0["nuget:id"] ?? "")/\($0["nuget:version"] ?? "")" }).count == 9)
        if RealClientTests.available() {
            // A bucket lists no folders: the client is told which packages to look for.
            let all = try FileManager.default.contentsOfDirectory(atPath: Repo.sampleFeed).filter {
                $0.hasSuffix(".nupkg")
            }
            let identities = try all.sorted().map { try PushTests.identity(Repo.sampleFeed + "/" + $0) }.map {
                "\($0.0)@\($0.1)"
            }
            let r = try run(
                "/usr/bin/timeout",
                [
                    "600", RealClientTests.nugetcheck, base + "index.json", "--packages",
                    identities.joined(separator: ","),
                    "--restore", "Shelf.Sample.Extensions@1.0.0",
                ])
            let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
            print("the official NuGet client on a bucket after eight pushes: \(last)")
            #expect(
                r.status == 0 && last.hasSuffix(" 0 failed"),
                "\(r.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }.prefix(10))")
        }
    }

    @Test(
        "pushes to a bucket killed at 12 random points: the feed passes the checks after each; pushing again completes it"
    )
    func killedPushes() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let bucket = try Bucket(tmp)
        defer { bucket.stop() }
        let moto = bucket.moto
        let base = bucket.base("nuget")
        var (pool, input, names) = try Self.generated(tmp, seed: 42, initially: 20)
        let out = tmp.sub("out")
        #expect(try shelf(["build", input, "--out", out, "--base-url", base, "--quiet"]).status == 0)
        try bucket.publish(out, "nuget")
        let arguments = { (name: String) in
            ["push", pool + "/" + name, "s3://feed/nuget", "--endpoint", moto.endpoint, "--quiet", "--lease", "2"]
        }
        let start = Date()
        #expect(try runWith(moto.env, Repo.shelf, arguments(names.removeFirst())).status == 0)
        let duration = max(Date().timeIntervalSince(start) * 0.9, 0.1)
        var rng = SeededRandom(seed: 5)
        let local = tmp.sub("local")
        for trial in 0..<12 {
            let name = names.removeFirst()
            let delay = Double(rng.below(1000)) / 1000 * duration
            _ = try killShelf(arguments(name), environment: moto.env, after: delay)
            try PublishTests().snapshot(moto, bucket: "feed", prefix: "nuget/", into: local)
            let check = try checkFeed(local, baseURL: base, extra: ["--http", base])
            #expect(check.errors == 0, "trial \(trial) after \(delay) s: \(check.output)")
            // Pushing again (once the killed push's lease lapsed) completes it.
            let again = try runWith(moto.env, Repo.shelf, arguments(name) + ["--skip-duplicate", "--wait", "30"])
            #expect(again.status == 0, "trial \(trial): \(again.stderr)")
            if check.errors != 0 { break }
        }
    }
}
