#!/usr/bin/env python3
"""gen.py - writes bench/dockerfile-ast.sh's corpus of Dockerfiles.

    bench/df-corpus/gen.py OUT [COUNT] [SEED]

Writes COUNT (default 10000) generated Dockerfiles to OUT/files/, copies
the hand-written cases of bench/df-corpus/tricky/ beside them, and writes:

  OUT/list.txt      one path a line (the input of both parsers)
  OUT/expected.tsv  FILE, KIND, CANONICAL-REF, TAG: the external references
                    each file has per the Dockerfile reference, TAG naming
                    the construct that wrote it (arg-default, heredoc, ...)
  OUT/decoys.tsv    FILE, CANONICAL-REF, TAG: images that appear in a file
                    but are not references (inside heredocs, after an
                    escape directive made a line literal)

The generator knows what it wrote, so expected.tsv is the oracle that
tells, for a reference the two parsers disagree on, which one is right.
Deterministic for a given SEED. The files mix realistic constructs:
multi-stage builds with AS names, --platform, global ARGs in FROM (whole,
partial, ${VAR:-default}, defaults built from other ARGs), COPY --from a
stage, an index or an image, RUN --mount=...,from=, heredocs holding
lines that look like instructions, continuations with comments inside,
CRLF line ends, a UTF-8 BOM, `# escape=`` (Windows-style) files,
digests, registry ports, and lower/upper/mixed-case instructions.
"""
import os
import random
import shutil
import sys

# (name as written, canonical name)
POOL = [
    ("debian", "docker.io/library/debian"),
    ("ubuntu", "docker.io/library/ubuntu"),
    ("alpine", "docker.io/library/alpine"),
    ("python", "docker.io/library/python"),
    ("golang", "docker.io/library/golang"),
    ("node", "docker.io/library/node"),
    ("nginx", "docker.io/library/nginx"),
    ("redis", "docker.io/library/redis"),
    ("busybox", "docker.io/library/busybox"),
    ("eclipse-temurin", "docker.io/library/eclipse-temurin"),
    ("rust", "docker.io/library/rust"),
    ("library/postgres", "docker.io/library/postgres"),
    ("docker.io/library/debian", "docker.io/library/debian"),
    ("docker.io/bitnami/redis", "docker.io/bitnami/redis"),
    ("bitnami/kubectl", "docker.io/bitnami/kubectl"),
    ("ghcr.io/acme/base-image", "ghcr.io/acme/base-image"),
    ("quay.io/prometheus/busybox", "quay.io/prometheus/busybox"),
    ("gcr.io/distroless/static-debian12", "gcr.io/distroless/static-debian12"),
    ("registry.example.com:5000/platform/runtime",
     "registry.example.com:5000/platform/runtime"),
    ("localhost:5000/dev/tools", "localhost:5000/dev/tools"),
    ("my.registry.local/team/app-base", "my.registry.local/team/app-base"),
    ("mcr.microsoft.com/dotnet/aspnet", "mcr.microsoft.com/dotnet/aspnet"),
    ("public.ecr.aws/docker/library/alpine",
     "public.ecr.aws/docker/library/alpine"),
    ("10.1.2.3:5000/ci/builder", "10.1.2.3:5000/ci/builder"),
]
TAGS = ["12", "12-slim", "3.19", "22.04", "1.22-alpine", "20-bookworm-slim",
        "latest", "v2.3.1", "nonroot", "8.0", "1.4", "edge", "bookworm",
        "2024.01.15", "7.2.4-debian-12-r3", None]
WINDOWS = [("mcr.microsoft.com/windows/servercore",
            "mcr.microsoft.com/windows/servercore", "ltsc2022"),
           ("mcr.microsoft.com/dotnet/framework/runtime",
            "mcr.microsoft.com/dotnet/framework/runtime", "4.8")]
STAGES = ["build", "builder", "deps", "test", "assets", "base", "runtime",
          "compile", "tools", "final"]


