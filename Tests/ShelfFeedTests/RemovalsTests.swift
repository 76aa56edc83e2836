import Foundation
import Testing

@testable import ShelfFeed

/// Which files go, decided from the records alone: what an id dropped, feed-wide files of the
/// last build, a killed build's leftovers; never a file this build writes, the catalog or a
/// private file.
struct RemovalsTests {
    @Test("an id's files it no longer has")
    func dropped() {
        let old = ["flatcontainer/a/index.json", "flatcontainer/a/1.0.0/a.1.0.0.nupkg", "registration/a/1.0.0.json"]
        let new = ["flatcontainer/a/index.json", "flatcontainer/a/2.0.0/a.2.0.0.nupkg"]
        #expect(
            Set(Removals.dropped(old: old, new: new))
                == ["flatcontainer/a/1.0.0/a.1.0.0.nupkg", "registration/a/1.0.0.json"])
        #expect(Removals.dropped(old: [], new: new).isEmpty)
    }

    @Test(
        "feed-wide files of the last build: those not written again go, but never the catalog or a private file",
        arguments: [
            ("index.html", false, true), ("index.html", true, false), ("vulnerabilities/index.json", false, true),
            ("catalog/page0.json", false, false), (".shelf/host/nginx.conf", false, false),
        ])
    func feedWide(path: String, writtenAgain: Bool, goes: Bool) {
        let gone = Removals.retiredFeedWide(previous: [path], written: writtenAgain ? [path] : [])
        #expect(gone == (goes ? [path] : []))
    }

    @Test("the feed-wide files a build records: not the catalog, not private files")
    func recorded() {
        #expect(
            Removals.recordedFeedWide(["index.json", "catalog/index.json", "search/query.json", ".shelf/host/x"])
                == ["index.json", "search/query.json"])
    }

    @Test(
        "a killed build's leftovers: those this feed does not have go, but never the catalog or a private file",
        arguments: [
            ("flatcontainer/gone/index.json", false, true), ("flatcontainer/kept/index.json", true, false),
            ("catalog/data/2024.01.01.00.00.00.0000000/x.1.0.0.json", false, false), (".shelf/staging/x", false, false),
        ])
    func leftovers(path: String, inFeed: Bool, goes: Bool) {
        #expect(Removals.leftovers([path], current: inFeed ? [path] : []) == (goes ? [path] : []))
    }

    @Test("what goes is never a file this build writes, whatever a record said")
    func goners() {
        let stale = ["flatcontainer/a/index.json", "flatcontainer/b/index.json", "index.html", "index.html"]
        #expect(
            Removals.goners(stale: stale, written: ["flatcontainer/a/index.json", "index.html"])
                == ["flatcontainer/b/index.json"])
    }
}
