import Foundation

/// The web hosts `shelf build --host` writes configuration for.
public enum WebHost: String, Sendable, CaseIterable {
    case nginx, apache, iis, netlify, cloudflare
    case githubPages = "github-pages"

    /// Whether the host can serve files stored compressed with `Content-Encoding: gzip` (the
    /// `--gzip` layout). GitHub Pages cannot set headers at all; Netlify and Cloudflare Pages
    /// compress on the fly and do not promise to pass a stored encoding through.
    public var servesStoredGzip: Bool {
        switch self {
        case .nginx, .apache: return true
        // IIS adds custom headers to error responses too: a 404 would claim to be gzip.
        case .iis, .netlify, .cloudflare, .githubPages: return false
        }
    }
}

/// Writes a host's configuration into the feed: nginx's `server` block (under `.shelf/host/`,
/// never served), Apache's `.htaccess`, IIS's `web.config`, `_headers` (and `_redirects`) for
/// Netlify and Cloudflare Pages, `.nojekyll` for GitHub Pages. Every configuration sets the
/// Content-Type per file, a short revalidated cache for indexes and a year-long immutable one for
/// packages and catalog leaves, CORS for the documents, `index.html` as the directory index
/// (`/index.json` stays the service index), keeps `.shelf/` private, and with `--gzip` serves the
/// registration hives, stored compressed, with `Content-Encoding: gzip`.
public struct HostConfigRenderer: FeedDocumentRenderer {
    public let host: WebHost
    public let gzip: Bool

    public init(host: WebHost, gzip: Bool) {
        self.host = host
        self.gzip = gzip
    }

    public var packageDetailsTemplate: String? { nil }

    public func renderIds(
        _ model: FeedModel, layout: FeedLayout, ids: Set<String>, contents: any PackageContents
    ) -> [String: [FeedDocument]] {
        [:]
    }

    /// Where nginx's configuration goes: the one host whose configuration is not a file the host
    /// reads from the folder itself.
    public static let nginxPath = StateRecord.hostConfiguration("nginx.conf").path

    public func renderFeedWide(_ digests: [IdDigest], layout: FeedLayout) -> [FeedDocument] {
        func doc(_ path: String, _ text: String, _ type: String) -> FeedDocument {
            FeedDocument(path: path, content: .bytes(Data(text.utf8)), contentType: type, phase: .indexes)
        }
        switch host {
        case .nginx: return [doc(Self.nginxPath, nginx(layout), "text/plain")]
        case .apache: return [doc(".htaccess", apache(), "text/plain")]
        case .iis: return [doc("web.config", iis(), "application/xml")]
        case .netlify:
            return [
                doc("_headers", headersFile(), "text/plain"),
                doc("_redirects", "/\(StateRecord.folder)/* /404 404!\n", "text/plain"),
            ]
        case .cloudflare: return [doc("_headers", headersFile(), "text/plain")]
        case .githubPages: return [doc(".nojekyll", "", "text/plain")]
        }
    }

    static let types: [(String, String)] = [
        ("json", "application/json"), ("nupkg", "application/octet-stream"), ("snupkg", "application/octet-stream"),
        ("pdb", "application/octet-stream"),
        ("nuspec", "application/xml"), ("sha512", "text/plain"), ("md", "text/markdown"), ("txt", "text/plain"),
        ("html", "text/html"), ("css", "text/css"), ("js", "text/javascript"), ("svg", "image/svg+xml"),
        ("png", "image/png"), ("jpg", "image/jpeg"), ("jpeg", "image/jpeg"),
    ]
    static let shortCache = "public, max-age=60, must-revalidate"
    static let immutable = "public, max-age=31536000, immutable"
    static let hives = ["registration", "registration-semver2"]

