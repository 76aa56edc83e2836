#!/usr/bin/env python3
"""Writes packages that try to break the package site, for its browser tests.

Shelf.Hostile: every text field tries to run script. The second package has the longest id NuGet
allows, a long version and a huge README full of unbroken words, wide tables and long lines.

Every field a page shows (title, description, summary, tags, authors, owners, release notes,
project URL, README) carries markup or a `javascript:` URL that would set `window.__pwned` if it
ever ran. Deterministic (fixed entry times), no binary fixtures in the repository.

usage: python3 scripts/make-hostile-packages.py OUT_DIR
"""
import os
import sys
import zipfile

PWN = "window.__pwned=1"
README = f"""# Hostile <script>{PWN}</script> README

Inline <script>{PWN}</script> script and <img src="x" onerror="{PWN}"> image.

<div onmouseover="{PWN}">hover me</div>

<iframe src="javascript:{PWN}"></iframe>

[click me](javascript:{PWN})
[click me too](JaVaScRiPt:{PWN})
[click me three][ref]
[encoded](javascript&#58;{PWN})
[quote](https://example.com/"onmouseover="{PWN})

![image](javascript:{PWN})

```js" onclick="{PWN}
code
```

<a href="javascript:{PWN}">raw link</a>

<svg onload="{PWN}"></svg>

[breakout](http://a"><img src=x onerror="{PWN}">)

&<img/src="x"/onerror="{PWN}">;

&<meta/http-equiv="refresh"/content="0,url=https://evil.example/">;

&<script/src="../../flatcontainer/shelf.hostile/1.0.0/license.js"></script>;

[ref]: javascript:{PWN}
"""

# Files a browser would run if the feed published them on its own origin.
SCRIPT_FILE = f"{PWN};"
SVG_ICON = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{PWN}"><script>{PWN}</script></svg>'



def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


NUSPEC = f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>Shelf.Hostile</id>
    <version>1.0.0</version>
    <title>{esc('<script>' + PWN + '</script> Hostile')}</title>
    <authors>{esc('<img src=x onerror="' + PWN + '">')}</authors>
    <owners>{esc('<b onclick="' + PWN + '">owner</b>')}</owners>
    <description>{esc('<script>' + PWN + '</script> A package whose every field tries to run script.')}</description>
    <summary>{esc('"><script>' + PWN + '</script>')}</summary>
    <releaseNotes>{esc('<script>' + PWN + '</script>')}</releaseNotes>
    <projectUrl>javascript:{PWN}</projectUrl>
    <tags>{esc('<script>x</script> "onmouseover=x')}</tags>
    <readme>README.md</readme>
    <icon>icon.svg</icon>
    <license type="file">LICENSE.js</license>
    <dependencies>
      <group targetFramework="net8.0">
        <dependency id="Shelf.Sample.Core" version="1.0.0" />
      </group>
    </dependencies>
  </metadata>
</package>
"""


# The longest id NuGet allows (100 characters), a long prerelease label, and a README that is huge
# and full of things that break layouts: unbroken words, wide tables, long code lines.
LONG_ID = ("Shelf.Layout." + "VeryLongSegmentName." * 5 + "X" * 100)[:100].rstrip(".")
LONG_VERSION = "1.0.0-" + "prerelease" * 6
LONG_WORD = "Supercalifragilistic" * 200
LONG_README = "\n\n".join(
    ["# " + LONG_WORD, LONG_WORD, "`" + LONG_WORD + "`", "```\n" + LONG_WORD + "\n```",
     "| " + " | ".join(f"column{i}" for i in range(40)) + " |\n|" + "---|" * 40 + "\n| "
     + " | ".join(LONG_WORD[:60] for _ in range(40)) + " |",
     "[" + LONG_WORD + "](https://example.com/" + LONG_WORD + ")"]
    + ["Paragraph %d. " % i + "Lorem ipsum dolor sit amet. " * 40 for i in range(3000)])
LONG_NUSPEC = f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{LONG_ID}</id>
    <version>{LONG_VERSION}</version>
    <authors>{LONG_WORD[:300]}</authors>
    <description>{LONG_WORD}</description>
    <tags>{LONG_WORD[:200]} {LONG_WORD[:150]}</tags>
    <projectUrl>https://example.com/{LONG_WORD[:500]}</projectUrl>
    <readme>docs/README.md</readme>
  </metadata>
</package>
"""


def write(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 2, 1, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data.encode("utf-8"))
    print(path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "Shelf.Hostile.1.0.0.nupkg"),
          (("Shelf.Hostile.nuspec", NUSPEC), ("README.md", README), ("icon.svg", SVG_ICON),
           ("LICENSE.js", SCRIPT_FILE), ("lib/net8.0/_._", "")))
    write(os.path.join(out, "layout.nupkg"),
          ((LONG_ID + ".nuspec", LONG_NUSPEC), ("docs/README.md", LONG_README), ("lib/net8.0/_._", "")))


if __name__ == "__main__":
    main()
