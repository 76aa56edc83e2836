import Crypto
import Foundation
import NuGetCore

/// A digest of everything a build reads: every package file's path and identity (size, times,
/// inode), the policy and advisory files, and the options that shape the output. When it equals
/// the last successful build's (`.shelf/input.sig`), nothing can have changed and the build
/// stops at once, reporting what the last one reported (`.shelf/last-report.json`).
struct InputSignature {
    static let path = ".shelf/input.sig"
    static let reportPath = ".shelf/last-report.json"

    static func compute(
        packages: [(relative: String, stamp: ReadCache.Stamp?)], symbolPackages: Int, policyFiles: [String],
        settings: [String]
    ) -> String {
        // One buffer, hashed once: cheaper than a hash update per field.
        var buffer: [UInt8] = []
        buffer.reserveCapacity(packages.count * 96)
        func add(_ s: String) {
            buffer.append(contentsOf: s.utf8)
            buffer.append(0)
        }
        for s in settings { add(s) }
        add("symbols \(symbolPackages)")
        for p in policyFiles {
            add(p)
            add(FileManager.default.contents(atPath: p).map { Hex.string(SHA256.hash(data: $0)) } ?? "missing")
        }
        for (rel, stamp) in packages {
            add(rel)
            if let s = stamp {
                for v in [s.size, s.mtime, s.ctime, s.inode, s.device] {
                    withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) }
                }
            } else {
                add("unreadable")
            }
        }
        return Hex.string(SHA256.hash(data: buffer))
    }

    /// The identity of the files a build leaves as its record (state, manifest, service index):
    /// if any of them was touched since, the output is not trusted to be the last build's.
    static func outputStamps(_ root: String) -> String {
        ([
            "index.json", ".shelf/feed-files.txt", CatalogState.path, CatalogState.tailPath, reportPath,
            CatalogLayout.index,
        ]
            + (0..<ReadCache.shardCount).map(ReadCache.shardPath) + (0..<IdState.shardCount).map(IdState.shardPath)).map
        { path in
            guard let s = ReadCache.Stamp.of(root + "/" + path) else { return "-" }
            return "\(s.size):\(s.mtime):\(s.ctime):\(s.inode)"
        }.joined(separator: " ")
    }

    /// What a no-op build reports: the last build's findings.
    struct LastReport: Codable {
        var packageFiles: Int
        var packagesRead: Int
        var ids: Int
        var versions: Int
        var skipped: [Diagnostic]
        var warnings: [Diagnostic]
        var symbolPackages: Int
        var pruned: Int
        var files: Int
    }
}
