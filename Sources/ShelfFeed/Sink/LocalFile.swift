import Crypto
import Foundation
import NuGetCore

/// The file operations the local sink and the local state store make, on absolute paths, with
/// plain POSIX calls: they run once or more per file of a feed (hundreds of thousands of times),
/// where Foundation's file APIs would allocate and copy. Each reports failure with `errno`'s
/// message, which is what a user can act on ("No space left on device", "Permission denied").
enum LocalFile {
    /// A failed call: the path and `strerror(errno)`.
    struct Failure: Error, Sendable {
        var path: String
        var reason: String
        /// A folder could not be made (rather than a file written).
        var isFolder = false

        /// The failure `errno` describes now.
        static func current(_ path: String) -> Failure {
            Failure(path: path, reason: POSIX.message(errno))
        }
    }

    /// Writes bytes to a file (a new one, or appended with `O_APPEND`); false with `errno` set on
    /// failure.
    static func writeAll(_ data: Data, to path: String, flags: Int32 = O_TRUNC) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = POSIX.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }

    /// The hidden sibling a file is written under before it is renamed into place
    /// (`dir/.name.shelf-tmp`). A build killed while writing leaves it; it is never served.
    static func temporaryName(for target: String) -> String {
        guard let slash = target.utf8.lastIndex(of: 0x2F) else { return ".\(target).shelf-tmp" }
        return "\(target[..<slash])/.\(target[target.index(after: slash)...]).shelf-tmp"
    }

    /// `rename(2)`; on failure the temporary file is removed and the failure names `display`.
    static func rename(_ temp: String, to target: String, display: String) throws(Failure) {
        if POSIX.rename(temp, target) != 0 {
            let failure = Failure.current(display)
            unlink(temp)
            throw failure
        }
    }

    /// Replaces a file's bytes atomically (a temporary sibling, then a rename), making its folder
    /// if it is missing. Unless `compare` is false (the folder was just made), a file that
    /// already holds exactly these bytes is not touched. Returns whether it wrote.
    static func replace(_ path: String, with data: Data, display: String, compare: Bool = true) throws(Failure)
        -> Bool
    {
        guard let temp = try prepare(path, with: data, display: display, compare: compare) else { return false }
        try rename(temp, to: path, display: display)
        return true
    }

    /// The first half of `replace`: the bytes under the temporary name beside `path`, ready to
    /// be renamed into place; nil when `path` already holds them.
    static func prepare(_ path: String, with data: Data, display: String, compare: Bool = true) throws(Failure)
        -> String?
    {
        if compare, size(path) == Int64(data.count), FileManager.default.contents(atPath: path) == data {
            return nil
        }
        let temp = temporaryName(for: path)
        if !writeAll(data, to: temp) {
            let failure = Failure.current(display)
            unlink(temp)
            // The folder may be missing (removed meanwhile): make it, and try once more.
            try makeFolder(parent(path))
            guard writeAll(data, to: temp) else {
                unlink(temp)
                throw failure
            }
        }
        return temp
    }

    /// The size of a regular file (following links); nil when there is none.
    static func size(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    /// Makes a folder and its missing parents.
    static func makeFolder(_ path: String) throws(Failure) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw Failure(path: path, reason: error.localizedDescription, isFolder: true)
        }
    }

    /// Whether anything (a file, a folder, a dangling link) is at `path`.
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// The folder part of a path (`a/b/c.json` → `a/b`), without Foundation's path APIs.
    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    /// Copies a file through a 1 MiB buffer (the page cache makes this close to the cost of the
    /// read). Returns the base64 SHA-512 of the bytes copied (when `hashing`), and the source's
    /// identity once copied.
    static func copy(_ source: String, to destination: String, hashing: Bool) throws(Failure) -> (
        sha512: String?, identity: FileIdentity?
    ) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw Failure.current(source) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw Failure.current(destination) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var hasher = SHA512()
        while true {
            let n = buffer.withUnsafeMutableBytes { POSIX.read(input, $0.baseAddress, $0.count) }
            if n == 0 {
                return (hashing ? Data(hasher.finalize()).base64EncodedString() : nil, .of(descriptor: input))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure.current(source)
            }
            if hashing {
                buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            var offset = 0
            while offset < n {
                let w = buffer.withUnsafeBytes { POSIX.write(output, $0.baseAddress! + offset, n - offset) }
                if w < 0 {
                    if errno == EINTR { continue }
                    throw Failure.current(destination)
                }
                offset += w
            }
        }
    }

    /// Removes a folder whose tree holds only folders, bottom-up with `rmdir`; true when it is
    /// gone (or was never there). Never removes a file.
    static func removeEmptyTree(_ path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0 else { return true }
        guard st.st_mode & S_IFMT == S_IFDIR else { return false }
        var empty = true
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        where !removeEmptyTree(path + "/" + name) {
            empty = false
        }
        return empty && rmdir(path) == 0
    }
}
