#!/usr/bin/env node
// Checks the rules the code's shape depends on, from the import statements of src/ (run by `npm run lint`):
//   - no import cycle between top-level folders of src/ (a folder may import itself freely);
//   - the dependency directions docs/architecture.md draws: common/ and mpesa/ import none of our feature folders,
//     payments/ never imports payouts/, the simulator imports nothing outside mpesa/, common/ and config/;
//   - reconciliation/ is imported by nothing but app.module.ts and the retention CLI, and writes money only through payments/;
//   - bills/ imports no money module (payments/ counts payments toward bills through bills/' BillLedger);
//   - c2b/ is imported by nothing but app.module.ts and its CLI (it hands money to payments/' IncomingPayments).
// Prints every violation with the file and the import, and exits 1 when there is one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/** Folder (or file) under src/ → the folders it may import besides itself. Leaves: config, database. */
const FORBIDDEN = [
  { from: 'common', to: (t) => !['common', 'config'].includes(t), why: 'common/ imports none of our modules' },
  { from: 'config', to: (t) => t !== 'config', why: 'config/ is the bottom layer' },
  { from: 'database', to: (t) => !['database', 'config'].includes(t), why: 'database/ knows no feature module' },
  {
    from: 'mpesa',
    to: (t) => !['mpesa', 'common', 'config'].includes(t),
    why: 'mpesa/ is the Daraja layer: it imports none of our modules',
  },
  { from: 'payments', to: (t) => t === 'payouts', why: 'payments/ never imports payouts/ (money out depends on money in)' },
  {
    from: 'reconciliation',
    to: (t) => ['payouts', 'treasury', 'bills', 'c2b'].includes(t),
    why: "reconciliation/ records money only through payments/' IncomingPayments, and reads payouts and reversals with read-only SQL",
  },
  {
    from: 'bills',
    to: (t) => ['payments', 'payouts', 'treasury', 'c2b', 'reconciliation', 'reviews', 'privacy'].includes(t),
    why: 'bills/ imports no money module: payments/ depends on bills/ (BillLedger), never the other way',
  },
];

/**
 * Folders that only the composition root (app.module.ts), and the CLIs listed, import: they sit on top, nothing
 * depends on them.
 */
const TOP_LEVEL = [
  {
    folder: 'reconciliation',
    alsoBy: ['cli'],
    why: 'reconciliation/ sits above the money modules: none imports it (it registers its own review resolver and personal-data holder); the retention CLI imports its holder',
  },
  { folder: 'c2b', alsoBy: ['cli'], why: 'c2b/ sits above payments/: only app.module.ts and cli/ import it' },
];

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const topOf = (path) => relative(SRC, path).split(sep)[0].replace(/\.ts$/, '');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g;

const edges = new Map(); // from -> Map(to -> example)
const problems = [];
for (const file of files(SRC)) {
  const from = topOf(file);
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(IMPORT)) {
    const target = normalize(join(dirname(file), match[1]));
    if (!target.startsWith(SRC)) continue;
    const to = topOf(target);
    if (to === from) continue;
    const where = `${relative(ROOT, file)} imports '${match[1]}'`;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from).has(to)) edges.get(from).set(to, where);
    for (const rule of FORBIDDEN) if (rule.from === from && rule.to(to)) problems.push(`${where}: ${rule.why}`);
    for (const top of TOP_LEVEL) {
      if (to === top.folder && from !== 'app.module' && !(top.alsoBy ?? []).includes(from)) problems.push(`${where}: ${top.why}`);
    }
    // The simulator stands in for Safaricom: it may use mpesa/'s wire types, common/ and config/, nothing else.
    if (file.includes(`${sep}mpesa${sep}simulator${sep}`) && !['mpesa', 'common', 'config'].includes(to)) {
      problems.push(`${where}: the simulator imports nothing outside mpesa/, common/ and config/`);
    }
  }
}

// Folder-level cycles (Tarjan's strongly connected components).
let index = 0;
const stack = [];
const state = new Map();
function visit(node) {
  state.set(node, { index, low: index, onStack: true });
  index++;
  stack.push(node);
  for (const next of edges.get(node)?.keys() ?? []) {
    if (!state.has(next)) {
      visit(next);
      state.get(node).low = Math.min(state.get(node).low, state.get(next).low);
    } else if (state.get(next).onStack) {
      state.get(node).low = Math.min(state.get(node).low, state.get(next).index);
    }
  }
  if (state.get(node).low === state.get(node).index) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      state.get(member).onStack = false;
      component.push(member);
    } while (member !== node);
    if (component.length > 1) {
      const examples = component.flatMap((a) => component.filter((b) => edges.get(a)?.has(b)).map((b) => `    ${edges.get(a).get(b)}`));
      problems.push(`import cycle between folders ${component.sort().join(', ')}:\n${examples.join('\n')}`);
    }
  }
}
for (const node of edges.keys()) if (!state.has(node)) visit(node);

if (problems.length) {
  console.error(`Architecture check: ${problems.length} problem(s)\n${problems.map((p) => `- ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`Architecture check: ${edges.size} folders, no cycle, dependency directions hold`);
