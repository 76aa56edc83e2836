import Foundation
@_spi(Testing) import ShelfFeed
import ShelfTestSupport
import Testing

/// Builds stopped at a fault point (as a kill would stop them, through the hook the build is
/// given), and records that cannot be trusted: the next build converges on what a fresh build of
/// the same input writes, removes what left the input, and never removes a file Shelf did not
/// write.
@Suite(.serialized)
struct InterruptedBuildTests {
    typealias H = BuildHarness

    @Test("a build that dies before removing what left the feed: the next build removes it")
    func diesBeforeRemoving() async throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let (a, b, out, fresh) = (tmp.sub("a"), tmp.sub("b"), tmp.sub("out"), tmp.sub("fresh"))
        try H.generate(a, versions: 60, seed: 11)
        try H.generate(b, versions: 60, seed: 12)
        try await H.build(a, out)
        try await H.kill(b, out, at: .beforeRemove)
        try await H.build(b, out)
        try await H.build(b, fresh)
        try H.expectSame(out, fresh, "after the build that died")
    }

    @Test(
        "records that cannot be trusted (a missing read-cache shard, a killed build) make every id dirty; a deprecation's alternate coming into the feed re-renders the deprecated id"
    )
    func untrustedRecords() async throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let fm = FileManager.default
        let pool = tmp.sub("pool")
        try H.generate(pool, versions: 40)
        let names = try fm.contentsOfDirectory(atPath: pool).sorted()
        let input = tmp.sub("in")
        try fm.createDirectory(atPath: input, withIntermediateDirectories: true)
        // The last id of the pool (by name) stays out for now: the policy names it as the
        // alternate of every deprecated version.
        let ids = names.map { String($0.split(separator: ".").prefix(3).joined(separator: ".")) }
        let lateId = ids.max()!
        for (name, id) in zip(names, ids) where id != lateId {
            try fm.copyItem(atPath: pool + "/" + name, toPath: input + "/" + name)
        }
        try """
        { "deprecations": [{ "id": "Synthetic.*", "reasons": ["Legacy"], "alternatePackage": { "id": "\(lateId)" } }] }
        """.write(toFile: input + "/shelf.json", atomically: true, encoding: .utf8)
        let (incremental, full) = (tmp.sub("incremental"), tmp.sub("full"))
        func check(_ step: String, history: Bool = true) async throws {
            try await H.build(input, full, full: true)
            try H.expectSame(incremental, full, history: history, step)
        }
        try await H.build(input, incremental)
        try await check("first build")

        // The alternate comes: every deprecated id's pages now link it.
        for (name, id) in zip(names, ids) where id == lateId {
            try fm.copyItem(atPath: pool + "/" + name, toPath: input + "/" + name)
        }
        try await H.build(input, incremental)
        try await check("alternate added")

        // A read-cache shard goes missing, then a package whose record was in it is deleted: the
        // deletion is still seen (registration, pages, catalog delete).
        let shards = incremental + "/.shelf/read-cache"
        let shard = try fm.contentsOfDirectory(atPath: shards).filter {
            (try? fm.attributesOfItem(atPath: shards + "/" + $0)[.size] as? Int ?? 0) ?? 0 > 100
        }.sorted().first!
        try fm.removeItem(atPath: shards + "/" + shard)
        let deleted = try fm.contentsOfDirectory(atPath: input).filter { $0.hasSuffix(".nupkg") }.sorted().filter {
            $0.hasPrefix(names[0].split(separator: ".").prefix(3).joined(separator: "."))
        }
        // Every file of the first id goes; with the shard gone, some of them had no record.
        for name in deleted { try fm.removeItem(atPath: input + "/" + name) }
        let report = try await H.build(input, incremental)
        #expect(report.notes.contains(.readCacheDamaged), "\(report.notes)")
        try await check("read-cache shard missing, a package deleted")

        // A build dies before removing (its records written), and its input is put back: the next
        // build does not trust the records and converges on the --full build.
        let added = names.filter { !fm.fileExists(atPath: input + "/" + $0) && !deleted.contains($0) }
        for name in deleted + added { try fm.copyItem(atPath: pool + "/" + name, toPath: input + "/" + name) }
        do {
            try await H.build(input, incremental, fault: .beforeRemove)
        } catch is BuildKilled {}
        for name in deleted { try fm.removeItem(atPath: input + "/" + name) }
        try await H.build(input, incremental)
        // The killed build's catalog items are history the --full folder never saw: the rest is
        // the same, and the catalog ends with each version as it is now.
        try await check("after a killed build, input put back", history: false)
        var latest: [String: String] = [:]
        let index =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: incremental + "/catalog/index.json"))) as! [String: Any]
        for page in index["items"] as! [[String: Any]] {
            let url = page["@id"] as! String
            let path = incremental + "/" + url.dropFirst(H.baseURL.count)
            let items =
                (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any])[
                    "items"] as! [[String: Any]]
            for item in items {
                latest["\((item["nuget:id"] as! String).lowercased())/\(item["nuget:version"] as! String)"] =
                    item["@type"] as? String
            }
        }
        let served = try fm.contentsOfDirectory(atPath: input).filter { $0.hasSuffix(".nupkg") }
        let live = latest.filter { $0.value == "nuget:PackageDetails" }.count
        #expect(live == served.count, "the catalog's live versions are the input's: \(live) vs \(served.count)")
        #expect(latest.count > served.count, "the deleted versions end with a delete")
    }

    @Test(
        "a per-id record whose file lists are damaged, or that is lost, still removes the files of what left the input (and only Shelf's)"
    )
    func damagedOrLostFileLists() async throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let fm = FileManager.default
        let input = tmp.sub("in")
        try H.generate(input, versions: 40)
        let out = tmp.sub("feed")
        try await H.build(input, out)
        let ids = out + "/.shelf/ids"
        func id(_ name: String) -> String { name.split(separator: ".").prefix(3).joined(separator: ".") }
        func inputById() throws -> [String: [String]] {
            Dictionary(grouping: try fm.contentsOfDirectory(atPath: input).filter { $0.hasSuffix(".nupkg") }, by: id)
        }
        /// Removes every package of the first id (by name) from the input; returns the id.
        func removeFirstId() throws -> String {
            let byId = try inputById()
            let first = byId.keys.sorted().first!
            for name in byId[first]! { try fm.removeItem(atPath: input + "/" + name) }
            return first
        }
        /// Changes the bytes of every per-id shard; `head` is where its body starts.
        func damageShards(_ change: (inout [UInt8], _ head: Int) -> Void) throws {
            for shard in try fm.contentsOfDirectory(atPath: ids) {
                var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ids + "/" + shard)))
                let headLength = bytes[8..<16].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
                change(&bytes, 16 + headLength)
                try Data(bytes).write(to: URL(fileURLWithPath: ids + "/" + shard))
            }
        }
        /// Builds, and expects the notes and the same files as a fresh build of the input.
        func rebuild(_ step: String, saying notes: [(BuildNote) -> Bool]) async throws {
            let report = try await H.build(input, out)
            for note in notes { #expect(report.notes.contains(where: note), "\(step): \(report.notes)") }
            let fresh = tmp.sub("fresh-\(step)")
            try await H.build(input, fresh)
            try H.expectSame(out, fresh, excluding: { $0.hasSuffix("NOTES.txt") }, step)
        }

        // Every stored file list is damaged (its bytes overwritten; the heads stay whole). One id
        // leaves the input and another loses a version; a file someone put in the leaving id's
        // folder stays.
        try damageShards { bytes, body in
            for i in body..<bytes.count { bytes[i] = 0xFF }
        }
        let thinned = try inputById().filter { $0.value.count >= 2 }.max { $0.key < $1.key }!
        try fm.removeItem(atPath: input + "/" + thinned.value.sorted().first!)
        let gone = try removeFirstId()
        let notes = out + "/flatcontainer/" + gone.lowercased() + "/NOTES.txt"
        try Data("ours".utf8).write(to: URL(fileURLWithPath: notes))
        try await rebuild(
            "lists damaged",
            saying: [{ if case .fileListsDamaged = $0 { return true } else { return false } }])
        #expect(fm.fileExists(atPath: notes))

        // The per-id record is lost, and another id leaves.
        _ = try removeFirstId()
        try fm.removeItem(atPath: ids)
        try await rebuild(
            "record lost",
            saying: [
                { $0 == .idRecordMissing }, { if case .strayFilesRemoved = $0 { return true } else { return false } },
            ])
        #expect(fm.fileExists(atPath: notes))

        // Lost again, another id leaves, and the build is killed once its new record is written
        // (that record no longer names the id): the next build still removes the id's files.
        let third = try removeFirstId()
        try fm.removeItem(atPath: ids)
        try await H.kill(input, out, at: .afterRecord)
        #expect(fm.fileExists(atPath: out + "/flatcontainer/" + third.lowercased() + "/index.json"))
        try await rebuild("killed after the record", saying: [])

        // One byte of a record's head flips (in its last id's entry), and a version leaves: the
        // head reads as damaged, never as another id.
        try damageShards { bytes, body in bytes[body - 6] ^= 0x01 }
        try fm.removeItem(atPath: input + "/" + (try inputById().values.flatMap { $0 }.max()!))
        try await rebuild("a head byte flipped", saying: [{ $0 == .idRecordDamaged }])
    }

    @Test("a first build into a folder that already holds files never removes them, even those named as Shelf's")
    func firstBuildKeepsFiles() async throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let fm = FileManager.default
        let input = tmp.sub("in")
        try H.generate(input, versions: 10)
        let theirs = [
            "badges/build.svg", "packages/Their.Package/index.html", "flatcontainer/their.package/index.json",
            "flatcontainer/their.package/1.0.0/their.package.1.0.0.nupkg", "registration/their.package/index.json",
        ]
        func populated(_ name: String) throws -> String {
            let out = tmp.sub(name)
            for path in theirs {
                try fm.createDirectory(
                    atPath: out + "/" + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data("theirs".utf8).write(to: URL(fileURLWithPath: out + "/" + path))
            }
            return out
        }
        func expectTheirs(_ out: String, _ step: String) {
            for path in theirs { #expect(fm.fileExists(atPath: out + "/" + path), "\(step): \(path)") }
        }
        // A first build killed while its records were being written (half the per-id shards
        // are there), then builds that finish.
        let out = try populated("site")
        try await H.kill(input, out, at: .afterRecord)
        expectTheirs(out, "first build, killed")
        let shards = try fm.contentsOfDirectory(atPath: out + "/.shelf/ids").sorted()
        for shard in shards.prefix(shards.count / 2) { try fm.removeItem(atPath: out + "/.shelf/ids/" + shard) }
        let after = try await H.build(input, out)
        #expect(after.notes.contains(.feedNotRecorded), "\(after.notes)")
        expectTheirs(out, "the build after it")
        try await H.build(input, out, full: true)
        expectTheirs(out, "a --full build after it")
        // A first build with --full.
        let fresh = try populated("site-full")
        try await H.build(input, fresh, full: true)
        expectTheirs(fresh, "first build with --full")
    }
}
