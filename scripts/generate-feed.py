#!/usr/bin/env python3
"""Writes a synthetic folder of realistic .nupkg files, deterministic from a seed.

usage: python3 scripts/generate-feed.py OUT_DIR [--versions 20000] [--seed 1] [--start 0]

- Ids have 1 to 300 versions (most have a few, some have hundreds, as real feeds do).
- Each package has a nuspec of real size and shape (metadata, tags, dependency groups for
  several frameworks with ranges on other generated ids), an OPC [Content_Types].xml, a
  README for a third of them, and lib/<tfm>/<Id>.dll payloads of a few KB to a few MB
  (log-normal sizes, median about 12 KB, mean about 25 KB: 20,000 versions are about 0.5 GB).
- Payload bytes are pseudo-random (incompressible, like real assemblies) and stored.
- Entry times are fixed from the seed, so the output is byte-identical for the same arguments.
- `--start N` skips the first N versions of the sequence: `--versions 1 --start 20000` writes
  the 20,001st package (what a benchmark adds to an existing folder).
"""
import argparse
import math
import os
import random
import zipfile

FRAMEWORKS = [".NETStandard2.0", ".NETFramework4.7.2", "net6.0", "net8.0"]
WORDS = ("data core http client server json xml cache queue storage auth crypto logging metrics "
         "tracing config options hosting grpc sql redis blob event stream parser format text util").split()


def plan(total, seed):
    """(id, versions) pairs until `total` versions, in a fixed order."""
    rng = random.Random(seed)
    out = []
    n = 0
    i = 0
    while n < total:
        # Heavy tail: most ids have 1-10 versions, a few have up to 300.
        count = min(300, max(1, int(rng.paretovariate(1.1))))
        count = min(count, total - n)
        pid = "Synthetic.%s.%s%d" % (rng.choice(WORDS).capitalize(), rng.choice(WORDS).capitalize(), i)
        out.append((pid, count))
        n += count
        i += 1
    return out


def versions_of(count, rng):
    vs = []
    major, minor, patch = 1, 0, 0
    for k in range(count):
        if rng.random() < 0.15:
            vs.append("%d.%d.%d-preview.%d" % (major, minor, patch + 1, k))
            continue
        vs.append("%d.%d.%d" % (major, minor, patch))
        r = rng.random()
        if r < 0.05:
            major, minor, patch = major + 1, 0, 0
        elif r < 0.3:
            minor, patch = minor + 1, 0
        else:
            patch += 1
    return vs


def nuspec(pid, version, rng, ids):
    deps = []
    for fw in rng.sample(FRAMEWORKS, rng.randint(1, len(FRAMEWORKS))):
        items = "".join(
            '\n        <dependency id="%s" version="[%d.0.0, )" exclude="Build,Analyzers" />' % (d, rng.randint(1, 3))
            for d in rng.sample(ids, min(len(ids), rng.randint(0, 4))))
        deps.append('\n      <group targetFramework="%s">%s\n      </group>' % (fw, items))
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 80)))
    readme = "\n    <readme>docs/README.md</readme>" if rng.random() < 0.33 else ""
    return ("""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>%s</id>
    <version>%s</version>
    <title>%s</title>
    <authors>Synthetic Authors</authors>
    <requireLicenseAcceptance>false</requireLicenseAcceptance>
    <license type="expression">MIT</license>
    <licenseUrl>https://licenses.nuget.org/MIT</licenseUrl>
    <projectUrl>https://example.com/%s</projectUrl>
    <description>%s</description>
    <releaseNotes>Release %s: %s</releaseNotes>
    <copyright>Copyright Synthetic</copyright>
    <tags>%s</tags>%s
    <repository type="git" url="https://example.com/%s.git" commit="%040x" />
    <dependencies>%s
    </dependencies>
  </metadata>
</package>
""" % (pid, version, pid.replace(".", " "), pid.lower(), words.capitalize() + ".", version, words[:120],
       " ".join(rng.sample(WORDS, 5)), readme, pid.lower(), rng.getrandbits(160), "".join(deps))), bool(readme)


def write_package(path, pid, version, rng, ids, when):
    text, has_readme = nuspec(pid, version, rng, ids)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        def add(name, data, compress=False):
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            z.writestr(info, data)
        add(pid + ".nuspec", text.encode(), True)
        add("[Content_Types].xml", b'<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="dll" ContentType="application/octet" /><Default Extension="nuspec" ContentType="application/octet" /></Types>', True)
        if has_readme:
            add("docs/README.md", ("# %s\n\n" % pid + "Some documentation. " * rng.randint(20, 400)).encode(), True)
        size = int(min(4_000_000, max(2_000, rng.lognormvariate(math.log(12_000), 1.2))))
        frameworks = ["netstandard2.0", "net8.0"][: rng.randint(1, 2)]
        for fw in frameworks:
            add("lib/%s/%s.dll" % (fw, pid), rng.randbytes(size // len(frameworks)))


def main():
    a = argparse.ArgumentParser()
    a.add_argument("out")
    a.add_argument("--versions", type=int, default=20000)
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--start", type=int, default=0)
    args = a.parse_args()
    os.makedirs(args.out, exist_ok=True)
    layout = plan(args.start + args.versions, args.seed)
    ids = [pid for pid, _ in layout]
    n = 0
    written = 0
    for index, (pid, count) in enumerate(layout):
        rng = random.Random("%d/%s" % (args.seed, pid))
        for k, version in enumerate(versions_of(count, rng)):
            if n >= args.start:
                when = (2020 + (n // 100000) % 6, 1 + (n // 8000) % 12, 1 + (n // 300) % 28, (n // 60) % 24, n % 60, 0)
                prng = random.Random("%d/%s/%s" % (args.seed, pid, version))
                write_package(os.path.join(args.out, "%s.%s.nupkg" % (pid, version)), pid, version, prng,
                              ids[max(0, index - 50):index] or ids[:1], when)
                written += 1
            n += 1
    print("wrote %d packages to %s" % (written, args.out))


if __name__ == "__main__":
    main()
