#!/usr/bin/env python3
"""Writes packages whose text tries to run script in a browser, for the site's browser tests.

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

[ref]: javascript:{PWN}
"""


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
    <licenseUrl>javascript:{PWN}</licenseUrl>
    <tags>{esc('<script>x</script> "onmouseover=x')}</tags>
    <readme>README.md</readme>
    <dependencies>
      <group targetFramework="net8.0">
        <dependency id="Shelf.Sample.Core" version="1.0.0" />
      </group>
    </dependencies>
  </metadata>
</package>
"""


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "Shelf.Hostile.1.0.0.nupkg")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (("Shelf.Hostile.nuspec", NUSPEC), ("README.md", README), ("lib/net8.0/_._", "")):
            info = zipfile.ZipInfo(name, date_time=(2024, 2, 1, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data.encode("utf-8"))
    print(path)


if __name__ == "__main__":
    main()
