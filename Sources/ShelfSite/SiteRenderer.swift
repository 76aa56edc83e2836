import Foundation
import Mustache
import NuGetCore
import ShelfFeed

/// Where the site's files live in the output folder.
public enum SiteLayout {
    public static let home = "index.html"
    public static let assets = "assets/"
    public static let searchIndex = "assets/search-index.js"
    /// `PackageDetailsUriTemplate/5.1.0`: NuGet fills in `{id}` in the casing it knows and
    /// `{version}` normalized (NuGet.Protocol `PackageDetailsUriResourceV3`).
    public static let detailsTemplate = "packages/{id}/{version}.html"

    public static func versionPage(_ id: String, _ version: String) -> String { "packages/\(id)/\(version).html" }
    public static func idPage(_ id: String) -> String { "packages/\(id)/index.html" }
}

/// The browsable package site: a home page with every package and a search box, a page per
/// package version, a page per id (its latest version), badges, and the assets they use.
///
/// Every link inside the site is relative, so the site works under any base URL and opened from
/// disk. A static host cannot lowercase a URL, so each package page is written both at the
/// lowercase path (the one the site links to) and at the path with the id's own casing and the
/// version as NuGet writes it (`packages/Newtonsoft.Json/13.0.1.html`), which is what Visual
/// Studio opens through `PackageDetailsUriTemplate`. The copies have the same bytes, so a
/// case-insensitive file system that folds them into one file is fine too.
public struct SiteRenderer: FeedDocumentRenderer {
    public init() {}

    public var packageDetailsTemplate: String? { SiteLayout.detailsTemplate }

    public func renderIds(
        _ model: FeedModel, layout: FeedLayout, ids: Set<String>, contents: any PackageContents
    ) -> [String: [FeedDocument]] {
        let site = SiteContext(presentIds: model.presentIds, layout: layout)
        var perId: [String: [FeedDocument]] = [:]
        for r in model.registrations where ids.contains(r.lowerId) {
            perId[r.lowerId] = packageDocuments(r, site: site, contents: contents) + BadgeRenderer().render(r)
        }
        return perId
    }

    static let homeKey = "site.home"
    static let indexKey = "site.index"

    /// What the home page and the search index need of one id: its list item and its search row,
    /// ready-made (nothing when no version is listed).
    public func digestParts(_ r: PackageRegistration, layout: FeedLayout) -> [String: [UInt8]] {
        let listed = r.versions.filter(\.listed)
        guard let latest = SearchRenderer.latest(listed) else { return [:] }
        return [Self.homeKey: Array(homeItem(r, latest).utf8), Self.indexKey: searchRow(r, latest).fragment(indent: 1)]
    }

    public func renderFeedWide(_ digests: [IdDigest], layout: FeedLayout) -> [FeedDocument] {
        let site = SiteContext(presentIds: [], layout: layout)
        var docs: [FeedDocument] = [
            FeedDocument(
                path: "assets/site.css", content: .bytes(Data(SiteAssets.css.utf8)), contentType: "text/css",
                phase: .content),
            FeedDocument(
                path: "assets/search.js", content: .bytes(Data(SiteAssets.searchJS.utf8)),
                contentType: "text/javascript", phase: .content),
            FeedDocument(
                path: "assets/package.svg", content: .bytes(Data(SiteAssets.packageSVG.utf8)),
                contentType: "image/svg+xml", phase: .content),
        ]
        let listed = digests.filter { $0.listedCount > 0 }
        docs.append(searchIndex(listed))
        docs.append(home(listed, site: site))
        return docs
    }

    // MARK: Home

