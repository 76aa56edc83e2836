#!/usr/bin/env python3
"""Benchmark: `shelf push` of one package to a feed of N versions, to a folder and to a bucket
(moto_server on 127.0.0.1), against a floor measured in the same run.

usage: swift build -c release && python3 scripts/benchmark-push.py [--versions 20000] [--work DIR]

It reuses the packages scripts/benchmark.py generates (in WORK/N/packages, made here if missing),
builds the feed once (untimed) and publishes it to the bucket once (untimed), then measures:

  folder floor   copying the package into the feed folder (`cp`) and `sync`;
  folder push    `shelf push` of one new package to the folder;
  bucket floor   one PUT of the package and one GET of the service index (boto3);
  bucket push    `shelf push` of another new package to the bucket, with its requests by
                 method and the bytes it sent and received besides the package.

It then names the feed-wide documents a push writes and their sizes: those that grow with the
feed are what a push costs beyond the pushed id.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATOR = os.path.join(ROOT, "scripts", "generate-feed.py")
BASE_URL = "https://feed.example.com/"
PER_ID = ("flatcontainer/", "registration/", "registration-semver2/", "packages/", "badges/", "catalog/data/")


def run(cmd, env=None):
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.monotonic() - start
    if p.returncode != 0:
        sys.exit("command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
    return seconds, p.stdout


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--versions", type=int, default=20000)
    a.add_argument("--work", default=os.path.join(ROOT, ".build-bench"))
    a.add_argument("--shelf", default=os.path.join(ROOT, ".build", "release", "shelf"))
    args = a.parse_args()
    base = os.path.join(args.work, str(args.versions))
    packages = os.path.join(base, "packages")
    if not os.path.isdir(packages):
        print("generating %d packages in %s ..." % (args.versions, packages), flush=True)
        subprocess.run([sys.executable, GENERATOR, packages, "--versions", str(args.versions)], check=True)
    extra = os.path.join(base, "push-extra")
    if not os.path.isdir(extra):
        subprocess.run([sys.executable, GENERATOR, extra, "--versions", "2", "--start", str(args.versions + 500)],
                       check=True)
    pushed = sorted(os.path.join(extra, n) for n in os.listdir(extra) if n.endswith(".nupkg"))
    # Only the generated set goes into the feed (benchmark.py may have added its own extras).
    inputs = tempfile.mkdtemp(prefix="push-in-", dir=base)
    for n in os.listdir(packages):
        if n.endswith(".nupkg"):
            os.link(os.path.join(packages, n), os.path.join(inputs, n))
    feed = tempfile.mkdtemp(prefix="push-feed-", dir=base)
    print("building the feed (untimed) ...", flush=True)
    run([args.shelf, "build", inputs, "--out", feed, "--base-url", BASE_URL, "--quiet"])
    os.sync()

    # Folder: the floor, then the push.
    start = time.monotonic()
    shutil.copy(pushed[0], os.path.join(feed, "floor-copy.nupkg"))
    os.sync()
    folder_floor = time.monotonic() - start
    os.remove(os.path.join(feed, "floor-copy.nupkg"))
    before = {}
    for folder, _, files in os.walk(feed):
        for f in files:
            p = os.path.join(folder, f)
            before[os.path.relpath(p, feed)] = os.stat(p).st_mtime_ns
    seconds, out = run([args.shelf, "push", pushed[0], feed, "--json", "--quiet"])
    folder = json.loads(out)
    os.sync()
    changed = []
    for folder_path, _, files in os.walk(feed):
        for f in files:
            p = os.path.join(folder_path, f)
            rel = os.path.relpath(p, feed)
            if before.get(rel) != os.stat(p).st_mtime_ns:
                changed.append((rel, os.path.getsize(p)))
    feed_wide = sorted((r, s) for r, s in changed if not r.startswith(PER_ID) and not r.startswith(".shelf/"))
    records = sorted((r, s) for r, s in changed if r.startswith(".shelf/"))

    # Bucket: moto, the feed published once (untimed), the floor, then a push.
    port = free_port()
    scratch = tempfile.mkdtemp(prefix="push-moto-")
    creds = os.path.join(scratch, "credentials")
    with open(creds, "w") as f:
        f.write("[bench]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=creds, AWS_PROFILE="bench", AWS_DEFAULT_REGION="us-east-1")
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    endpoint = "http://127.0.0.1:%d" % port
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        import boto3
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
        s3.create_bucket(Bucket="feed")
        print("publishing the feed to moto (untimed) ...", flush=True)
        run([args.shelf, "publish", feed, "s3://feed/nuget", "--endpoint", endpoint, "--quiet"], env=env)
        body = open(pushed[1], "rb").read()
        start = time.monotonic()
        s3.put_object(Bucket="feed", Key="floor/package.nupkg", Body=body)
        s3.get_object(Bucket="feed", Key="nuget/index.json")["Body"].read()
        bucket_floor = time.monotonic() - start
        bucket_seconds, out = run([args.shelf, "push", pushed[1], "s3://feed/nuget", "--endpoint", endpoint, "--json",
                                   "--quiet"], env=env)
        bucket = json.loads(out)
    finally:
        moto.kill()
        moto.wait()
        shutil.rmtree(scratch, ignore_errors=True)

    package_bytes = len(body)
    print()
    print("push of one package to a feed of %d versions (%d ids), 2 cores" % (args.versions, bucket["ids"]))
    print("%-14s %9s %9s   %s" % ("", "seconds", "x floor", ""))
    print("%-14s %9.3f %9s   cp + sync of the package" % ("folder floor", folder_floor, ""))
    print("%-14s %9.3f %9.1f   %d files written (%d records), %d ids rendered" % (
        "folder push", seconds, seconds / folder_floor, folder["filesWritten"], len(records), folder["idsRendered"]))
    print("%-14s %9.3f %9s   one PUT of the package, one GET of index.json" % ("bucket floor", bucket_floor, ""))
    requests = bucket.get("requests", {})
    print("%-14s %9.3f %9.1f   requests %s; sent %d bytes besides the package (%d), received %d" % (
        "bucket push", bucket_seconds, bucket_seconds / bucket_floor,
        " ".join("%s %d" % kv for kv in sorted(requests.items())), bucket["bytesSent"] - package_bytes,
        package_bytes, bucket["bytesReceived"]))
    print()
    print("feed-wide documents the push wrote (bytes, uncompressed):")
    for rel, size in feed_wide:
        print("  %-40s %10d" % (rel, size))
    print("records the push wrote:")
    for rel, size in records:
        print("  %-40s %10d" % (rel, size))
    shutil.rmtree(inputs, ignore_errors=True)
    shutil.rmtree(feed, ignore_errors=True)


if __name__ == "__main__":
    main()
