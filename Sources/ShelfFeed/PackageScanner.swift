import Foundation

/// Finds the package files under an input folder.
///
/// Every `*.nupkg` (any case) below the folder is a candidate; symbol packages (`.snupkg`,
/// `.symbols.nupkg`) are not packages a feed serves and are listed apart. Directory symlinks are
/// not followed (so a link loop cannot trap the scan), file symlinks are; a file symlink that
/// leads nowhere is listed, and fails to read with a message. Folders named in
/// `excluding` (the output folder, when it sits inside the input) are skipped.
public struct PackageScanner: Sendable {
    public struct Result: Sendable {
        /// Absolute paths of candidate packages, sorted by path bytes.
        public var packages: [String]
        /// Symbol packages found and left out.
        public var symbolPackages: [String]
        /// Entries that could not be listed (unreadable folders).
        public var problems: [Diagnostic]
    }

    public let root: String
    public let excluding: [String]

    public init(root: String, excluding: [String] = []) {
        self.root = Self.standardize(root)
        self.excluding = excluding.map(Self.standardize)
    }

    static func standardize(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    public func scan() -> Result {
        var result = Result(packages: [], symbolPackages: [], problems: [])
        walk(root, into: &result)
        result.packages.sort()
        result.symbolPackages.sort()
        return result
    }

    private func walk(_ dir: String, into result: inout Result) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: dir)
        } catch {
            result.problems.append(
                Diagnostic(
                    severity: .warning, file: relative(dir), message: "cannot list this folder; check its permissions"))
            return
        }
        for name in names.sorted() {
            let path = dir + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let kind = st.st_mode & S_IFMT
            if kind == S_IFDIR {
                if name.hasPrefix(".") || excluding.contains(path) { continue }
                walk(path, into: &result)
                continue
            }
            if kind == S_IFLNK {
                // A link to a package file is read through; a link named like a package that
                // leads nowhere (a loop, a missing target) is kept, so that it gets its error line.
                var target = stat()
                if stat(path, &target) == 0 {
                    guard target.st_mode & S_IFMT == S_IFREG else { continue }
                }
            } else if kind != S_IFREG {
                continue
            }
            let lower = name.lowercased()
            if lower.hasSuffix(".snupkg") || lower.hasSuffix(".symbols.nupkg") {
                result.symbolPackages.append(path)
            } else if lower.hasSuffix(".nupkg") {
                result.packages.append(path)
            }
        }
    }

    /// A path relative to the input folder, for messages.
    public func relative(_ path: String) -> String {
        if path == root { return "." }
        return path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}