    /// The home page: every id with a listed version, alphabetically (the search narrows the list).
    private func home(_ listed: [IdDigest], site: SiteContext) -> FeedDocument {
        // The page is rendered with a marker where the list goes, and the ready-made items are
        // put in as bytes: the list has an entry per id (megabytes on a large feed), and the page
        // is made again whenever any package changes.
        let marker = "\u{1}shelf-items\u{1}"
        let versionCount = listed.reduce(0) { $0 + $1.listedCount }
        let body = SiteTemplates.library.render(
            [
                "items": marker, "idCount": String(listed.count), "versionCount": String(versionCount),
                "feedURL": site.feedURL, "sourceName": site.sourceName,
            ] as [String: Any], withTemplate: "home")!
        let html = site.page(
            title: "\(site.feedName): packages", description: "NuGet packages on \(site.feedName)", root: "",
            body: body, scripts: ["search-index.js", "search.js"])
        let parts = html.components(separatedBy: marker)
        precondition(parts.count == 2, "the home template holds the list once")
        var data = Data(parts[0].utf8)
        data.reserveCapacity(
            data.count + listed.reduce(0) { $0 + ($1.parts[Self.homeKey]?.count ?? 0) } + parts[1].utf8.count)
        for d in listed { data.append(contentsOf: d.parts[Self.homeKey] ?? []) }
        data.append(contentsOf: parts[1].utf8)
        return FeedDocument(path: SiteLayout.home, content: .bytes(data), contentType: "text/html", phase: .indexes)
    }

    /// One id's entry on the home page.
    private func homeItem(_ r: PackageRegistration, _ latest: PackageVersion) -> String {
        let e = HTMLText.escape
        let n = latest.nuspec
        var item = "<li data-id=\"\(e(r.lowerId))\">\n"
        item +=
            "<img class=\"icon\" src=\"\(e(SiteContext.icon(latest, r, root: "")))\" alt=\"\" width=\"40\" height=\"40\" loading=\"lazy\">\n"
        item +=
            "<div class=\"entry\">\n<p class=\"name\"><a href=\"\(e(Self.href(SiteLayout.idPage(r.lowerId))))\">\(e(r.id))</a> "
        item += "<span class=\"version\">\(e(latest.version.normalizedString))</span>"
        if latest.version.isPrerelease { item += " <span class=\"tag pre\">prerelease</span>" }
        if r.verified { item += " <span class=\"verified\" title=\"Reserved ID prefix\">&#10004; verified</span>" }
        item += "</p>\n"
        if let authors = n.authors, !authors.isEmpty { item += "<p class=\"by\">by \(e(authors))</p>\n" }
        item += "<p class=\"desc\">\(e(Self.shorten(n.summary ?? n.description ?? "", to: 300)))</p>\n"
        if !n.tags.isEmpty {
            item += "<ul class=\"tags\">" + n.tags.prefix(12).map { "<li>\(e($0))</li>" }.joined() + "</ul>\n"
        }
        item += "</div>\n</li>\n"
        return item
    }

    /// `window.shelfSearchIndex = [[lowerId, text], ...]`: the text the search matches (id, title,
    /// tags, authors, description), lowercased. A script rather than JSON so that it also loads
    /// when the site is opened from disk.
    private func searchIndex(_ listed: [IdDigest]) -> FeedDocument {
        let rows = listed.map { JSON.raw($0.parts[Self.indexKey] ?? []) }
        var data = Data("window.shelfSearchIndex = ".utf8)
        data.append(JSON.array(rows).encoded())
        return FeedDocument(
            path: SiteLayout.searchIndex, content: .bytes(data), contentType: "text/javascript", phase: .indexes)
    }

    private func searchRow(_ r: PackageRegistration, _ latest: PackageVersion) -> JSON {
        let n = latest.nuspec
        let text = [
            r.id, n.title ?? "", n.tags.joined(separator: " "), n.authors ?? "", n.summary ?? "", n.description ?? "",
        ]
        .joined(separator: " ").lowercased()
        return .array([.string(r.lowerId), .string(text)])
    }

    // MARK: Package pages

