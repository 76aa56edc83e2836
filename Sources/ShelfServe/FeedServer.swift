import Foundation
import NuGetCore
import ShelfFeed

/// `shelf serve`: a built feed over HTTP on 127.0.0.1, for local use and testing, and as a tiny
/// private server. Files are served as a host configured by `shelf build --host` serves them
/// (`ServedFile`: Content-Type, Cache-Control, CORS, `.shelf/` private), documents stored
/// gzip-compressed (`--gzip`) with `Content-Encoding: gzip`, with an ETag and `304 Not Modified`,
/// HEAD, and 404 for anything outside the folder. The search and autocomplete URLs answer real
/// queries from `SearchIndex`.
///
/// When the feed was built for another base URL, the links in its documents are rewritten to the
/// server's own URL on the way out, so that a feed built for production can be tried locally.
///
/// Requests are answered side by side (no actor between them): the search index is swapped whole
/// when a build changed what it is made from, read again by one request while the others go on
/// with the previous one.
public final class FeedServer: Sendable {
    public let root: String
    let files: FeedFiles
    private let held: HeldIndex
    let searchPath: String
    let autocompletePath: String

    public init(root: String) throws {
        guard let real = realpath(root, nil) else { throw ServeError.noSuchFolder(root) }
        self.root = String(cString: real)
        free(real)
        files = FeedFiles(root: self.root)
        held = HeldIndex(index: try SearchIndex(root: self.root), stamp: files.searchSourceStamps())
        searchPath = SearchRenderer.queryPath
        autocompletePath = SearchRenderer.autocompletePath
    }

    public var feedBaseURL: String { held.current.feedBaseURL }
    public var idCount: Int { held.current.idCount }

    /// The search index, read again when a build changed the documents it is made from.
    func currentIndex() -> SearchIndex { held.refreshed(files: files, root: root) }

    /// The index a request needs: checked for a rebuild for the service index and search, as
    /// held for the rest (a stat of four files per request is what it saves).
    func currentIndex(forPath rawPath: String) -> SearchIndex {
        let path = rawPath.drop { $0 == "/" }
        if path == "index.json" || path == searchPath || path == autocompletePath || path.isEmpty {
            return currentIndex()
        }
        return held.current
    }

