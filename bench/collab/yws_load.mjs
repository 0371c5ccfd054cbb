// yws_load.mjs: the y-websocket side of bench/collab.sh (bench/README.md), the same load
// and the same output as bench/collab_load.cc against strongroomd.
//
//   node yws_load.mjs run  --url ws://127.0.0.1:PORT/DOC --clients K --rate R --duration D
//   node yws_load.mjs idle --url ws://127.0.0.1:PORT/DOC --clients N [--hold SECONDS]
//
// run: K WebSocket connections to one y-websocket document; every connection is a sender and
// a receiver. Each sender has its own Y.Doc and types at the end of a Y.Text; one insert makes
// one real Yjs update of about 50 bytes, framed exactly as y-websocket's WebsocketProvider
// sends it (messageSync, then y-protocols' writeUpdate). Updates are made before the timed
// phase; then a steady total of R per second goes out, round robin over the connections, for
// D seconds. A receiver finds an update by a marker inside the inserted text ("~@" then the
// sender and counter as decimal digits), searched in the raw message bytes: no Y.Doc decoding
// on the hot path (strongroom's receivers likewise only read the readable head). Latency of
// an update = from ws.send until the last of the K-1 other connections has it. Prints one
// `result` line in collab_load's format.
//
// idle: opens N connections, prints "all joined", holds them (SIGTERM, SIGINT or --hold).
//
// One process, one thread: the generator uses at most one core, as collab_load does.
import * as Y from 'yjs'
import * as syncProtocol from 'y-protocols/sync'
import * as encoding from 'lib0/encoding'
import WebSocket from 'ws'
import { performance } from 'node:perf_hooks'

const die = (msg) => {
  process.stderr.write(`yws_load: error: ${msg}\n`)
  process.exit(1)
}

const opt = { mode: process.argv[2], url: '', clients: 0, rate: 0, duration: 0, drain: 10, hold: 600, concurrency: 128 }
if (opt.mode !== 'run' && opt.mode !== 'idle') die('usage: yws_load.mjs run|idle --url URL --clients N ...')
for (let i = 3; i < process.argv.length; i += 2) {
  const a = process.argv[i]
  const v = process.argv[i + 1]
  if (v === undefined) die(`missing value after ${a}`)
  switch (a) {
    case '--url': opt.url = v; break
    case '--clients': opt.clients = parseInt(v, 10); break
    case '--rate': opt.rate = parseFloat(v); break
    case '--duration': opt.duration = parseFloat(v); break
    case '--drain': opt.drain = parseFloat(v); break
    case '--hold': opt.hold = parseFloat(v); break
    case '--concurrency': opt.concurrency = parseInt(v, 10); break
    default: die(`unknown option ${a}`)
  }
}
if (!opt.url || !(opt.clients >= 1)) die('--url and --clients are required')
if (opt.mode === 'run' && !(opt.clients >= 2 && opt.rate > 0 && opt.duration > 0)) {
  die('run needs --clients >= 2, --rate > 0 and --duration > 0')
}
if (opt.clients > 99999) die('at most 99999 clients (five marker digits)')

const K = opt.clients
const MARK = Buffer.from('~@')
const messageSync = 0
const TARGET_UPDATE_BYTES = 50

// --- state --------------------------------------------------------------------------------
const conns = []
let running = false
let perSender = 0
let sentAt = null // Float64Array: ms (performance.now) when update u was handed to ws.send
let doneAt = null // Float64Array: ms when the last other client had it
let received = null // Uint32Array
let sent = 0
let deliveries = 0
let unknown = 0
let errors = 0
let closed = 0
let firstSend = 0
let lastSend = 0
let lastDelivery = 0

const digits = (buf, at, n) => {
  let v = 0
  for (let i = 0; i < n; i++) {
    const d = buf[at + i] - 48
    if (d < 0 || d > 9) return -1
    v = v * 10 + d
  }
  return v
}

const onMessage = (c, data) => {
  const at = data.indexOf(MARK)
  if (at < 0) return // sync step 1, awareness, or an answer of the server's own.
  const s = digits(data, at + 2, 5)
  const counter = digits(data, at + 7, 7)
  if (!running || s < 0 || counter < 1 || s >= K || counter > perSender || s === c.index) {
    unknown++ // y-websocket also echoes a sender's update back to it; not a delivery.
    return
  }
  const u = s * perSender + counter - 1
  const now = performance.now()
  deliveries++
  lastDelivery = now
  if (++received[u] === K - 1) doneAt[u] = now
}

const connectOne = (c) => new Promise((resolve) => {
  const ws = new WebSocket(opt.url, { perMessageDeflate: false })
  ws.binaryType = 'nodebuffer'
  c.ws = ws
  let joined = false
  const timer = setTimeout(() => { if (!joined) { ws.terminate(); resolve(false) } }, 30000)
  ws.on('message', (data) => {
    if (!joined) { // The server's sync step 1: the connection is set up on the document.
      joined = true
      c.open = true
      clearTimeout(timer)
      resolve(true)
    }
    onMessage(c, data)
  })
  ws.on('error', (e) => {
    if (!joined) { clearTimeout(timer); process.stderr.write(`yws_load: connect: ${e.message}\n`); resolve(false) } else errors++
  })
  ws.on('close', () => {
    if (c.open) closed++
    c.open = false
  })
})