    func nginx(_ layout: FeedLayout) -> String {
        let prefix = URL(string: layout.baseURL)?.path ?? "/"
        let p = prefix.hasSuffix("/") ? prefix : prefix + "/"
        var out = """
            # nginx configuration for a feed written by `shelf build --host nginx\(gzip ? " --gzip" : "")`.
            # Put it in /etc/nginx/conf.d/ (or include it), set `root` to the folder `shelf build --out`
            # wrote, `server_name` and `listen` to yours, then run `nginx -t && nginx -s reload`.
            # The feed's base URL path is \(p); with another path, put the feed's folder there.
            server {
                listen 80;
                server_name _;
                root /srv/shelf-feed;

                # /index.html is the package site's home page; /index.json stays the service index.
                index index.html;

                types {

            """
        for (ext, type) in Self.types { out += "        \(type) \(ext);\n" }
        out += """
                }
                default_type application/octet-stream;

                # On-the-fly compression for plain documents (the stored-gzip hives are excluded below).
                gzip on;
                gzip_types application/json text/javascript text/css image/svg+xml text/markdown application/xml;

                # Shelf's own record is never served.
                location ^~ \(p)\(StateRecord.folder)/ { return 404; }

                # Packages and catalog leaves never change under their name.
                location ~* \\.nupkg$ {
                    add_header Cache-Control "\(Self.immutable)" always;
                    add_header Access-Control-Allow-Origin "*" always;
                }
                location ^~ \(p)catalog/data/ {
                    add_header Cache-Control "\(Self.immutable)" always;
                    add_header Access-Control-Allow-Origin "*" always;
                }
                # The symbol store: a file's key is its content's id.
                location ^~ \(p)symbols/ {
                    add_header Cache-Control "\(Self.immutable)" always;
                    add_header Access-Control-Allow-Origin "*" always;
                }

            """
        if gzip {
            for hive in Self.hives {
                out += """
                        # Stored gzip-compressed by --gzip: sent as it is, with its encoding.
                        location ^~ \(p)\(hive)/ {
                            gzip off;
                            # Not `always`: a 404 page is not compressed and must not say it is.
                            add_header Content-Encoding gzip;
                            add_header Vary Accept-Encoding;
                            add_header Cache-Control "\(Self.shortCache)" always;
                            add_header Access-Control-Allow-Origin "*" always;
                        }

                    """
            }
        }
        out += """
                # Indexes and everything else: a short cache, revalidated, so no client stays on a stale index.
                location / {
                    add_header Cache-Control "\(Self.shortCache)" always;
                    add_header Access-Control-Allow-Origin "*" always;
                    try_files $uri $uri/ =404;
                }
            }

            """
        return out
    }

    func apache() -> String {
        var out = """
            # Apache configuration for a feed written by `shelf build --host apache\(gzip ? " --gzip" : "")`.
            # Needs mod_mime, mod_headers and mod_rewrite, and `AllowOverride FileInfo Indexes Options`
            # for this folder.
            Options -MultiViews -Indexes
            DirectoryIndex index.html

            """
        for (ext, type) in Self.types { out += "AddType \(type) .\(ext)\n" }
        out += """

            # Shelf's own record is never served.
            RedirectMatch 404 /\\\(StateRecord.folder)(/|$)

            <IfModule mod_headers.c>
                Header always set Access-Control-Allow-Origin "*"
                Header always set Cache-Control "\(Self.shortCache)"
                <FilesMatch "\\.nupkg$">
                    Header always set Cache-Control "\(Self.immutable)"
                </FilesMatch>
                <If "%{REQUEST_URI} =~ m#/(catalog/data|symbols)/#">
                    Header always set Cache-Control "\(Self.immutable)"
                </If>

            """
        if gzip {
            out += """
                    # Stored gzip-compressed by --gzip: sent as it is, with its encoding.
                    <If "%{REQUEST_URI} =~ m#/registration(-semver2)?/#">
                        # onsuccess: a 404 page is not compressed and must not say it is.
                        Header onsuccess set Content-Encoding gzip
                        Header onsuccess append Vary Accept-Encoding
                        SetEnv no-gzip 1
                    </If>

                """
        }
        out += "</IfModule>\n"
        return out
    }