    private func packageDocuments(
        _ r: PackageRegistration, site: SiteContext, contents: any PackageContents
    ) -> [FeedDocument] {
        let listed = r.versions.filter(\.listed)
        let latest = SearchRenderer.latest(listed) ?? r.versions.last!
        let newestFirst = Array(listed.sorted { $0.version < $1.version }.reversed())
        let readmes = ReadmeCache(contents: contents)
        var docs: [FeedDocument] = []
        for v in r.versions {
            let page = PackagePage(
                registration: r, version: v, latest: latest, listed: newestFirst, site: site, readmes: readmes)
            var paths = [SiteLayout.versionPage(r.lowerId, v.lowerVersion)]
            for id in [r.id, v.nuspec.id, r.lowerId] {
                for version in [v.version.normalizedString, v.lowerVersion] {
                    paths.append(SiteLayout.versionPage(id, version))
                }
            }
            if v.lowerVersion == latest.lowerVersion {
                paths += [SiteLayout.idPage(r.lowerId), SiteLayout.idPage(r.id), SiteLayout.idPage(v.nuspec.id)]
            }
            var seen = Set<String>()
            paths = paths.filter { seen.insert($0).inserted && Self.isPlainPath($0) }
            // One page, rendered when the lowercase path is written; the other casings are
            // aliases of it (hard links where the file system has them).
            let html: @Sendable () throws -> Data = { Data(page.html().utf8) }
            guard let primary = paths.first else { continue }
            docs.append(
                FeedDocument(path: primary, content: .deferred(html), contentType: "text/html", phase: .indexes))
            for path in paths.dropFirst() {
                docs.append(
                    FeedDocument(
                        path: path, content: .alias(of: primary, make: html), contentType: "text/html",
                        phase: .aliases))
            }
        }
        return docs
    }

    /// Ids and versions are letters, digits, `.`, `_` and `-`; anything else (a `/` cannot occur)
    /// would not make a safe file name, and such a page is simply not written under that alias.
    static func isPlainPath(_ path: String) -> Bool {
        !path.split(separator: "/").contains { $0 == "." || $0 == ".." }
    }

    static func href(_ path: String) -> String {
        // Most paths are letters, digits and `./-_`, which need no encoding.
        if path.utf8.allSatisfy({ Self.plainHrefByte($0) }) { return path }
        return path.addingPercentEncoding(withAllowedCharacters: hrefAllowed) ?? path
    }

    private static let hrefAllowed: CharacterSet = {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "+;=?#")
        return allowed
    }()

    private static func plainHrefByte(_ b: UInt8) -> Bool {
        (0x61...0x7A).contains(b) || (0x41...0x5A).contains(b) || (0x30...0x39).contains(b)
            || b == 0x2E || b == 0x2F || b == 0x2D || b == 0x5F
    }

    /// Whitespace runs become one space; text beyond `limit` characters is cut with `…`.
    static func shorten(_ s: String, to limit: Int) -> String {
        // ASCII text (most descriptions) is shortened byte by byte: the same result, without
        // walking grapheme clusters.
        if s.utf8.allSatisfy({ $0 < 0x80 }) {
            var out: [UInt8] = []
            out.reserveCapacity(min(s.utf8.count, limit + 1))
            var pendingSpace = false
            for b in s.utf8 {
                if b == 0x20 || (0x09...0x0D).contains(b) {
                    pendingSpace = !out.isEmpty
                    continue
                }
                if pendingSpace {
                    out.append(0x20)
                    pendingSpace = false
                }
                if out.count >= limit {
                    return String(decoding: out.prefix(limit - 1), as: UTF8.self) + "…"
                }
                out.append(b)
            }
            return String(decoding: out, as: UTF8.self)
        }
        return shortenCharacters(s, to: limit)
    }

    static func shortenCharacters(_ s: String, to limit: Int) -> String {
        var out = ""
        var count = 0
        var pendingSpace = false
        for c in s {
            if c.isWhitespace {
                pendingSpace = count > 0
                continue
            }
            if pendingSpace {
                out.append(" ")
                count += 1
                pendingSpace = false
            }
            if count >= limit {
                return String(out.prefix(limit - 1)) + "…"
            }
            out.append(c)
            count += 1
        }
        return out
    }
}

/// What every page of one build shares.
struct SiteContext: Sendable {
    let layout: FeedLayout
    let feedURL: String
    let feedName: String
    let sourceName: String
    let lowerIds: Set<String>

