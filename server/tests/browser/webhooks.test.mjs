// Interop proof of the completion events (issue 17, spec decision 20): the events the server
// really sends to a loopback receiver (a `link_session.completed` per completion through the
// admin route, and a `link_session.expired` for a session left pending, with --clock-speed)
// verify with the independent Standard Webhooks packages: npm `standardwebhooks` (pinned in
// package.json and package-lock.json) here, and PyPI `standardwebhooks` (pinned in
// requirements.txt, installed by run.sh into .venv) through verify_webhooks.py. A changed body
// and a wrong secret are refused by both, so the check can fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const serverBin = process.env.NOX_SERVER_BIN || join(root, 'target', 'debug', 'nox-authenticator-server');
const python = process.env.NOX_INTEROP_PYTHON || join(here, '.venv', 'bin', 'python');
// 32 bytes, base64: the shape of decision 20.
const SECRET = 'whsec_' + Buffer.from('nox interop secret: 32 bytes....').toString('base64');
const WRONG = 'whsec_' + Buffer.from('nox interop secret: the wrong 1.').toString('base64');
const KEY = 'interop-supplier-key';

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const logs = [];
const received = []; // { headers, body: Buffer }
let receiver, server, base, admin;

before(async () => {
  const [receiverPort, port, adminPort] = await Promise.all([0, 0, 0].map(() => freePort()));
  receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: { ...req.headers }, body: Buffer.concat(chunks) });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise((r) => receiver.listen(receiverPort, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'nox-interop-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({
    suppliers: [{
      id: 'supplier_123', name: 'Acme Energy', api_key: KEY, redirect_urls: ['https://acme.example/cb'],
      webhook: { url: `http://127.0.0.1:${receiverPort}/nox-events`, secret: SECRET },
    }],
  }));
  base = `http://127.0.0.1:${port}`;
  admin = `http://127.0.0.1:${adminPort}`;
  // 600x: a session expires 1 s after it is created, so its expiry event comes within seconds.
  server = spawn(serverBin, ['--config', config, '--store', 'memory', '--clock-speed', '600',
    '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr.on('data', (d) => logs.push(d.toString()));
  await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => { out += d; if (out.includes('admin listening')) resolve(); });
    server.on('exit', (code) => reject(new Error(`server exited ${code}: ${logs.join('')}`)));
    server.on('error', (error) => reject(new Error(`cannot start ${serverBin}: ${error.message}`)));
  });
});

after(() => {
  server?.kill('SIGKILL');
  receiver?.close();
});

async function create() {
  const res = await fetch(`${base}/v2/supplier/link-sessions`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'u1', redirect_url: 'https://acme.example/cb', asset_type: 'hp' }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).link_token;
}

async function waitFor(what, check, ms = 30000) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}; got ${received.length}: ${logs.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the events the server sends verify with npm and PyPI standardwebhooks', async () => {
  const completed = [];
  for (let i = 0; i < 3; i++) {
    const token = await create();
    const res = await fetch(`${admin}/admin/link-sessions/${token}/complete`, { method: 'POST' });
    assert.equal(res.status, 200, await res.text());
    completed.push(token);
  }
  const expired = await create(); // left pending: expires 1 s later (at 600x)
  const expected = new Map([...completed.map((t) => [t, 'link_session.completed']), [expired, 'link_session.expired']]);
  await waitFor('four events', () => received.length >= 4);
  await new Promise((r) => setTimeout(r, 500)); // nothing more arrives (no duplicate)
  assert.equal(received.length, 4);
  assert.equal(new Set(received.map((r) => r.headers['webhook-id'])).size, 4, 'one webhook-id per event');

  // npm standardwebhooks.
  const hook = new Webhook(SECRET);
  const seen = new Map();
  for (const { headers, body } of received) {
    const event = hook.verify(body, headers);
    seen.set(event.data.session.link_token, event.type);
    assert.equal(event.data.kind, 'v2_supplier');
  }
  assert.deepEqual(seen, expected);
  const tampered = { headers: received[0].headers, body: Buffer.from(received[0].body) };
  tampered.body[tampered.body.length - 2] ^= 1;
  assert.throws(() => hook.verify(tampered.body, tampered.headers), /signature/i);
  assert.throws(() => new Webhook(WRONG).verify(received[0].body, received[0].headers), /signature/i);

  // PyPI standardwebhooks, on the same requests (and the tampered one).
  const dir = mkdtempSync(join(tmpdir(), 'nox-interop-py-'));
  const file = join(dir, 'deliveries.json');
  const deliveries = [...received, tampered].map(({ headers, body }) => ({
    headers: {
      'webhook-id': headers['webhook-id'],
      'webhook-timestamp': headers['webhook-timestamp'],
      'webhook-signature': headers['webhook-signature'],
    },
    body_base64: body.toString('base64'),
  }));
  writeFileSync(file, JSON.stringify({ secret: SECRET, deliveries }));
  const lines = execFileSync(python, [join(here, 'verify_webhooks.py'), file], { encoding: 'utf8' })
    .trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 5);
  const pySeen = new Map(lines.slice(0, 4).map((l) => {
    assert.equal(l.ok, true, JSON.stringify(l));
    return [l.token, l.type];
  }));
  assert.deepEqual(pySeen, expected);
  assert.equal(lines[4].ok, false, 'PyPI refuses a changed body');
  writeFileSync(file, JSON.stringify({ secret: WRONG, deliveries: deliveries.slice(0, 1) }));
  const wrong = JSON.parse(execFileSync(python, [join(here, 'verify_webhooks.py'), file], { encoding: 'utf8' }).trim());
  assert.equal(wrong.ok, false, 'PyPI refuses a wrong secret');
  console.log(`interop: ${received.length} events the server sent verified by npm standardwebhooks and PyPI standardwebhooks`);
});