    /// The query's name/value pairs, decoded as ASP.NET does: `+` is a space, then `%XX`.
    static func queryItems(_ raw: String) -> [(String, String)] {
        raw.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The response to one request; `headers` reads a request header by name.
    func respond(
        method: String, rawPath: String, query: [(String, String)], headers: (String) -> String?, baseURL: String,
        extraResources: [JSON] = []
    ) -> Reply {
        let isHead = method == "HEAD"
        // Fresh after a rebuild for search and the service index (a rebuild may also change the
        // base URL, which the rewriting uses); other files go with the index held.
        let index = currentIndex(forPath: rawPath)
        guard method == "GET" || isHead else {
            if method == "OPTIONS" {
                return Reply(status: 204, headers: Self.corsHeaders)
            }
            return plain(405, "only GET and HEAD are served here\n", extra: [("Allow", "GET, HEAD, OPTIONS")])
        }
        guard let path = FeedFiles.relativePath(rawPath) else {
            return plain(404, "not found\n", head: isHead)
        }
        if path == searchPath || path == autocompletePath {
            let parsed = SearchParameters.parse(query)
            guard case .success(let params) = parsed else {
                if case .failure(let e) = parsed { return plain(400, e.description + "\n", head: isHead) }
                return plain(400, "bad request\n", head: isHead)
            }
            let doc = path == searchPath ? index.search(params, servingBaseURL: baseURL) : index.autocomplete(params)
            var h = Self.corsHeaders
            h.set("Content-Type", "application/json")
            h.set("Cache-Control", "no-cache")
            var data = doc.encoded()
            if feedBaseURLDiffers(baseURL, index) {
                data = data.replacing(Data(index.feedBaseURL.utf8), with: Data(baseURL.utf8))
            }
            return body(data, status: 200, headers: h, head: isHead)
        }
        // The symbol store's keys are stored lowercased; clients may send them in any case (SSQP).
        let wanted = path.lowercased().hasPrefix(FeedLayout.symbols) ? path.lowercased() : path
        guard let file = files.resolve(wanted) else { return plain(404, "not found\n", head: isHead) }

        var h = Self.corsHeaders
        h.set("Content-Type", ServedFile.contentType(file.relative))
        h.set("Cache-Control", ServedFile.cacheControl(file.relative))
        // The service index of a server taking pushes also names its PackagePublish endpoint.
        let extended = file.relative == "index.json" && !extraResources.isEmpty
        let rewrite = feedBaseURLDiffers(baseURL, index) && Self.rewritable(file.relative)
        let etag =
            "\"\(String(file.stamp.mtime, radix: 16))-\(String(file.stamp.size, radix: 16))\(rewrite ? "-r" : "")\(extended ? "-p" : "")\""
        h.set("ETag", etag)
        if let match = headers("If-None-Match"),
            match == "*"
                || match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag })
        {
            h.remove("Content-Type")
            return Reply(status: 304, headers: h)
        }
        // A package (or any large file served as it is) is streamed from the disk, a piece at a
        // time: many downloads of big packages at once must not each hold a whole one in memory.
        if !rewrite && !extended && file.stamp.size > Int64(Reply.streamAbove)
            && h.value("Content-Type") != "application/json"
        {
            h.set("Content-Length", String(file.stamp.size))
            if isHead { return Reply(status: 200, headers: h, isHead: true) }
            var r = Reply(status: 200, headers: h)
            r.file = (file.absolute, file.stamp.size)
            return r
        }
        guard var data = FileManager.default.contents(atPath: file.absolute) else {
            return plain(404, "not found\n", head: isHead)
        }
        let gzipped = data.starts(with: [0x1f, 0x8b]) && h.value("Content-Type") == "application/json"
        if rewrite || extended {
            var plainData = gzipped ? (Gzip.decompress(data) ?? data) : data
            if rewrite { plainData = plainData.replacing(Data(index.feedBaseURL.utf8), with: Data(baseURL.utf8)) }
            if extended { plainData = Self.adding(extraResources, toServiceIndex: plainData) }
            data = gzipped ? Gzip.compress(plainData) : plainData
        }
        if gzipped {
            h.set("Content-Encoding", "gzip")
            h.set("Vary", "Accept-Encoding")
        }
        return body(data, status: 200, headers: h, head: isHead)
    }

    /// A service index with `resources` appended to its `resources`.
    static func adding(_ resources: [JSON], toServiceIndex data: Data) -> Data {
        guard var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            var list = object["resources"] as? [Any]
        else { return data }
        for r in resources {
            if let item = try? JSONSerialization.jsonObject(with: r.encoded()) { list.append(item) }
        }
        object["resources"] = list
        return (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? data
    }

    func feedBaseURLDiffers(_ serving: String, _ index: SearchIndex) -> Bool {
        !serving.isEmpty && index.feedBaseURL != serving
    }

    static func rewritable(_ path: String) -> Bool {
        ["application/json", "text/html", "text/javascript"].contains(ServedFile.contentType(path))
    }

    static let corsHeaders = Headers([
        ("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ])

    func body(_ data: Data, status: Int, headers: Headers, head: Bool) -> Reply {
        var h = headers
        if head {
            // HEAD gets no body, with the length GET would send.
            h.set("Content-Length", String(data.count))
            return Reply(status: status, headers: h, body: Data(), isHead: true)
        }
        return Reply(status: status, headers: h, body: data)
    }

    func plain(_ status: Int, _ text: String, head: Bool = false, extra: [(String, String)] = []) -> Reply {
        var h = Self.corsHeaders
        for (k, v) in extra { h.set(k, v) }
        h.set("Content-Type", "text/plain; charset=utf-8")
        return body(Data(text.utf8), status: status, headers: h, head: head)
    }
}

/// Maps request paths to files in the feed, refusing anything that would leave it.
struct FeedFiles: Sendable {
    let root: String

    struct File {
        var relative: String
        var absolute: String
        var stamp: FileIdentity
    }

    /// The feed-relative path of a raw (percent-encoded) request path, or nil when it is not one
    /// the feed can have: undecodable, a NUL, a `.` or `..` segment, a backslash, or a path a host
    /// would not serve (`.shelf/`, dot files, host configuration).
    static func relativePath(_ raw: String) -> String? {
        guard raw.hasPrefix("/"), let decoded = raw.removingPercentEncoding else { return nil }
        if decoded.contains("\0") || decoded.contains("\\") { return nil }
        let segments = decoded.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if segments.contains(where: { $0 == "." || $0 == ".." }) { return nil }
        let path = segments.joined(separator: "/")
        if !path.isEmpty && !ServedFile.isServed(path) { return nil }
        return path
    }

    /// The regular file a relative path names (a folder's `index.html`), when its real path, with
    /// every link resolved, is still inside the feed.
    func resolve(_ relative: String) -> File? {
        var candidate = relative.isEmpty ? root : root + "/" + relative
        var rel = relative
        var st = stat()
        guard stat(candidate, &st) == 0 else { return nil }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            rel = rel.isEmpty || rel.hasSuffix("/") ? rel + "index.html" : rel + "/index.html"
            candidate = root + "/" + rel
            guard stat(candidate, &st) == 0 else { return nil }
        }
        guard (st.st_mode & S_IFMT) == S_IFREG, let real = realpath(candidate, nil) else { return nil }
        let resolved = String(cString: real)
        free(real)
        guard resolved.hasPrefix(root + "/") else { return nil }
        return File(
            relative: rel, absolute: resolved,
            stamp: FileIdentity(st))
    }

    /// Stamps of what the search index is read from (the hives' folders change whenever an id is
    /// added, changed or removed; the owners document with the policy), to notice a rebuild.
    func searchSourceStamps() -> [String: FileIdentity] {
        var out: [String: FileIdentity] = [:]
        for path in [
            "index.json", SearchRenderer.ownersPath, SearchRenderer.queryPath, SearchRenderer.autocompletePath,
        ] {
            var st = stat()
            if stat(root + "/" + path, &st) == 0 {
                out[path] = FileIdentity(st)
            }
        }
        return out
    }
}

/// The search index in use, swapped whole after a rebuild.
final class HeldIndex: @unchecked Sendable {
    private let lock = NSLock()
    private var index: SearchIndex
    private var stamp: [String: FileIdentity]
    private var reloading = false

    init(index: SearchIndex, stamp: [String: FileIdentity]) {
        self.index = index
        self.stamp = stamp
    }

    var current: SearchIndex { lock.withLock { index } }

    /// The index, read again first when its sources changed (by one caller at a time; the others
    /// get the one held meanwhile).
    func refreshed(files: FeedFiles, root: String) -> SearchIndex {
        let stamps = files.searchSourceStamps()
        let (held, reload): (SearchIndex, Bool) = lock.withLock {
            guard stamps != stamp, !reloading else { return (index, false) }
            reloading = true
            return (index, true)
        }
        guard reload else { return held }
        let fresh = try? SearchIndex(root: root)
        return lock.withLock {
            if let fresh {
                index = fresh
                stamp = stamps
            }
            reloading = false
            return index
        }
    }
}
