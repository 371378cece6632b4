/*
 * util.c - small helpers shared by every module: whole-file reads and
 * atomic writes, durations, wall-clock time and sha256 digests.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core.h"

/* Reads fd to its end (at most max bytes; 0: no limit), then closes it;
 * path names it in messages. */
static int
read_fd(char **out, size_t *out_len, int fd, const char *path, size_t max,
        strata_error *err)
{
    strata_buf b = STRATA_BUF_INIT;
    char chunk[65536];
    ssize_t n;

    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            strata_buf_release(&b);
            return strata_error_set(err, STRATA_EIO, "cannot read '%s': %s",
                                    path, strerror(e));
        }
        if (n == 0)
            break;
        if (max > 0 && b.len + (size_t) n > max) {
            close(fd);
            strata_buf_release(&b);
            return strata_error_set(err, STRATA_ETOOBIG,
                                    "'%s' is larger than %zu bytes", path, max);
        }
        strata_buf_add(&b, chunk, (size_t) n);
    }
    close(fd);
    if (out_len != NULL)
        *out_len = b.len;
    *out = strata_buf_detach(&b);
    return 0;
}

int
strata_read_file(char **out, size_t *out_len, const char *path, size_t max,
                 strata_error *err)
{
    int fd;

    *out = NULL;
    if (out_len != NULL)
        *out_len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return strata_error_set(err,
                                errno == ENOENT ? STRATA_ENOTFOUND : STRATA_EIO,
                                "cannot open '%s': %s", path, strerror(errno));
    return read_fd(out, out_len, fd, path, max, err);
}

/*
 * Opens rel beneath the directory dirfd without following any symbolic
 * link and without leaving the directory (no "..", no absolute path):
 * openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel
 * has it (5.6), else one component at a time with O_NOFOLLOW. Returns the
 * fd, or -1 with errno (ELOOP for a symbolic link, EXDEV for a way out).
 */
static int
open_beneath(int dirfd, const char *rel)
{
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
        .resolve =
            RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    char *copy, *part, *next;
    int fd, cur;

    fd = (int) syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
    if (fd >= 0 || errno != ENOSYS)
        return fd;
    if (*rel == '/')
        return errno = EXDEV, -1;
    copy = strata_xstrdup(rel);
    cur = dup(dirfd);
    for (part = copy; cur >= 0 && part != NULL; part = next) {
        int nfd;

        next = strchr(part, '/');
        if (next != NULL)
            *next++ = '\0';
        if (*part == '\0' || strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0) {
            close(cur);
            cur = -1;
            errno = EXDEV;
            break;
        }
        nfd = openat(cur, part,
                     O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
                         (next != NULL ? O_DIRECTORY : 0));
        close(cur);
        cur = nfd;
    }
    free(copy);
    return cur;
}

int
strata_read_file_beneath(char **out, size_t *out_len, const char *dir,
                         const char *rel, size_t max, strata_error *err)
{
    struct stat st;
    char *shown = strata_xasprintf("%s/%s", dir, rel);
    int dirfd, fd, rc;

    *out = NULL;
    if (out_len != NULL)
        *out_len = 0;
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        rc = strata_error_set(err, STRATA_EIO, "cannot open '%s': %s", dir,
                              strerror(errno));
        goto out;
    }
    fd = open_beneath(dirfd, rel);
    close(dirfd);
    if (fd < 0) {
        int e = errno;

        if (e == ELOOP)
            rc = strata_error_set(err, STRATA_EINVAL,
                                  "'%s' is or goes through a symbolic link: "
                                  "not followed",
                                  rel);
        else if (e == EXDEV)
            rc = strata_error_set(err, STRATA_EINVAL, "'%s' leads outside '%s'",
                                  rel, dir);
        else
            rc = strata_error_set(err,
                                  e == ENOENT ? STRATA_ENOTFOUND : STRATA_EIO,
                                  "cannot open '%s': %s", shown, strerror(e));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        rc = strata_error_set(err, STRATA_EINVAL, "'%s' is not a regular file",
                              rel);
        goto out;
    }
    rc = read_fd(out, out_len, fd, shown, max, err);
out:
    free(shown);
    return rc;
}

int
strata_write_file(const char *path, const void *data, size_t len,
                  strata_error *err)
{
    char *tmp = strata_xasprintf("%s.tmp.%ld", path, (long) getpid());
    const char *p = data;
    int fd, rc = 0;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = strata_error_set(err, STRATA_EIO, "cannot create '%s': %s", tmp,
                              strerror(errno));
        goto out;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = strata_error_set(err, STRATA_EIO, "cannot write '%s': %s", tmp,
                                  strerror(errno));
            close(fd);
            unlink(tmp);
            goto out;
        }
        p += n;
        len -= (size_t) n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        rc = strata_error_set(err, STRATA_EIO, "cannot write '%s': %s", tmp,
                              strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = strata_error_set(err, STRATA_EIO, "cannot rename to '%s': %s",
                              path, strerror(errno));
        unlink(tmp);
    }
out:
    free(tmp);
    return rc;
}

int
strata_parse_duration(uint64_t *out_ms, const char *s)
{
    uint64_t total = 0;
    const char *p = s;

    if (s == NULL || *s == '\0')
        return STRATA_EINVAL;
    if (strcmp(s, "0") == 0) {
        *out_ms = 0;
        return 0;
    }
    while (*p != '\0') {
        uint64_t n = 0, unit;
        int digits = 0;

        while (*p >= '0' && *p <= '9') {
            if (n > UINT64_MAX / 10 - 10)
                return STRATA_EINVAL;
            n = n * 10 + (uint64_t) (*p - '0');
            p++;
            digits++;
        }
        if (digits == 0)
            return STRATA_EINVAL;
        if (strncmp(p, "ms", 2) == 0) {
            unit = 1;
            p += 2;
        } else if (*p == 's') {
            unit = 1000;
            p++;
        } else if (*p == 'm') {
            unit = 60 * 1000;
            p++;
        } else if (*p == 'h') {
            unit = 3600 * 1000;
            p++;
        } else if (*p == 'd') {
            unit = 86400ULL * 1000;
            p++;
        } else {
            return STRATA_EINVAL;
        }
        if (n > (UINT64_MAX - total) / unit)
            return STRATA_EINVAL;
        total += n * unit;
    }
    *out_ms = total;
    return 0;
}

int64_t
strata_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
strata_format_time(char *out, size_t outlen, int64_t ms)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
strata_sha256_hex(char out[65], const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int mdlen = 0;
    unsigned int i;

    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}
