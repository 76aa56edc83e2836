#!/usr/bin/env python3
"""Gathers the test fixtures: real published packages, each from the public repository and commit
Tests/Fixtures/MANIFEST.tsv names, checked against its SHA-512, plus the few files made from them.

usage: python3 scripts/gather-fixtures.py [--from DIR] [--out DIR] [--check] [--record]

It also gathers Tests/Fixtures/nuget-catalog/: pairs of a package and the catalog leaf nuget.org's
catalog writer made from it, as NuGetGallery keeps them in tests/CatalogTests/TestData (the
package named .nupkg.testdata there), listed in that folder's MANIFEST.tsv (file, sha512, size,
source_repo, source_path, commit). A row whose source_repo is `derived` is made here from a package
of the folder, as its source_path says (`dedup FILE`: without its repeated entries).

  --from DIR   take a package from DIR when a file there has its name and SHA-512 (a local copy
               of the packages, such as the public corpus); otherwise it is downloaded from
               https://raw.githubusercontent.com/<repo>/<commit>/<path>
  --out DIR    where the packages go (default: Tests/Fixtures/packages)
  --check      change nothing: check that DIR holds exactly the manifest's files, with their hashes
  --record     write the SHA-512 and size of the made files into the manifest (after changing a
               recipe; review the diff)

The manifest's columns: file, id, version, sha512 (base64, as NuGet writes it), size, source_repo,
source_path, commit, reason. `id` is empty for a file no feed should serve (Shelf refuses it).
A row whose source_repo is `derived` is made here from another row's file, as its source_path says:

  zip64 FILE          FILE's entries, in order and with their times, written again stored (not
                      compressed) with Zip64 records: a Zip64 package whose bytes are reproducible
  version V FILE      FILE's nuspec with its <version> set to V, and its [Content_Types].xml,
                      nothing else, stored: one small version of an id with many
"""
import argparse
import base64
import csv
import hashlib
import io
import os
import re
import sys
import urllib.parse
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = os.path.join(ROOT, "Tests", "Fixtures", "MANIFEST.tsv")
CATALOG = os.path.join(ROOT, "Tests", "Fixtures", "nuget-catalog")


def sha512(data):
    return base64.b64encode(hashlib.sha512(data).digest()).decode()


def read_manifest(path=MANIFEST):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    header = rows[0]
    return header, [dict(zip(header, r)) for r in rows[1:]]


def write_manifest(header, rows):
    with open(MANIFEST, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r[h] for h in header])


def fetch(row, local=None):
    """The bytes of a published file: from the local folder when it has them, else from GitHub."""
    if local:
        path = os.path.join(local, row["file"])
        if os.path.isfile(path):
            data = open(path, "rb").read()
            if sha512(data) == row["sha512"]:
                return data
    url = "https://raw.githubusercontent.com/%s/%s/%s" % (
        row["source_repo"], row["commit"], urllib.parse.quote(row["source_path"]))
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def stored(entries):
    """A zip of (ZipInfo, bytes), stored, each entry with Zip64 records when `zip64` is set."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for info, data, zip64 in entries:
            target = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            target.compress_type = zipfile.ZIP_STORED
            target.external_attr = info.external_attr
            with z.open(target, "w", force_zip64=zip64) as f:
                f.write(data)
    return out.getvalue()


def derive(recipe, packages):
    parts = recipe.split(" ")
    if parts[0] == "zip64":
        source = zipfile.ZipFile(os.path.join(packages, parts[1]))
        return stored([(i, source.read(i), True) for i in source.infolist()])
    if parts[0] == "version":
        version, name = parts[1], parts[2]
        source = zipfile.ZipFile(os.path.join(packages, name))
        entries = []
        for info in source.infolist():
            if info.filename.endswith(".nuspec") and "/" not in info.filename:
                text = source.read(info).decode("utf-8")
                text = re.sub(r"<version>[^<]*</version>", "<version>%s</version>" % version, text, count=1)
                entries.append((info, text.encode("utf-8"), False))
            elif info.filename == "[Content_Types].xml":
                entries.append((info, source.read(info), False))
        return stored(entries)
    sys.exit("unknown recipe: %s" % recipe)


def check_folder(folder, rows, problems):
    """That `folder` holds exactly the rows' files (and the manifest), each with its SHA-512."""
    present = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    for r in rows:
        path = os.path.join(folder, r["file"])
        if not os.path.isfile(path):
            problems.append("%s is missing" % path)
        elif sha512(open(path, "rb").read()) != r["sha512"]:
            problems.append("%s does not have the manifest's SHA-512" % path)
    for extra in sorted(present - {r["file"] for r in rows} - {"MANIFEST.tsv"}):
        problems.append("%s is not in the manifest" % os.path.join(folder, extra))