    init(presentIds: Set<String>, layout: FeedLayout) {
        self.layout = layout
        feedURL = layout.url("index.json")
        let host = URL(string: layout.baseURL)?.host ?? ""
        feedName = host.isEmpty ? "Package feed" : host
        sourceName = host.isEmpty ? "shelf" : host
        lowerIds = presentIds
    }

    /// The package's embedded icon, or the default one: never an image from elsewhere.
    static func icon(_ v: PackageVersion, _ r: PackageRegistration, root: String) -> String {
        if let icon = v.archive.icon {
            return root + SiteRenderer.href(FeedLayout.icon(r.lowerId, v.lowerVersion, icon.fileExtension))
        }
        return root + "assets/package.svg"
    }

    func page(title: String, description: String?, root: String, body: String, scripts: [String]) -> String {
        var context: [String: Any] = [
            "title": title, "root": root, "body": body, "feedName": feedName, "feedURL": feedURL,
            "scripts": scripts,
        ]
        if let description, !description.isEmpty { context["description"] = description }
        return SiteTemplates.library.render(context, withTemplate: "page")!
    }
}

/// One package version's page.
struct PackagePage: Sendable {
    let registration: PackageRegistration
    let version: PackageVersion
    let latest: PackageVersion
    /// The id's listed versions, newest first.
    let listed: [PackageVersion]
    let site: SiteContext
    /// READMEs already rendered for this id (versions often carry the same one).
    let readmes: ReadmeCache

    /// Pages sit two folders down (`packages/{id}/`).
    static let root = "../../"

    /// How many versions on either side of a page's own a version page lists (the latest lists all).
    static let versionWindow = 10

