import Foundation

/// A unified diff of two texts, as `git diff --no-index` prints it (three lines of context,
/// `@@ -start,count +start,count @@` hunks), for golden-file failures: it shows what changed,
/// not a prefix of the new file. Built on the standard library's `CollectionDifference` (Myers).
public enum UnifiedDiff {
    /// The diff of `expected` (a/) and `actual` (b/), named `path`; "" when they are the same.
    /// Bytes that are not text (NUL, or not UTF-8) are only said to differ.
    public static func make(expected: Data, actual: Data, path: String, context: Int = 3) -> String {
        guard expected != actual else { return "" }
        guard let a = text(expected), let b = text(actual) else {
            return "Binary files a/\(path) and b/\(path) differ (\(expected.count) and \(actual.count) bytes)\n"
        }
        return make(expected: a, actual: b, path: path, context: context)
    }

    public static func make(expected: String, actual: String, path: String, context: Int = 3) -> String {
        let a = lines(expected)
        let b = lines(actual)
        let edits = script(a, b)
        guard edits.contains(where: { $0.kind != " " }) else { return "" }
        var out = "--- a/\(path)\n+++ b/\(path)\n"
        // Hunks: each change with up to `context` unchanged lines around it, joined when the
        // unchanged lines between two changes are no more than twice that.
        let changes = edits.indices.filter { edits[$0].kind != " " }
        var groups: [(first: Int, last: Int)] = []
        for c in changes {
            if let last = groups.last, c - last.last - 1 <= 2 * context {
                groups[groups.count - 1].last = c
            } else {
                groups.append((c, c))
            }
        }
        for group in groups {
            let hunk = edits[max(0, group.first - context)..<min(edits.count, group.last + context + 1)]
            let aCount = hunk.filter { $0.kind != "+" }.count
            let bCount = hunk.filter { $0.kind != "-" }.count
            let aStart = hunk.first!.a + (aCount == 0 ? 0 : 1)
            let bStart = hunk.first!.b + (bCount == 0 ? 0 : 1)
            out += "@@ -\(aStart),\(aCount) +\(bStart),\(bCount) @@\n"
            for edit in hunk { out += "\(edit.kind)\(edit.line)\n" }
        }
        return out
    }

    /// One line of the edit script: `kind` is " " (both), "-" (only in a) or "+" (only in b);
    /// `a` and `b` are the line's place (0-based) in each text, before it.
    struct Edit {
        var kind: Character
        var line: Substring
        var a: Int
        var b: Int
    }

    static func script(_ a: [Substring], _ b: [Substring]) -> [Edit] {
        let difference = b.difference(from: a)
        var removed = Set<Int>()
        var inserted = Set<Int>()
        for change in difference {
            switch change {
            case .remove(let offset, _, _): removed.insert(offset)
            case .insert(let offset, _, _): inserted.insert(offset)
            }
        }
        var edits: [Edit] = []
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if i < a.count && removed.contains(i) {
                edits.append(Edit(kind: "-", line: a[i], a: i, b: j))
                i += 1
            } else if j < b.count && inserted.contains(j) {
                edits.append(Edit(kind: "+", line: b[j], a: i, b: j))
                j += 1
            } else {
                edits.append(Edit(kind: " ", line: a[i], a: i, b: j))
                i += 1
                j += 1
            }
        }
        return edits
    }

    static func lines(_ s: String) -> [Substring] {
        var out = s.split(separator: "\n", omittingEmptySubsequences: false)
        if s.hasSuffix("\n") { out.removeLast() }
        return out
    }

    static func text(_ data: Data) -> String? {
        guard !data.contains(0), let s = String(data: data, encoding: .utf8) else { return nil }
        return s
    }
}
