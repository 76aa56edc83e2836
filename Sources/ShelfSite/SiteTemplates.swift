import Mustache

/// The site's Mustache templates. `{{x}}` is HTML-escaped by Mustache; only `{{{readme}}}` and
/// `{{{body}}}` (markup this module made, the README already sanitized) are inserted raw.
enum SiteTemplates {
    static let library: MustacheLibrary = {
        // Text is escaped by HTMLText (scalar by scalar), not by Mustache's default, which compares
        // whole Characters: a `"` followed by a combining mark is one Character, would go out
        // unescaped and end an attribute early (a project URL could then add an event handler).
        MustacheContentTypes.register(EscapedHTML(), named: "SHELF_HTML")
        let pragma = "{{% CONTENT_TYPE: SHELF_HTML}}"
        var library = MustacheLibrary()
        // The templates are constants of this module; a parse error is a programming error that
        // every test run would show.
        try! library.register(pragma + page, named: "page")
        try! library.register(pragma + home, named: "home")
        try! library.register(pragma + package, named: "package")
        return library
    }()

    /// Every page: a strict Content-Security-Policy (no inline script, nothing from elsewhere),
    /// a skip link, the header and the footer.
    static let page = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'">
        <meta name="referrer" content="no-referrer">
        <title>{{title}}</title>
        {{#description}}<meta name="description" content="{{description}}">
        {{/description}}<link rel="stylesheet" href="{{root}}assets/site.css">
        <link rel="icon" href="{{root}}assets/package.svg" type="image/svg+xml">
        </head>
        <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top"><div class="wrap"><a class="brand" href="{{root}}index.html"><img src="{{root}}assets/package.svg" alt="" width="24" height="24"> {{feedName}}</a><span class="feed-url">{{feedURL}}</span></div></header>
        <main id="main" class="wrap">
        {{{body}}}
        </main>
        <footer class="wrap">A static NuGet feed built by Shelf. Package source: <code>{{feedURL}}</code></footer>
        {{#scripts}}<script src="{{root}}assets/{{.}}"></script>
        {{/scripts}}</body>
        </html>

        """

    static let home = """
        <h1>Packages</h1>
        <p class="lead">{{idCount}} packages, {{versionCount}} versions. Use this feed with <code>dotnet nuget add source {{feedURL}} --name {{sourceName}}</code></p>
        <div class="search" role="search">
        <label for="q">Search packages</label>
        <input id="q" type="search" placeholder="Search by id, title, tag, author or description" autocomplete="off" spellcheck="false">
        <p id="count" class="count" aria-live="polite">{{idCount}} packages</p>
        </div>
        <ol id="packages" class="package-list">
        {{{items}}}
        </ol>
        <p id="none" class="none" hidden>No package matches your search.</p>

        """

    static let package = """
        <nav class="crumbs" aria-label="Breadcrumb"><a href="{{root}}index.html">Packages</a> <span aria-hidden="true">/</span> <span>{{id}}</span></nav>
        <div class="package-head">
        <img class="icon" src="{{icon}}" alt="" width="64" height="64">
        <div class="head-text">
        <h1><span class="pid">{{displayTitle}}</span> <span class="version">{{version}}</span>{{#prerelease}} <span class="tag pre">prerelease</span>{{/prerelease}}{{^isLatest}} <a class="tag newer" href="{{latestHref}}">latest: {{latestVersion}}</a>{{/isLatest}}</h1>
        {{#showId}}<p class="id">{{id}}</p>{{/showId}}
        <p class="people">{{#verified}}<span class="verified" title="The ID prefix is reserved for this owner">&#10004; verified</span> {{/verified}}{{#hasOwners}}Owners: {{owners}}. {{/hasOwners}}{{#authors}}Authors: {{authors}}.{{/authors}}</p>
        {{#summary}}<p class="summary">{{summary}}</p>{{/summary}}
        </div>
        </div>
        {{#unlisted}}<p class="banner" role="note"><strong>Unlisted.</strong> This version is hidden from search and listings; it can still be restored.</p>{{/unlisted}}
        {{#deprecated}}<div class="banner warn" role="note"><p><strong>Deprecated</strong> ({{reasons}}).{{#message}} {{message}}{{/message}}</p>{{#altId}}<p>Suggested alternative: {{#altHref}}<a href="{{altHref}}">{{altId}}</a>{{/altHref}}{{^altHref}}{{altId}}{{/altHref}} <span class="range">{{altRange}}</span></p>{{/altId}}</div>{{/deprecated}}
        {{#hasVulnerabilities}}<div class="banner danger" role="note"><p><strong>This version has known vulnerabilities.</strong></p><ul>{{#vulnerabilities}}<li><a href="{{url}}" rel="nofollow noopener noreferrer">{{severity}} severity</a></li>{{/vulnerabilities}}</ul></div>{{/hasVulnerabilities}}
        <div class="columns">
        <div class="content">
        <section aria-labelledby="install-h">
        <h2 id="install-h">Install</h2>
        <h3>.NET CLI</h3>
        <pre><code>dotnet add package {{id}} --version {{version}}</code></pre>
        <h3>PackageReference</h3>
        <pre><code>&lt;PackageReference Include="{{id}}" Version="{{version}}" /&gt;</code></pre>
        <h3>Paket</h3>
        <pre><code>source {{feedURL}}
        nuget {{id}} {{version}}</code></pre>
        <h3>nuget.config</h3>
        <p class="hint">Add the feed as a package source, and map this package to it (package source mapping) so that restore never looks for it anywhere else:</p>
        <pre><code>&lt;configuration&gt;
          &lt;packageSources&gt;
            &lt;clear /&gt;
            &lt;add key="nuget.org" value="https://api.nuget.org/v3/index.json" /&gt;
            &lt;add key="{{sourceName}}" value="{{feedURL}}" /&gt;
          &lt;/packageSources&gt;
          &lt;packageSourceMapping&gt;
            &lt;packageSource key="nuget.org"&gt;
              &lt;package pattern="*" /&gt;
            &lt;/packageSource&gt;
            &lt;packageSource key="{{sourceName}}"&gt;
              &lt;package pattern="{{id}}" /&gt;
            &lt;/packageSource&gt;
          &lt;/packageSourceMapping&gt;
        &lt;/configuration&gt;</code></pre>
        </section>
        <section aria-labelledby="readme-h">
        <h2 id="readme-h">{{#hasReadme}}README{{/hasReadme}}{{^hasReadme}}Description{{/hasReadme}}</h2>
        {{#hasReadme}}<article class="readme">{{{readme}}}</article>{{/hasReadme}}
        {{^hasReadme}}<p class="description">{{description}}</p>{{/hasReadme}}
        </section>
        {{#releaseNotes}}<section aria-labelledby="notes-h"><h2 id="notes-h">Release notes</h2><p class="description">{{releaseNotes}}</p></section>{{/releaseNotes}}
        <section aria-labelledby="deps-h">
        <h2 id="deps-h">Dependencies</h2>
        {{{dependencyGroups}}}
        </section>
        <section aria-labelledby="versions-h">
        <h2 id="versions-h">Versions</h2>
        <table class="versions">
        <thead><tr><th scope="col">Version</th><th scope="col">Published</th></tr></thead>
        <tbody>
        {{{versionRows}}}</tbody>
        </table>{{#allVersions}}<p><a href="{{href}}">All {{count}} versions</a></p>{{/allVersions}}
        </section>
        </div>
        <aside class="side" aria-label="About this package">
        <p><a class="button" href="{{download}}">Download package</a></p>
        <dl>
        <dt>Published</dt><dd>{{published}}</dd>
        <dt>License</dt><dd>{{#licenseHref}}<a href="{{licenseHref}}">{{licenseText}}</a>{{/licenseHref}}{{^licenseHref}}{{licenseText}}{{/licenseHref}}{{#requireLicenseAcceptance}} (acceptance required){{/requireLicenseAcceptance}}</dd>
        {{#projectUrl}}<dt>Project</dt><dd><a href="{{projectUrl}}" rel="nofollow noopener noreferrer">{{projectUrl}}</a></dd>{{/projectUrl}}
        {{#repositoryUrl}}<dt>Source</dt><dd><a href="{{repositoryUrl}}" rel="nofollow noopener noreferrer">{{repositoryUrl}}</a></dd>{{/repositoryUrl}}
        {{#copyright}}<dt>Copyright</dt><dd>{{copyright}}</dd>{{/copyright}}
        {{#hasTags}}<dt>Tags</dt><dd><ul class="tags">{{#tags}}<li>{{.}}</li>{{/tags}}</ul></dd>{{/hasTags}}
        {{#symbolServer}}<dt>Symbols</dt><dd>Available. Symbol server: <code>{{symbolServer}}</code> (Visual Studio: Tools, Options, Debugging, Symbols: add this location; <code>dotnet-symbol --server-path {{symbolServer}}</code>). <a href="{{symbolsDownload}}">Download symbols</a></dd>{{/symbolServer}}<dt>Size</dt><dd>{{size}}</dd>
        <dt>SHA-512</dt><dd><code class="hash">{{sha512}}</code></dd>
        <dt>Badge</dt><dd><img src="{{badge}}" alt="{{id}} version badge" height="20"></dd>
        </dl>
        </aside>
        </div>

        """
}

/// HTML text escaping for the templates: `&`, `<`, `>`, `"` and `'`, each Unicode scalar on its own.
struct EscapedHTML: MustacheContentType {
    func escapeText(_ text: String) -> String { HTMLText.escape(text) }
}