const connectAll = async () => {
  for (let i = 0; i < K; i++) conns.push({ index: i, ws: null, open: false, frames: [], next: 0 })
  const start = performance.now()
  let next = 0
  let failed = 0
  const worker = async () => {
    while (next < conns.length) {
      const c = conns[next++]
      if (!(await connectOne(c))) failed++
    }
  }
  await Promise.all(Array.from({ length: Math.min(opt.concurrency, K) }, worker))
  if (failed > 0) die(`${failed} of ${K} connections could not join`)
  console.log(`all joined: ${K} connections in ${((performance.now() - start) / 1000).toFixed(2)} s`)
}

// Real Yjs updates: one Y.Doc per sender, one insert at the end of its text per update,
// captured from the doc's 'update' event and framed as WebsocketProvider frames it.
const makeUpdates = () => {
  const total = Math.round(opt.rate * opt.duration)
  perSender = Math.ceil(total / K)
  if (perSender > 9999999) die('too many updates per sender (seven marker digits)')
  const start = performance.now()
  let fill = 0
  let updateBytes = 0
  let frameBytes = 0
  // Size the filler once so that an update is about TARGET_UPDATE_BYTES.
  {
    const d = new Y.Doc()
    let u = null
    d.on('update', (x) => { u = x })
    const t = d.getText('t')
    t.insert(0, '~@000000000001')
    t.insert(t.length, '~@000000000002') // The second and later inserts carry an origin.
    fill = Math.max(0, TARGET_UPDATE_BYTES - u.length)
  }
  const filler = 'x'.repeat(fill)
  for (const c of conns) {
    const doc = new Y.Doc()
    const text = doc.getText('t')
    let update = null
    doc.on('update', (x) => { update = x })
    for (let i = 1; i <= perSender; i++) {
      text.insert(text.length, `~@${String(c.index).padStart(5, '0')}${String(i).padStart(7, '0')}${filler}`)
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, messageSync)
      syncProtocol.writeUpdate(encoder, update)
      const frame = encoding.toUint8Array(encoder)
      updateBytes += update.length
      frameBytes += frame.length
      c.frames.push(frame)
    }
  }
  const n = K * perSender
  sentAt = new Float64Array(n)
  doneAt = new Float64Array(n)
  received = new Uint32Array(n)
  const avgUpdate = updateBytes / n
  const avgFrame = frameBytes / n
  console.log(`made: ${n} Yjs update messages, average ${avgFrame.toFixed(1)} bytes ` +
    `(update ${avgUpdate.toFixed(1)} bytes) in ${((performance.now() - start) / 1000).toFixed(2)} s`)
  return { avgUpdate, avgFrame }
}

const send = (s) => {
  const c = conns[s]
  if (c.next >= c.frames.length) die('ran out of updates')
  const u = s * perSender + c.next
  const now = performance.now()
  sentAt[u] = now
  if (sent === 0) firstSend = now
  lastSend = now
  sent++
  if (!c.open) { errors++; c.next++; return }
  c.ws.send(c.frames[c.next++], (err) => { if (err) errors++ })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const run = async () => {
  const { avgUpdate, avgFrame } = makeUpdates()
  const total = Math.round(opt.rate * opt.duration)
  const interval = 1000 / opt.rate
  running = true
  const t0 = performance.now() + 1
  let next = 0
  await new Promise((resolve) => {
    const pace = () => {
      const now = performance.now()
      while (next < total && t0 + next * interval <= now) {
        send(next % K)
        next++
      }
      if (next >= total) return resolve()
      setTimeout(pace, Math.max(0, t0 + next * interval - performance.now()))
    }
    pace()
  })
  const expected = sent * (K - 1)
  const drainEnd = performance.now() + opt.drain * 1000
  while (deliveries < expected && performance.now() < drainEnd) await sleep(2)
  running = false

  const lat = []
  let incomplete = 0
  for (let s = 0; s < K; s++) {
    for (let i = 0; i < conns[s].next; i++) {
      const u = s * perSender + i
      if (received[u] === K - 1) lat.push(doneAt[u] - sentAt[u])
      else incomplete++
    }
  }
  lat.sort((a, b) => a - b)
  const pct = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.ceil(p / 100 * lat.length) - 1)] : -1
  const span = (Math.max(lastDelivery, lastSend) - firstSend) / 1000
  const sendSpan = (lastSend - firstSend) / 1000
  console.log(`result server=y-websocket clients=${K} rate=${opt.rate.toFixed(0)} duration=${opt.duration.toFixed(1)} ` +
    `sent=${sent} send_rate=${(sendSpan > 0 ? (sent - 1) / sendSpan : 0).toFixed(0)} expected=${expected} ` +
    `deliveries=${deliveries} lost=${Math.max(0, expected - deliveries)} incomplete_updates=${incomplete} ` +
    `errors=${errors} closed=${closed} offered_per_s=${(opt.rate * (K - 1)).toFixed(0)} ` +
    `deliveries_per_s=${(span > 0 ? deliveries / span : 0).toFixed(0)} p50_ms=${pct(50).toFixed(3)} ` +
    `p99_ms=${pct(99).toFixed(3)} max_ms=${(lat.length ? lat[lat.length - 1] : -1).toFixed(3)} ` +
    `frame_bytes=${avgFrame.toFixed(0)} payload_bytes=${avgUpdate.toFixed(0)}`)
}

const idle = async () => {
  await new Promise((resolve) => {
    const t = setTimeout(resolve, opt.hold * 1000)
    const stop = () => { clearTimeout(t); resolve() }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
  console.log(`idle: ${K} connections held, ${closed} closed by the server`)
}

await connectAll()
if (opt.mode === 'run') await run()
else await idle()
process.exit(0)
