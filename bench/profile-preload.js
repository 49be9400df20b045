'use strict';
// Preloaded into the app (`node -r ./bench/profile-preload.js dist/src/main.js`) when BENCH_CPU_PROF is set.
// Node's own --cpu-prof writes nothing when Nest's shutdown hook re-raises SIGTERM, so the profile is taken with
// the inspector instead. On SIGWINCH (Nest's shutdown hooks own SIGUSR2) the profile so far is written to
// `<BENCH_CPU_PROF_FILE>.<label>.cpuprofile`, the label read from `<BENCH_CPU_PROF_FILE>.label` (a label
// starting with `-` discards it), and a new profile starts; `<BENCH_CPU_PROF_FILE>.done` is written afterwards.

const fs = require('node:fs');
const inspector = require('node:inspector');

const base = process.env.BENCH_CPU_PROF_FILE || `app-${process.pid}`;
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable', () => {
  session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start'));
});

process.on('SIGWINCH', () => {
  let label = 'profile';
  try {
    label = fs.readFileSync(`${base}.label`, 'utf8').trim() || label;
  } catch {
    /* no label */
  }
  session.post('Profiler.stop', (err, result) => {
    if (!err && !label.startsWith('-')) fs.writeFileSync(`${base}.${label}.cpuprofile`, JSON.stringify(result.profile));
    session.post('Profiler.start', () => fs.writeFileSync(`${base}.done`, err ? String(err) : 'ok'));
  });
});
