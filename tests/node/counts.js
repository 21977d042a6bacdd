// Node BullMQ reader: node counts.js REDIS_URL QUEUE -> getJobCounts() as JSON
const { Queue } = require("bullmq");
const IORedis = require("ioredis");
const [url, queueName] = process.argv.slice(2);
const connection = new IORedis(url, { maxRetriesPerRequest: null });
const queue = new Queue(queueName, { connection });
queue
  .getJobCounts()
  .then((counts) => console.log(JSON.stringify(counts)))
  .finally(() => queue.close().then(() => connection.quit()));
