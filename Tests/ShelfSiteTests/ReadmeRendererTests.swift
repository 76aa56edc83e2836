import Foundation
import Testing

@testable import ShelfSite

/// README rendering: Markdown becomes HTML, and nothing a package author writes can run script.
struct ReadmeRendererTests {
    let renderer = ReadmeRenderer()

    @Test("Markdown renders: headings, emphasis, lists, code, tables, safe links")
    func markdown() {
        let html = renderer.html(
            """
            # Title

            Some **bold** and `code` with a [link](https://example.com/a?b=1&c=2).

            - one
            - two

            ```
            <not a tag> & more
            ```
            """)
        #expect(html.contains("<h1>Title</h1>"))
        #expect(html.contains("<strong>bold</strong>"))
        #expect(html.contains("<code>code</code>"))
        #expect(html.contains("<li>one</li>"))
        #expect(html.contains("href=\"https://example.com/a?b=1"))
        #expect(html.contains("&lt;not a tag&gt;"))
    }

    /// Each row is a README; its output must hold none of the listed fragments (lowercased).
    @Test(
        "hostile READMEs run nothing",
        arguments: [
            ("<script>alert(1)</script>", ["<script"]),
            ("Text <script>alert(1)</script> inline", ["<script"]),
            ("<img src=x onerror=alert(1)>", ["<img"]),
            ("<div onclick=\"alert(1)\">x</div>", ["<div"]),
            ("[click](javascript:alert(1))", ["href=\"javascript"]),
            ("[click](JaVaScRiPt:alert(1))", ["href=\"javascript"]),
            ("[click](  javascript:alert(1))", ["javascript:alert(1)\""]),
            ("[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", ["href=\"data:"]),
            ("[click](vbscript:msgbox)", ["href=\"vbscript"]),
            ("[click](javascript&#58;alert(1))", ["href=\"javascript"]),
            ("[x][r]\n\n[r]: javascript:alert(1)", ["href=\"javascript"]),
            ("<javascript:alert(1)>", ["href=\"javascript"]),
            ("![a](javascript:alert(1))", ["src=\"javascript", "<img"]),
            ("![a](https://tracker.example/pixel.png)", ["<img"]),
            ("<iframe src=\"https://evil.example\"></iframe>", ["<iframe"]),
            ("<svg onload=alert(1)>", ["<svg"]),
            ("<a href=\"javascript:alert(1)\">x</a>", ["href=\"javascript"]),
            ("<style>body{display:none}</style>", ["<style"]),
            ("[a](\"onmouseover=\"alert(1))", ["onmouseover=\"alert"]),
            ("```js\" onclick=\"alert(1)\ncode\n```", ["onclick=\"alert"]),
            // Found in review: Ink copies a link target into href unescaped, and `&...;` raw.
            ("[t](http://a\"><img src=x onerror=alert(1)>)", ["<img"]),
            ("[r][x]\n\n[x]: https://a\"><script src=x></script>", ["<script"]),
            ("&<img/src=\"x\"/onerror=\"alert(1)\">;", ["<img"]),
            ("&<meta/http-equiv=\"refresh\"/content=\"0,url=https://evil.example/\">;", ["<meta"]),
            ("&<script/src=\"../../x.js\"></script>;", ["<script"]),
            ("# &<iframe/src=x>;", ["<iframe"]),
            ("| a |\n|---|\n| &<svg/onload=alert(1)>; |", ["<svg"]),
            ("[a](https://x.example/\"onmouseover=\"alert(1))", ["onmouseover=\"alert"]),
        ])
    func hostile(readme: String, forbidden: [String]) {
        let html = renderer.html(readme).lowercased()
        for f in forbidden {
            #expect(!html.contains(f), "\(readme) gave \(html)")
        }
    }

    @Test("the sanitizer keeps Ink's own tags and entities, and nothing else")
    func sanitizer() {
        let kept =
            "<p>a &amp; b &#39; &#x27; <a href=\"https://x.example/?a=1&b=2\">x</a></p><ol start=\"3\"><li>i</li></ol>"
        #expect(HTMLSanitizer.sanitize(kept) == kept.replacingOccurrences(of: "&b=2", with: "&b=2"))
        #expect(HTMLSanitizer.sanitize("<p onclick=\"x\">") == "&lt;p onclick=\"x\"&gt;")
        #expect(HTMLSanitizer.sanitize("a & b") == "a &amp; b")
        #expect(HTMLSanitizer.sanitize("<a href=\"javascript:x\">") == "&lt;a href=\"javascript:x\"&gt;")
        #expect(HTMLSanitizer.sanitize("<td align=\"center\">") == "<td align=\"center\">")
    }

