// The client matrix's scripted session for Node clients, against `numpool serve --demo`: the same
// steps as clients.py.
//
//   node clients.js LIB MODE PORT RUN
//
// LIB is redis6, redis4 (node-redis), ioredis6 or ioredis5 (the aliases in
// .ci/clients/package.json); MODE is `default` (host, port and credentials only) or `resp2` (the
// client's RESP2 setting); RUN makes this run's recipients its own. Every reply is compared
// exactly; exits non-zero on the first mismatch.
'use strict';
const path = require('path');
const { createRequire } = require('module');
const { isDeepStrictEqual } = require('util');

const [lib, mode, portArg, runArg] = process.argv.slice(2);
const port = Number(portArg);
const run = Number(runArg);
if (!['default', 'resp2'].includes(mode)) throw new Error(`mode ${mode}`);
const KEY = 'demo0001';
const SECRET = 'demo-secret';
const need = createRequire(path.join(__dirname, '..', 'clients', 'package.json'));
const version = need(`${lib}/package.json`).version;
const major = Number(version.split('.')[0]);

const UK = new Set(['447700900001', '447700900002', '447700900003']);
const ALL = new Set([...UK, '14155550101', '14155550102', '12125550101', '12125550102',
  '4915112345001', '4915112345002', '33612345001', '61412345001', '14165550101']);