class File:
    """One Dockerfile being written: lines, what it references, style."""

    def __init__(self, rnd, name):
        self.rnd = rnd
        self.name = name
        self.lines = []
        self.expected = []  # (kind, canonical, tag)
        self.decoys = []    # (canonical, tag)
        r = rnd.random()
        self.case = "upper" if r < 0.8 else ("lower" if r < 0.95 else "mixed")
        self.escape = "\\"
        self.stages = []
        self.nargs = 0

    def kw(self, word):
        if self.case == "lower":
            return word.lower()
        if self.case == "mixed":
            return word.capitalize()
        return word

    def add(self, *lines):
        self.lines.extend(lines)


def image(rnd, windows=False):
    """A random image: (text as written, canonical form, name, canon name,
    tag, digest)."""
    if windows:
        name, cname, tag = rnd.choice(WINDOWS)
    else:
        name, cname = rnd.choice(POOL)
        tag = rnd.choice(TAGS)
    digest = None
    if rnd.random() < 0.12:
        digest = "sha256:%064x" % rnd.getrandbits(256)
        if rnd.random() < 0.5:
            tag = None
    text = name + (":" + tag if tag else "") + ("@" + digest if digest else "")
    canon = cname + (":" + tag if tag else "") + ("@" + digest if digest else "")
    if not tag and not digest:
        canon = cname + ":latest"
    return text, canon, name, cname, tag, digest


def global_args(f, rnd):
    """Chooses how the first FROM names its image; writes the global ARGs
    it needs. Returns (text for FROM, canonical, tag)."""
    text, canon, name, cname, tag, digest = image(rnd, f.escape == "`")
    form = rnd.random()
    if form < 0.45 or digest:
        return text, canon, "literal"
    if form < 0.60:
        f.add(f.kw("ARG") + " BASE_IMAGE=" + text)
        return rnd.choice(["${BASE_IMAGE}", "$BASE_IMAGE"]), canon, "arg-default"
    if form < 0.72 and tag:
        f.add(f.kw("ARG") + " VERSION=" + tag)
        return name + ":${VERSION}", canon, "arg-partial"
    if form < 0.78 and "/" in name and tag:
        reg, rest = name.rsplit("/", 1)
        f.add(f.kw("ARG") + " REGISTRY=" + reg)
        return "${REGISTRY}/" + rest + ":" + tag, canon, "arg-partial"
    if form < 0.86:
        f.add(f.kw("ARG") + " BASE")
        return "${BASE:-" + text + "}", canon, "arg-modifier-unset"
    if form < 0.92:
        f.add(f.kw("ARG") + " BASE=" + text)
        return "${BASE:-busybox:1.36}", canon, "arg-modifier-set"
    if tag:
        f.add(f.kw("ARG") + " BASE_TAG=" + tag,
              f.kw("ARG") + " BASE_IMAGE=" + name + ":${BASE_TAG}")
        return "${BASE_IMAGE}", canon, "arg-nested"
    return text, canon, "literal"


def from_line(f, rnd, text, stage):
    platform = ""
    r = rnd.random()
    if r < 0.15:
        platform = "--platform=$BUILDPLATFORM "
    elif r < 0.22:
        platform = "--platform=linux/amd64 "
    elif r < 0.25:
        platform = "--platform=${TARGETPLATFORM} "
    as_ = ""
    if stage:
        as_ = " " + rnd.choice(["AS", "as", "AS"]) + " " + stage
    if rnd.random() < 0.08:
        e = f.escape
        f.add(f.kw("FROM") + " " + e, "    " + platform + text + as_)
        return "continued"
    f.add(f.kw("FROM") + " " + platform + text + as_)
    return None


def run_plain(f, rnd):
    e = f.escape
    k = rnd.random()
    if f.escape == "`":
        f.add(f.kw("RUN") + " powershell -Command " + e,
              "    $ErrorActionPreference = 'Stop'; " + e,
              "    New-Item -ItemType Directory C:\\app")
        return
    if k < 0.4:
        f.add(f.kw("RUN") + " apt-get update " + e,
              "# the packages the build needs",
              "    && apt-get install -y --no-install-recommends curl ca-certificates " + e,
              "    && rm -rf /var/lib/apt/lists/*")
    elif k < 0.6:
        f.add(f.kw("RUN") + " set -eux; " + e, "", "    make -j4 " + e,
              "  # comment lines and blank lines do not end a continuation",
              "    && make install")
    else:
        f.add(f.kw("RUN") + " echo building %s > /etc/motd" % f.name)


