import Foundation
import NuGetCore

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
        // By the bytes of the path, compared with memcmp: a String comparison, which looks at
        // Unicode, is most of the time of sorting 100,000 paths that share a long prefix.
        // The paths are sorted through their indices, so that the sort moves integers.
        let paths = found.map(\.0)
        var order = Array(paths.indices)
        paths.withUnsafeBufferPointer { p in order.sort { ByteOrder.precedes(p[$0], p[$1]) } }
        result.packages = order.map { paths[$0] }
        result.stamps = order.map { found[$0].1 }
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
            // The name is looked at in place; a String (and a C copy) is made only for folders and
            // package files, not for every entry of a folder of 100,000.
            let kept: (name: String, raw: [CChar], isSymbols: Bool, isLink: Bool, isFolder: Bool)? = withUnsafeBytes(
                of: &entry.pointee.d_name
            ) { whole in
                let length = whole.firstIndex(of: 0) ?? whole.count
                let bytes = UnsafeRawBufferPointer(rebasing: whole[..<length])
                if length == 1 && bytes[0] == 0x2E || length == 2 && bytes[0] == 0x2E && bytes[1] == 0x2E { return nil }
                var type = entry.pointee.d_type
                if type == UInt8(DT_UNKNOWN) {
                    var st = stat()
                    let raw = bytes.map { CChar(bitPattern: $0) } + [0]
                    guard fstatat(fd, raw, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
                    switch st.st_mode & S_IFMT {
                    case S_IFDIR: type = UInt8(DT_DIR)
                    case S_IFREG: type = UInt8(DT_REG)
                    case S_IFLNK: type = UInt8(DT_LNK)
                    default: return nil
                    }
                }
                if type == UInt8(DT_DIR) {
                    return (String(decoding: bytes, as: UTF8.self), [], false, false, true)
                }
                guard type == UInt8(DT_REG) || type == UInt8(DT_LNK) else { return nil }
                // The suffixes, in any case, on the name's bytes (no string is made for other files).
                let isSymbols = Self.hasSuffix(bytes, ".snupkg") || Self.hasSuffix(bytes, ".symbols.nupkg")
                guard isSymbols || Self.hasSuffix(bytes, ".nupkg") else { return nil }
                let raw = bytes.map { CChar(bitPattern: $0) } + [0]
                return (String(decoding: bytes, as: UTF8.self), raw, isSymbols, type == UInt8(DT_LNK), false)
            }
            guard let kept else { continue }
            if kept.isFolder {
                let path = dir + "/" + kept.name
                if kept.name.utf8.first == 0x2E || excluding.contains(path) { continue }
                subfolders.append(path)
                continue
            }
            candidates.append((kept.name, kept.raw, kept.isSymbols, kept.isLink))
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
        name.withUnsafeBytes { hasSuffix($0, suffix) }
    }

    static func hasSuffix(_ name: UnsafeRawBufferPointer, _ suffix: StaticString) -> Bool {
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
        // On the UTF-8 bytes: dropping Characters walks the whole prefix, for every package.
        let prefix = root.utf8.count + 1
        let bytes = path.utf8
        guard bytes.count >= prefix, bytes.starts(with: root.utf8),
            bytes[bytes.index(bytes.startIndex, offsetBy: prefix - 1)] == 0x2F
        else { return path }
        return String(Substring(bytes.dropFirst(prefix)))
    }
}
