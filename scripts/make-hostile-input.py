#!/usr/bin/env python3
"""Writes an input folder of broken and hostile package files, for the robustness tests.

Every file is made here from scratch (no binary fixtures in the repository), deterministically.
Beside the files, `expected.tsv` lists for each one the words its `error:` line must contain
(`-` for a file that must be read normally, `+` for one read with a `warning:`). Two good
packages sit beside them, so a test can check that the rest of the feed is still built.

Zip: not a zip, truncated, CRC errors, a central directory that lies (names, offsets, sizes),
zip bombs (declared size, ratio, overlapping entries, entry count), entry names with `..`,
absolute paths, backslashes, drive letters and NUL, duplicate entries, symbolic links, encrypted
entries. Nuspec: not well-formed, DOCTYPE with external entities and entity expansion, gigantic,
invalid UTF-8, missing or invalid id or version, path-unsafe and reserved ids, an icon, readme
or license path that escapes the package. Input folder: a symlink loop, a dangling symlink, a
symlinked folder loop, a zero-byte file, non-package files.

usage: python3 scripts/make-hostile-input.py OUT_DIR
"""
import io
import os
import struct
import sys
import zipfile
import zlib

DATE = (2024, 2, 1, 12, 0, 0)
expected = []


def nuspec(pid="Hostile.Case", version="1.0.0", extra="", metadata=None):
    body = metadata if metadata is not None else f"<id>{pid}</id><version>{version}</version>" \
        f"<authors>a</authors><description>d</description>{extra}"
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">'
            f"<metadata>{body}</metadata></package>\n").encode("utf-8")


def zip_bytes(entries, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=DATE)
            info.compress_type = method
            z.writestr(info, data)
    return bytearray(buf.getvalue())


def good(pid, version="1.0.0", extra_entries=()):
    return zip_bytes([(f"{pid}.nuspec", nuspec(pid, version)), ("lib/net8.0/_._", b"")] + list(extra_entries))


def put(out, name, data, expect):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    expected.append((name, expect))


def central_records(data):
    """(offset of each central directory record, offset of the end record)."""
    eocd = data.rindex(b"PK\x05\x06")
    count = struct.unpack_from("<H", data, eocd + 10)[0]
    pos = struct.unpack_from("<I", data, eocd + 16)[0]
    records = []
    for _ in range(count):
        records.append(pos)
        n, e, c = struct.unpack_from("<HHH", data, pos + 28)
        pos += 46 + n + e + c
    return records, eocd


def raw_zip(files, central_overrides=None):
    """Builds a zip by hand: files are (name bytes, data bytes, flags, external attrs, made-by).
    central_overrides may change fields of a central record after the fact."""
    out = bytearray()
    central = bytearray()
    for i, (name, data, flags, ext, made_by) in enumerate(files):
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = comp.compress(data) + comp.flush()
        crc = zlib.crc32(data)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 8, 0x6000, 0x5841, crc, len(packed), len(data),
                           len(name), 0) + name + packed
        rec = dict(made_by=made_by, flags=flags, crc=crc, csize=len(packed), usize=len(data), ext=ext, offset=offset)
        if central_overrides and i in central_overrides:
            rec.update(central_overrides[i])
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, rec["made_by"], 20, rec["flags"], 8, 0x6000, 0x5841,
                               rec["crc"], rec["csize"], rec["usize"], len(name), 0, 0, 0, 0, rec["ext"],
                               rec["offset"]) + name
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(files), len(files), len(central), cd_offset, 0)
    return bytes(out)


