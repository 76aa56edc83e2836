#!/usr/bin/env python3
"""Benchmark: Shelf's full and incremental builds against the machine's own floor, in one run.

usage: swift build -c release && python3 scripts/benchmark.py [--versions 20000[,100000]] [--work DIR]

For each size it generates (once, deterministically) that many synthetic packages with
scripts/generate-feed.py, then measures on the same machine in the same run:

  floor      what no feed generator can skip: SHA-512 of every package file on all cores
             (`sha512sum` through `xargs -P`) plus copying every package file into a fresh folder
             on the output's file system (`cp -r`);
  full       `shelf build` into an empty folder;
  no-op      the same build again, nothing changed;
  add one    one new package in the input folder;
  add 100    a hundred more;
  feed write a reference: the feed as the last step left it, loaded into memory and written
             into a fresh folder by scripts/feed-write-floor.c on all cores: what writing the
             feed's own files costs with nothing to compute (a lower bound for any generator
             that writes this feed);

and prints each figure with its ratio to the floor, the peak resident memory (RSS) and the
files written. Absolute times on shared machines are noise; the ratios are the result.

Between steps (untimed) the page cache is written back (`sync`), so that no step is charged with
the writeback of the one before.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATOR = os.path.join(ROOT, "scripts", "generate-feed.py")


def timed(cmd, **kw):
    """Runs a command under /usr/bin/time -v: (seconds, peak RSS in MB, stdout)."""
    start = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, **kw)
    seconds = time.monotonic() - start
    rss, user, system = 0, 0.0, 0.0
    for line in p.stderr.splitlines():
        if "Maximum resident set size" in line:
            rss = int(line.split()[-1]) / 1024
        elif "User time (seconds)" in line:
            user = float(line.split()[-1])
        elif "System time (seconds)" in line:
            system = float(line.split()[-1])
    if p.returncode not in (0, 2):
        sys.exit("command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
    return seconds, rss, p.stdout, user, system


def generate(folder, versions, start=0):
    subprocess.run([sys.executable, GENERATOR, folder, "--versions", str(versions), "--start", str(start)],
                   check=True, capture_output=True)


def floor(packages, copy_to):
    files = sorted(os.path.join(packages, n) for n in os.listdir(packages) if n.endswith(".nupkg"))
    cores = os.cpu_count() or 1
    start = time.monotonic()
    p = subprocess.Popen(["xargs", "-0", "-P", str(cores), "-n", "256", "sha512sum"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    p.communicate("\0".join(files).encode())
    hashing = time.monotonic() - start
    start = time.monotonic()
    subprocess.run(["cp", "-r", packages, copy_to], check=True)
    copying = time.monotonic() - start
    return hashing, copying


def discard(paths):
    """Removes folders once the figures are taken. Not before a measurement: on ext4 without a
    journal (these machines), creating files right after deleting many is several times slower
    (the inode allocator skips recently freed inodes), which would penalise whichever step came
    after a deletion."""
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def run_size(shelf, writer, versions, work):
    base = os.path.join(work, str(versions))
    packages = os.path.join(base, "packages")
    extra = os.path.join(base, "extra")
    marker = os.path.join(base, "generated")
    if not os.path.exists(marker):
        shutil.rmtree(base, ignore_errors=True)
        print("generating %d packages in %s ..." % (versions, packages), flush=True)
        generate(packages, versions)
        generate(extra, 101, start=versions)
        open(marker, "w").write("ok\n")
    # The extra packages are the steps' input: if some went missing (moved by hand), write them again.
    if not os.path.isdir(extra) or len([n for n in os.listdir(extra) if n.endswith(".nupkg")]) != 101:
        shutil.rmtree(extra, ignore_errors=True)
        generate(extra, 101, start=versions)
    # Earlier runs may have added the extra packages: start from the generated set.
    for name in os.listdir(extra):
        path = os.path.join(packages, name)
        if os.path.exists(path):
            os.remove(path)
    size = sum(os.path.getsize(os.path.join(packages, n)) for n in os.listdir(packages))
    # Folders of an earlier run are moved aside (and removed at the end), then the page cache is
    # warmed the same way for everyone, and the floor measured.
    for n in sorted(os.listdir(base)):
        if n.startswith(("feed", "floor-copy")):
            os.rename(os.path.join(base, n), os.path.join(base, "old-%d-%s" % (time.time_ns(), n)))
    out = os.path.join(base, "feed")
    floor(packages, os.path.join(base, "floor-copy-warm"))
    os.sync()
    hashing, copying = floor(packages, os.path.join(base, "floor-copy"))
    floor_s = hashing + copying

    rows = []

    def build(label):
        seconds, rss, stdout, user, system = timed([shelf, "build", packages, "--out", out, "--base-url",
                                      "https://feed.example.com/", "--json", "--quiet"])
        report = json.loads(stdout)
        rows.append((label, seconds, rss, report, user, system))
        # Untimed: the kernel writes back what this build left in the page cache before the next
        # step is measured, so that a small rebuild is not charged with the writeback of the
        # gigabytes a full build just wrote (in real use it comes minutes or days later).
        os.sync()

    build("full build")
    build("no-op rebuild")
    extras = sorted(os.listdir(extra))
    # After placing packages, a pause (untimed) longer than a clock tick: a file changed within
    # milliseconds of a build is read again by the next one, which would add the one package to
    # the hundred ("racily clean" in Shelf's README).
    shutil.copy(os.path.join(extra, extras[0]), packages)
    time.sleep(0.1)
    build("add one package")
    for name in extras[1:]:
        shutil.copy(os.path.join(extra, name), packages)
    time.sleep(0.1)
    build("add 100 packages")

    # A reference, not a step of Shelf: the feed as the last step left it (the full build's
    # files plus 101 versions and Shelf's records, about 0.5% more), written into a fresh folder
    # by a small C program on all cores after loading it into memory: what writing the feed's
    # files costs with nothing to compute. Its ratio to the floor is how far the feed's file
    # layout alone puts any full build from the floor. (The copy is removed with the other copies
    # at the end, not now: see `discard`.)
    p = subprocess.run([writer, out, os.path.join(base, "floor-copy-feed"), str(os.cpu_count() or 1)],
                       check=True, capture_output=True, text=True)
    fields = p.stdout.split()
    feed_write, feed_folders, feed_files, feed_links, feed_bytes = float(fields[0]), *map(int, fields[1:])

    print()
    print("%d package versions, %.0f MB of packages, %d cores" % (versions, size / 1e6, os.cpu_count() or 1))
    print("floor: sha512sum %.2f s + cp -r %.2f s = %.2f s" % (hashing, copying, floor_s))
    print("%-18s %9s %9s %10s %9s %9s %13s  %s" % (
        "", "seconds", "x floor", "peak RSS", "opened", "written", "CPU user/sys", "phases"))
    for label, seconds, rss, r, user, system in rows:
        phases = " ".join("%s %.2f" % (k, v) for k, v in sorted(r.get("phases", {}).items(), key=lambda kv: -kv[1]))
        print("%-18s %9.2f %9.2f %7.0f MB %9d %9d %6.1f/%-6.1f  %s" % (
            label, seconds, seconds / floor_s, rss, r.get("packagesOpened", 0), r.get("filesWritten", 0),
            user, system, phases))
    print("%-18s %9.2f %9.2f %10s %9s %9d  (the feed's %d folders and %d files, %d of them links, %.0f MB,"
          " from memory on %d cores; full build = %.2f x this)" % (
              "feed write", feed_write, feed_write / floor_s, "", "", feed_files, feed_folders, feed_files, feed_links,
              feed_bytes / 1e6, os.cpu_count() or 1, rows[0][1] / feed_write))
    return rows


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--versions", default="20000", help="comma-separated sizes, e.g. 20000,100000")
    a.add_argument("--work", default=os.path.join(ROOT, ".build-bench"))
    a.add_argument("--shelf", default=os.path.join(ROOT, ".build", "release", "shelf"))
    args = a.parse_args()
    if not os.path.exists(args.shelf):
        sys.exit("%s is missing: run `swift build -c release` first" % args.shelf)
    os.makedirs(args.work, exist_ok=True)
    sizes = [int(x) for x in args.versions.split(",")]
    # The feed-write reference (see run_size), compiled once for every size.
    writer = os.path.join(args.work, "feed-write-floor")
    subprocess.run(["cc", "-O2", "-o", writer, os.path.join(ROOT, "scripts", "feed-write-floor.c"), "-lpthread"],
                   check=True)
    for v in sizes:
        run_size(args.shelf, writer, v, args.work)
    # Only now, after every measurement: the copies of the floor and the previous runs' feeds.
    for v in sizes:
        base = os.path.join(args.work, str(v))
        discard([os.path.join(base, n) for n in os.listdir(base) if n.startswith(("floor-copy", "old-"))])


if __name__ == "__main__":
    main()
