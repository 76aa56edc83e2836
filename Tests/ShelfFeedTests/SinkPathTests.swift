import Crypto
import Foundation
import NuGetCore
import Testing

@testable import ShelfFeed

/// Paths the sink accepts: relative, inside the output folder.
struct SinkPathTests {
    @Test(
        "safe relative paths",
        arguments: [
            ("index.json", true), ("a/b/c.json", true), (".shelf/journal.txt", true), ("a/.../b", true),
            ("a/..b/c", true), ("", false), ("/etc/passwd", false), ("a/../b", false), ("..", false), (".", false),
            ("a/./b", false), ("a//b", false), ("a/", false), ("a\\b", false), ("a\u{0}b", false), ("a/..", false),
        ])
    func safe(path: String, ok: Bool) {
        #expect(FeedLayout.isSafe(path) == ok)
    }
}

/// An id leaving the feed: its folders leave whole, and a removal cut short by a kill is finished
/// by the next build's lock, never put back half done.
struct SinkRemovalTests {
    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shelf-sink-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ root: String, _ files: [String]) throws {
        for file in files {
            let path = root + "/" + file
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(file.utf8).write(to: URL(fileURLWithPath: path))
        }
    }

    static func files(_ root: String) -> [String] {
        let e = FileManager.default.enumerator(atPath: root)
        var out: [String] = []
        while let p = e?.nextObject() as? String {
            var d: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + p, isDirectory: &d), !d.boolValue { out.append(p) }
        }
        return out.sorted()
    }

    static let shelfFiles = [
        "flatcontainer/gone/index.json", "flatcontainer/gone/1.0.0/gone.1.0.0.nupkg",
        "flatcontainer/gone/1.0.0/gone.nuspec", "flatcontainer/gone/1.0.0/gone.1.0.0.nupkg.sha512",
        "registration/gone/index.json", "registration-semver2/gone/index.json",
    ]

    @Test("an id leaving the feed takes its flat container and registration folders; files Shelf did not write stay")
    func removal() throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.write(root, Self.shelfFiles + ["flatcontainer/gone/NOTES.txt", "flatcontainer/kept/index.json"])
        let sink = LocalFolderSink(root: root)
        let removal = sink.removeFiles(Set(Self.shelfFiles))
        #expect(removal.removed == Self.shelfFiles.count && removal.failed.isEmpty)
        #expect(Self.files(root) == ["flatcontainer/gone/NOTES.txt", "flatcontainer/kept/index.json"])
    }

    @Test(
        "a removal killed while emptying the trash is finished by the next lock: no folder comes back without its index.json",
        arguments: [0, 1, 2, 4, 6])
    func killedRemoval(unlinkedBeforeKill: Int) async throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // The state a kill leaves: lists recorded, folders in the trash, some files already gone.
        let lists = [
            "flatcontainer/gone": Array(
                Self.shelfFiles[0..<4].map { String($0.dropFirst("flatcontainer/gone/".count)) }),
            "registration/gone": ["index.json"], "registration-semver2/gone": ["index.json"],
        ]
        for (folder, files) in lists {
            let list = root + "/.shelf/trash-lists/" + folder
            try FileManager.default.createDirectory(
                atPath: (list as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data((files.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: list))
            try FileManager.default.createDirectory(
                atPath: root + "/.shelf/trash/" + folder, withIntermediateDirectories: true)
        }
        let inTrash = Self.shelfFiles.map { ".shelf/trash/" + $0 }
        try Self.write(
            root, Array(inTrash.dropFirst(unlinkedBeforeKill)) + [".shelf/trash/flatcontainer/gone/NOTES.txt"])
        let state = LocalStateStore(root: root)
        let lock = try await (state as any StateStore).lock()
        LocalFolderSink(root: root).recover()
        lock.release()
        #expect(Self.files(root) == [".shelf/lock", "flatcontainer/gone/NOTES.txt"])
    }
}

/// A document that repeats another (a page at another casing) is a hard link to it, relinked
/// when that one changes, and written as bytes when there is nothing to link to.
struct SinkAliasTests {
    static func inode(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
    }

