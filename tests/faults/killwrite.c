/*
 * killwrite.c - an LD_PRELOAD shim for the fault-injection tests: it
 * counts the writes a process makes to the state database (the file
 * named by STRATA_FAULT_DB, its -wal and its -journal) and, at the Nth,
 * before that write reaches the file, kills the process with SIGKILL (as
 * a crash or `kill -9` would at that moment) or fills the file system
 * (as another program filling the disk would).
 *
 *   STRATA_FAULT_DB=strata.db       the database's file name (basename)
 *   STRATA_FAULT_KILL_AT=N          SIGKILL at write N (1-based); 0: never
 *   STRATA_FAULT_FULL_AT=N          at write N, grow STRATA_FAULT_FULL_FILE
 *                                   until its file system has no more than
 *                                   STRATA_FAULT_FULL_LEAVE bytes free (0)
 *   STRATA_FAULT_COUNT=FILE         at exit, write the number of writes seen
 *
 * write(), pwrite() and pwrite64() are counted (sqlite's unix VFS uses
 * pwrite64 and write). The shim removes LD_PRELOAD and its variables from
 * the environment when it loads, so the processes strata starts (builders,
 * notification commands) run without it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Our pwrite and pwrite64 are two symbols, whatever the build's default. */
#undef _FILE_OFFSET_BITS
#include <sys/statvfs.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char db_name[256];
static long kill_at;
static long seen;
static char count_file[4096];
static long full_at;
static char full_file[4096];
static unsigned long long full_leave;

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);

/* dlsym's object pointer as a function pointer: POSIX guarantees the
 * conversion, ISO C does not, so the bytes are copied (no cast). */
static void (*next_symbol(const char *name))(void)
{
    void *p = dlsym(RTLD_NEXT, name);
    void (*f)(void) = NULL;

    memcpy(&f, &p, sizeof(f));
    return f;
}

static pwrite_fn real_pwrite64;

__attribute__((constructor)) static void
init(void)
{
    const char *s;

    real_pwrite64 = (pwrite_fn) next_symbol("pwrite64");
    if ((s = getenv("STRATA_FAULT_DB")) != NULL)
        snprintf(db_name, sizeof(db_name), "%s", s);
    if ((s = getenv("STRATA_FAULT_KILL_AT")) != NULL)
        kill_at = strtol(s, NULL, 10);
    if ((s = getenv("STRATA_FAULT_COUNT")) != NULL)
        snprintf(count_file, sizeof(count_file), "%s", s);
    if ((s = getenv("STRATA_FAULT_FULL_AT")) != NULL)
        full_at = strtol(s, NULL, 10);
    if ((s = getenv("STRATA_FAULT_FULL_FILE")) != NULL)
        snprintf(full_file, sizeof(full_file), "%s", s);
    if ((s = getenv("STRATA_FAULT_FULL_LEAVE")) != NULL)
        full_leave = strtoull(s, NULL, 10);
    unsetenv("LD_PRELOAD");
    unsetenv("STRATA_FAULT_DB");
    unsetenv("STRATA_FAULT_KILL_AT");
    unsetenv("STRATA_FAULT_COUNT");
    unsetenv("STRATA_FAULT_FULL_AT");
    unsetenv("STRATA_FAULT_FULL_FILE");
    unsetenv("STRATA_FAULT_FULL_LEAVE");
}

__attribute__((destructor)) static void
fini(void)
{
    FILE *f;

    if (count_file[0] == '\0' || (f = fopen(count_file, "w")) == NULL)
        return;
    fprintf(f, "%ld\n", seen);
    fclose(f);
}

/* Is fd the database, its WAL or its rollback journal? */
static int
is_db(int fd)
{
    char link[64], path[4096];
    const char *base, *rest;
    ssize_t n;
    size_t len = strlen(db_name);

    if (len == 0)
        return 0;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    if (strncmp(base, db_name, len) != 0)
        return 0;
    rest = base + len;
    return *rest == '\0' || strcmp(rest, "-wal") == 0 ||
           strcmp(rest, "-journal") == 0;
}

/* Bytes free for an unprivileged writer on path's file system. */
static unsigned long long
free_bytes(const char *path)
{
    struct statvfs sv;

    if (statvfs(path, &sv) != 0)
        return 0;
    return (unsigned long long) sv.f_bavail * sv.f_frsize;
}

/* Grows full_file until at most full_leave bytes are free. */
static void
fill_disk(void)
{
    static char chunk[65536];
    off_t off = 0;
    int fd = open(full_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        return;
    for (;;) {
        unsigned long long left = free_bytes(full_file);
        size_t n;
        ssize_t w;

        if (left <= full_leave)
            break;
        n = left - full_leave > sizeof(chunk) ? sizeof(chunk) : 4096;
        if ((w = real_pwrite64(fd, chunk, n, off)) <= 0)
            break;
        off += w;
    }
    fsync(fd);
    close(fd);
}

/* Counts a write to the database; acts at the chosen one. */
static void
count(int fd)
{
    if (!is_db(fd))
        return;
    seen++;
    if (kill_at > 0 && seen == kill_at) {
        /* No destructor, no flush, no further write: a crash. */
        kill(getpid(), SIGKILL);
        pause();
    }
    if (full_at > 0 && seen == full_at && full_file[0] != '\0')
        fill_disk();
}

ssize_t
write(int fd, const void *buf, size_t n)
{
    static write_fn real;

    if (real == NULL)
        real = (write_fn) next_symbol("write");
    count(fd);
    return real(fd, buf, n);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static pwrite_fn real;

    if (real == NULL)
        real = (pwrite_fn) next_symbol("pwrite");
    count(fd);
    return real(fd, buf, n, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    if (real_pwrite64 == NULL)
        real_pwrite64 = (pwrite_fn) next_symbol("pwrite64");
    count(fd);
    return real_pwrite64(fd, buf, n, off);
}