def gather_catalog(check, problems):
    """The catalog pairs: checked, or downloaded from GitHub at the manifest's commit."""
    _, rows = read_manifest(os.path.join(CATALOG, "MANIFEST.tsv"))
    if check:
        check_folder(CATALOG, rows, problems)
        return len(rows)
    for r in rows:
        path = os.path.join(CATALOG, r["file"])
        if os.path.isfile(path) and sha512(open(path, "rb").read()) == r["sha512"]:
            continue
        if r["source_repo"] == "derived":
            continue
        data = fetch(r)
        if sha512(data) != r["sha512"] or str(len(data)) != r["size"]:
            problems.append("%s: the bytes from %s at %s are not the manifest's" % (
                r["file"], r["source_repo"], r["commit"]))
            continue
        open(path, "wb").write(data)
    for r in (r for r in rows if r["source_repo"] == "derived"):
        data = derive_catalog(r["source_path"])
        if sha512(data) != r["sha512"]:
            problems.append("%s: made from '%s', it does not have the manifest's SHA-512" % (
                r["file"], r["source_path"]))
            continue
        open(os.path.join(CATALOG, r["file"]), "wb").write(data)
    return len(rows)


def derive_catalog(recipe):
    """`dedup FILE`: FILE without the entries whose name (separators as '/', case aside) repeats an
    earlier one's, in order, with their times and compression: a package Shelf accepts, whose
    nuspec-made members can be compared with the leaf nuget.org made from FILE."""
    kind, name = recipe.split(" ", 1)
    if kind != "dedup":
        sys.exit("unknown recipe: %s" % recipe)
    source = zipfile.ZipFile(os.path.join(CATALOG, name))
    out = io.BytesIO()
    seen = set()
    with zipfile.ZipFile(out, "w") as z:
        for info in source.infolist():
            key = info.filename.replace("\\", "/").lower()
            if key in seen:
                continue
            seen.add(key)
            target = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            target.compress_type = info.compress_type
            target.external_attr = info.external_attr
            z.writestr(target, source.open(info).read())
    return out.getvalue()


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--from", dest="local")
    a.add_argument("--out", default=os.path.join(ROOT, "Tests", "Fixtures", "packages"))
    a.add_argument("--check", action="store_true")
    a.add_argument("--record", action="store_true")
    args = a.parse_args()
    header, rows = read_manifest()
    problems = []
    if args.check:
        check_folder(args.out, rows, problems)
    else:
        os.makedirs(args.out, exist_ok=True)
        for r in (r for r in rows if r["source_repo"] != "derived"):
            data = fetch(r, args.local)
            if sha512(data) != r["sha512"] or str(len(data)) != r["size"]:
                problems.append("%s: the bytes from %s at %s are not the manifest's" % (
                    r["file"], r["source_repo"], r["commit"]))
                continue
            open(os.path.join(args.out, r["file"]), "wb").write(data)
        for r in (r for r in rows if r["source_repo"] == "derived"):
            data = derive(r["source_path"], args.out)
            if args.record:
                r["sha512"], r["size"] = sha512(data), str(len(data))
            elif sha512(data) != r["sha512"]:
                problems.append("%s: made from '%s', it does not have the manifest's SHA-512" % (
                    r["file"], r["source_path"]))
                continue
            open(os.path.join(args.out, r["file"]), "wb").write(data)
        if args.record:
            write_manifest(header, rows)
    pairs = gather_catalog(args.check, problems)
    for p in problems:
        print("error: " + p, file=sys.stderr)
    print("%d fixtures, %d catalog test files, %d problems" % (len(rows), pairs, len(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