    @Test("a huge README is cut, with a note")
    func huge() {
        let line = String(repeating: "word ", count: 20) + "\n\n"
        let text = String(repeating: line, count: ReadmeRenderer.maxBytes / line.utf8.count + 100)
        let html = renderer.html(text)
        #expect(html.contains("was cut here"))
    }

    @Test(
        "safe link targets",
        arguments: [
            ("https://example.com", true), ("http://x", true), ("mailto:a@b.c", true), ("docs/readme.md", true),
            ("#section", true), ("javascript:alert(1)", false), ("data:text/html,x", false),
            ("java\tscript:alert(1)", false), ("javascript&#58;x", false), ("//evil.example/x", true),
        ])
    func targets(target: String, safe: Bool) {
        #expect(ReadmeRenderer.isSafeTarget(target) == safe)
    }
}

/// Descriptions shortened for page metadata: the ASCII fast path gives what the general one gives.
struct ShortenTests {
    @Test("shorten: ASCII text, byte by byte, equals the Character walk", arguments: 0..<300)
    func sameAsCharacters(seed: Int) {
        var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let alphabet = Array("ab c\t\n\r\u{0B}\u{0C}  xyz.,\r\n")
        let text = String((0..<next(260)).map { _ in alphabet[next(alphabet.count)] })
        for limit in [1, 2, 5, 40, 200] {
            #expect(SiteRenderer.shorten(text, to: limit) == SiteRenderer.shortenCharacters(text, to: limit))
        }
    }

    @Test("shorten: whitespace runs become one space, long text is cut with an ellipsis")
    func examples() {
        #expect(SiteRenderer.shorten("  a \n\n b  ", to: 10) == "a b")
        #expect(SiteRenderer.shorten("abcdef", to: 4) == "abc…")
        #expect(SiteRenderer.shorten("abcd", to: 4) == "abcd")
        #expect(SiteRenderer.shorten("ab cd", to: 4) == "ab …")
        #expect(SiteRenderer.shorten("é  b", to: 10) == "é b")
    }
}

/// Every text the templates insert is escaped scalar by scalar.
struct TemplateEscapingTests {
    @Test("a quote followed by a combining mark cannot end an attribute (Mustache alone would not escape it)")
    func combiningMarkAfterQuote() {
        let url = "https://example.com/\"\u{301}/onclick=alert(1)//"
        let html = SiteTemplates.library.render(
            ["projectUrl": url, "id": "A<\u{301}b", "versionRows": "", "dependencyGroups": ""],
            withTemplate: "package")!
        let rawQuote = "\"\u{301}"
        let escapedURL = "https://example.com/&quot;\u{301}/onclick=alert(1)//"
        let escapedId = "A&lt;\u{301}b"
        let rawLess = "<\u{301}"
        #expect(!html.contains(rawQuote))
        #expect(html.contains(escapedURL))
        #expect(html.contains(escapedId))
        #expect(!html.contains(rawLess))
    }
}

/// Links in the site: plain paths as they are, anything else percent-encoded as before.
struct HrefTests {
    @Test(
        "hrefs",
        arguments: [
            ("../../packages/newtonsoft.json/13.0.1.html", "../../packages/newtonsoft.json/13.0.1.html"),
            ("a_b-c/D.E", "a_b-c/D.E"), ("x+y/1.0.0+build.html", "x%2By/1.0.0%2Bbuild.html"),
            ("a b#c?d;e=f", "a%20b%23c%3Fd%3Be%3Df"), ("é", "%C3%A9"),
        ])
    func href(path: String, expected: String) {
        #expect(SiteRenderer.href(path) == expected)
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "+;=?#")
        #expect(SiteRenderer.href(path) == path.addingPercentEncoding(withAllowedCharacters: allowed))
    }
}
