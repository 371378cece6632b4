#!/usr/bin/env python3
"""compare.py - bench/dockerfile-ast.sh's comparison of the two parsers.

    bench/df-corpus/compare.py CORPUS STRATA.tsv AST.tsv

CORPUS is gen.py's output folder (list.txt, expected.tsv, decoys.tsv);
the two .tsv files are FILE<TAB>LINE<TAB>KIND<TAB>REF lines from
bench-dfparse and bench/dockerfile-ast.js, REF canonical or "!text" for a
reference with no usable image. Per file it compares the sets of
(KIND, REF) of the usable references, then sorts every reference only one
side has by cause (the construct gen.py or the tricky case tagged it
with, or "decoy:TAG" for an image the file holds but does not reference;
file-wide traits such as crlf or bom are counted beside it) and by which
side the oracle (expected.tsv) says is right. Prints the
figures and up to three sample files per cause.
"""
import collections
import sys


def load_refs(path):
    refs = collections.defaultdict(set)
    bad = collections.Counter()
    for line in open(path, encoding="utf-8"):
        f, _line, kind, ref = line.rstrip("\n").split("\t", 3)
        if ref.startswith("!"):
            bad[f] += 1
        else:
            refs[f].add((kind, ref))
    return refs, bad


def main():
    corpus, spath, apath = sys.argv[1:4]
    files = [l.rstrip("\n") for l in open(corpus + "/list.txt") if l.strip()]
    expected = collections.defaultdict(dict)
    for line in open(corpus + "/expected.tsv", encoding="utf-8"):
        f, kind, ref, tag = line.rstrip("\n").split("\t")
        expected[f][(kind, ref)] = tag
    decoys = collections.defaultdict(dict)
    for line in open(corpus + "/decoys.tsv", encoding="utf-8"):
        f, ref, tag = line.rstrip("\n").split("\t")
        decoys[f][ref] = tag
    census = collections.Counter()
    traits = collections.defaultdict(set)
    for rows in (expected, decoys):
        for f, items in rows.items():
            for tag in items.values():
                tag, _, rest = tag.partition("+")
                if not tag.startswith("tricky:"):
                    census[("decoy:" if rows is decoys else "") + tag] += 1
                for t in rest.split("+") if rest else ():
                    if t != "continued":
                        traits[t].add(f)
    print("corpus: " + ", ".join("%s files %d" % (t, len(fs))
                                 for t, fs in sorted(traits.items())))
    print("  generated references and decoys by construct: " + ", ".join(
        "%s %d" % kv for kv in sorted(census.items())))
    s_refs, s_bad = load_refs(spath)
    a_refs, a_bad = load_refs(apath)

    causes = collections.Counter()
    cause_files = collections.defaultdict(set)
    samples = collections.defaultdict(list)
    cause_traits = collections.defaultdict(collections.Counter)
    differ = 0
    s_ok = a_ok = 0
    for f in files:
        s, a, e = s_refs[f], a_refs[f], set(expected[f])
        s_ok += s == e
        a_ok += a == e
        if s == a:
            if s != e:
                key = ("both", "oracle differs")
                causes[key] += 1
                cause_files[key].add(f)
                samples[key].append(f)
            continue
        differ += 1
        for item in sorted(s ^ a):
            side = "strata" if item in s else "dockerfile-ast"
            other = "dockerfile-ast" if side == "strata" else "strata"
            if item in e:
                tag, right = expected[f][item], side
            elif item[1] in decoys[f]:
                tag, right = "decoy:" + decoys[f][item[1]], other
            else:
                tag, right = "unexpected %s" % item[0], other
            # The construct is the cause; file-wide traits (crlf, bom,
            # escape, a continued FROM) are counted beside it.
            tag, _, traits = tag.partition("+")
            key = (tag, right)
            for t in traits.split("+") if traits else ():
                cause_traits[key][t] += 1
            causes[key] += 1
            cause_files[key].add(f)
            if len(samples[key]) < 3 and f not in samples[key]:
                samples[key].append(f)
    n = len(files)
    print("files: %d; reference sets equal in %d, different in %d"
          % (n, n - differ, differ))
    print("usable references: strata %d, dockerfile-ast %d; unusable "
          "(unresolved or invalid): strata %d, dockerfile-ast %d"
          % (sum(len(v) for v in s_refs.values()),
             sum(len(v) for v in a_refs.values()),
             sum(s_bad.values()), sum(a_bad.values())))
    print("files matching the oracle: strata %d/%d, dockerfile-ast %d/%d"
          % (s_ok, n, a_ok, n))
    print("disagreements by cause (references, files; who the oracle "
          "says is right):")
    for key, count in sorted(causes.items(), key=lambda kv: -kv[1]):
        tag, right = key
        print("  %-36s %6d refs %6d files  right: %s"
              % (tag, count, len(cause_files[key]), right))
        if cause_traits[key]:
            print("      of which: " + ", ".join(
                "%s %d" % kv for kv in sorted(cause_traits[key].items())))
        for f in samples[key][:3]:
            print("      e.g. %s" % f)


if __name__ == "__main__":
    main()