    func html() -> String {
        let r = registration
        let v = version
        let n = v.nuspec
        let root = Self.root
        // A README that cannot be read now (the file changed since it was read) leaves the page
        // with the description instead of failing the build.
        let readme = readmes.html(of: v)
        var context: [String: Any] = [
            "root": root,
            "id": n.id,
            "displayTitle": (n.title?.isEmpty == false ? n.title! : n.id),
            "version": v.version.normalizedString,
            "icon": SiteContext.icon(v, r, root: root),
            "isLatest": v.lowerVersion == latest.lowerVersion,
            "latestVersion": latest.version.normalizedString,
            "latestHref": SiteRenderer.href(latest.lowerVersion + ".html"),
            "feedURL": site.feedURL,
            "sourceName": site.sourceName,
            "description": n.description ?? "",
            "hasReadme": readme != nil,
            "published": Self.date(v.archive.packedAt),
            "size": Self.size(v.archive.size),
            "sha512": v.archive.sha512,
            "download": root + SiteRenderer.href(FeedLayout.nupkg(r.lowerId, v.lowerVersion)),
            "badge": root + SiteRenderer.href(BadgeRenderer.svgPath(r.lowerId)),
            "hasTags": !n.tags.isEmpty,
            "tags": n.tags,
        ]
        if let readme { context["readme"] = readme }
        if v.symbols != nil {
            // The symbol server is the feed's symbols/ folder (a Simple Symbol Query Protocol store).
            let feedBase =
                site.feedURL.hasSuffix("index.json") ? String(site.feedURL.dropLast("index.json".count)) : site.feedURL
            context["symbolServer"] = feedBase + FeedLayout.symbols
            context["symbolsDownload"] = root + SiteRenderer.href(FeedLayout.snupkg(r.lowerId, v.lowerVersion))
        }
        if let title = n.title, !title.isEmpty, title != n.id { context["showId"] = true }
        if v.version.isPrerelease { context["prerelease"] = true }
        let owners = r.owners
        if r.verified { context["verified"] = true }
        if !v.listed { context["unlisted"] = true }
        if let d = v.deprecation {
            var deprecated: [String: Any] = ["reasons": d.reasons.map(\.rawValue).joined(separator: ", ")]
            if let m = d.message, !m.isEmpty { deprecated["message"] = m }
            if let alt = d.alternateId {
                deprecated["altId"] = alt
                deprecated["altRange"] = d.alternateRange.map(Self.range) ?? "(any version)"
                if site.lowerIds.contains(alt.lowercased()) {
                    deprecated["altHref"] = SiteRenderer.href("../" + alt.lowercased() + "/index.html")
                }
            }
            context["deprecated"] = deprecated
        }
        if !v.vulnerabilities.isEmpty {
            context["hasVulnerabilities"] = true
            context["vulnerabilities"] = v.vulnerabilities.map { vuln -> [String: Any] in
                var row: [String: Any] = ["severity": vuln.severity.name.capitalized]
                if Self.isWebURL(vuln.advisoryURL) { row["url"] = vuln.advisoryURL } else { row["url"] = "#" }
                return row
            }
        }
        if !owners.isEmpty {
            context["hasOwners"] = true
            context["owners"] = owners.joined(separator: ", ")
        }
        if let authors = n.authors, !authors.isEmpty { context["authors"] = authors }
        if let summary = n.summary, !summary.isEmpty { context["summary"] = summary }
        if let notes = n.releaseNotes, !notes.isEmpty { context["releaseNotes"] = notes }
        if let copyright = n.copyright, !copyright.isEmpty { context["copyright"] = copyright }
        if let url = n.projectUrl, Self.isWebURL(url) { context["projectUrl"] = url }
        if let url = n.repository?.url, Self.isWebURL(url) { context["repositoryUrl"] = url }
        if n.requireLicenseAcceptance { context["requireLicenseAcceptance"] = true }
        let (licenseText, licenseHref) = license(v)
        context["licenseText"] = licenseText
        if let licenseHref { context["licenseHref"] = licenseHref }

        // Dependency groups, built here rather than by template sections (a page has several
        // groups of several dependencies; escaped scalar by scalar like every text Shelf inserts).
        var groups = ""
        for g in n.dependencyGroups {
            let framework = g.targetFramework.map { NuGetFramework.parse($0).shortFolderName } ?? "Any framework"
            groups += "\n<h3>" + HTMLText.escape(framework) + "</h3>\n"
            if g.dependencies.isEmpty {
                groups += "\n<p class=\"none\">No dependencies.</p>\n"
                continue
            }
            groups += "<ul class=\"deps\">"
            for d in g.dependencies {
                groups += "<li>"
                if site.lowerIds.contains(d.id.lowercased()) {
                    let href = SiteRenderer.href("../" + d.id.lowercased() + "/index.html")
                    groups += "<a href=\"" + HTMLText.escape(href) + "\">" + HTMLText.escape(d.id) + "</a>"
                } else {
                    groups += HTMLText.escape(d.id)
                }
                groups += " <span class=\"range\">" + HTMLText.escape(Self.range(d.range)) + "</span></li>"
            }
            groups += "</ul>\n\n"
        }
        context["dependencyGroups"] =
            n.dependencyGroups.isEmpty ? "\n<p class=\"none\">No dependencies.</p>" : groups + "\n"

        // Listed versions, newest first, plus this one if it is unlisted (reached by direct link).
        // The latest version's page (also the id's index.html) lists them all; another version's
        // page lists those nearest to it when there are many, and links to the full list, so that
        // an id with hundreds of versions does not cost hundreds of full lists.
        var shown = listed
        if !v.listed { shown.insert(v, at: shown.firstIndex { $0.version < v.version } ?? shown.count) }
        let isLatest = v.lowerVersion == latest.lowerVersion
        if !isLatest, shown.count > Self.versionWindow * 2 + 1,
            let here = shown.firstIndex(where: { $0.lowerVersion == v.lowerVersion })
        {
            let start = max(0, min(here - Self.versionWindow, shown.count - Self.versionWindow * 2 - 1))
            context["allVersions"] = [
                "count": listed.count, "href": SiteRenderer.href(latest.lowerVersion + ".html") + "#versions-h",
            ]
            shown = Array(shown[start..<(start + Self.versionWindow * 2 + 1)])
        }
        // Built here rather than by a template section: a row per version, the one part of the
        // page that grows with the id (versions, hrefs and dates are plain ASCII; escaped anyway).
        var rows = ""
        for other in shown {
            let current = other.lowerVersion == v.lowerVersion
            rows += current ? "<tr class=\"current\"><td><a href=\"" : "<tr><td><a href=\""
            rows += HTMLText.escape(SiteRenderer.href(other.lowerVersion + ".html"))
            rows += current ? "\" aria-current=\"page\">" : "\">"
            rows += HTMLText.escape(other.version.normalizedString)
            rows += "</a></td><td>" + HTMLText.escape(Self.date(other.archive.packedAt)) + "</td></tr>\n"
        }
        context["versionRows"] = rows

        let body = SiteTemplates.library.render(context, withTemplate: "package")!
        let description = SiteRenderer.shorten(n.summary ?? n.description ?? "", to: 200)
        return site.page(
            title: "\(n.id) \(v.version.normalizedString) · \(site.feedName)", description: description, root: root,
            body: body, scripts: [])
    }

