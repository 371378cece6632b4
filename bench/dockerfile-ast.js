// dockerfile-ast.js - bench/dockerfile-ast.sh's ecosystem side: parses
// every Dockerfile named in a list file (one path a line) with the npm
// package dockerfile-ast in one process and prints its external image
// references as FILE<TAB>LINE<TAB>KIND<TAB>REF, the form bench-dfparse
// prints, so the two outputs compare line for line.
//
//   NODE_PATH=DIR/node_modules node bench/dockerfile-ast.js LIST > OUT
//
// What comes from dockerfile-ast: the instructions (lexing, continuations,
// comments, heredocs, the escape directive), FROM's image argument with
// its flags removed and its ARG references resolved as the package
// resolves them (From.getExpandedArguments(), which looks FROM variables
// up in the ARGs before the first FROM), the AS name (getBuildStage()),
// COPY's --from flag (getFlags()) and RUN's --mount flags with their
// comma-separated options (Flag.getOption('from')).
//
// What this script adds, as a caller must (the package has no notion of
// it): which names are stages (an AS name of an earlier FROM for FROM, of
// any FROM for --from and from=, compared lowercased; a number in
// --from or from= is a stage index), "scratch", and the normalisation of an image reference to the canonical
// form Docker's reference grammar gives (docker.io, library/, :latest,
// index.docker.io as docker.io). A reference that is left with a '$' or
// does not match the grammar prints as "!" followed by its text.
'use strict';

const fs = require('fs');
const { DockerfileParser } = require('dockerfile-ast');

// Docker's reference grammar (distribution/reference), written out.
const ALNUM = '[a-z0-9]+';
const SEP = '(?:[._]|__|[-]+)';
const COMPONENT = ALNUM + '(?:' + SEP + ALNUM + ')*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const HOST = '(?:' + DOMAIN_COMPONENT + '(?:\\.' + DOMAIN_COMPONENT + ')*|' +
    IPV6 + ')';
const DOMAIN = HOST + '(?::[0-9]+)?';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:' +
    '[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp('^((?:' + DOMAIN + '/)?' + COMPONENT + '(?:/' +
    COMPONENT + ')*)(?::(' + TAG + '))?(?:@(' + DIGEST + '))?$');

// The canonical form of s, or null when it is not a valid reference.
function canonical(s) {
  if (/^[a-f0-9]{64}$/.test(s))
    return null; // an image ID, not a name
  let domain = 'docker.io';
  let rest = s;
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const first = s.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' ||
        first.toLowerCase() !== first) {
      domain = first;
      rest = s.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io')
    domain = 'docker.io';
  if (domain === 'docker.io' && !/^[^:@]*\//.test(rest))
    rest = 'library/' + rest;
  const m = REFERENCE.exec(domain + '/' + rest);
  if (m === null || m[1].length > 255)
    return null;
  const digest = m[3];
  if (digest !== undefined) {
    const [alg, hex] = digest.split(':');
    if (alg === 'sha256' && !/^[a-f0-9]{64}$/.test(hex))
      return null;
    if (alg === 'sha512' && !/^[a-f0-9]{128}$/.test(hex))
      return null;
  }
  let out = m[1];
  if (m[2] !== undefined)
    out += ':' + m[2];
  if (digest !== undefined)
    out += '@' + digest;
  else if (m[2] === undefined)
    out += ':latest';
  return out;
}

function parseFile(path, out) {
  const content = fs.readFileSync(path, 'utf8');
  const df = DockerfileParser.parse(content);
  const froms = df.getFROMs();
  const names = froms.map((f) => {
    const s = f.getBuildStage();
    return s === null ? null : s.toLowerCase();
  });
  let n = 0;
  const emit = (line, kind, text) => {
    const c = text.indexOf('$') >= 0 ? null : canonical(text);
    out.push(path + '\t' + line + '\t' + kind + '\t' +
             (c === null ? '!' + text : c));
    n++;
  };
  const isStage = (v, before) => {
    const l = v.toLowerCase();
    for (let i = 0; i < before; i++)
      if (names[i] === l)
        return true;
    return false;
  };
  // --from and from=: any stage, or a number (an index, or an error:
  // never an image).
  const isSource = (v) => isStage(v, froms.length) || /^[0-9]+$/.test(v);
  froms.forEach((f, i) => {
    const args = f.getExpandedArguments();
    if (args.length === 0)
      return;
    const text = args[0].getValue();
    if (text === 'scratch' || isStage(text, i))
      return;
    emit(args[0].getRange().start.line + 1, 'from', text);
  });
  for (const ins of df.getInstructions()) {
    const kw = ins.getKeyword();
    if (kw === 'COPY') {
      // Not getFromFlag(): it answers only when --from is COPY's sole
      // flag, and misses COPY --link --from=x.
      for (const flag of ins.getFlags()) {
        const v = flag.getName() === 'from' ? flag.getValue() : null;
        if (v && !isSource(v))
          emit(flag.getRange().start.line + 1, 'copy-from', v);
      }
    } else if (kw === 'RUN') {
      for (const flag of ins.getFlags()) {
        if (flag.getName() !== 'mount')
          continue;
        const opt = flag.getOption('from');
        const v = opt === null ? null : opt.getValue();
        if (v && !isSource(v))
          emit(flag.getRange().start.line + 1, 'mount-from', v);
      }
    }
  }
  return n;
}

function main() {
  const list = fs.readFileSync(process.argv[2], 'utf8').split('\n')
      .filter((l) => l !== '');
  const t0 = process.hrtime.bigint();
  let refs = 0;
  let failed = 0;
  let out = [];
  for (const path of list) {
    try {
      refs += parseFile(path, out);
    } catch (e) {
      failed++;
      out.push(path + '\t0\tfile\t!' + String(e).split('\n')[0]);
    }
    if (out.length > 4096) {
      fs.writeSync(1, out.join('\n') + '\n');
      out = [];
    }
  }
  if (out.length > 0)
    fs.writeSync(1, out.join('\n') + '\n');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stderr.write('dockerfile-ast: ' + list.length + ' files (' +
      failed + ' failed), ' + refs + ' references, parse loop ' +
      ms.toFixed(0) + ' ms, peak RSS ' +
      Math.round(process.resourceUsage().maxRSS) + ' KB\n');
}

main();
