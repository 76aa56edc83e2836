import Foundation
import Testing

/// Golden files: what a client receives, byte for byte, kept under a test target's `Golden/`.
/// A mismatch fails with the files that came or went and a unified diff of each that changed.
///
/// Regenerating is a deliberate act: `SHELF_UPDATE_GOLDEN=1 swift test --filter <suite>` writes
/// the documents as they are now; review the change with `git diff` before committing it.
public enum Golden {
    /// Whether this run rewrites golden files instead of comparing with them.
    public static var updating: Bool { ProcessInfo.processInfo.environment["SHELF_UPDATE_GOLDEN"] == "1" }

    /// Compares documents (relative path → bytes) with the files under `folder`, or (when
    /// updating) replaces that folder with them.
    public static func compare(
        _ documents: [String: Data], with folder: URL, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        if updating {
            try? FileManager.default.removeItem(at: folder)
            for (path, data) in documents {
                let url = folder.appendingPathComponent(path)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: url)
            }
            return
        }
        let expected = try files(in: folder)
        let name = folder.lastPathComponent
        let missing = Set(expected.keys).subtracting(documents.keys).sorted()
        let extra = Set(documents.keys).subtracting(expected.keys).sorted()
        if !missing.isEmpty {
            Issue.record(
                "Golden/\(name): no longer made: \(missing.joined(separator: ", "))", sourceLocation: sourceLocation)
        }
        if !extra.isEmpty {
            Issue.record(
                "Golden/\(name): made but not golden: \(extra.joined(separator: ", "))", sourceLocation: sourceLocation)
        }
        for (path, data) in documents.sorted(by: { $0.key < $1.key }) {
            guard let golden = expected[path], golden != data else { continue }
            let diff = UnifiedDiff.make(expected: golden, actual: data, path: path)
            let lines = diff.split(separator: "\n", omittingEmptySubsequences: false)
            let shown = lines.count > 200 ? lines.prefix(200).joined(separator: "\n") + "\n[...]" : diff
            Issue.record("Golden/\(name)/\(path) differs:\n\(shown)", sourceLocation: sourceLocation)
        }
    }

    /// Every regular file below a folder, by relative path.
    public static func files(in folder: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        guard let e = FileManager.default.enumerator(atPath: folder.path) else { return out }
        while let rel = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder.path + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
                out[rel] = try Data(contentsOf: folder.appendingPathComponent(rel))
            }
        }
        return out
    }
}