def plain(name, data=b"x", flags=0, ext=0, made_by=20):
    return (name.encode("utf-8") if isinstance(name, str) else name, data, flags, ext, made_by)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    spec = plain("Hostile.Case.nuspec", nuspec())

    # Good packages: the rest of the feed must still be built.
    put(out, "Good.One.1.0.0.nupkg", good("Good.One"), "-")
    put(out, "Good.Two.2.0.0.nupkg", good("Good.Two", "2.0.0"), "-")

    # ---- zip ----
    put(out, "not-a-zip.nupkg", b"This is a text file, not a package.\n" * 20, "not a zip archive")
    whole = bytes(good("Hostile.Case", extra_entries=[("lib/net8.0/a.dll", os.urandom(0) + b"A" * 5000)]))
    put(out, "truncated.nupkg", whole[: len(whole) // 2], "not a zip archive")
    put(out, "truncated-tail.nupkg", whole[:-10], "truncated")

    crc_nuspec = bytearray(good("Hostile.Case"))
    records, _ = central_records(crc_nuspec)
    struct.pack_into("<I", crc_nuspec, records[0] + 16, 0xDEADBEEF)
    lh = struct.unpack_from("<I", crc_nuspec, records[0] + 42)[0]
    struct.pack_into("<I", crc_nuspec, lh + 14, 0xDEADBEEF)
    put(out, "crc-nuspec.nupkg", crc_nuspec, "CRC check failed")

    # A CRC error in a payload entry: the metadata is readable, so the version is served with a
    # warning (clients read it; extracting it fails), as the NuGet client would see it.
    crc_payload = bytearray(good("Hostile.Payload", extra_entries=[("lib/net8.0/a.dll", b"B" * 4000)]))
    records, _ = central_records(crc_payload)
    struct.pack_into("<I", crc_payload, records[2] + 16, 0x12345678)
    lh = struct.unpack_from("<I", crc_payload, records[2] + 42)[0]
    struct.pack_into("<I", crc_payload, lh + 14, 0x12345678)
    put(out, "crc-payload.nupkg", crc_payload, "+CRC check failed")

    lie_name = bytearray(good("Hostile.Case"))
    records, _ = central_records(lie_name)
    lh = struct.unpack_from("<I", lie_name, records[1] + 42)[0]
    lie_name[lh + 30] = ord("L")  # local name "Lib/..." vs central "lib/..."
    put(out, "cd-lies-name.nupkg", lie_name, "names another entry")

    lie_offset = bytearray(good("Hostile.Case"))
    _, eocd = central_records(lie_offset)
    struct.pack_into("<I", lie_offset, eocd + 16, len(lie_offset) + 1000)
    put(out, "cd-lies-offset.nupkg", lie_offset, "past the end of the file")

    lie_size = bytearray(good("Hostile.Case", extra_entries=[("lib/net8.0/a.dll", b"C" * 3000)]))
    records, _ = central_records(lie_size)
    struct.pack_into("<I", lie_size, records[2] + 20, 10_000_000)
    put(out, "cd-lies-size.nupkg", lie_size, "does not match")

    lie_count = bytearray(good("Hostile.Case"))
    _, eocd = central_records(lie_count)
    struct.pack_into("<HH", lie_count, eocd + 8, 9, 9)
    put(out, "cd-lies-count.nupkg", lie_count, "declares 9 entries")

    # Zip bombs: a declared size past the total limit, a ratio past the limit, overlapping entries.
    put(out, "bomb-declared.nupkg",
        raw_zip([spec, plain("lib/a.bin", b"\0" * 100), plain("lib/b.bin", b"\0" * 100)],
                {1: dict(usize=3_000_000_000), 2: dict(usize=3_000_000_000)}),
        "zip bomb")
    zeros = b"\0" * (80 << 20)
    put(out, "bomb-ratio.nupkg", raw_zip([spec, plain("lib/zeros.bin", zeros)]), "times its compressed size")
    # Overlap: the first payload's data, as the directory declares it, runs over the next entry.
    # (Flag bit 3, a data descriptor, keeps the local header's own sizes out of the comparison.)
    first = raw_zip([spec, plain("lib/a.bin", b"a" * 64, flags=8), plain("lib/b.bin", b"b" * 64, flags=8)])
    records, _ = central_records(bytearray(first))
    overlap = bytearray(first)
    next_offset = struct.unpack_from("<I", overlap, records[2] + 42)[0]
    a_offset = struct.unpack_from("<I", overlap, records[1] + 42)[0]
    a_data = a_offset + 30 + len("lib/a.bin")
    struct.pack_into("<I", overlap, records[1] + 20, next_offset - a_data + 10)
    put(out, "bomb-overlap.nupkg", overlap, "share bytes")

    # Entry names.
    put(out, "name-dotdot.nupkg", raw_zip([spec, plain("../../evil.txt")]), "climbs out")
    put(out, "name-dotdot-encoded.nupkg", raw_zip([spec, plain("lib/%2e%2e/%2e%2e/%2e%2e/evil.txt")]), "climbs out")
    put(out, "name-backslash-dotdot.nupkg", raw_zip([spec, plain("lib\\..\\..\\evil.dll")]), "climbs out")
    put(out, "name-absolute.nupkg", raw_zip([spec, plain("//etc/evil.txt")]), "absolute")
    put(out, "name-drive.nupkg", raw_zip([spec, plain("C:/Windows/evil.dll")]), "drive letter")
    put(out, "name-nul.nupkg", raw_zip([spec, plain(b"lib/evil\0.dll")]), "NUL")
    # A plain backslash separator (Windows-made zips) is safe, and the NuGet client accepts it.
    put(out, "name-backslash.nupkg",
        raw_zip([plain("Hostile.Backslash.nuspec", nuspec("Hostile.Backslash")), plain("lib\\net45\\a.dll")]), "-")
    put(out, "duplicate.nupkg", raw_zip([spec, plain("lib/a.dll", b"1"), plain("lib/a.dll", b"2")]),
        "more than once")
    put(out, "symlink.nupkg", raw_zip([spec, plain("lib/link", b"/etc/passwd", ext=(0o120777 << 16), made_by=0x031E)]),
        "symbolic link")
    put(out, "encrypted.nupkg", raw_zip([spec, plain("lib/secret.dll", b"s", flags=1)]), "encrypted")

    # ---- nuspec ----
    def with_nuspec(name, text, expect, pid="Hostile.Case"):
        put(out, name, raw_zip([plain(f"{pid}.nuspec", text)]), expect)

    with_nuspec("xml-malformed.nupkg", b"<?xml version='1.0'?><package><metadata><id>x</id>", "not well-formed")
    with_nuspec("xml-external-entity.nupkg",
                b'<?xml version="1.0"?><!DOCTYPE package [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                b"<package><metadata><id>&xxe;</id><version>1.0.0</version><authors>a</authors>"
                b"<description>d</description></metadata></package>", "DOCTYPE")
    laughs = b'<!ENTITY l0 "lol">' + b"".join(
        b'<!ENTITY l%d "%s">' % (i, b"&l%d;" % (i - 1) * 10) for i in range(1, 10))
    with_nuspec("xml-billion-laughs.nupkg",
                b'<?xml version="1.0"?><!DOCTYPE package [' + laughs + b"]><package><metadata><id>&l9;</id>"
                b"<version>1.0.0</version><authors>a</authors><description>d</description></metadata></package>",
                "DOCTYPE")
    with_nuspec("xml-gigantic.nupkg", nuspec(extra="<summary>" + "x" * (5 << 20) + "</summary>"), "over the")
    with_nuspec("xml-invalid-utf8.nupkg", nuspec(extra="<summary>bad \xff</summary>").replace(b"\xc3\xbf", b"\xff\xfe"),
                "not well-formed")
    with_nuspec("id-missing.nupkg", nuspec(metadata="<version>1.0.0</version><authors>a</authors>"), "no <id>")
    with_nuspec("id-dotdot.nupkg", nuspec(pid="../../evil"), "is not valid")
    with_nuspec("id-slash.nupkg", nuspec(pid="evil/id"), "is not valid")
    with_nuspec("id-newline.nupkg", nuspec(pid="evil&#10;error: forged"), "is not valid")
    with_nuspec("id-reserved.nupkg", nuspec(pid="CON"), "reserved device name", pid="CON")
    with_nuspec("version-missing.nupkg", nuspec(metadata="<id>Hostile.Case</id><authors>a</authors>"),
                "no <version>")
    with_nuspec("version-invalid.nupkg", nuspec(version="1.0.0/../../x"), "not a valid NuGet version")
    put(out, "icon-escapes.nupkg",
        raw_zip([plain("Hostile.Case.nuspec", nuspec(extra="<icon>../../../etc/icon.png</icon>"))]),
        "points outside the package")
    put(out, "readme-escapes.nupkg",
        raw_zip([plain("Hostile.Case.nuspec", nuspec(extra="<readme>/../../secret.md</readme>"))]),
        "points outside the package")
    put(out, "license-escapes.nupkg",
        raw_zip([plain("Hostile.Case.nuspec", nuspec(extra='<license type="file">..\\..\\LICENSE.txt</license>'))]),
        "points outside the package")

    # ---- input folder ----
    put(out, "zero-bytes.nupkg", b"", "empty")
    with open(os.path.join(out, "notes.txt"), "w") as f:
        f.write("not a package\n")
    os.makedirs(os.path.join(out, "folder.nupkg"), exist_ok=True)  # a folder named like a package
    os.symlink("loop.nupkg", os.path.join(out, "loop.nupkg"))
    expected.append(("loop.nupkg", "symbolic link"))
    os.symlink("missing-target.nupkg", os.path.join(out, "dangling.nupkg"))
    expected.append(("dangling.nupkg", "symbolic link"))
    os.makedirs(os.path.join(out, "sub"), exist_ok=True)
    os.symlink("..", os.path.join(out, "sub", "up"))  # a folder loop: never followed

    with open(os.path.join(out, "expected.tsv"), "w") as f:
        for name, expect in expected:
            f.write(f"{name}\t{expect}\n")


if __name__ == "__main__":
    main()
