import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * Runs `body` in a child Node process with the app's logger (src/common/logging.ts compiled on the fly with SWC, as
 * jest does) bound to `logger`, and returns what reached its standard output.
 */
function runLogging(flushIntervalMs: number, body: string): { lines: string[]; status: number | null } {
  const script = `
    const swc = require('@swc/core');
    require.extensions['.ts'] = (module, filename) => {
      const { code } = swc.transformFileSync(filename, {
        swcrc: false,
        module: { type: 'commonjs' },
        jsc: { target: 'es2022', parser: { syntax: 'typescript', decorators: true } },
      });
      module._compile(code, filename);
    };
    const pino = require('pino');
    const { loggerOptions } = require(${JSON.stringify(join(ROOT, 'src', 'common', 'logging.ts'))});
    const [options, destination] = loggerOptions('info', ${flushIntervalMs}).pinoHttp;
    const logger = pino(options, destination);
    ${body}
  `;
  const child = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return { lines: child.stdout.split('\n').filter(Boolean), status: child.status };
}

const messages = (lines: string[]) => lines.map((line) => (JSON.parse(line) as { msg: string }).msg);

describe('the log destination', () => {
  it('gathers lines and still writes every one, whole, when the process ends normally', () => {
    const { lines, status } = runLogging(100, `for (let i = 0; i < 500; i++) logger.info('line ' + i);`);
    expect(status).toBe(0);
    expect(messages(lines)).toEqual(Array.from({ length: 500 }, (_, i) => `line ${i}`));
  });

  it('writes the waiting lines when an uncaught error ends the process', () => {
    const { lines, status } = runLogging(10_000, `logger.info('before the crash'); setTimeout(() => { throw new Error('boom'); }, 10);`);
    expect(status).not.toBe(0);
    expect(messages(lines)).toEqual(['before the crash']);
  });

  it('writes what waits within the flush interval while the process keeps running', () => {
    const { lines } = runLogging(
      50,
      `logger.info('early'); setTimeout(() => { require('fs').writeSync(1, JSON.stringify({ msg: 'probe' }) + '\\n'); process.exit(0); }, 500);`,
    );
    // 'early' was written by the periodic flush before the probe, not by the exit.
    expect(messages(lines)).toEqual(['early', 'probe']);
  });

  it('with 0, writes each line at once', () => {
    const { lines } = runLogging(
      0,
      `logger.info('first'); require('fs').writeSync(1, JSON.stringify({ msg: 'probe' }) + '\\n'); process.exit(0);`,
    );
    expect(messages(lines)).toEqual(['first', 'probe']);
  });
});
