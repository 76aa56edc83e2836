/// The site's static files: style sheet, search script and the default package icon. No web
/// fonts, no CDN: the site makes no request outside the feed.
enum SiteAssets {
    static let css = """
        :root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --soft: #f6f8fa; --accent: #0a58ca; --pre: #8250df; --ok: #1a7f37; }
        @media (prefers-color-scheme: dark) {
          :root { --fg: #e6edf3; --muted: #9da7b3; --line: #30363d; --bg: #0d1117; --soft: #161b22; --accent: #58a6ff; --pre: #d2a8ff; --ok: #3fb950; }
        }
        * { box-sizing: border-box; }
        [hidden] { display: none !important; }
        html { -webkit-text-size-adjust: 100%; }
        body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
        a { color: var(--accent); }
        a:focus-visible, input:focus-visible, .button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
        .wrap { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
        .skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem; z-index: 10; }
        .skip:focus { left: .5rem; }
        header.top { border-bottom: 1px solid var(--line); background: var(--soft); }
        header.top .wrap { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem 1rem; padding-top: .6rem; padding-bottom: .6rem; }
        .brand { font-weight: 600; text-decoration: none; color: var(--fg); display: inline-flex; align-items: center; gap: .4rem; }
        .feed-url, code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .875rem; }
        .feed-url { color: var(--muted); overflow-wrap: anywhere; }
        main { padding-top: 1rem; padding-bottom: 2rem; }
        h1 { font-size: 1.75rem; line-height: 1.25; margin: .5rem 0; overflow-wrap: anywhere; }
        h2 { font-size: 1.25rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; margin-top: 2rem; }
        h3 { font-size: 1rem; margin-bottom: .25rem; }
        .lead, .by, .hint, .count, .people, .id, footer { color: var(--muted); }
        .lead code { overflow-wrap: anywhere; }
        footer { border-top: 1px solid var(--line); padding: 1rem; font-size: .875rem; overflow-wrap: anywhere; }
        .search label { display: block; font-weight: 600; margin-bottom: .25rem; }
        .search input { width: 100%; font-size: 1.1rem; padding: .6rem .75rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
        .package-list { list-style: none; padding: 0; margin: 0; }
        .package-list > li { display: flex; gap: .75rem; padding: .85rem 0; border-bottom: 1px solid var(--line); }
        .package-list .entry { min-width: 0; flex: 1; }
        .package-list p { margin: .1rem 0; }
        .package-list .name a { font-weight: 600; font-size: 1.1rem; overflow-wrap: anywhere; }
        .desc { overflow-wrap: anywhere; display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }
        .icon { flex: none; border-radius: 6px; object-fit: contain; background: var(--soft); }
        .version { color: var(--muted); font-weight: 400; overflow-wrap: anywhere; }
        .tag { display: inline-block; font-size: .75rem; font-weight: 600; padding: .05rem .45rem; border-radius: 999px; border: 1px solid currentColor; vertical-align: middle; text-decoration: none; }
        .tag.pre { color: var(--pre); }
        .tag.newer { color: var(--accent); }
        .verified { color: var(--ok); font-weight: 600; }
        ul.tags { list-style: none; padding: 0; margin: .25rem 0 0; display: flex; flex-wrap: wrap; gap: .3rem; }
        ul.tags li { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 0 .4rem; font-size: .8rem; overflow-wrap: anywhere; }
        .crumbs { font-size: .9rem; overflow-wrap: anywhere; }
        .package-head { display: flex; gap: 1rem; align-items: flex-start; margin-top: .5rem; }
        .head-text { min-width: 0; }
        .id, .people, .summary, .by { overflow-wrap: anywhere; }
        @media (max-width: 40rem) { h1 { font-size: 1.3rem; } .package-head .icon { width: 44px; height: 44px; } }
        .pid { overflow-wrap: anywhere; }
        .columns { display: grid; grid-template-columns: minmax(0, 1fr) 20rem; gap: 2rem; }
        @media (max-width: 60rem) { .columns { grid-template-columns: minmax(0, 1fr); } .side { order: -1; } }
        .content, .side { min-width: 0; }
        pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .75rem; overflow-x: auto; max-width: 100%; }
        .readme { overflow-wrap: anywhere; }
        .readme img { max-width: 100%; }
        .readme table { display: block; overflow-x: auto; border-collapse: collapse; }
        .readme td, .readme th { border: 1px solid var(--line); padding: .25rem .5rem; }
        .readme pre code { overflow-wrap: normal; }
        .description { white-space: pre-wrap; overflow-wrap: anywhere; }
        .note { color: var(--muted); font-style: italic; }
        table.versions { border-collapse: collapse; width: 100%; }
        table.versions th, table.versions td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
        table.versions tr.current td { font-weight: 600; background: var(--soft); }
        .side dl { margin: 0; }
        .side dt { font-weight: 600; margin-top: .75rem; }
        .side dd { margin: 0; overflow-wrap: anywhere; }
        .side img { max-width: 100%; height: auto; }
        .hash { word-break: break-all; font-size: .75rem; }
        .button { display: inline-block; padding: .5rem 1rem; border-radius: 6px; background: var(--accent); color: #fff; text-decoration: none; font-weight: 600; }
        .deps { padding-left: 1.25rem; }
        .deps li { overflow-wrap: anywhere; }
        .range { color: var(--muted); }
        .none { color: var(--muted); }
        .unsafe-link { text-decoration: underline dotted; }
        .banner { border: 1px solid var(--line); border-left: 4px solid var(--muted); border-radius: 6px; padding: .5rem .75rem; margin: 1rem 0; background: var(--soft); overflow-wrap: anywhere; }
        .banner p { margin: .25rem 0; }
        .banner.warn { border-left-color: #bf8700; }
        .banner.danger { border-left-color: #cf222e; }

        """

    /// Client-side search: filters the server-rendered list with the prebuilt index
    /// (`search-index.js`), as the user types. Every term must match the id, title, tags,
    /// authors or description.
    static let searchJS = """
        (function () {
          "use strict";
          var input = document.getElementById("q");
          var list = document.getElementById("packages");
          var count = document.getElementById("count");
          var none = document.getElementById("none");
          if (!input || !list) { return; }
          var index = window.shelfSearchIndex || [];
          var text = {};
          for (var i = 0; i < index.length; i++) { text[index[i][0]] = index[i][1]; }
          var items = list.children;
          function update() {
            var terms = input.value.toLowerCase().split(/\\s+/).filter(function (t) { return t.length > 0; });
            var shown = 0;
            for (var i = 0; i < items.length; i++) {
              var hay = text[items[i].getAttribute("data-id")] || "";
              var match = terms.every(function (t) { return hay.indexOf(t) !== -1; });
              items[i].hidden = !match;
              if (match) { shown++; }
            }
            count.textContent = shown + (shown === 1 ? " package" : " packages");
            none.hidden = shown !== 0;
          }
          input.addEventListener("input", update);
          document.addEventListener("keydown", function (e) {
            if (e.key === "/" && document.activeElement !== input) { e.preventDefault(); input.focus(); }
          });
          var q = new URLSearchParams(window.location.search).get("q");
          if (q) { input.value = q; }
          update();
        })();

        """

    static let packageSVG = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64"><rect width="64" height="64" rx="10" fill="#004880"/><path d="M32 12 50 22v20L32 52 14 42V22z" fill="none" stroke="#fff" stroke-width="3" stroke-linejoin="round"/><path d="M14 22l18 10 18-10M32 32v20" fill="none" stroke="#fff" stroke-width="3" stroke-linejoin="round"/></svg>

        """
}
