'use strict';
// Preloaded into the app (`node -r ./bench/profile-preload.js dist/src/main.js`) when BENCH_CPU_PROF is set.
// Node's own --cpu-prof writes nothing when Nest's shutdown hook re-raises SIGTERM, so the profile is taken with
// the inspector instead: started at load, written to $BENCH_CPU_PROF_FILE on SIGUSR2 (the process keeps running).

const fs = require('node:fs');
const inspector = require('node:inspector');

const session = new inspector.Session();
session.connect();
session.post('Profiler.enable', () => {
  session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start'));
});

process.on('SIGUSR2', () => {
  session.post('Profiler.stop', (err, result) => {
    const file = process.env.BENCH_CPU_PROF_FILE || `app-${process.pid}.cpuprofile`;
    if (!err) fs.writeFileSync(file, JSON.stringify(result.profile));
    fs.writeFileSync(`${file}.done`, err ? String(err) : 'ok');
  });
});
