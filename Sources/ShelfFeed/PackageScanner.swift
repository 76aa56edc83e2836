import Foundation

#if canImport(Glibc)
    import Glibc
#endif

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
        /// The identity of each package file (as `packages`), nil when it cannot be read.
        var stamps: [ReadCache.Stamp?] = []

        public init(packages: [String], symbolPackages: [String], problems: [Diagnostic]) {
            self.packages = packages
            self.symbolPackages = symbolPackages
            self.problems = problems
        }
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
        var found: [(String, ReadCache.Stamp?)] = []
        walk(root, into: &result, packages: &found)
        found.sort { $0.0 < $1.0 }
        result.packages = found.map(\.0)
        result.stamps = found.map(\.1)
        result.symbolPackages.sort()
        return result
    }

    /// Lists a folder with `readdir` and looks at its entries relative to it (`fstatat`): a
    /// file's type comes from the listing, and only package files are looked at, once each, for
    /// the identity the read cache compares (a scan of 100,000 packages is mostly these calls).
    private func walk(_ dir: String, into result: inout Result, packages: inout [(String, ReadCache.Stamp?)]) {
        guard let handle = opendir(dir) else {
            result.problems.append(
                Diagnostic(
                    severity: .warning, file: relative(dir), message: "cannot list this folder; check its permissions"))
            return
        }
        defer { closedir(handle) }
        let fd = dirfd(handle)
        var subfolders: [String] = []
        var candidates: [(name: String, raw: [CChar], isSymbols: Bool, isLink: Bool)] = []
        while true {
            errno = 0
            guard let entry = readdir(handle) else {
                if errno != 0 {
                    result.problems.append(
                        Diagnostic(
                            severity: .warning, file: relative(dir),
                            message: "this folder could not be listed to the end; check the file system"))
                }
                break
            }
            let raw = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                Array(bytes.prefix(while: { $0 != 0 }).map { CChar(bitPattern: $0) }) + [0]
            }
            let bytes = raw.dropLast().map { UInt8(bitPattern: $0) }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
            var type = entry.pointee.d_type
            if type == UInt8(DT_UNKNOWN) {
                var st = stat()
                guard fstatat(fd, raw, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: type = UInt8(DT_DIR)
                case S_IFREG: type = UInt8(DT_REG)
                case S_IFLNK: type = UInt8(DT_LNK)
                default: continue
                }
            }
            if type == UInt8(DT_DIR) {
                let path = dir + "/" + String(decoding: bytes, as: UTF8.self)
                if bytes.first == 0x2E || excluding.contains(path) { continue }
                subfolders.append(path)
                continue
            }
            guard type == UInt8(DT_REG) || type == UInt8(DT_LNK) else { continue }
            // The suffixes, in any case, on the name's bytes (no string is made for other files).
            let isSymbols = Self.hasSuffix(bytes, ".snupkg") || Self.hasSuffix(bytes, ".symbols.nupkg")
            guard isSymbols || Self.hasSuffix(bytes, ".nupkg") else { continue }
            candidates.append((String(decoding: bytes, as: UTF8.self), raw, isSymbols, type == UInt8(DT_LNK)))
        }
        // Each candidate is looked at through links: a link to a package file is read through; a
        // link named like a package that leads nowhere (a loop, a missing target) is kept, so
        // that it gets its error line. On all cores: these calls are most of a large scan.
        let looked = Slots<(found: Bool, stat: stat)>(count: candidates.count)
        let list = candidates
        let chunk = 2048
        DispatchQueue.concurrentPerform(iterations: (list.count + chunk - 1) / chunk) { n in
            for i in n * chunk..<min(list.count, (n + 1) * chunk) {
                var st = stat()
                let found = fstatat(fd, list[i].raw, &st, 0) == 0
                looked.set(i, (found, st))
            }
        }
        for (candidate, (found, st)) in zip(candidates, looked.values) {
            if found && st.st_mode & S_IFMT != S_IFREG { continue }
            // A file that went away since the listing is not there; only a link that leads
            // nowhere is kept without an identity.
            if !found && !candidate.isLink { continue }
            let path = dir + "/" + candidate.name
            if candidate.isSymbols {
                result.symbolPackages.append(path)
            } else {
                packages.append((path, found ? ReadCache.Stamp(st) : nil))
            }
        }
        for sub in subfolders.sorted() { walk(sub, into: &result, packages: &packages) }
    }

    /// Whether `name` ends with `suffix` (ASCII, lowercase), in any case.
    static func hasSuffix(_ name: [UInt8], _ suffix: StaticString) -> Bool {
        let n = suffix.utf8CodeUnitCount
        guard name.count >= n else { return false }
        return suffix.withUTF8Buffer { s in
            var i = name.count - n
            for c in s {
                let b = name[i]
                guard (b >= 0x41 && b <= 0x5A ? b + 0x20 : b) == c else { return false }
                i += 1
            }
            return true
        }
    }

    /// A path relative to the input folder, for messages.
    public func relative(_ path: String) -> String {
        if path == root { return "." }
        return path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}