    @Test("aliases are hard links, relinked when their source changes; without a source, bytes")
    func aliases() async throws {
        let root = try SinkRemovalTests.folder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let sink = LocalFolderSink(root: root)
        func docs(_ text: String) -> [FeedDocument] {
            let make: @Sendable () throws -> Data = { Data(text.utf8) }
            return [
                FeedDocument(path: "p/a/1.html", content: .deferred(make), contentType: "text/html", phase: .indexes),
                FeedDocument(
                    path: "p/A/1.html", content: .alias(of: "p/a/1.html", make: make), contentType: "text/html",
                    phase: .aliases),
                FeedDocument(
                    path: "p/B/1.html", content: .alias(of: "p/missing.html", make: make), contentType: "text/html",
                    phase: .aliases),
            ]
        }
        var summary = try await sink.writeDocuments(docs("one"))
        #expect(summary.written == 3)
        #expect(Self.inode(root + "/p/A/1.html") == Self.inode(root + "/p/a/1.html"))
        #expect(Self.inode(root + "/p/B/1.html") != Self.inode(root + "/p/a/1.html"))
        #expect(try String(contentsOfFile: root + "/p/B/1.html", encoding: .utf8) == "one")

        summary = try await sink.writeDocuments(docs("one"))
        #expect(summary.written == 0 && summary.unchanged == 3)

        summary = try await sink.writeDocuments(docs("two"))
        #expect(summary.written == 3)
        #expect(Self.inode(root + "/p/A/1.html") == Self.inode(root + "/p/a/1.html"))
        for path in ["p/a/1.html", "p/A/1.html", "p/B/1.html"] {
            #expect(try String(contentsOfFile: root + "/" + path, encoding: .utf8) == "two")
        }
    }
}

/// A package copied into the flat container after it was read must be the bytes that were hashed.
struct SinkCopyTests {
    @Test("a copy is checked against the identity the file had when hashed (or hashed when there is none)")
    func changedAfterRead() async throws {
        let root = try SinkRemovalTests.folder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let input = root + "-in.nupkg"
        defer { try? FileManager.default.removeItem(atPath: input) }
        try Data("first bytes".utf8).write(to: URL(fileURLWithPath: input))
        let hash = "not checked when the identity is known"
        let identity = try #require(FileIdentity.of(input))
        let sink = LocalFolderSink(root: root)
        func doc(_ path: String, sha512: String, identity: FileIdentity?) -> FeedDocument {
            FeedDocument(
                path: path, content: .file(path: input, size: 11, sha512: sha512, identity: identity),
                contentType: "application/octet-stream", phase: .content)
        }
        let summary = try await sink.writeDocuments([doc("a/x.nupkg", sha512: hash, identity: identity)])
        #expect(summary.written == 1)
        #expect(try String(contentsOfFile: root + "/a/x.nupkg", encoding: .utf8) == "first bytes")

        // Replaced by a file of the same size: its identity is no longer the one hashed. (A
        // rewrite in place within the same clock tick would keep it: the limit of the cheap
        // identity the read cache also relies on.)
        try Data("other bytes".utf8).write(to: URL(fileURLWithPath: input), options: .atomic)
        await #expect(throws: LocalFolderSink.SinkError.self) {
            _ = try await sink.writeDocuments([doc("b/x.nupkg", sha512: hash, identity: identity)])
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/b/x.nupkg"))
        // Without an identity, the copy is hashed: a wrong hash fails, the right one passes.
        await #expect(throws: LocalFolderSink.SinkError.self) {
            _ = try await sink.writeDocuments([doc("c/x.nupkg", sha512: hash, identity: nil)])
        }
        let right = Data(SHA512.hash(data: Data("other bytes".utf8))).base64EncodedString()
        #expect(try await sink.writeDocuments([doc("d/x.nupkg", sha512: right, identity: nil)]).written == 1)
        // An identity that moved while the bytes did not (a permission change, a file system
        // reporting another inode): the bytes decide.
        let moved = FileIdentity(size: 11, mtime: 1, ctime: 1, inode: 1, device: 1)
        #expect(try await sink.writeDocuments([doc("e/x.nupkg", sha512: right, identity: moved)]).written == 1)
        #expect(try String(contentsOfFile: root + "/e/x.nupkg", encoding: .utf8) == "other bytes")
    }
}

/// Which file identities are too recent to trust ("racily clean").
struct RacinessTests {
    static let second: Int64 = 1_000_000_000

    @Test("a few milliseconds where times carry nanoseconds, two seconds where they carry whole seconds")
    func window() {
        let started = 1_700_000_000 * Self.second + 500_000_000
        func identity(_ time: Int64) -> FileIdentity {
            FileIdentity(size: 1, mtime: time, ctime: time, inode: 1, device: 1)
        }
        #expect(FeedBuilder.isRacy(identity(started - 5_000_000), started: started))
        #expect(!FeedBuilder.isRacy(identity(started - 50_000_000), started: started))
        #expect(FeedBuilder.isRacy(identity(started + Self.second), started: started))
        // Whole seconds: the file system's tick may be that long.
        #expect(FeedBuilder.isRacy(identity(1_700_000_000 * Self.second - Self.second), started: started))
        #expect(!FeedBuilder.isRacy(identity(1_700_000_000 * Self.second - 3 * Self.second), started: started))
    }
}
