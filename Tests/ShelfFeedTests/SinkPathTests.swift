import Testing

@testable import ShelfFeed

/// Paths the sink accepts: relative, inside the output folder.
struct SinkPathTests {
    @Test(
        "safe relative paths",
        arguments: [
            ("index.json", true), ("a/b/c.json", true), (".shelf/files.txt", true), ("a/.../b", true),
            ("a/..b/c", true), ("", false), ("/etc/passwd", false), ("a/../b", false), ("..", false), (".", false),
            ("a/./b", false), ("a//b", false), ("a/", false), ("a\\b", false), ("a\u{0}b", false), ("a/..", false),
        ])
    func safe(path: String, ok: Bool) {
        #expect(LocalFolderSink.isSafe(path) == ok)
    }
}