def heredoc(f, rnd):
    d = "evil.example.com/decoy/heredoc-%d:1" % rnd.randrange(50)
    k = rnd.random()
    if k < 0.4:
        f.add(f.kw("RUN") + " <<EOF", "set -e", "FROM " + d,
              "echo 'COPY --from=" + d + " / /'", "EOF")
    elif k < 0.65:
        f.add(f.kw("COPY") + " <<EOF /etc/app/Dockerfile.template", "FROM " + d,
              "RUN true", "EOF")
    elif k < 0.85:
        f.add(f.kw("RUN") + " <<-EOT bash", "\tset -e", "\tFROM " + d, "\tEOT")
    else:
        f.add(f.kw("RUN") + " python3 <<'PY'",
              "print('''", "FROM " + d, "''')", "PY")
    f.decoys.append((d, "heredoc"))


def copy_from(f, rnd, stage_idx):
    e = f.escape
    k = rnd.random()
    earlier = f.stages[:stage_idx]
    named = [s for s in earlier if s]
    if k < 0.45 and named:
        src = rnd.choice(named)
        if rnd.random() < 0.1:
            src = src.upper()
        f.add(f.kw("COPY") + " --from=" + src + " /out /app")
    elif k < 0.6 and earlier:
        f.add(f.kw("COPY") + " --from=%d /out /app" % rnd.randrange(len(earlier)))
    elif k < 0.85:
        text, canon = image(rnd)[:2]
        flags = rnd.choice(["", "--link ", "--chown=1000:1000 "])
        f.add(f.kw("COPY") + " " + flags + "--from=" + text +
              " /usr/local/bin/tool /usr/local/bin/")
        f.expected.append(("copy-from", canon, "copy-from-image"))
    else:
        text, canon = image(rnd)[:2]
        f.add(f.kw("COPY") + " " + e, "    --from=" + text + " " + e,
              "    /etc/ssl/certs /etc/ssl/certs")
        f.expected.append(("copy-from", canon, "copy-from-image"))


def run_mount(f, rnd, stage_idx):
    k = rnd.random()
    named = [s for s in f.stages[:stage_idx] if s]
    if k < 0.4:
        f.add(f.kw("RUN") + " --mount=type=cache,target=/root/.cache "
              "--mount=type=secret,id=npmrc,target=/root/.npmrc make")
    elif k < 0.65 and named:
        f.add(f.kw("RUN") + " --mount=type=bind,from=%s,source=/out,target=/in "
              "cp -r /in /app" % rnd.choice(named))
    else:
        text, canon = image(rnd)[:2]
        if rnd.random() < 0.5:
            m = "--mount=type=bind,from=%s,source=/usr/local/go,target=/go" % text
        else:
            m = "--mount=from=%s,src=/bin,dst=/tools" % text
        f.add(f.kw("RUN") + " " + m + " /tools/check")
        f.expected.append(("mount-from", canon, "mount-from-image"))


def windows_body(f, rnd):
    """The escape directive's own example: a trailing backslash is literal
    under escape=`, so the next line is an instruction of its own."""
    f.add(f.kw("COPY") + " testfile.txt c:\\", f.kw("RUN") + " dir c:\\")
    text, canon = image(rnd)[:2]
    f.add(f.kw("COPY") + " --from=" + text + " /bin/tool.exe c:\\tools\\")
    f.expected.append(("copy-from", canon, "escape-backtick"))


