import Foundation
import NuGetCore

/// The package files of the input folder, as found: absolute and relative paths (sorted by their
/// bytes) and each file's identity.
struct InputScan: Sendable {
    var packages: [String]
    var relatives: [String]
    /// Each file's relative path and identity (nil when it cannot be read), as the input
    /// signature and the read cache take them.
    var identities: [(relative: String, stamp: ReadCache.Stamp?)]
    var symbolPackages: Int
    /// The symbol packages (`.snupkg`; not the legacy `.symbols.nupkg`), and each one's relative
    /// path and identity.
    var snupkgs: [String]
    var snupkgIdentities: [(relative: String, stamp: ReadCache.Stamp?)]
    /// Folders that could not be listed.
    var problems: [Diagnostic]

    init(_ scanner: PackageScanner) {
        let result = scanner.scan()
        packages = result.packages
        identities = zip(result.packages, result.stamps).map { (relative: scanner.relative($0), stamp: $1) }
        relatives = identities.map(\.relative)
        symbolPackages = result.symbolPackages.count
        snupkgs = result.symbolPackages.filter { $0.lowercased().hasSuffix(".snupkg") }
        snupkgIdentities = snupkgs.map { (relative: scanner.relative($0), stamp: FileIdentity.of($0)) }
        problems = result.problems
    }

    /// Legacy symbol packages (`.symbols.nupkg`), which are not served.
    var legacySymbolPackages: Int { symbolPackages - snupkgs.count }

    /// Whether a package changed just before the build `started` (`FeedBuilder.isRacy`): then
    /// the build is not recorded as one the next build may skip as a no-op.
    func changed(justBefore started: Int64) -> Bool {
        (identities + snupkgIdentities).contains { $0.stamp.map { FeedBuilder.isRacy($0, started: started) } ?? false }
    }
}

/// Stage 1 of a build: every package file of the input, read. Only new or changed files are
/// opened; the rest come from the read cache, as records that are decoded only if their id has
/// to be put together again.
struct PackageInputs: Sendable {
    let scan: InputScan
    /// What each file holds (as `scan.packages`): read now, or the cache's record.
    var entries: [ReadCache.Entry]
    /// The files this build opened (indices into `scan.packages`).
    var opened: [Int]
    /// Paths the last build knew that are gone or changed now.
    var leftCache: [String]
    /// The ids those paths were of.
    var leftIds: Set<String>
    /// Whether there was a read cache at all.
    var hadCache: Bool
    /// The read cache for the next build: the old one with this build's changes.
    var nextCache: ReadCache
    /// The files of each id (lowercase), as indices.
    var byId: [String: [Int]] = [:]
    /// One line per file that cannot be served, and what the reader noticed about the others.
    var skipped: [Diagnostic] = []
    var warnings: [Diagnostic] = []

    /// The ids whose files this build opened or that lost a file: with trusted records, only
    /// these (and ids that came or went) are dirty.
    var touchedIds: Set<String> {
        var ids = leftIds
        for i in opened where !entries[i].lowerId.isEmpty { ids.insert(entries[i].lowerId) }
        ids.remove("")
        return ids
    }

    /// The read-cache shards this build changed.
    var changedCacheShards: Set<Int> {
        var shards = Set(opened.map { ReadCache.shard(of: scan.relatives[$0]) })
        for path in leftCache { shards.insert(ReadCache.shard(of: path)) }
        return shards
    }

    /// How many files are served (every file of an id, before the policy).
    var packagesRead: Int { byId.values.reduce(0) { $0 + $1.count } }

