import Foundation

/// What `shelf publish` remembers of each file it stored (`StateRecord.publishCache`): the MD5
/// and size of the stored body, by the file's stamp (size, modification time, inode), so that a
/// publish of an unchanged folder reads no file again. A line per file:
/// `path<TAB>stamp<TAB>md5<TAB>body size`. A cache that cannot be read only means hashing again.
public struct PublishCache: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var stamp: String
        public var md5: String
        public var bodySize: Int64

        public init(stamp: String, md5: String, bodySize: Int64) {
            self.stamp = stamp
            self.md5 = md5
            self.bodySize = bodySize
        }
    }

    /// By the file's path relative to the feed's root.
    public var entries: [String: Entry]

    public init(entries: [String: Entry] = [:]) { self.entries = entries }

    init(decoding data: Data) {
        entries = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count == 4, let size = Int64(f[3]) else { continue }
            entries[String(f[0])] = Entry(stamp: String(f[1]), md5: String(f[2]), bodySize: size)
        }
    }

    /// The record's bytes (paths with a tab or a line break are left out: they cannot be written).
    func encoded() -> Data {
        var text = ""
        for (p, e) in entries.sorted(by: { $0.key < $1.key }) where !p.contains("\t") && !p.contains("\n") {
            text += "\(p)\t\(e.stamp)\t\(e.md5)\t\(e.bodySize)\n"
        }
        return Data(text.utf8)
    }
}