def generate(rnd, idx):
    f = File(rnd, "f%05d" % idx)
    flags = []
    if rnd.random() < 0.4:
        f.add("# syntax=docker/dockerfile:1")
    if rnd.random() < 0.05:
        f.escape = "`"
        f.add("# escape=`")
        flags.append("escape")
    if rnd.random() < 0.3:
        f.add("", "# %s: generated by bench/df-corpus/gen.py" % f.name)
    nst = rnd.choice([1, 1, 2, 2, 2, 3, 3, 4])
    f.stages = []
    for s in range(nst):
        last = s == nst - 1
        stage = None
        if not last or rnd.random() < 0.2:
            stage = STAGES[(s * 3 + idx) % len(STAGES)]
            if stage in f.stages:
                stage = stage + str(s)
        f.stages.append(stage)
    first = True
    for s, stage in enumerate(f.stages):
        if first:
            text, canon, tag = global_args(f, rnd)
            first = False
            cont = from_line(f, rnd, text, stage)
            f.expected.append(("from", canon, tag + ("+" + cont if cont else "")))
        elif s > 0 and f.stages[s - 1] and rnd.random() < 0.25:
            from_line(f, rnd, f.stages[s - 1], stage)  # FROM an earlier stage
        elif rnd.random() < 0.06 and s == len(f.stages) - 1:
            f.add(f.kw("FROM") + " scratch")
        else:
            text, canon = image(rnd, f.escape == "`")[:2]
            cont = from_line(f, rnd, text, stage)
            f.expected.append(("from", canon, "literal" + ("+" + cont if cont else "")))
        if rnd.random() < 0.3:
            f.add(f.kw("ARG") + " VERSION")
        if rnd.random() < 0.4:
            f.add(f.kw("WORKDIR") + (" C:\\app" if f.escape == "`" else " /src"))
        if f.escape == "`" and rnd.random() < 0.6:
            windows_body(f, rnd)
        run_plain(f, rnd)
        if f.escape != "`":
            if rnd.random() < 0.25:
                heredoc(f, rnd)
            if rnd.random() < 0.3:
                run_mount(f, rnd, s)
        if s > 0 and rnd.random() < 0.7 or rnd.random() < 0.15:
            copy_from(f, rnd, s)
        if rnd.random() < 0.2:
            f.add("# " + f.kw("ENV") + " commented out")
        f.add(f.kw("ENV") + " APP_HOME=/app PATH=/app/bin:$PATH")
        if rnd.random() < 0.05:
            f.add(f.kw("ONBUILD") + " " + f.kw("RUN") + " echo child build")
    f.add(f.kw("CMD") + ' ["/app/run"]')
    eol = "\n"
    if rnd.random() < 0.05:
        eol = "\r\n"
        flags.append("crlf")
    body = eol.join(f.lines) + eol
    if rnd.random() < 0.03:
        body = "\ufeff" + body
        flags.append("bom")
    return f, body, flags


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rnd = random.Random(seed)
    files = os.path.join(out, "files")
    os.makedirs(files, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(out, "list.txt"), "w") as lst, \
            open(os.path.join(out, "expected.tsv"), "w") as exp, \
            open(os.path.join(out, "decoys.tsv"), "w") as dec:
        for i in range(count):
            f, body, flags = generate(rnd, i)
            path = os.path.join(files, "%s.Dockerfile" % f.name)
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(body)
            lst.write(path + "\n")
            suffix = "".join("+" + x for x in flags)
            for kind, canon, tag in f.expected:
                exp.write("%s\t%s\t%s\t%s%s\n" % (path, kind, canon, tag, suffix))
            for canon, tag in f.decoys:
                dec.write("%s\t%s\t%s%s\n" % (path, canon, tag, suffix))
        # The hand-written cases: NAME.Dockerfile plus NAME.expected
        # (KIND<TAB>REF lines) and NAME.decoys (REF lines), all optional
        # but the Dockerfile.
        tricky = os.path.join(here, "tricky")
        for name in sorted(os.listdir(tricky)):
            if not name.endswith(".Dockerfile"):
                continue
            base = name[:-len(".Dockerfile")]
            path = os.path.join(files, "tricky-" + name)
            shutil.copyfile(os.path.join(tricky, name), path)
            lst.write(path + "\n")
            for ext, fh in (("expected", exp), ("decoys", dec)):
                p = os.path.join(tricky, base + "." + ext)
                if not os.path.exists(p):
                    continue
                for line in open(p):
                    line = line.rstrip("\n")
                    if line and not line.startswith("#"):
                        fh.write("%s\t%s\ttricky:%s\n" % (path, line, base))


if __name__ == "__main__":
    main()
