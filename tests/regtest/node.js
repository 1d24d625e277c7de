// A bcoin regtest full node, in memory, with a wallet and a JSON-RPC server shaped like Bitcoin Core's.
//
// Usage: NODE_BACKEND=js node node.js --port PORT --api-key KEY [--tag TAG] [--bcoin-status]
//                                     [--stop-with-stdin] [--warmup-calls N]
//                                     [--prune-keep N --prune-after M]
//
// Prints "READY <port>" on stdout once the RPC answers; stops on SIGTERM or SIGINT, and with
// --stop-with-stdin also when its stdin closes (so that a killed test run leaves no node behind).
//
// Differences from plain bcoin, each making the node answer the way Bitcoin Core does:
// - A single request whose call fails gets HTTP 500 (404 for an unknown method) with the JSON error,
//   as Bitcoin Core does for JSON-RPC 1.0 requests; bcoin answers 200. --bcoin-status keeps bcoin's.
// - getblockchaininfo gains `initialblockdownload`, by Bitcoin Core's rule on a network whose minimum
//   chain work is zero: true while the tip is more than 24 h old, and false for good once it is not.
//   A fresh node (tip = the 2011 genesis) is in IBD until a block is mined.
// - The wallet's RPC (getnewaddress, sendtoaddress, getbalance, …) answers on the node's port, as in
//   Bitcoin Core with one wallet loaded; the wallet's own HTTP server listens on a free port.
//   getnewaddress without arguments works, as in Core.
// - --warmup-calls N: the first N calls get error -28 (RPC_IN_WARMUP), as bitcoind answers every
//   call while it loads its block index after a start.
// Hooks of this launcher (no Bitcoin Core equivalent):
// - setcoinbasetag TAG: the text (at most 20 bytes) written into the coinbase of the next blocks.
// - walletrescan: rescan the chain for the wallet (bcoin's wallet may miss coinbases until then).
const { parseArgs } = require('node:util');
const bcoin = require('bcoin');

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '18443' },
    'api-key': { type: 'string', default: 'secret' },
    tag: { type: 'string', default: 'regtest' },
    'bcoin-status': { type: 'boolean', default: false },
    'stop-with-stdin': { type: 'boolean', default: false },
    'warmup-calls': { type: 'string', default: '0' },
    'prune-keep': { type: 'string', default: '0' },
    'prune-after': { type: 'string', default: '0' },
  },
});

const MAX_TIP_AGE_S = 24 * 60 * 60; // Bitcoin Core's DEFAULT_MAX_TIP_AGE
const port = Number(opts.port);
bcoin.set('regtest');
// --prune-keep N: a pruned node that keeps the last N blocks and prunes those above --prune-after
// (bcoin's regtest keeps 10,000 and prunes above 1,000: too long a chain for a test).
const pruneKeep = Number(opts['prune-keep']);
if (pruneKeep > 0) {
  const params = bcoin.Network.get('regtest').block;
  params.keepBlocks = pruneKeep;
  params.pruneAfterHeight = Number(opts['prune-after']);
}
const node = new bcoin.FullNode({
  network: 'regtest', memory: true, workers: false, logLevel: 'error', listen: false,
  httpHost: '127.0.0.1', httpPort: port, apiKey: opts['api-key'],
  walletHttpHost: '127.0.0.1', walletHttpPort: 0,
  coinbaseFlags: tagBytes(opts.tag).toString("utf8"),
  prune: pruneKeep > 0,
});
node.use(bcoin.wallet.plugin);

function tagBytes(tag) {
  const flags = Buffer.from(tag, 'utf8');
  if (flags.length > 20) throw new Error(`coinbase tag longer than 20 bytes: ${tag}`);
  return flags;
}

function rpcError(message) {
  const err = new Error(message);
  err.type = 'RPCError';
  err.code = -8; // RPC_INVALID_PARAMETER
  return err;
}

let leftIbd = false;

function addHooks() {
  const rpc = node.rpc;
  const wallet = node.require('walletdb');
  rpc.mount(wallet.rpc);

  // bcoin's getnewaddress fails without an account name; Bitcoin Core's label defaults to "".
  const getNewAddress = wallet.rpc.calls.getnewaddress;
  wallet.rpc.calls.getnewaddress = function (args, help) {
    return getNewAddress.call(this, args.length === 0 ? [''] : args, help);
  };

  let warmupCalls = Number(opts['warmup-calls']);
  const execute = rpc.execute;
  rpc.execute = async function (json, help) {
    if (warmupCalls > 0) {
      warmupCalls -= 1;
      const err = new Error('Loading block index...');
      err.type = 'RPCError';
      err.code = -28;
      throw err;
    }
    return execute.call(this, json, help);
  };

  const getBlockchainInfo = rpc.calls.getblockchaininfo;
  rpc.calls.getblockchaininfo = async function (args, help) {
    const info = await getBlockchainInfo.call(this, args, help);
    // network.now() follows setmocktime, as Bitcoin Core's clock does.
    if (!leftIbd && node.chain.tip.time >= node.network.now() - MAX_TIP_AGE_S) leftIbd = true;
    return { ...info, initialblockdownload: !leftIbd };
  };

  rpc.add('setcoinbasetag', async (args) => {
    if (args.length !== 1 || typeof args[0] !== 'string') throw rpcError('setcoinbasetag "tag"');
    let flags;
    try {
      flags = tagBytes(args[0]);
    } catch (e) {
      throw rpcError(e.message);
    }
    node.miner.options.coinbaseFlags = flags;
    return args[0];
  });

  rpc.add('walletrescan', async (args) => {
    await wallet.wdb.rescan(0);
    return null;
  });

  if (!opts['bcoin-status']) {
    // Runs before bcoin's JSON-RPC middleware: answers single requests with Core's status codes.
    const hook = node.http.stack.find((h) => h.handler.length === 2 && String(h.handler).includes('rpc.call'));
    if (!hook) throw new Error('bcoin JSON-RPC middleware not found');
    hook.handler = async (req, res) => {
      if (req.method !== 'POST' || req.pathname !== '/') return;
      const body = req.body;
      const batch = Array.isArray(body);
      if (batch ? body.some((r) => !r || typeof r.method !== 'string') : typeof body.method !== 'string') return;
      const json = await rpc.call(body, req.query);
      let status = 200;
      if (!batch && json && json.error) status = json.error.code === -32601 ? 404 : 500;
      res.send(status, JSON.stringify(json) + '\n', 'application/json');
    };
  }
}

(async () => {
  await node.ensure();
  await node.open();
  // Without a connected pool, bcoin's chain reset (invalidateblock) fails before the mempool
  // follows it, and the miner then refuses to build blocks. `listen: false` keeps the P2P port shut.
  await node.connect();
  addHooks();
  console.log(`READY ${port}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

let closing = false;
async function stop() {
  if (closing) return;
  closing = true;
  try {
    await node.close();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (opts['stop-with-stdin']) {
  process.stdin.on('end', stop);
  process.stdin.resume();
}
