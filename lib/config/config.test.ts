import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, defaultNodeName, loadConfig } from './config';
import { formatDuration, parseDuration } from './duration';
import { parseListen } from './listen';
import { tokenDigest } from '../auth/tokens';

const ctx = { baseDir: '/etc/nekoq', hostname: 'web-01.example.org' };
const load = (toml: string | undefined) => loadConfig(toml, 'test.toml', ctx);

describe('loadConfig', () => {
  it('starts on embedded defaults without a file', () => {
    const c = load(undefined);
    assert.equal(c.node.name, 'web-01');
    assert.equal(c.node.dataDir, '/etc/nekoq/data');
    assert.deepEqual(c.http.listen, { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(c.dns.listen, { host: '127.0.0.1', port: 8053 });
    assert.equal(c.dns.serviceZone, 'nekoq.internal.');
    assert.equal(c.dns.ttl, 30);
    assert.equal(c.https, undefined);
    assert.equal(c.auth.adminPasswordHash, undefined);
    assert.deepEqual(c.auth.tokens, []);
    assert.equal(c.node.shutdownTimeoutMs, 10_000);
    assert.equal(c.registry.defaultTtlSeconds, 30);
    assert.equal(c.log.level, 'info');
    assert.deepEqual(c.dns.zoneFiles, []);
    assert.equal(c.dns.ednsUdpSize, 1232);
    assert.equal(c.limits.dnsTcpIdleTimeoutMs, 10_000);
    assert.equal(c.limits.dnsTcpConnections, 1000);
    assert.equal(c.limits.httpBodyBytes, 65_536);
    assert.equal(c.rrl.enabled, true);
    assert.deepEqual(c.rrl.exempt, ['127.0.0.0/8', '::1/128']);
    assert.deepEqual(c.dns.nameserverAddresses, ['127.0.0.1']);
    assert.equal(c.kv.bootstrapPrefix, 'bootstrap/');
  });

  it('publishes no name server address for a wildcard DNS listener unless told one', () => {
    assert.deepEqual(load('[dns]\nlisten = "0.0.0.0:53"').dns.nameserverAddresses, []);
    assert.deepEqual(load('[dns]\nlisten = "[::]:53"\nnameserver_addresses = ["10.0.0.5", "fd00::5"]').dns.nameserverAddresses, ['10.0.0.5', 'fd00::5']);
    assert.throws(() => load('[dns]\nnameserver_addresses = ["ns1"]'), /dns\.nameserver_addresses\.0: must be an IPv4 or IPv6 literal/);
    assert.throws(() => load('[kv]\nbootstrap_prefix = "/abs/"'), /kv\.bootstrap_prefix/);
  });

  it('reads every section into the runtime shape and freezes it', () => {
    const c = load(`
      [node]
      name = "node-a"
      data_dir = "/var/lib/nekoq"
      shutdown_timeout = "2s"
      [http]
      listen = "[::1]:0"
      [https]
      listen = "127.0.0.1:8443"
      cert = "tls/cert.pem"
      key = "/tls/key.pem"
      [dns]
      listen = "127.0.0.1:5353"
      service_zone = "Svc.Example."
      ttl = 5
      [auth]
      admin_user = "root"
      [[auth.tokens]]
      name = "deployer"
      token = "0123456789abcdef"
      role = "register"
      [[auth.tokens]]
      name = "ops"
      token_sha256 = "${'a'.repeat(64)}"
      role = "admin"
      [registry]
      default_ttl = 10
      [log]
      level = "debug"
    `);
    assert.equal(c.node.name, 'node-a');
    assert.equal(c.node.shutdownTimeoutMs, 2000);
    assert.deepEqual(c.http.listen, { host: '::1', port: 0 });
    assert.deepEqual(c.https, { listen: { host: '127.0.0.1', port: 8443 }, certFile: '/etc/nekoq/tls/cert.pem', keyFile: '/tls/key.pem' });
    assert.equal(c.dns.serviceZone, 'svc.example.');
    assert.deepEqual(c.auth.tokens, [
      { name: 'deployer', sha256: tokenDigest('0123456789abcdef'), role: 'register' },
      { name: 'ops', sha256: 'a'.repeat(64), role: 'admin' },
    ]);
    assert.equal(c.registry.defaultTtlSeconds, 10);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.auth.tokens) && Object.isFrozen(c.http.listen));
    assert.ok(!JSON.stringify(c).includes('0123456789abcdef'), 'plain tokens are not kept');
  });

  const fails: [string, string, RegExp][] = [
    ['unknown top-level section', '[nodes]\nname = "a"', /nodes: unknown key/],
    ['unknown key in a section', '[http]\nlisten = "127.0.0.1:1"\nport = 80', /http\.port: unknown key/],
    ['listen without port', '[http]\nlisten = "127.0.0.1"', /http\.listen: .*expected "ip:port"/],
    ['listen host name', '[http]\nlisten = "localhost:80"', /http\.listen: .*not an IPv4 address/],
    ['listen port too large', '[dns]\nlisten = "127.0.0.1:65536"', /dns\.listen: .*out of range/],
    ['bad ipv6', '[dns]\nlisten = "[::g]:53"', /dns\.listen: .*not an IPv6/],
    ['wrong type', '[dns]\nttl = "30"', /dns\.ttl: /],
    ['ttl out of range', '[dns]\nttl = 100000', /dns\.ttl: /],
    ['zone without final dot', '[dns]\nservice_zone = "nekoq.internal"', /dns\.service_zone: must be an absolute domain name/],
    ['node name not a label', '[node]\nname = "Node_A"', /node\.name: must be a DNS label/],
    ['bad duration', '[node]\nshutdown_timeout = "10 seconds"', /node\.shutdown_timeout: .*not a duration/],
    ['duration too long', '[node]\nshutdown_timeout = "1h"', /node\.shutdown_timeout: .*outside/],
    ['https missing key', '[https]\nlisten = "127.0.0.1:8443"\ncert = "c.pem"', /https\.key: /],
    ['short token', '[[auth.tokens]]\nname = "x"\ntoken = "short"\nrole = "read"', /auth\.tokens\.0\.token: must be at least 16/],
    ['token and digest', `[[auth.tokens]]\nname = "x"\ntoken = "0123456789abcdef"\ntoken_sha256 = "${'b'.repeat(64)}"\nrole = "read"`, /auth\.tokens\.0: give exactly one/],
    ['unknown role', '[[auth.tokens]]\nname = "x"\ntoken = "0123456789abcdef"\nrole = "root"', /auth\.tokens\.0\.role: /],
    ['bad password hash', '[auth]\nadmin_password_hash = "plain-text"', /auth\.admin_password_hash: must be a hash/],
    ['log level', '[log]\nlevel = "trace"', /log\.level: /],
    ['default ttl 0', '[registry]\ndefault_ttl = 0', /registry\.default_ttl: /],
    ['TOML syntax error has line and column', '[node]\nname = "a"\ndata_dir = \n', /^test\.toml:3:\d+: /],
  ];
  for (const [what, toml, message] of fails) {
    it(`refuses: ${what}`, () => {
      assert.throws(
        () => load(toml),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }
});

describe('parseDuration', () => {
  const table: [string, number | undefined][] = [
    ['500ms', 500], ['10s', 10_000], ['5m', 300_000], ['1h30m', 5_400_000], ['0s', 0],
    ['', undefined], ['10', undefined], ['1.5s', undefined], ['10 s', undefined], ['-1s', undefined], ['1d', undefined], ['s', undefined],
  ];
  for (const [text, ms] of table) it(`"${text}" → ${ms}`, () => assert.equal(parseDuration(text), ms));
  it('round-trips through formatDuration', () => {
    for (const ms of [1, 999, 1000, 61_000, 3_600_000]) assert.equal(parseDuration(formatDuration(ms)), ms);
  });
});

describe('parseListen', () => {
  const table: [string, unknown][] = [
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['[::1]:53', { host: '::1', port: 53 }],
    ['[::]:8053', { host: '::', port: 8053 }],
  ];
  for (const [text, want] of table) it(`reads ${text}`, () => assert.deepEqual(parseListen(text), want));
  for (const bad of ['::1:53', '127.0.0.1', '127.0.0.1:', ':80', '1.2.3.4:99999', 'example.com:80', '[127.0.0.1]:80', '01.2.3.4:80']) {
    it(`refuses ${bad}`, () => assert.equal(typeof parseListen(bad), 'string'));
  }
});

describe('defaultNodeName', () => {
  const table: [string, string][] = [['web-01.example.org', 'web-01'], ['WEB_01', 'web-01'], ['---', 'node'], ['', 'node']];
  for (const [host, want] of table) it(`${JSON.stringify(host)} → ${want}`, () => assert.equal(defaultNodeName(host), want));
});

describe('[recursion]', () => {
  it('is off by default, loopback only, with the IANA root hints', () => {
    const r = load(undefined).recursion;
    assert.equal(r.mode, 'off');
    assert.deepEqual(r.allow, ['127.0.0.0/8', '::1/128']);
    assert.equal(r.rootHints.length, 26);
    assert.deepEqual(r.rootHints[0], { name: 'a.root-servers.net', address: '198.41.0.4' });
    assert.equal(r.timeoutMs, 3000);
    assert.equal(r.qnameMinimisation, true);
    assert.equal(r.serveStale, false);
  });

  it('reads upstreams of every transport', () => {
    const r = load('[recursion]\nmode = "forward"\nupstreams = ["udp://192.0.2.1", "tcp://[2001:db8::1]:5353", "https://dns.example/dns-query", "http://127.0.0.1:8080/dns-query"]').recursion;
    assert.deepEqual(
      r.upstreams.map((u) => [u.transport, u.address ?? u.url, u.port]),
      [
        ['udp', '192.0.2.1', 53],
        ['tcp', '2001:db8::1', 5353],
        ['https', 'https://dns.example/dns-query', undefined],
        ['https', 'http://127.0.0.1:8080/dns-query', undefined],
      ],
    );
  });

  it('names the bad key and says why', () => {
    assert.throws(() => load('[recursion]\nmode = "forward"'), /recursion\.upstreams: forward mode needs at least one upstream/);
    assert.throws(() => load('[recursion]\nmode = "recursive"'), /recursion\.mode/);
    assert.throws(() => load('[recursion]\nupstreams = ["udp://dns.example"]'), /recursion\.upstreams\.0: .*IP literal/);
    assert.throws(() => load('[recursion]\nupstreams = ["http://192.0.2.1/dns-query"]'), /recursion\.upstreams\.0: .*loopback/);
    assert.throws(() => load('[recursion]\nupstreams = ["udp://192.0.2.1:70000"]'), /recursion\.upstreams\.0: .*port/);
    assert.throws(() => load('[recursion]\nroot_hints = ["a.root-servers.net"]'), /recursion\.root_hints\.0: .*<name>=<address>/);
    assert.throws(() => load('[recursion]\nroot_hints = ["a.root-servers.net=nowhere"]'), /recursion\.root_hints\.0: .*not an IP address/);
    assert.throws(() => load('[recursion]\nroot_hints = []'), /recursion\.root_hints/);
    assert.throws(() => load('[recursion]\nallow = ["10.0.0.0/33"]'), /recursion\.allow\.0: .*prefix length/);
    assert.throws(() => load('[recursion]\nallow = ["everyone"]'), /recursion\.allow\.0: .*not an IP address/);
    assert.throws(() => load('[recursion]\ncache_size = 10'), /recursion\.cache_size/);
  });
});