function step(name) { console.log(`  ${name}`); }
function fail(msg) { console.log(`FAIL ${msg}`); process.exit(1); }
function eq(got, want, what) {
  if (!isDeepStrictEqual(got, want)) {
    fail(`${what}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
}
const pad = (n, w) => String(n).padStart(w, '0');

// ---------------------------------------------------------------------------------------------
// Adapters: connect / cmd / pipeline / reconnect / close, and which errors are the server's.

// The first 'error' event of `emitter` as a rejected promise (later ones are ignored).
function firstError(emitter) {
  return new Promise((_, reject) => {
    emitter.on('error', (e) => reject(e));
  });
}

function nodeRedis() {
  const redis = need(lib);
  const options = (username, password) => {
    const o = { socket: { host: '127.0.0.1', port } };
    if (password !== null) Object.assign(o, { username, password });
    // node-redis 4 has no protocol option (RESP2 only); 6 defaults to RESP3.
    if (mode === 'resp2') o.RESP = 2;
    return o;
  };
  return {
    hasResp2Setting: major >= 5,
    defaultProto: major >= 6 ? 3 : 2,
    async connect(username = KEY, password = SECRET) {
      const c = redis.createClient(options(username, password));
      // A failed handshake (WRONGPASS) does not reject connect(): node-redis emits 'error' and
      // retries with its default reconnect strategy. The first 'error' is the failure.
      const failed = firstError(c);
      try {
        await Promise.race([c.connect(), failed]);
      } catch (e) {
        await this.close(c);
        throw e;
      }
      return c;
    },
    cmd: (c, ...args) => c.sendCommand(args),
    async pipeline(c, commands) {
      // node-redis pipelines the commands sent in one tick (its documented auto-pipelining);
      // multi().execAsPipeline() would reject on the first error instead of keeping its place.
      const settled = await Promise.allSettled(commands.map((args) => c.sendCommand(args)));
      return settled.map((x) => (x.status === 'fulfilled' ? x.value : x.reason));
    },
    async reconnect(c) {
      // Drops the socket; connect() on the same client runs its handshake again.
      if (major >= 5) c.destroy(); else await c.disconnect();
      await c.connect();
      return c;
    },
    async close(c) {
      try {
        if (major >= 5) c.destroy(); else await c.disconnect();
      } catch (_) { /* already closed */ }
    },
    errorText: (e) => (e instanceof redis.ErrorReply ? e.message : null),
  };
}

function ioredis() {
  const Redis = need(lib);
  return {
    hasResp2Setting: major >= 6,
    defaultProto: major >= 6 ? 3 : 2,
    // ioredis 6 keeps RESP2 shapes unless replyMapping: 'resp3' is set: maps come flat.
    flattensMaps: true,
    async connect(username = KEY, password = SECRET) {
      const o = { host: '127.0.0.1', port, lazyConnect: true };
      if (password !== null) Object.assign(o, { username, password });
      if (mode === 'resp2') o.protocol = 2;
      const c = new Redis(o);
      // A failed handshake (WRONGPASS on HELLO/AUTH, NOAUTH on the ready check's INFO) rejects
      // connect() with "Connection is closed."; the server's error is the 'error' event.
      let handshakeError = null;
      c.on('error', (e) => { handshakeError = handshakeError || e; });
      try {
        await c.connect();
      } catch (e) {
        c.disconnect();
        throw handshakeError || e;
      }
      return c;
    },
    cmd: (c, name, ...args) => c.call(name, ...args),
    async pipeline(c, commands) {
      const p = c.pipeline();
      for (const [name, ...args] of commands) p.call(name, ...args);
      return (await p.exec()).map(([err, reply]) => err || reply);
    },
    async reconnect(c) {
      // disconnect(true) drops the socket and lets ioredis reconnect (handshake included).
      await new Promise((resolve) => { c.once('ready', resolve); c.disconnect(true); });
      return c;
    },
    async close(c) { c.disconnect(); },
    errorText: (e) => (e instanceof Error && e.name === 'ReplyError' ? e.message : null),
  };
}

const client = lib.startsWith('ioredis') ? ioredis() : nodeRedis();

async function expectError(fn, want, what) {
  let got;
  try {
    got = await fn();
  } catch (e) {
    const text = client.errorText(e);
    if (text === null) fail(`${what}: want server error ${JSON.stringify(want)}, got ${e && e.constructor.name}: ${e && e.message}`);
    if (text !== want) fail(`${what}: want ${JSON.stringify(want)}, got ${JSON.stringify(text)}`);
    return;
  }
  fail(`${what}: want error ${JSON.stringify(want)}, got reply ${JSON.stringify(got)}`);
}

function checkPipelineError(v, want, what) {
  const text = client.errorText(v);
  if (text !== want) fail(`${what}: want ${JSON.stringify(want)}, got ${v && v.constructor.name}: ${JSON.stringify(v)}`);
}

async function connectAndRun(username, password, ...args) {
  const c = await client.connect(username, password);
  try {
    return await client.cmd(c, ...args);
  } finally {
    await client.close(c);
  }
}

const protoOf = (info) => Number(String(info).split('resp=')[1].split(/\s/)[0]);

async function main() {
  if (mode === 'resp2' && !client.hasResp2Setting) {
    console.log(`${lib} ${version} resp2: no protocol setting (RESP2 only): same as default`);
  }
  const expectProto = mode === 'resp2' ? 2 : client.defaultProto;
  console.log(`${lib} ${version} ${mode}: expects RESP${expectProto}`);
  const uk = `+44740010${pad(run, 4)}`;
  const us = `+1415555${pad(run, 4)}`;
  const fr = `+3361234${pad(run, 4)}`;
  const jp = `+8190123${pad(run, 5)}`;

  step("auth (the client's own handshake)");
  let r = await client.connect();
  eq(await client.cmd(r, 'PING'), 'PONG', 'PING');
  eq(await client.cmd(r, 'ECHO', 'hello'), 'hello', 'ECHO');
  const info = await client.cmd(r, 'CLIENT', 'INFO');
  const proto = protoOf(info);
  eq(proto, expectProto, `negotiated protocol (CLIENT INFO ${JSON.stringify(info)})`);
  const firstId = await client.cmd(r, 'CLIENT', 'ID');
  eq(typeof firstId, 'number', 'CLIENT ID is an integer');

  step('a pick in each fallback');
  const [sender, reason] = await client.cmd(r, 'PICK', 'demo', uk, 'WITHREASON');
  eq([UK.has(sender), reason], [true, 'country'], `PICK demo ${uk} WITHREASON -> ${sender}`);
  eq(await client.cmd(r, 'PICK', 'demo', uk, 'WITHREASON'), [sender, 'sticky'], 'second pick is sticky');
  eq(await client.cmd(r, 'PICK', 'demo', us, 'NETWORK', '311480', 'WITHREASON'), ['14155550102', 'area'], 'area pick');
  const [anySender, anyReason] = await client.cmd(r, 'PICK', 'demo', jp, 'WITHREASON');
  eq([ALL.has(anySender), anyReason], [true, 'any'], 'Pool fallback');
  await expectError(() => client.cmd(r, 'PICK', 'strict', fr), 'REJECTED no number for country FR', 'Reject fallback');
  eq(await client.cmd(r, 'PICK', 'brand', fr, 'WITHREASON'), ['Numpool', 'custom_from'], 'CustomFrom fallback');
  eq(await client.cmd(r, 'PICK', 'brand', fr, 'FROM', 'Acme'), 'Acme', 'CustomFrom with FROM');
  for (const which of ['first', 'second']) {
    const [s, why] = await client.cmd(r, 'PICK', 'random', uk, 'WITHREASON');
    eq([UK.has(s), why], [true, 'country'], `random pool (not sticky) ${which} pick`);
  }
  const withinfo = await client.cmd(r, 'PICK', 'demo', uk, 'WITHINFO');
  if (proto === 3 && !client.flattensMaps) {
    eq(withinfo, { sender, reason: 'sticky', wait_ms: 0 }, 'WITHINFO (RESP3 map)');
  } else {
    eq(withinfo, ['sender', sender, 'reason', 'sticky', 'wait_ms', 0], 'WITHINFO (flat array)');
  }

  step('sticky get/del');
  eq(await client.cmd(r, 'STICKY.GET', 'demo', uk), sender, 'STICKY.GET');
  eq(await client.cmd(r, 'STICKY.DEL', 'demo', uk), 1, 'STICKY.DEL');
  eq(await client.cmd(r, 'STICKY.GET', 'demo', uk), null, 'STICKY.GET after DEL (nil)');
  eq(await client.cmd(r, 'STICKY.DEL', 'demo', uk), 0, 'STICKY.DEL again');
  eq(await client.cmd(r, 'CLIENT', 'GETNAME'), null, 'CLIENT GETNAME (nil)');
  const serverInfo = String(await client.cmd(r, 'INFO', 'server'));
  eq(serverInfo.includes('redis_version:7.2.0'), true, `INFO server: ${JSON.stringify(serverInfo)}`);

  step('an error of each kind');
  await expectError(() => client.cmd(r, 'PICK', 'nope', uk), "NOPOOL pool 'nope' not found", 'unknown pool');
  await expectError(() => client.cmd(r, 'PICK', 'demo', '12ab'), "ERR invalid recipient '12ab'", 'bad recipient');
  await expectError(() => client.cmd(r, 'PICK', 'brand', fr, 'FROM', 'much-too-long-sender'),
    "ERR invalid sender 'much-too-long-sender'", 'bad FROM');
  await expectError(() => client.cmd(r, 'PICK', 'demo'), "ERR wrong number of arguments for 'pick' command", 'wrong arity');
  await expectError(() => client.cmd(r, 'PICK', 'demo', uk, 'BOGUS'), 'ERR syntax error', 'unknown option');
  await expectError(() => client.cmd(r, 'FROBNICATE', 'x'), "ERR unknown command 'FROBNICATE'", 'unknown command');
  await expectError(() => client.cmd(r, 'SELECT', '1'), 'ERR DB index is out of range', 'SELECT 1');
  eq(await client.cmd(r, 'PING'), 'PONG', 'connection still usable');
  await expectError(() => connectAndRun(null, null, 'PICK', 'demo', uk),
    'NOAUTH Authentication required.', 'no credentials');
  await expectError(() => connectAndRun(KEY, 'wrong-secret', 'PING'),
    'WRONGPASS invalid username-password pair or user is disabled.', 'wrong secret');

  step('a pipeline of 100');
  const tos = Array.from({ length: 100 }, (_, i) => `+447922${pad(run, 3)}${pad(i, 3)}`);
  const senders = await client.pipeline(r, tos.map((to) => ['PICK', 'demo', to]));
  eq(senders.length, 100, 'pipeline length');
  eq(senders.filter((s) => !UK.has(s)), [], 'pipeline senders all UK');
  const again = await client.pipeline(r, [
    ...tos.slice(0, 49).map((to) => ['PICK', 'demo', to, 'WITHREASON']),
    ['PICK', 'strict', fr],
    ...tos.slice(50).map((to) => ['PICK', 'demo', to, 'WITHREASON']),
  ]);
  eq(again.length, 100, 'second pipeline length');
  checkPipelineError(again[49], 'REJECTED no number for country FR', 'pipeline error in place');
  eq(again.filter((_, i) => i !== 49), senders.filter((_, i) => i !== 49).map((s) => [s, 'sticky']),
    'pipeline sticky replies in order');

  step('reconnect');
  r = await client.reconnect(r);
  eq(await client.cmd(r, 'PICK', 'demo', tos[0], 'WITHREASON'), [senders[0], 'sticky'], 'sticky after reconnect');
  eq(protoOf(await client.cmd(r, 'CLIENT', 'INFO')), expectProto, 'protocol after reconnect');
  eq((await client.cmd(r, 'CLIENT', 'ID')) !== firstId, true, 'a new connection after reconnect');
  await client.close(r);
  console.log(`${lib} ${version} ${mode}: session ok (RESP${proto})`);
}

main().catch((e) => { console.log(`FAIL ${e && e.stack}`); process.exit(1); });
