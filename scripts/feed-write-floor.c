// The benchmark's "feed write" reference: what writing a finished feed's files costs on this
// machine when there is nothing to compute, read or check.
//
// usage: feed-write-floor FEED DEST THREADS
//
// It loads every file of FEED into memory first (untimed), then, timed, creates DEST and writes
// the same tree there: the folders level by level, then the files, then the hard links, each
// step spread over THREADS threads. Plain open/write/close into the final name: no temporary
// file and rename, no fsync, no lookup of what is already there, all of which a real build
// does. So no feed generator that writes this feed can be faster than this on the same machine:
// it is a lower bound, not a target. scripts/benchmark.py compiles and runs it (C, because the
// bound must not carry a runtime's own overhead).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  char *relative;
  char *bytes;
  size_t length;
  ino_t inode;    // non-zero when the file has other links
  long linkTo;    // index of the file this one is a hard link of, or -1
} File;

typedef struct {
  char *relative;
  int depth;
} Folder;

static File *files;
static size_t fileCount, fileCapacity;
static Folder *folders;
static size_t folderCount, folderCapacity;
static size_t sourceLength;
static const char *destination;
static int threadCount;

static void fail(const char *what, const char *path) {
  fprintf(stderr, "feed-write-floor: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

// Reads (or writes) all `length` bytes, whatever the short counts.
static void whole(int fd, char *bytes, size_t length, int writing, const char *path) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = writing ? write(fd, bytes + done, length - done) : read(fd, bytes + done, length - done);
    if (n <= 0) fail(writing ? "cannot write" : "cannot read", path);
    done += (size_t)n;
  }
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  const char *relative = path + sourceLength;
  while (*relative == '/') relative++;
  if (type == FTW_D) {
    if (*relative == 0) return 0;
    if (folderCount == folderCapacity) {
      folderCapacity = folderCapacity ? folderCapacity * 2 : 4096;
      folders = realloc(folders, folderCapacity * sizeof *folders);
    }
    folders[folderCount++] = (Folder){strdup(relative), ftw->level};
    return 0;
  }
  if (type != FTW_F) return 0;
  if (fileCount == fileCapacity) {
    fileCapacity = fileCapacity ? fileCapacity * 2 : 4096;
    files = realloc(files, fileCapacity * sizeof *files);
  }
  File *file = &files[fileCount++];
  *file = (File){strdup(relative), malloc(st->st_size + 1), (size_t)st->st_size,
                 st->st_nlink > 1 ? st->st_ino : 0, -1};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open", path);
  whole(fd, file->bytes, file->length, 0, path);
  close(fd);
  return 0;
}

// Hard links: the first file of each inode is written, the others are linked to it.
static void groupLinks(void) {
  size_t capacity = 1;
  while (capacity < fileCount * 2) capacity <<= 1;
  long *table = malloc(capacity * sizeof *table);
  for (size_t i = 0; i < capacity; i++) table[i] = -1;
  for (size_t i = 0; i < fileCount; i++) {
    if (!files[i].inode) continue;
    size_t slot = (size_t)(files[i].inode * 11400714819323198485ull) & (capacity - 1);
    while (table[slot] >= 0 && files[table[slot]].inode != files[i].inode) slot = (slot + 1) & (capacity - 1);
    if (table[slot] >= 0) files[i].linkTo = table[slot];
    else table[slot] = (long)i;
  }
  free(table);
}

static int currentDepth;
enum Step { folderStep, fileStep, linkStep };
static enum Step step;

static void *work(void *argument) {
  long thread = (long)argument;
  char path[8192], target[8192];
  if (step == folderStep) {
    for (size_t i = 0, seen = 0; i < folderCount; i++) {
      if (folders[i].depth != currentDepth) continue;
      if (seen++ % (size_t)threadCount != (size_t)thread) continue;
      snprintf(path, sizeof path, "%s/%s", destination, folders[i].relative);
      if (mkdir(path, 0755) != 0) fail("cannot create folder", path);
    }
    return NULL;
  }
  for (size_t i = (size_t)thread; i < fileCount; i += (size_t)threadCount) {
    File *file = &files[i];
    snprintf(path, sizeof path, "%s/%s", destination, file->relative);
    if (step == fileStep && file->linkTo < 0) {
      int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) fail("cannot create", path);
      whole(fd, file->bytes, file->length, 1, path);
      close(fd);
    } else if (step == linkStep && file->linkTo >= 0) {
      snprintf(target, sizeof target, "%s/%s", destination, files[file->linkTo].relative);
      if (link(target, path) != 0) fail("cannot link", path);
    }
  }
  return NULL;
}

static void runStep(void) {
  pthread_t threads[256];
  for (long t = 0; t < threadCount; t++) pthread_create(&threads[t], NULL, work, (void *)t);
  for (int t = 0; t < threadCount; t++) pthread_join(threads[t], NULL);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: feed-write-floor FEED DEST THREADS\n");
    return 2;
  }
  sourceLength = strlen(argv[1]);
  destination = argv[2];
  threadCount = atoi(argv[3]);
  if (threadCount < 1) threadCount = 1;
  if (threadCount > 256) threadCount = 256;
  if (nftw(argv[1], visit, 64, FTW_PHYS) != 0) fail("cannot walk", argv[1]);
  groupLinks();
  int maxDepth = 0;
  size_t bytes = 0, links = 0;
  for (size_t i = 0; i < folderCount; i++) if (folders[i].depth > maxDepth) maxDepth = folders[i].depth;
  for (size_t i = 0; i < fileCount; i++) {
    if (files[i].linkTo < 0) bytes += files[i].length;
    else links++;
  }

  double start = now();
  if (mkdir(destination, 0755) != 0) fail("cannot create folder", destination);
  step = folderStep;
  for (currentDepth = 1; currentDepth <= maxDepth; currentDepth++) runStep();
  step = fileStep;
  runStep();
  step = linkStep;
  runStep();
  double seconds = now() - start;
  // One line for the benchmark to read: seconds folders files links bytes
  printf("%.3f %zu %zu %zu %zu\n", seconds, folderCount, fileCount, links, bytes);
  return 0;
}
