import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Agent } from 'undici';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { createTempUploadStream, type UploadRetry } from '../../src/upload/temp-upload-stream.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { startChaosProxy, type ChaosOptions, type ChaosProxy } from '../support/chaos-proxy.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';
import { generateSchedule, runSeedAt } from '../support/fuzz-schedule.js';
import { FUZZ_TABLE, runSchedule, startFuzzLane, type FuzzOutcome } from '../support/fuzz-run.js';

const seed = runSeed();
let emulator: Emulator;
let direct: Agent;
let counter = 0;

before(async () => {
  emulator = await startEmulator();
  direct = new Agent();
});
after(async () => {
  await emulator.close();
  await direct.close();
});

/** A proxy in front of the emulator and an agent whose every connection goes through it. */
async function throughChaos(options: Omit<ChaosOptions, 'seed' | 'target'>, chaosSeed: number) {
  const { port } = new URL(emulator.origin);
  const proxy = await startChaosProxy({ ...options, seed: chaosSeed, target: { host: '127.0.0.1', port: Number(port) } });
  const agent = new Agent({ connect: proxy.connector(), keepAliveTimeout: 2_000 });
  return {
    proxy,
    agent,
    async close() {
      await agent.destroy();
      await proxy.close();
    },
  };
}

async function uploadThrough(agent: Agent, data: Buffer, extra: { retries?: number; requestTimeoutMs?: number } = {}) {
  const client = new RedivisClient({
    apiEndpoint: emulator.apiEndpoint,
    apiToken: emulator.token,
    dispatcher: agent,
    retry: { retries: extra.retries ?? 16, initialDelayMs: 1, maxDelayMs: 5 },
    requestTimeoutMs: extra.requestTimeoutMs ?? 2_000,
  });
  const setup = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token, dispatcher: direct });
  const [temp] = await setup.createTempUploads(FUZZ_TABLE, [{ name: `chaos-${seed}-${++counter}`, size: data.length, resumable: true }]);
  const stream = createTempUploadStream({ client, url: temp!.url, chunkSize: Q, maxRequestSize: Q, spill: false, stallTimeoutMs: 10_000 });
  const retries: UploadRetry[] = [];
  stream.on('retry', (r: UploadRetry) => retries.push(r));
  await pipeline(chunkedSource(data, [50_000]), stream);
  const info = emulator.getTempUpload(temp!.id)!;
  return { stream, retries, info };
}

function proxyReport(proxy: ChaosProxy): string {
  return `seed ${seed}, proxy ${JSON.stringify(proxy.stats)}`;
}

describe(`uploads through a chaos proxy (seed ${seed})`, { timeout: 60_000 }, () => {
  test('random cuts, stalls and trickles: every upload completes byte-exact or fails typed with nothing completed', async () => {
    const lane = await startFuzzLane({ chaos: { seed, cutProbability: 0.3, stallProbability: 0.2, trickleProbability: 0.3, maxStallMs: 250 } });
    const results: FuzzOutcome[] = [];
    try {
      for (let index = 0; index < 16; index++) {
        const generated = generateSchedule(runSeedAt(seed, index), { maxFaults: 0, maxSize: 768 * 1024 });
        // Short request timeouts so stalls become timeouts; budgets from tight to generous.
        const schedule = { ...generated, requestTimeoutMs: 150 + (index % 3) * 100, stallTimeoutMs: 8_000, retry: { ...generated.retry, retries: 2 + (index % 10) } };
        results.push(await runSchedule(lane, schedule, 25_000));
      }
    } finally {
      await lane.close();
    }
    const stats = lane.proxy!.stats;
    const report = `seed ${seed}, proxy ${JSON.stringify(stats)}, outcomes ${results.map((r) => r.code ?? r.outcome).join(' ')}`;
    assert.deepEqual(results.filter((r) => r.violation !== undefined).map((r) => r.violation), [], report);
    assert.ok(stats.cuts > 0 && stats.stalls > 0 && stats.trickles > 0, report);
    assert.ok(results.some((r) => r.outcome === 'completed' && r.retries > 0), report);
  });

  test('trickled bytes in both directions arrive byte-exact, without retries', async () => {
    const chaos = await throughChaos({ cutProbability: 0, stallProbability: 0, trickleProbability: 1, maxTrickleBytes: 2048 }, seed + 1);
    try {
      for (const size of [0, 1, Q, 3 * Q + 17]) {
        const data = randomBytes(size, seed + size);
        const { info, retries, stream } = await uploadThrough(chaos.agent, data);
        assert.equal(info.final?.md5Hex, md5Hex(data), `size ${size}, ${proxyReport(chaos.proxy)}`);
        assert.equal(stream.result?.size, size);
        assert.deepEqual(retries.map((r) => r.error.message), []);
      }
    } finally {
      await chaos.close();
    }
    assert.ok(chaos.proxy.stats.trickles > 0, proxyReport(chaos.proxy));
  });

  test('connections cut at random offsets in either direction: with a budget the upload still completes byte-exact', async () => {
    const chaos = await throughChaos({ cutProbability: 0.5, stallProbability: 0, trickleProbability: 0, maxUpstreamCut: 4 * Q }, seed + 2);
    try {
      // At least four uploads, and on until both kinds of cut (a reset and a plain close) have happened.
      for (let i = 0; i < 4 || (i < 24 && (chaos.proxy.stats.resets === 0 || chaos.proxy.stats.resets === chaos.proxy.stats.cuts)); i++) {
        const data = randomBytes(4 * Q + 1000 * i, seed + 100 + i);
        const { info, retries } = await uploadThrough(chaos.agent, data, { retries: 24 });
        assert.equal(info.final?.md5Hex, md5Hex(data), proxyReport(chaos.proxy));
        for (const retry of retries) assert.equal(retry.error.name, 'NetworkError', retry.error.message);
      }
    } finally {
      await chaos.close();
    }
    const { cuts, resets } = chaos.proxy.stats;
    assert.ok(resets > 0 && resets < cuts, proxyReport(chaos.proxy));
  });

  test('answers stalled past requestTimeoutMs are cut short by the timeout and retried', async () => {
    // undici checks its timeouts about twice a second, so a stall must outlast the timeout by more than that.
    const chaos = await throughChaos(
      { cutProbability: 0, stallProbability: 1, stallDirections: ['down'], stallAtWindowStart: true, maxStalls: 2, minStallMs: 2_500, maxStallMs: 3_000, trickleProbability: 0 },
      seed + 3,
    );
    const started = Date.now();
    try {
      const data = randomBytes(3 * Q + 5, seed + 200);
      const { info, retries } = await uploadThrough(chaos.agent, data, { retries: 8, requestTimeoutMs: 100 });
      assert.equal(info.final?.md5Hex, md5Hex(data), proxyReport(chaos.proxy));
      assert.equal(retries.filter((r) => /UND_ERR_(HEADERS|BODY)_TIMEOUT/.test(r.error.message)).length, 2, proxyReport(chaos.proxy));
    } finally {
      await chaos.close();
    }
    assert.equal(chaos.proxy.stats.stalls, 2);
    assert.ok(Date.now() - started < 2 * 2_500, 'the stalls were not waited out');
  });
});
