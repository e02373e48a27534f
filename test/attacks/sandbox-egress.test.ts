/**
 * Issue 5, item 2: network deny by default. With an allowlist naming one local test host:port
 * (a server on the second loopback address 127.0.0.2), that destination works through the proxy
 * and every other destination is refused and reported for the audit log.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { EgressDenial } from '../../src/sandbox/index.ts';
import { profile, SandboxHarness } from '../sandbox/harness.ts';

let h: SandboxHarness;
let server: Server;
let port: number;
const seen: string[] = [];

before(async () => {
  h = await SandboxHarness.create({
    // Names resolve through this table, never through real DNS: deterministic and offline.
    resolve: async (host) => {
      const table: Record<string, string> = { 'api.allowed.test': '127.0.0.2', 'rebound.allowed.test': '169.254.169.254' };
      const address = table[host];
      if (address === undefined) throw new Error(`ENOTFOUND ${host}`);
      return [{ address, family: 4 }];
    },
  });
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.end(`hello from the allowed host: ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  port = (server.address() as { port: number }).port;
});
after(async () => {
  server.close();
  await h.dispose();
});

const CURL = 'curl -sS --max-time 10';

describe('sandbox egress', () => {
  it('reaches the allowlisted destination through the proxy and refuses and reports every other', {
    skip: !existsSync('/usr/bin/curl'),
  }, async () => {
    const denials: EgressDenial[] = [];
    const script = [
      `echo "A:$(${CURL} http://127.0.0.2:${port}/plain)"`,
      `echo "B:$(${CURL} --proxytunnel http://127.0.0.2:${port}/tunnel)"`,
      `echo "C:$(${CURL} -o /dev/null -w '%{http_code}' http://127.0.0.1:${port}/host-loopback)"`,
      `echo "D:$(${CURL} -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/meta-data/)"`,
      `echo "E:$(${CURL} -o /dev/null -w '%{http_code}' http://example.com/)"`,
      `echo "F:$(${CURL} --proxytunnel https://example.com/ 2>&1)"`,
      `echo "G:$(${CURL} -o /dev/null -w '%{http_code}' http://127.0.0.2:${port + 1 === 65536 ? 1 : port + 1}/other-port)"`,
      `echo "H:$(${CURL} -o /dev/null -w '%{http_code}' http://rebound.allowed.test:${port}/)"`,
      // A wildcard name resolving to a private address (DNS rebinding) is refused too.
      `echo "J:$(${CURL} -o /dev/null -w '%{http_code}' http://api.allowed.test:${port}/)"`,
      // Without the proxy there is no route at all, not even to the allowed address.
      `echo "I:$(${CURL} --noproxy '*' http://127.0.0.2:${port}/direct 2>&1)"`,
    ].join('\n');
    const egress = [`127.0.0.2:${port}`, `*.allowed.test:${port}`];
    const r = await h.sh(script, profile({ egress }), { onEgressDenied: (d) => denials.push(d) });
    assert.equal(r.exitCode, 0, r.stderr);
    const line = (tag: string) => r.stdout.split('\n').find((l) => l.startsWith(`${tag}:`)) ?? '';
    assert.equal(line('A'), 'A:hello from the allowed host: /plain');
    assert.equal(line('B'), 'B:hello from the allowed host: /tunnel');
    for (const tag of ['C', 'D', 'E', 'G', 'H', 'J']) assert.equal(line(tag), `${tag}:403`, `destination ${tag} was not refused`);
    assert.match(line('F'), /403/);
    assert.doesNotMatch(line('I'), /hello/);
    assert.deepEqual(seen.sort(), ['GET /plain', 'GET /tunnel']);
    assert.deepEqual(
      denials.map((d) => `${d.host}:${d.port} ${d.reason}`),
      [
        `127.0.0.1:${port} ip-literal-not-listed`,
        '169.254.169.254:80 ip-literal-not-listed',
        'example.com:80 not-allowlisted',
        'example.com:443 not-allowlisted',
        `127.0.0.2:${port + 1 === 65536 ? 1 : port + 1} ip-literal-not-listed`,
        `rebound.allowed.test:${port} metadata-address`,
        `api.allowed.test:${port} private-address`,
      ],
    );
  });

  it('gives a step without an allowlist no proxy, no socket and no variables', async () => {
    const r = await h.sh('env | grep -ci proxy; ls /run 2>&1; ip -o link 2>/dev/null | wc -l');
    assert.match(r.stdout, /^0\n/);
    assert.match(r.stdout, /No such file or directory/);
  });

  it('refuses a step with an allowlist when denials could not be audited', async () => {
    await assert.rejects(h.sh('true', profile({ egress: [`127.0.0.2:${port}`] })), { code: 'SANDBOX_UNAVAILABLE' });
  });
});
