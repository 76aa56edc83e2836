import Foundation
import Testing

@testable import NuGetCore
@testable import ShelfFeed

/// The build's plan as a table, without a disk: what the previous build recorded and what this
/// one found in, which ids are dirty and whether the output folder is swept out.
struct BuildPlanTests {
    /// An id's record as the previous build left it: served (with a digest) and the files it
    /// wrote, or with a damaged file list; `dependsOn` are the ids its pages link.
    static func entry(_ id: String, dependsOn: [String] = [], damagedList: Bool = false, served: Bool = true)
        -> IdState.Entry
    {
        var e = IdState.Entry(fingerprint: "fp-\(id)", paths: ["flatcontainer/\(id)/index.json"])
        if damagedList { e.storedPaths = .damaged }
        if served { e.digest = digest(id, dependsOn: dependsOn) }
        return e
    }

    static func digest(_ id: String, dependsOn: [String]) -> IdDigest {
        let dependencies = dependsOn.map { "<dependency id=\"\($0)\" version=\"1.0.0\" />" }.joined()
        let nuspec = try! Nuspec(
            data: Data(
                """
                <package><metadata><id>\(id)</id><version>1.0.0</version><authors>a</authors><description>d</description>
                <dependencies><group targetFramework="net8.0">\(dependencies)</group></dependencies></metadata></package>
                """.utf8))
        let archive = PackageArchive(
            path: "/in/\(id).nupkg", size: 1, sha512: "x", nuspec: nuspec, nuspecEntry: "\(id).nuspec",
            packedAt: Date(timeIntervalSince1970: 1_700_000_000), isSigned: false, signerFingerprint: nil, icon: nil,
            readme: nil, licenseFile: nil, warnings: [])
        return IdDigest(
            PackageRegistration(lowerId: id, id: id, versions: [PackageVersion(archive: archive, listed: true)]),
            parts: [:])
    }

    /// The previous build: alpha, beta and gamma served; gamma links delta (not in the feed yet).
    static func previous(damagedList: String? = nil, key: String = "K") -> IdState {
        var state = IdState(globalKey: key)
        for id in ["alpha", "beta", "gamma"] {
            state.entries[id] = entry(id, dependsOn: id == "gamma" ? ["delta"] : [], damagedList: id == damagedList)
        }
        return state
    }

