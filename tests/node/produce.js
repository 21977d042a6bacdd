// Node BullMQ producer: node produce.js REDIS_URL QUEUE JOB_ID JSON_DATA
const { Queue } = require("bullmq");
const IORedis = require("ioredis");
const [url, queueName, jobId, data] = process.argv.slice(2);
const connection = new IORedis(url, { maxRetriesPerRequest: null });
const queue = new Queue(queueName, { connection });
queue
  .add("sync-coin", JSON.parse(data), { jobId, attempts: 3, backoff: { type: "exponential", delay: 2000 } })
  .then((job) => console.log(job.id))
  .finally(() => queue.close().then(() => connection.quit()));
