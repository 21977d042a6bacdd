// Node BullMQ reference: node queues_node.js REDIS_URL JOBS SLEEP_MS CONCURRENCY -> jobs/s
// Run with cwd tests/node (where bullmq and ioredis are installed).
const { Queue, Worker } = require("bullmq");
const IORedis = require("ioredis");
const [url, jobs, sleepMs, concurrency] = process.argv.slice(2);
const count = Number(jobs);
const name = `bench-node-${sleepMs}-${Date.now()}`;
const connection = new IORedis(url, { maxRetriesPerRequest: null });
const opts = { attempts: 3, backoff: { type: "exponential", delay: 2000 }, removeOnComplete: 10, removeOnFail: 5 };
(async () => {
  const queue = new Queue(name, { connection });
  for (let start = 0; start < count; start += 1000) {
    const batch = [];
    for (let n = start; n < Math.min(start + 1000, count); n++) batch.push({ name: "job", data: { n }, opts });
    await queue.addBulk(batch);
  }
  let seen = 0;
  const started = process.hrtime.bigint();
  await new Promise((resolve) => {
    const worker = new Worker(name, async () => {
      if (Number(sleepMs) > 0) await new Promise((r) => setTimeout(r, Number(sleepMs)));
    }, { connection: new IORedis(url, { maxRetriesPerRequest: null }), concurrency: Number(concurrency) });
    worker.on("completed", () => { if (++seen === count) resolve(worker.close()); });
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log((count / seconds).toFixed(1));
  await queue.close();
  await connection.quit();
  process.exit(0);
})();