    private func license(_ v: PackageVersion) -> (String, String?) {
        let n = v.nuspec
        if let license = n.license {
            switch license.kind {
            case .expression:
                let escaped = license.text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? license.text
                return (license.text, "https://licenses.nuget.org/" + escaped)
            case .file:
                if let file = v.archive.licenseFile {
                    return (
                        "License file",
                        Self.root
                            + SiteRenderer.href(
                                FeedLayout.license(registration.lowerId, v.lowerVersion, file.fileExtension))
                    )
                }
            }
        }
        if let url = n.licenseUrl, Self.isWebURL(url) { return ("License", url) }
        return ("Not specified", nil)
    }

    /// Only http(s) addresses from a nuspec become links.
    static func isWebURL(_ s: String) -> Bool {
        let t = s.lowercased()
        return (t.hasPrefix("https://") || t.hasPrefix("http://")) && !t.unicodeScalars.contains { $0.value < 0x21 }
    }

    /// A range as nuget.org shows it: `(>= 1.0.0)`, `(>= 1.0.0 && < 2.0.0)`, `(= 1.0.0)`.
    static func range(_ range: VersionRange) -> String {
        switch (range.minVersion, range.maxVersion) {
        case (nil, nil):
            return "(any version)"
        case (let min?, let max?) where min == max && range.isMinInclusive && range.isMaxInclusive:
            return "(= \(min.normalizedString))"
        default:
            var parts: [String] = []
            if let min = range.minVersion { parts.append((range.isMinInclusive ? ">= " : "> ") + min.normalizedString) }
            if let max = range.maxVersion { parts.append((range.isMaxInclusive ? "<= " : "< ") + max.normalizedString) }
            return "(" + parts.joined(separator: " && ") + ")"
        }
    }

    static func date(_ d: Date) -> String {
        String(RegistrationRenderer.timestamp(d).prefix(10))
    }

    static func size(_ bytes: Int64) -> String {
        if bytes < 1024 { return "\(bytes) bytes" }
        let units = ["KB", "MB", "GB"]
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.1f", value) + " \(units[unit]) (\(bytes) bytes)"
    }
}

/// The HTML of each README an id's versions carry, rendered once however many versions share it.
final class ReadmeCache: @unchecked Sendable {
    let contents: any PackageContents
    private let lock = NSLock()
    private var rendered: [Data: String] = [:]

    init(contents: any PackageContents) { self.contents = contents }

    /// The README of a version as HTML; nil when it has none (or it cannot be read now).
    func html(of version: PackageVersion) -> String? {
        guard version.archive.readme != nil, let markdown = contents.readme(of: version) else { return nil }
        lock.lock()
        let known = rendered[markdown]
        lock.unlock()
        if let known { return known }
        let html = ReadmeRenderer().html(String(decoding: markdown, as: UTF8.self))
        // Bounded: an id whose every version has its own README does not keep them all.
        lock.lock()
        if rendered.count < 16 { rendered[markdown] = html }
        lock.unlock()
        return html
    }
}
