import Foundation
import NuGetCore

extension FeedBuilder {
    /// What a build did, for the summary line and `--json`.
    public struct Report: Sendable {
        public var packageFiles = 0
        public var packagesRead = 0
        /// Package files opened by this build (the others came from the read cache).
        public var packagesOpened = 0
        /// Ids whose documents this build rendered (the others were unchanged).
        public var idsRendered = 0
        /// No input changed since the last build, so nothing was read, rendered or written.
        public var nothingChanged = false
        public var ids = 0
        public var versions = 0
        /// One `error:` line per package file left out of the feed.
        public var skipped: [Diagnostic] = []
        /// Everything else worth saying, in the order it was found.
        public var warnings: [Diagnostic] = []
        /// What the build said about the feed's records and output folder (also in `warnings`).
        public var notes: [BuildNote] = []
        /// Symbol packages found (`.snupkg` and legacy `.symbols.nupkg`), and those served.
        public var symbolPackages = 0
        public var symbolPackagesServed = 0
        /// Files of the feed written, left as they were, and removed (Shelf's own records aside).
        public var filesWritten = 0
        public var filesUnchanged = 0
        public var filesRemoved = 0
        public var bytesWritten: Int64 = 0
        public var catalogItemsAdded = 0
        /// Versions retention left out of the feed.
        public var pruned = 0
        /// Seconds per phase (scan, read, model, plan, render, write), for `--json` and benchmarks.
        public var phases: [(String, Double)] = []

        public init() {}

        /// The report of a build that found nothing changed: the last build's findings.
        init(unchanged last: InputSignature.LastReport, phases: [(String, Double)]) {
            packageFiles = last.packageFiles
            packagesRead = last.packagesRead
            ids = last.ids
            versions = last.versions
            skipped = last.skipped
            warnings = last.warnings
            symbolPackages = last.symbolPackages
            symbolPackagesServed = last.symbolPackagesServed ?? 0
            pruned = last.pruned
            filesUnchanged = last.files
            nothingChanged = true
            self.phases = phases
        }

        /// What the scan found.
        init(_ scan: InputScan) {
            packageFiles = scan.packages.count
            symbolPackages = scan.symbolPackages
            warnings = scan.problems
        }

        /// A note about the records, said now.
        mutating func note(_ note: BuildNote) {
            notes.append(note)
            warnings.append(note.diagnostic)
        }

        /// What reading the packages found (after a note that the read cache was damaged).
        mutating func add(_ inputs: PackageInputs, cacheDamaged: Bool) {
            if cacheDamaged { note(.readCacheDamaged) }
            skipped += inputs.skipped
            warnings += inputs.warnings
            packagesRead = inputs.packagesRead
            packagesOpened = inputs.opened.count
        }

        /// What putting the feed together found, then `notes` about the packages.
        mutating func add(_ summary: FeedSummary, rendered: Int, notes: [BuildNote]) {
            idsRendered = rendered
            skipped += summary.refused
            warnings += summary.warnings
            pruned = summary.pruned
            ids = summary.digests.count
            versions = summary.versions
            notes.forEach { note($0) }
        }

        /// What writing did.
        mutating func add(_ files: LocalFolderSink.Summary, phases: [(String, Double)]) {
            filesWritten = files.written
            filesUnchanged = files.unchanged
            filesRemoved = files.removed
            bytesWritten = files.bytesWritten
            self.phases = phases
        }

        /// What a build that finds nothing changed reports next time.
        var last: InputSignature.LastReport {
            InputSignature.LastReport(
                packageFiles: packageFiles, packagesRead: packagesRead, ids: ids, versions: versions, skipped: skipped,
                warnings: warnings, symbolPackages: symbolPackages, symbolPackagesServed: symbolPackagesServed,
                pruned: pruned, files: filesWritten + filesUnchanged)
        }
    }
}