    static let everyId: Set<String> = ["alpha", "beta", "gamma"]

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var input: @Sendable () -> BuildPlan.Input
        var dirty: Set<String>
        var sweep = false
        var trust = true
        var damagedLists: Set<String> = []
        var notes: [BuildNote] = []
        var testDescription: String { name }
    }

    /// A build after a finished one, with whole records, that found `inputIds` and opened (or
    /// lost a file of) `touched`.
    static func input(
        _ inputIds: Set<String> = everyId, touched: Set<String> = [], previous: IdState = previous(),
        change: (inout BuildPlan.Input) -> Void = { _ in }
    ) -> BuildPlan.Input {
        var input = BuildPlan.Input(
            globalKey: "K", previous: previous, builtBefore: true, feedPresent: true, inputIds: inputIds,
            touchedIds: touched)
        change(&input)
        return input
    }

    static let rows: [Row] = [
        Row(name: "nothing changed", input: { input() }, dirty: []),
        Row(name: "add: a new id", input: { input(everyId.union(["delta"]), touched: ["delta"]) }, dirty: ["delta"]),
        Row(name: "add: a version of an id in the feed", input: { input(touched: ["beta"]) }, dirty: ["beta"]),
        Row(name: "replace: a package file rewritten", input: { input(touched: ["alpha"]) }, dirty: ["alpha"]),
        Row(
            name: "remove: an id's last package", input: { input(["alpha", "beta"], touched: ["gamma"]) },
            dirty: ["gamma"]),
        Row(
            name: "remove: an id whose files the read cache did not know", input: { input(["alpha", "beta"]) },
            dirty: ["gamma"]),
        Row(
            name: "re-list or any other policy change: a new global key, every id put together again",
            input: { input { $0.globalKey = "K2" } }, dirty: everyId, trust: false),
        Row(
            name: "--full: every id", input: { input { $0.full = true } }, dirty: everyId, trust: false),
        Row(
            name: "a damaged read cache: every id", input: { input { $0.readCacheDamaged = true } }, dirty: everyId,
            trust: false),
        Row(
            name: "a damaged per-id record: every id, and the folder is swept",
            input: { input { $0.previousDamaged = true } }, dirty: everyId, sweep: true, trust: false),
        Row(
            name: "a damaged per-id record with a damaged list: that id names its files again",
            input: { input(previous: previous(damagedList: "beta")) { $0.previousDamaged = true } }, dirty: everyId,
            sweep: true, trust: false, damagedLists: ["beta"]),
        Row(
            name: "the file list of a dirty id is damaged: swept, and every damaged list is redone",
            input: { input(touched: ["beta"], previous: previous(damagedList: "beta")) }, dirty: ["beta"], sweep: true,
            damagedLists: ["beta"], notes: [.fileListsDamaged(ids: 1)]),
        Row(
            name: "a damaged list of an id that is not dirty: not swept for it",
            input: { input(touched: ["alpha"], previous: previous(damagedList: "beta")) }, dirty: ["alpha"]),
        Row(
            name: "a lost per-id record after a finished build: every id, swept, with a note",
            input: { input(previous: IdState(globalKey: "")) { $0.previousMissing = true } }, dirty: everyId,
            sweep: true, trust: false, notes: [.idRecordMissing]),
        Row(
            name: "a killed earlier build: every id, nothing swept",
            input: { input { $0.unfinishedBefore = true } }, dirty: everyId, trust: false),
        Row(
            name: "a killed push, with trusted records: the ids it was writing, besides the touched ones",
            input: { input(touched: ["alpha"]) { $0.interruptedIds = ["beta"] } }, dirty: ["alpha", "beta"]),
        Row(
            name: "a first build into a folder holding a feed no build recorded: never swept",
            input: {
                input(previous: IdState(globalKey: "")) {
                    $0.previousMissing = true
                    $0.builtBefore = false
                }
            }, dirty: everyId, trust: false, notes: [.feedNotRecorded]),
        Row(
            name: "a first build into an empty folder",
            input: {
                input(previous: IdState(globalKey: "")) {
                    $0.previousMissing = true
                    $0.builtBefore = false
                    $0.feedPresent = false
                }
            }, dirty: everyId, trust: false),
        Row(
            name: "a catalog that started again: every id, so that it hears of every version",
            input: { input { $0.catalogRestarted = true } }, dirty: everyId, trust: false),
    ]

    @Test("which ids are dirty, whether the folder is swept", arguments: rows)
    func plan(_ row: Row) {
        let plan = BuildPlan(row.input())
        #expect(plan.dirty == row.dirty)
        #expect(plan.sweep == row.sweep)
        #expect(plan.trustRecords == row.trust)
        #expect(plan.damagedLists == row.damagedLists)
        #expect(plan.notes == row.notes)
    }

    @Test("an id coming into the feed makes the ids that link it dirty (only with trusted records)")
    func dependents() {
        let plan = BuildPlan(Self.input(Self.everyId.union(["delta"]), touched: ["delta"]))
        #expect(plan.dependents(ofComingOrGoing: ["delta"], previous: Self.previous()) == ["gamma"])
        #expect(plan.dependents(ofComingOrGoing: [], previous: Self.previous()) == [])
        let untrusted = BuildPlan(Self.input { $0.unfinishedBefore = true })
        #expect(untrusted.dependents(ofComingOrGoing: ["delta"], previous: Self.previous()) == [])
    }

    @Test(
        "a dirty id is rendered when its fingerprint changed, it is new, its list is damaged or the global key moved",
        arguments: [
            ("beta", "fp-beta", "K", true, false), ("beta", "other", "K", true, true),
            ("delta", "fp-delta", "K", true, true), ("beta", "fp-beta", "K2", true, true),
            ("beta", "fp-beta", "K", false, true),
        ])
    func rendering(id: String, fingerprint: String, key: String, listWhole: Bool, rendered: Bool) {
        let previous = Self.previous(damagedList: listWhole ? nil : "beta")
        let plan = BuildPlan(
            Self.input(touched: [id], previous: previous) {
                $0.globalKey = key
                if !listWhole { $0.previousDamaged = true }
            })
        #expect(plan.mustRender(id, fingerprint: fingerprint, previous: previous) == rendered)
    }

    @Test("an id a killed build or push was writing is rendered even when its fingerprint is the recorded one")
    func interrupted() {
        let previous = Self.previous()
        let plan = BuildPlan(Self.input(touched: ["alpha"], previous: previous) { $0.interruptedIds = ["beta"] })
        #expect(plan.mustRender("beta", fingerprint: "fp-beta", previous: previous))
        #expect(!plan.mustRender("gamma", fingerprint: "fp-gamma", previous: previous))
    }

    @Test("a sweep removes the listed files (named as Shelf's) that this build's feed does not have")
    func swept() {
        let listed = ["flatcontainer/a/index.json", "flatcontainer/gone/index.json", "badges/gone.svg"]
        let current: Set<String> = ["flatcontainer/a/index.json", "index.json"]
        #expect(
            BuildPlan.swept(listed: listed, current: current) == ["flatcontainer/gone/index.json", "badges/gone.svg"])
    }
}
