import Foundation
import ShelfFeed

/// The end-of-build summary, as a sentence for people and as JSON for machines.
struct Summary {
    let report: FeedBuilder.Report
    let seconds: Double

    init(_ report: FeedBuilder.Report, seconds: Double) {
        self.report = report
        self.seconds = seconds
    }

    var text: String {
        var s =
            "shelf: \(report.packageFiles) package files, \(report.packagesRead) read, "
            + "\(report.versions) versions of \(report.ids) ids in the feed"
        if !report.skipped.isEmpty { s += ", \(report.skipped.count) skipped (listed above)" }
        if report.nothingChanged {
            return s + String(format: "; nothing changed since the last build; %.1f s", seconds)
        }
        if report.symbolPackages > 0 {
            s += ", \(report.symbolPackagesServed) of \(report.symbolPackages) symbol packages served"
            let notServed = report.symbolPackages - report.symbolPackagesServed
            if notServed > 0 { s += " (\(notServed) not: a legacy .symbols.nupkg, or listed above)" }
        }
        s +=
            "; files: \(report.filesWritten) written, \(report.filesUnchanged) unchanged, \(report.filesRemoved) removed"
        s += String(format: "; %.1f s", seconds)
        return s
    }

    var jsonText: String {
        func diag(_ d: Diagnostic) -> [String: String] {
            var o = ["severity": d.severity.rawValue, "message": d.message]
            if let f = d.file { o["file"] = f }
            return o
        }
        let object: [String: Any] = [
            "packageFiles": report.packageFiles,
            "packagesRead": report.packagesRead,
            "packagesOpened": report.packagesOpened,
            "idsRendered": report.idsRendered,
            "nothingChanged": report.nothingChanged,
            "ids": report.ids,
            "versions": report.versions,
            "skipped": report.skipped.map(diag),
            "warnings": report.warnings.map(diag),
            "symbolPackages": report.symbolPackages,
            "symbolPackagesServed": report.symbolPackagesServed,
            "filesWritten": report.filesWritten,
            "filesUnchanged": report.filesUnchanged,
            "filesRemoved": report.filesRemoved,
            "bytesWritten": report.bytesWritten,
            "seconds": (seconds * 1000).rounded() / 1000,
            "phases": Dictionary(report.phases.map { ($0.0, ($0.1 * 1000).rounded() / 1000) }, uniquingKeysWith: +),
            "catalogItemsAdded": report.catalogItemsAdded,
            "prunedByRetention": report.pruned,
        ]
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