    func iis() -> String {
        var mimes = ""
        for (ext, type) in Self.types {
            mimes +=
                "      <remove fileExtension=\".\(ext)\" />\n      <mimeMap fileExtension=\".\(ext)\" mimeType=\"\(type)\" />\n"
        }
        var out = """
            <?xml version="1.0" encoding="utf-8"?>
            <!-- IIS configuration for a feed written by `shelf build --host iis\(gzip ? " --gzip" : "")`. -->
            <configuration>
              <system.webServer>
                <staticContent>
            \(mimes)      <clientCache cacheControlMode="UseMaxAge" cacheControlMaxAge="00:01:00" />
                </staticContent>
                <defaultDocument enabled="true">
                  <files>
                    <clear />
                    <add value="index.html" />
                  </files>
                </defaultDocument>
                <directoryBrowse enabled="false" />
                <urlCompression doStaticCompression="true" doDynamicCompression="false" />
                <httpProtocol>
                  <customHeaders>
                    <add name="Access-Control-Allow-Origin" value="*" />
                  </customHeaders>
                </httpProtocol>
                <security>
                  <requestFiltering>
                    <hiddenSegments>
                      <add segment="\(StateRecord.folder)" />
                    </hiddenSegments>
                  </requestFiltering>
                </security>
              </system.webServer>

            """
        // Catalog leaves and the symbol store never change under their names.
        for path in ["catalog/data", "symbols"] {
            out += """
                  <location path="\(path)">
                    <system.webServer>
                      <staticContent>
                        <clientCache cacheControlMode="UseMaxAge" cacheControlMaxAge="365.00:00:00" />
                      </staticContent>
                    </system.webServer>
                  </location>

                """
        }
        out += "</configuration>\n"
        return out
    }

    func headersFile() -> String {
        """
        # Headers for Netlify and Cloudflare Pages, written by `shelf build --host \(host.rawValue)`.
        /*
          Access-Control-Allow-Origin: *
          Cache-Control: \(Self.shortCache)
        /flatcontainer/*.nupkg
          Cache-Control: \(Self.immutable)
        /catalog/data/*
          Cache-Control: \(Self.immutable)
        /symbols/*
          Cache-Control: \(Self.immutable)

        """
    }
}

/// How every file of a feed is served, the one policy that the host configurations, `shelf serve`
/// and `shelf publish` share: its Content-Type, its Cache-Control, and whether it is served at all.
public enum ServedFile {
    /// The Content-Type for a path in the feed, by extension.
    public static func contentType(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: ".") else { return "application/octet-stream" }
        let ext = name[name.index(after: dot)...].lowercased()
        return HostConfigRenderer.types.first { $0.0 == ext }?.1 ?? "application/octet-stream"
    }

    /// Packages, symbol files (their key is their content's id) and catalog leaves never change
    /// under their name: a year, immutable. Everything else (indexes above all) is cached briefly
    /// and revalidated, so no client stays on a stale index.
    public static func cacheControl(_ path: String) -> String {
        let lower = path.lowercased()
        // A `.snupkg` may be replaced for its version (a symbol package fixed): not immutable.
        if lower.hasSuffix(".nupkg") || path.hasPrefix("catalog/data/") || lower.hasPrefix(FeedLayout.symbols) {
            return HostConfigRenderer.immutable
        }
        return HostConfigRenderer.shortCache
    }

    /// Whether the path is part of what a host serves: not Shelf's own record (`.shelf/`), not a
    /// host's configuration file (`.htaccess`, `web.config`, `_headers`, `_redirects`, `.nojekyll`).
    public static func isServed(_ path: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        if segments.contains(where: { $0.hasPrefix(".") }) { return false }
        return !(segments.count == 1 && ["web.config", "_headers", "_redirects"].contains(String(segments[0])))
    }

    /// A JSON document or web page: what `shelf publish` stores gzip-compressed.
    public static func isCompressible(_ path: String) -> Bool {
        let type = contentType(path)
        return ["application/json", "text/html", "text/css", "text/javascript", "image/svg+xml"].contains(type)
    }
}
