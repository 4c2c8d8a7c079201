// The whole platform for a browser test, started from the built binaries exactly as
// deploy/local/run.sh starts them: the programme and metrics command services, the read
// side and kam-board, on ephemeral ports, against the broker in KAM_KAFKA_BROKERS (or a
// private one started with deploy/kafka/broker.sh), with its own topic prefix, tokens and
// data directory. The demo programme is loaded through the public API (kamctl demo).
//
//   const stack = await startStack({ demo: true });
//   stack.boardUrl, stack.tokens.board, stack.kamctl(['nominate', ...], 'kam')
//   await stack.stop();
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const bin = process.env.KAM_BINARY_DIR || path.join(root, 'build/bin');

async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// Starts one binary; resolves with its port once its log says it is serving.
function startBinary(name, args, logFile) {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(path.join(bin, name), args, { stdio: ['ignore', out, out] });
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 90_000;
    const timer = setInterval(() => {
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
      const m = log.match(/serving.* on (?:port |http:\/\/127\.0\.0\.1:)(\d+)/);
      if (m) {
        clearInterval(timer);
        resolve({ child, port: Number(m[1]) });
      } else if (child.exitCode !== null || Date.now() > deadline) {
        clearInterval(timer);
        child.kill('SIGKILL');
        reject(new Error(`${name} did not start; its log:\n${log.slice(-3000)}`));
      }
    }, 100);
  });
}

export async function startStack({ demo = true } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kam-browser-'));
  const prefix = `b${randomBytes(4).toString('hex')}-`;
  const cleanup = [];
  let brokers = process.env.KAM_KAFKA_BROKERS;
  if (!brokers) {
    const port = await freePort();
    const { stdout } = await exec(path.join(root, 'deploy/kafka/broker.sh'),
      ['start', '--dir', path.join(dir, 'kafka'), '--port', String(port)], { timeout: 180_000 });
    brokers = stdout.trim();
    cleanup.push(() => exec(path.join(root, 'deploy/kafka/broker.sh'),
      ['stop', '--dir', path.join(dir, 'kafka')]).catch(() => {}));
  }
  // One token per role; principals match what the demo registers as people.
  const roles = ['admin', 'champion', 'kam', 'sponsor', 'board', 'publisher'];
  const tokens = {};
  const lines = ['# token principal role - browser test tokens'];
  for (const role of roles) {
    tokens[role] = randomBytes(18).toString('base64url');
    const principal = role === 'publisher' ? 'erp@supplier.example' : `${role}@supplier.example`;
    lines.push(`${tokens[role]} ${principal} ${role}`);
  }
  const tokensFile = path.join(dir, 'tokens');
  fs.writeFileSync(tokensFile, lines.join('\n') + '\n', { mode: 0o600 });

  const children = [];
  const common = ['--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', '--brokers',
    brokers, '--tokens', tokensFile, '--topic-prefix', prefix, '--kafka-replication-factor', '1',
    // Personal data sealed as in production: the dashboard shows names opened by the read side.
    '--key-dir', path.join(dir, 'keys')];
  const log = (name) => path.join(dir, `${name}.log`);
  try {
    // The demo loads over gRPC: no inbound topic is read.
    const writer = [...common, '--inbound', 'false'];
    const programme = await startBinary('kam-programme-service', writer, log('programme'));
    children.push(programme.child);
    const metrics = await startBinary('kam-metrics-service', writer, log('metrics'));
    children.push(metrics.child);
    const queries = await startBinary('kam-history-projection',
      [...common, '--data-dir', path.join(dir, 'history')], log('queries'));
    children.push(queries.child);
    const board = await startBinary('kam-board', ['--listen', '127.0.0.1:0', '--metrics-listen',
      '127.0.0.1:0', '--queries', `127.0.0.1:${queries.port}`, '--web-root',
      path.join(root, 'build/web')], log('board'));
    children.push(board.child);

    const stack = {
      dir, prefix, brokers, tokens, tokensFile,
      boardUrl: `http://127.0.0.1:${board.port}`,
      ports: { commands: programme.port, metrics: metrics.port, queries: queries.port,
        board: board.port },
      // Runs kamctl as `role` (the token travels in the environment, never in argv).
      async kamctl(args, role = 'admin') {
        const { stdout } = await exec(path.join(bin, 'kamctl'), [
          '--commands', `127.0.0.1:${programme.port}`, '--metrics', `127.0.0.1:${metrics.port}`,
          '--queries', `127.0.0.1:${queries.port}`, ...args],
        { env: { ...process.env, KAM_TOKEN: tokens[role] }, timeout: 120_000 });
        return stdout;
      },
      async stop() {
        for (const c of children.reverse()) c.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 500));
        for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
        for (const f of cleanup) await f();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    if (demo) await stack.kamctl(['demo', '--tokens-file', tokensFile]);
    return stack;
  } catch (e) {
    for (const c of children) c.kill('SIGKILL');
    for (const f of cleanup) await f();
    throw e;
  }
}
