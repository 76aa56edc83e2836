#!/usr/bin/env python3
"""Builds SampleFeed/*.nupkg from scripts/sample-packages/*.nuspec, byte for byte the same each run.

Each package gets its nuspec at the root, `lib/<tfm>/_._` for every framework of its dependency
groups (so that restore finds assets), the OPC [Content_Types].xml, and the icon, readme and
license file its nuspec names. Entry times come from the package's position in a fixed calendar,
never from the clock, so `published` in the feed is stable.

usage: python3 scripts/make-sample-feed.py   (from the repository root)
"""
import os
import re
import struct
import sys
import zipfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "scripts", "sample-packages")
OUT = os.path.join(ROOT, "SampleFeed")

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="nuspec" ContentType="application/octet" />'
    '<Default Extension="png" ContentType="application/octet" />'
    '<Default Extension="md" ContentType="application/octet" />'
    '<Default Extension="txt" ContentType="application/octet" />'
    '<Default Extension="_" ContentType="application/octet" />'
    "</Types>"
)


def png(width, height, rgb):
    """A small solid-colour PNG, made here so that no binary sits in the repository."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


README = """# Shelf.Sample.Core

A package of the **Shelf** sample feed.

- It has an embedded icon, this readme and a license file.
- Install it with `dotnet add package Shelf.Sample.Core`.
"""

LICENSE = "MIT License\n\nCopyright (c) Shelf Contributors\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software.\n"

TFM_FOLDERS = {".NETStandard2.0": "netstandard2.0", "netstandard2.0": "netstandard2.0", "net8.0": "net8.0",
               ".NETFramework4.7.2": "net472", ".NETCoreApp5.0": "net5.0"}


def build(nuspec_name, index):
    with open(os.path.join(SRC, nuspec_name), "rb") as f:
        nuspec = f.read()
    text = nuspec.decode("utf-8")
    pid = re.search(r"<id>([^<]+)</id>", text).group(1)
    files = {f"{pid}.nuspec": nuspec, "[Content_Types].xml": CONTENT_TYPES.encode()}
    for tfm in re.findall(r'targetFramework="([^"]+)"', text):
        if tfm in TFM_FOLDERS:
            files[f"lib/{TFM_FOLDERS[tfm]}/_._"] = b""
    if not any(k.startswith("lib/") for k in files):
        files["lib/net40/_._"] = b""
    m = re.search(r"<icon>([^<]+)</icon>", text)
    if m:
        files[m.group(1)] = png(32, 32, (0x2b, 0x6c, 0xb0))
    m = re.search(r"<readme>([^<]+)</readme>", text)
    if m:
        files[m.group(1)] = README.encode()
    m = re.search(r'<license type="file">([^<]+)</license>', text)
    if m:
        files[m.group(1)] = LICENSE.encode()
    # One fixed day per package: 2024-01-01 plus index days, 12:00 UTC.
    month, day = 1 + index // 28, 1 + index % 28
    stamp = (2024, month, day, 12, 0, 0)
    out = os.path.join(OUT, nuspec_name[: -len(".nuspec")] + ".nupkg")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, files[name])
    return out


# Packages added after the first eight: their days follow those of the first, so that adding one
# never moves the others' dates (and so their bytes).
ADDED_LATER = ["Shelf.Sample.Analyzers.1.0.0.nuspec"]


def main():
    os.makedirs(OUT, exist_ok=True)
    first = sorted(n for n in os.listdir(SRC) if n.endswith(".nuspec") and n not in ADDED_LATER)
    for i, name in enumerate(first + ADDED_LATER):
        print(os.path.relpath(build(name, i), ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
