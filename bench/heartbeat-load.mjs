// Load generator for bench/heartbeat.mjs (run pinned to its own core): autocannon
// over keep-alive connections, cycling through the registered instances. Prints
// autocannon's result as one JSON line.
import autocannon from 'autocannon';

const [url, token, instances, connections, seconds] = process.argv.slice(2);
const n = Number(instances);
let i = 0;
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  method: 'PUT',
  headers: { authorization: `Bearer ${token}` },
  requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/services/bench/hb/instances/i${i++ % n}/heartbeat` }) }],
});
process.stdout.write(`${JSON.stringify(result)}\n`);
