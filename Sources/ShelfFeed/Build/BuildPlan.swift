import Foundation
import NuGetCore

/// Stage 2 of a build: which ids to put together again, and whether the output folder must be
/// listed to find files no record names. A pure function of what the previous build recorded and
/// what this one found; the rules here are what makes a rebuild cost what changed, and what
/// keeps it correct when the records cannot be trusted.
///
/// - With whole records of a finished build, and the same global key (base URL, renderers,
///   options, output format), an id is dirty when one of its files was opened or left, its view
///   of the policy changed, or it came or went. Otherwise every id is dirty (those whose fingerprint turns out the same
///   are still not rendered).
/// - The output folder is listed ("swept") when the records cannot say which files earlier
///   builds wrote: the per-id record is missing or damaged after a finished build, or the file
///   list of a dirty id is damaged. Then every id that keeps its files must name them, so an id
///   whose list is damaged is dirty too.
/// - Nothing is swept, and nothing is removed on a sweep's word, where no Shelf build finished:
///   the folder may hold someone else's files.
struct BuildPlan: Sendable, Equatable {
    /// What the plan is made from.
    struct Input {
        /// `--full`: ignore the records.
        var full = false
        /// This build's global key, and the previous record (empty when there is none).
        var globalKey: String
        var previous: IdState
        /// The per-id record was missing, or partly unreadable.
        var previousMissing = false
        var previousDamaged = false
        /// Part of the read cache was unreadable (its files were read again, so which of them
        /// changed is unknown).
        var readCacheDamaged = false
        /// The catalog history had to start again (it must hear of every version).
        var catalogRestarted = false
        /// An earlier build left its journal: it did not finish.
        var unfinishedBefore = false
        /// A Shelf build finished in this folder before (its last records exist).
        var builtBefore = false
        /// The folder holds a service index.
        var feedPresent = false
        /// The ids of the input's readable packages (lowercase).
        var inputIds: Set<String>
        /// The ids whose files this build opened or that lost a file.
        var touchedIds: Set<String>
        /// The ids whose view of the policy changed (`FeedPolicy.view(of:)`).
        var policyTouched: Set<String> = []
        /// The ids a killed build or push was writing (its journal names their files): their
        /// indexes may name what it wrote, whatever their records say.
        var interruptedIds: Set<String> = []
    }

    /// The records apply: same global key, not `--full`, and the catalog continues.
    var sameGlobal: Bool
    /// The records say which ids are dirty: whole, and left by a build that finished.
    var trustRecords: Bool
    /// The ids to put together again.
    var dirty: Set<String>
    /// List the output folder for files named as Shelf's that no id of this build has.
    var sweep: Bool
    /// Ids whose file list is damaged while the folder is swept: put together again, so that
    /// they name their files.
    var damagedLists: Set<String>
    /// What a user should know about the records (in the order they are said).
    var notes: [BuildNote]
    /// Ids rendered whatever their fingerprint: those a killed build or push was writing.
    var interrupted: Set<String>

    init(_ input: Input) {
        let previous = input.previous
        sameGlobal =
            !input.full && previous.globalKey == input.globalKey
            && !(input.catalogRestarted && !previous.entries.isEmpty)
        trustRecords = sameGlobal && !input.readCacheDamaged && !input.previousDamaged && !input.unfinishedBefore
        if trustRecords {
            dirty = input.touchedIds.union(input.policyTouched)
            for id in input.inputIds where previous.entries[id] == nil { dirty.insert(id) }
            for id in previous.entries.keys where !input.inputIds.contains(id) { dirty.insert(id) }
        } else {
            dirty = input.inputIds.union(previous.entries.keys)
        }
        interrupted = input.interruptedIds
        dirty.formUnion(interrupted)
        notes = []
        if input.previousMissing && !input.previousDamaged && input.builtBefore {
            notes.append(.idRecordMissing)
        } else if !input.builtBefore && input.feedPresent {
            notes.append(.feedNotRecorded)
        }
        sweep = input.builtBefore && (input.previousMissing || input.previousDamaged)
        if !sweep {
            let unreadable = Parallel.map(dirty.sorted(), pieces: 16) { id in
                previous.entries[id].map { $0.readPaths() == nil } ?? false
            }
            let count = unreadable.filter { $0 }.count
            if count > 0 {
                sweep = true
                notes.append(.fileListsDamaged(ids: count))
            }
        }
        damagedLists = []
        if sweep && sameGlobal {
            let kept = previous.entries.filter { $0.value.digest != nil }.map(\.key)
            let unreadable = Parallel.map(kept, pieces: 16) { id in
                previous.entries[id]!.readPaths() == nil ? id : nil
            }
            damagedLists = Set(unreadable.compactMap { $0 })
            dirty.formUnion(damagedLists)
        }
    }

    /// The ids that are not dirty but link an id that came into the feed or left it (their
    /// pages link the ids they depend on that are in the feed): they are put together again.
    /// Only with trusted records; otherwise every id is dirty already.
    func dependents(ofComingOrGoing changed: Set<String>, previous: IdState) -> [String] {
        guard trustRecords && !changed.isEmpty else { return [] }
        var out: [String] = []
        for (id, e) in previous.entries where !dirty.contains(id) {
            if let d = e.digest, d.dependencies.contains(where: changed.contains) { out.append(id) }
        }
        return out
    }

    /// Whether a served id's documents must be rendered: its fingerprint changed, it is new, the
    /// records cannot say which files it has, or a killed build was writing it (its indexes may
    /// name files its record does not). Otherwise its files stay as they are.
    func mustRender(_ lowerId: String, fingerprint: String, previous: IdState) -> Bool {
        guard sameGlobal, let old = previous.entries[lowerId], old.digest != nil, old.fingerprint == fingerprint,
            !damagedLists.contains(lowerId), !interrupted.contains(lowerId)
        else { return true }
        return false
    }

    /// The files a sweep removes: those `listed` in the output folder (named as Shelf names its
    /// own) that are not among this build's `current` files.
    static func swept(listed: [String], current: Set<String>) -> [String] {
        listed.filter { !current.contains($0) }
    }

    static func == (a: BuildPlan, b: BuildPlan) -> Bool {
        a.sameGlobal == b.sameGlobal && a.trustRecords == b.trustRecords && a.dirty == b.dirty && a.sweep == b.sweep
            && a.damagedLists == b.damagedLists && a.notes == b.notes && a.interrupted == b.interrupted
    }
}
