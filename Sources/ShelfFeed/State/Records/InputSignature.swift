import Crypto
import Foundation
import NuGetCore

/// A digest of everything a build reads: every package file's path and identity (size, times,
/// inode), the policy and advisory files, and the options that shape the output. When it equals
/// the last successful build's (`StateRecord.inputSignature`), and the records that build left
/// are as it left them (`StateStore.recordIdentity`), nothing can have changed and the build
/// stops at once, reporting what the last one reported (`StateRecord.lastReport`).
struct InputSignature {
    static func compute(
        packages: [(relative: String, stamp: ReadCache.Stamp?)], symbolPackages: Int,
        snupkgs: [(relative: String, stamp: ReadCache.Stamp?)] = [], policyFiles: [String], settings: [String]
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
        for (rel, stamp) in snupkgs {
            add(rel)
            add(stamp?.text ?? "unreadable")
        }
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

    /// What a no-op build reports: the last build's findings.
    struct LastReport: Codable {
        var packageFiles: Int
        var packagesRead: Int
        var ids: Int
        var versions: Int
        var skipped: [Diagnostic]
        var warnings: [Diagnostic]
        var symbolPackages: Int
        var symbolPackagesServed: Int? = nil
        var pruned: Int
        var files: Int
    }
}
