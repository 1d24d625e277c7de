// Usage: node check.js HOST:PORT — calls a minerwatch server through @mempool/mempool.js and prints
// what the client returned as one JSON object (the pytest test compares it with hand-worked values).
"use strict";
const mempoolJS = require("@mempool/mempool.js");

async function main() {
  const { bitcoin: { blocks, difficulty } } = mempoolJS({ hostname: process.argv[2], network: "main", protocol: "http" });
  const tipHeight = await blocks.getBlocksTipHeight();
  const tipHash = await blocks.getBlocksTipHash();
  const hashAt = await blocks.getBlockHeight({ height: tipHeight - 1 });
  const block = await blocks.getBlock({ hash: tipHash });
  const status = await blocks.getBlockStatus({ hash: hashAt });
  const page = await blocks.getBlocks({ start_height: tipHeight - 100 });
  const adjustment = await difficulty.getDifficultyAdjustment();
  const hashrate = await difficulty.getHashrate({ interval: "1m" });
  process.stdout.write(JSON.stringify({ tipHeight, tipHash, hashAt, block, status,
    pageHeights: page.map((b) => b.height), adjustment, hashrate }));
}

main().catch((e) => { console.error(String(e)); process.exit(1); });
