#!/usr/bin/env node
// `npm run test:model -- --runs N [--seed S --path P]`: jest refuses flags it does not know, so this wrapper turns them
// into MODEL_RUNS / MODEL_SEED / MODEL_PATH (read by test/model/*.model-spec.ts) and runs jest's `model` project.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const env = { ...process.env };
const passthrough = [];
const flags = { '--runs': 'MODEL_RUNS', '--steps': 'MODEL_STEPS', '--seed': 'MODEL_SEED', '--path': 'MODEL_PATH' };
for (let i = 0; i < args.length; i++) {
  const [flag, inline] = args[i].split('=', 2);
  if (flag in flags) {
    const value = inline ?? args[++i];
    if (value === undefined) {
      console.error(`${flag} needs a value`);
      process.exit(2);
    }
    env[flags[flag]] = value;
  } else passthrough.push(args[i]);
}
const jest = spawnSync(process.execPath, ['node_modules/jest/bin/jest.js', '--runInBand', '--selectProjects', 'model', ...passthrough], {
  stdio: 'inherit',
  env,
});
process.exit(jest.status ?? 1);
