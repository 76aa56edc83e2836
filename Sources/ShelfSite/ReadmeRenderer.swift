import Foundation
import Ink
import NuGetCore

/// Turns a package's README (Markdown) into HTML that is safe to put in a page.
///
/// Markdown goes through Ink. A README comes from whoever packed the package, so nothing in it
/// may run in the reader's browser:
/// - raw HTML (blocks and inline tags) is shown as text, never passed through;
/// - links keep only `http`, `https`, `mailto` and relative targets; `javascript:`, `data:`,
///   `vbscript:` and any other scheme lose their link and stay as text;
/// - images never load from elsewhere (the site makes no external requests): an image becomes a
///   link to its address, with its alt text.
/// - and then `HTMLSanitizer` keeps only the exact tags Ink writes, since Ink does not escape
///   everything it copies (link targets, `&...;` runs).
/// The page also carries a Content-Security-Policy that forbids inline script, as a further line.
public struct ReadmeRenderer: Sendable {
    /// READMEs longer than this are cut (with a note) before rendering.
    public static let maxBytes = 512 * 1024

    public init() {}

    public func html(_ markdown: String) -> String {
        var text = markdown
        var truncated = false
        if text.utf8.count > Self.maxBytes {
            text = String(decoding: text.utf8.prefix(Self.maxBytes), as: UTF8.self)
            truncated = true
        }
        if text.utf8.contains(where: { $0 == 0x0D || $0 == 0x00 }) {
            text = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\0", with: "")
        }
        var parser = MarkdownParser()
        parser.addModifier(Modifier(target: .html) { input in HTMLText.escape(String(input.markdown)) })
        parser.addModifier(Modifier(target: .links) { input in Self.safeLink(input.html, markdown: input.markdown) })
        parser.addModifier(Modifier(target: .images) { input in Self.imageAsLink(input.html) })
        parser.addModifier(
            Modifier(target: .codeBlocks) { input in Self.safeCodeBlock(input.html, markdown: input.markdown) })
        var html = HTMLSanitizer.sanitize(parser.html(from: text))
        if truncated {
            html += "<p class=\"note\">This README is longer than \(Self.maxBytes / 1024) KB and was cut here.</p>"
        }
        return html
    }

    /// Whether a link target (as it appears in an `href`, entities and all) is safe to keep:
    /// `http:`, `https:`, `mailto:`, or a relative address with no scheme at all. Anything with
    /// a character reference is refused too, since a browser decodes `&#58;` into `:` before it
    /// looks at the scheme.
    static func isSafeTarget(_ target: String) -> Bool {
        let t = target.lowercased()
        if t.hasPrefix("http://") || t.hasPrefix("https://") || t.hasPrefix("mailto:") {
            return !t.unicodeScalars.contains { $0.value < 0x20 }
        }
        if t.contains("&") || t.contains(":") { return false }
        return !t.unicodeScalars.contains { $0.value < 0x21 || $0 == "\\" }
    }

    /// The value of the first `name="..."` attribute in a tag Ink wrote.
    static func attribute(_ name: String, in html: String) -> String? {
        guard let start = html.range(of: " \(name)=\"") else { return nil }
        guard let end = html[start.upperBound...].firstIndex(of: "\"") else { return nil }
        return String(html[start.upperBound..<end])
    }

    /// Keeps a link whose target is safe; otherwise keeps only its text.
    ///
    /// Ink writes `<a href="URL">TEXT</a>` without escaping the URL, so a target holding a quote
    /// could add attributes. A link is kept only when the tag is exactly that shape, with a URL
    /// free of quotes and angle brackets, and a safe scheme; otherwise its Markdown is shown as
    /// text.
    static func safeLink(_ html: String, markdown: Substring) -> String {
        let prefix = "<a href=\""
        if html.hasPrefix(prefix) {
            let rest = html.dropFirst(prefix.count)
            if let quote = rest.firstIndex(of: "\"") {
                let url = rest[..<quote]
                let after = rest[rest.index(after: quote)...]
                if after.hasPrefix(">"), html.hasSuffix("</a>"),
                    !url.contains("<"), !url.contains(">"), isSafeTarget(String(url))
                {
                    return html
                }
            }
        }
        return "<span class=\"unsafe-link\">" + HTMLText.escape(String(markdown)) + "</span>"
    }

    /// A fenced code block whose info string (language) would go unescaped into a `class`
    /// attribute is rebuilt from its Markdown, without the class.
    static func safeCodeBlock(_ html: String, markdown: Substring) -> String {
        guard html.hasPrefix("<pre><code class=") else { return html }
        var lines = markdown.split(separator: "\n", omittingEmptySubsequences: false)
        if !lines.isEmpty { lines.removeFirst() }
        if let last = lines.last, last.trimmingWhitespace().hasPrefix("```") { lines.removeLast() }
        return "<pre><code>" + HTMLText.escape(lines.joined(separator: "\n")) + "</code></pre>"
    }

    /// An image becomes a link to its address (for http and https), or just its alt text.
    static func imageAsLink(_ html: String) -> String {
        let alt = attribute("alt", in: html) ?? ""
        let label = (alt.isEmpty ? "image" : alt).replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        if let src = attribute("src", in: html), isSafeTarget(src), src.lowercased().hasPrefix("http") {
            return "<a class=\"readme-image\" href=\"\(src)\">[\(label)]</a>"
        }
        return "<span class=\"readme-image\">[\(label)]</span>"
    }
}

/// HTML text escaping for the few places that build markup by hand.
public enum HTMLText {
    public static func escape(_ s: String) -> String {
        // Most text has none of the five characters (all ASCII, so a byte scan finds them).
        guard s.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            return s
        }
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
