import Foundation
import NuGetCore
import ShelfFeed

/// Version badges per id, for READMEs: `badges/{id}.svg` shows the latest stable and the latest
/// prerelease version (when newer than the stable one); `badges/{id}.json` is a shields.io
/// endpoint document (`https://img.shields.io/endpoint?url=...`) for the latest stable version
/// (or the latest prerelease when there is no stable one), and `badges/{id}-prerelease.json` for
/// the latest version of any kind. Only listed versions count.
public struct BadgeRenderer: Sendable {
    public init() {}

    public static func svgPath(_ lowerId: String) -> String { "badges/\(lowerId).svg" }
    public static func endpointPath(_ lowerId: String) -> String { "badges/\(lowerId).json" }
    public static func prereleaseEndpointPath(_ lowerId: String) -> String { "badges/\(lowerId)-prerelease.json" }

    public func render(_ r: PackageRegistration) -> [FeedDocument] {
        let listed = r.versions.filter(\.listed)
        let stable = listed.last { !$0.version.isPrerelease }
        let newest = listed.last
        var segments: [(String, String)] = [("nuget", "#555")]
        if let stable { segments.append(("v" + stable.version.normalizedString, "#007ec6")) }
        if let newest, newest.version.isPrerelease {
            segments.append(("v" + newest.version.normalizedString, "#fe7d37"))
        }
        if segments.count == 1 { segments.append(("unlisted", "#9f9f9f")) }
        let svg = Self.svg(segments, title: "\(r.id): " + segments.dropFirst().map(\.0).joined(separator: ", "))
        let shown = stable ?? newest
        return [
            FeedDocument(
                path: Self.svgPath(r.lowerId), content: .bytes(Data(svg.utf8)), contentType: "image/svg+xml",
                phase: .indexes),
            .json(Self.endpointPath(r.lowerId), Self.endpoint(shown), phase: .indexes),
            .json(Self.prereleaseEndpointPath(r.lowerId), Self.endpoint(newest), phase: .indexes),
        ]
    }

    static func endpoint(_ v: PackageVersion?) -> JSON {
        .object([
            "schemaVersion": .int(1),
            "label": "nuget",
            "message": .string(v.map { "v" + $0.version.normalizedString } ?? "unlisted"),
            "color": .string(v == nil ? "lightgrey" : (v!.version.isPrerelease ? "orange" : "blue")),
        ])
    }

    /// Width of a text in 11px Verdana, close enough for a badge (shields.io measures the same font).
    static func width(_ text: String) -> Int {
        var w = 0.0
        for c in text.unicodeScalars {
            switch c {
            case "i", "l", ".", ":", "|", "'", "!": w += 3.6
            case "f", "j", "r", "t", "-", "(", ")": w += 4.9
            case "m", "w", "M", "W": w += 10.2
            case "0"..."9": w += 7.0
            default: w += c.properties.isUppercase ? 7.6 : 6.6
            }
        }
        return Int(w.rounded(.up)) + 10
    }

    static func svg(_ segments: [(String, String)], title: String) -> String {
        let widths = segments.map { width($0.0) }
        let total = widths.reduce(0, +)
        var x = 0
        var rects = ""
        var texts = ""
        for (segment, w) in zip(segments, widths) {
            let text = HTMLText.escape(segment.0)
            rects += "<rect x=\"\(x)\" width=\"\(w)\" height=\"20\" fill=\"\(segment.1)\"/>"
            let center = x * 10 + w * 5
            texts +=
                "<text x=\"\(center)\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" transform=\"scale(.1)\" textLength=\"\((w - 10) * 10)\">\(text)</text>"
                + "<text x=\"\(center)\" y=\"140\" transform=\"scale(.1)\" textLength=\"\((w - 10) * 10)\">\(text)</text>"
            x += w
        }
        let label = HTMLText.escape(title)
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(total)" height="20" role="img" aria-label="\(label)"><title>\(label)</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="\(total)" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)">\(rects)<rect width="\(total)" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">\(texts)</g></svg>

            """
    }
}