    /// Matches the scan against the cache, reads what it does not answer for, on all cores. The
    /// cache is consumed: it becomes the next build's (a copy would cost tens of milliseconds
    /// of a small rebuild of a large feed).
    /// `started` is when the build started (nanoseconds since 1970): a file changed just before
    /// it is not cached (`FeedBuilder.isRacy`).
    static func read(
        _ scan: InputScan, cache: consuming ReadCache, started: Int64, concurrency: Int,
        progress: (@Sendable (FeedBuilder.Progress) -> Void)?
    ) async -> PackageInputs {
        let paths = scan.packages
        let relatives = scan.relatives
        let noStamp = ReadCache.Stamp(size: -1, mtime: 0, ctime: 0, inode: 0, device: 0)
        var entries = [ReadCache.Entry](repeating: ReadCache.Entry(stamp: noStamp, failure: ""), count: paths.count)
        var toRead: [Int] = []
        for i in paths.indices {
            let (rel, stamp) = scan.identities[i]
            if let stamp, let hit = cache.entries[rel], hit.stamp == stamp {
                entries[i] = hit
            } else {
                toRead.append(i)
            }
        }
        // Paths the last build knew that are gone or changed now, and the ids they were of.
        let hits = paths.count - toRead.count
        var leftCache: [String] = []
        var leftIds = Set<String>()
        if cache.entries.count != hits {
            var hitPaths = Set<String>(minimumCapacity: hits)
            let reading = Set(toRead)
            for i in paths.indices where !reading.contains(i) { hitPaths.insert(relatives[i]) }
            leftCache = cache.entries.keys.filter { !hitPaths.contains($0) }
            for rel in leftCache { leftIds.insert(cache.entries[rel]!.lowerId) }
        }
        let hadCache = !cache.entries.isEmpty
        // The new cache is the old one (not copied: it is not used again) with this build's changes.
        var next = consume cache
        let readPaths = Set(toRead.map { relatives[$0] })
        for rel in leftCache where !readPaths.contains(rel) { next.entries[rel] = nil }
        let results = await readAll(toRead.map { paths[$0] }, concurrency: concurrency, progress: progress)
        for (i, result) in zip(toRead, results) {
            // A file that moved since the scan may have been read half old, half new: skipped
            // for this build and not cached, so the next build reads it again.
            let stamp = ReadCache.Stamp.of(paths[i])
            if stamp != scan.identities[i].stamp || result.isChangedWhileReading {
                entries[i] = ReadCache.Entry(
                    stamp: noStamp, failure: PackageArchiveError.changedWhileReading.description)
                next.entries[relatives[i]] = nil
                continue
            }
            let entry: ReadCache.Entry
            switch result {
            case .success(let a): entry = ReadCache.Entry(stamp: stamp ?? noStamp, archive: a)
            case .failure(let e): entry = ReadCache.Entry(stamp: stamp ?? noStamp, failure: e.description)
            }
            entries[i] = entry
            // A file whose identity cannot be read, or changed just before this build, is not
            // cached: the next build reads it again.
            next.entries[relatives[i]] =
                stamp.map { !FeedBuilder.isRacy($0, started: started) } == true ? entry : nil
        }
        var inputs = PackageInputs(
            scan: scan, entries: entries, opened: toRead, leftCache: leftCache, leftIds: leftIds, hadCache: hadCache,
            nextCache: next)
        for (i, entry) in inputs.entries.enumerated() {
            if let why = entry.failure {
                inputs.skipped.append(Diagnostic(severity: .error, file: relatives[i], message: why))
                continue
            }
            for w in entry.warnings {
                inputs.warnings.append(Diagnostic(severity: .warning, file: relatives[i], message: w))
            }
            inputs.byId[entry.lowerId, default: []].append(i)
        }
        return inputs
    }

    /// The files of an id, with what was read from each.
    func files(of lowerId: String) -> [(path: String, entry: ReadCache.Entry)] {
        (byId[lowerId] ?? []).map { (scan.packages[$0], entries[$0]) }
    }

    /// Packages whose own timestamp is later than tomorrow (the clock is read only to warn; it
    /// never goes into the feed).
    func timestampsInFuture(now: Date = Date()) -> [BuildNote] {
        let tomorrow = now.addingTimeInterval(86_400)
        return entries.indices.compactMap { i in
            let entry = entries[i]
            guard entry.failure == nil, entry.packedAt > tomorrow else { return nil }
            return .timestampInFuture(
                file: scan.relatives[i], timestamp: RegistrationRenderer.timestamp(entry.packedAt))
        }
    }

    /// Reads every package, on all cores, in input order.
    static func readAll(
        _ paths: [String], concurrency: Int, progress: (@Sendable (FeedBuilder.Progress) -> Void)?
    ) async -> [Result<PackageArchive, PackageArchiveError>] {
        // One worker per job, each taking the next file until none is left. (A task per file,
        // added as the previous one finished, kept a core idle a third of the time: each file
        // is a fraction of a millisecond, and the loop adding tasks had to be scheduled on the
        // same cores between them.)
        let results = Slots<Result<PackageArchive, PackageArchiveError>>(count: paths.count)
        let queue = WorkQueue(count: paths.count)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, min(concurrency, paths.count)) {
                group.addTask {
                    while let i = queue.take() {
                        do throws(PackageArchiveError) {
                            results.set(i, .success(try PackageArchive.read(path: paths[i])))
                        } catch {
                            results.set(i, .failure(error))
                        }
                        queue.finished { done in progress?(.reading(done: done, total: paths.count)) }
                    }
                }
            }
        }
        return results.values
    }
}

extension Result where Success == PackageArchive, Failure == PackageArchiveError {
    fileprivate var isChangedWhileReading: Bool {
        if case .failure(.changedWhileReading) = self { return true }
        return false
    }
}
