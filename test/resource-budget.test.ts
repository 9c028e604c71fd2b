import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isRefusal, ResourceBudget, type BudgetLimits, type Refusal, type Reservation, type StreamBudget, type StreamOwner } from '../src/domain/resources/resource-budget.ts'
import { ConfigError } from '../src/errors.ts'
import { budgetLimitsOf } from '../src/domain/resources/budget-limits.ts'
import { DEFAULT_CONFIG } from '../src/domain/config/node-config.ts'

const LIMITS: BudgetLimits = {
  node: { memory: 1000, streams: 20 },
  subnet: { memory: 400, streams: 10 },
  peer: { memory: 200, streams: 4 },
  // strangers' 40 streams of a protocol, a subnet a quarter of them: the subnet's own 10 bind first
  protocol: { memory: 3200, streams: 80 },
  streamMemory: 150,
  strangersShare: 0.5
}

const stranger = (peer: string, subnet = `net-${peer}`): StreamOwner => ({ peer, subnet, protocol: '/p', known: false })
const friend = (peer: string, subnet = `net-${peer}`): StreamOwner => ({ peer, subnet, protocol: '/p', known: true })

function open (budget: ResourceBudget, owner: StreamOwner): StreamBudget {
  const stream = budget.openStream(owner)
  assert.ok(!isRefusal(stream), `stream of ${owner.peer} refused: ${JSON.stringify(stream)}`)
  return stream as StreamBudget
}

function reserve (stream: StreamBudget, bytes: number): Reservation {
  const reservation = stream.reserveMemory(bytes)
  assert.ok(!isRefusal(reservation), `reservation of ${bytes} refused: ${JSON.stringify(reservation)}`)
  return reservation as Reservation
}

describe('resource budget', () => {
  it('refuses a peer\'s stream past its cap and admits it again once one closes', () => {
    const budget = new ResourceBudget(LIMITS)
    const streams = Array.from({ length: 4 }, () => open(budget, stranger('a')))
    const refused = budget.openStream(stranger('a')) as Refusal
    assert.ok(isRefusal(refused))
    assert.equal(refused.scope, 'peer:a')
    assert.equal(refused.resource, 'streams')
    streams[0]!.close()
    streams[0]!.close() // twice is once
    open(budget, stranger('a'))
    assert.equal(budget.usageOf('peer:a').streams, 4)
  })

  it('many peer ids of one subnet share the subnet\'s memory', () => {
    const budget = new ResourceBudget(LIMITS)
    // 150 B each from fresh ids: the third id is the first over 400 B on one subnet
    reserve(open(budget, stranger('a', 'sybil')), 150)
    reserve(open(budget, stranger('b', 'sybil')), 150)
    const refused = open(budget, stranger('c', 'sybil')).reserveMemory(150) as Refusal
    assert.ok(isRefusal(refused))
    assert.equal(refused.scope, 'subnet:sybil')
    // another subnet is not affected
    reserve(open(budget, stranger('d', 'elsewhere')), 150)
  })

  it('strangers together get at most their share of the node; a known peer still gets the rest', () => {
    const budget = new ResourceBudget(LIMITS)
    // every stranger on its own subnet, within its own limits: only the share stops them
    const held: Reservation[] = []
    let refusal: Refusal | undefined
    for (let i = 0; i < 20 && refusal === undefined; i++) {
      const got = open(budget, stranger(`s${i}`)).reserveMemory(100)
      if (isRefusal(got)) refusal = got
      else held.push(got)
    }
    assert.ok(refusal !== undefined)
    assert.equal(refusal.scope, 'strangers:node')
    assert.equal(held.length, 5) // 500 of 1000
    assert.equal(budget.nodeUsage().strangers.memory, 500)
    // a known peer reserves what strangers may not touch
    const known = [open(budget, friend('f1')), open(budget, friend('f2')), open(budget, friend('f3'))]
    reserve(known[0]!, 150)
    reserve(known[1]!, 150)
    reserve(known[2]!, 150)
    assert.equal(budget.nodeUsage().used.memory, 950)
    // the node limit itself still holds for everyone
    const over = open(budget, friend('f4')).reserveMemory(100) as Refusal
    assert.equal(over.scope, 'node')
  })

  it('strangers get at most their share of the node\'s streams', () => {
    const budget = new ResourceBudget(LIMITS)
    let admitted = 0
    for (let i = 0; i < 20; i++) if (!isRefusal(budget.openStream(stranger(`s${i}`)))) admitted++
    assert.equal(admitted, 10)
    for (let i = 0; i < 4; i++) open(budget, friend('f'))
  })

  it('a known peer is charged to no subnet: a friend behind the attackers\' router keeps its room', () => {
    const budget = new ResourceBudget(LIMITS)
    for (const peer of ['a', 'b']) for (let i = 0; i < 5; i++) open(budget, stranger(`${peer}${i}`, 'home'))
    assert.ok(isRefusal(budget.openStream(stranger('c', 'home'))))
    open(budget, friend('f', 'home'))
  })

  it('a stream holds at most its own limit', () => {
    const budget = new ResourceBudget(LIMITS)
    const stream = open(budget, friend('f'))
    reserve(stream, 100)
    const refused = stream.reserveMemory(60) as Refusal
    assert.equal(refused.scope, 'stream')
    assert.equal(stream.heldBytes, 100)
  })

  it('resize shrinks always and grows only within every limit', () => {
    const budget = new ResourceBudget(LIMITS)
    const stream = open(budget, stranger('a'))
    const reservation = reserve(stream, 150)
    assert.equal(reservation.resize(20), undefined)
    assert.equal(budget.usageOf('peer:a').memory, 20)
    const other = reserve(open(budget, stranger('a')), 150)
    assert.ok(isRefusal(reservation.resize(60))) // the peer would hold 210 of 200
    assert.equal(reservation.bytes, 20)
    assert.equal(budget.usageOf('peer:a').memory, 170)
    other.release()
    assert.equal(reservation.resize(60), undefined)
    assert.equal(budget.usageOf('peer:a').memory, 60)
  })

  it('closing a stream gives back its reservations, and nothing is left for an idle peer', () => {
    const budget = new ResourceBudget(LIMITS)
    let releases = 0
    const off = budget.onRelease(() => { releases++ })
    const stream = open(budget, stranger('a'))
    const first = reserve(stream, 50)
    reserve(stream, 70)
    first.release()
    first.release()
    stream.close()
    assert.deepEqual(budget.usageOf('peer:a'), { memory: 0, streams: 0 })
    assert.deepEqual(budget.usageOf('node'), { memory: 0, streams: 0 })
    assert.deepEqual(budget.usageOf('subnet:net-a'), { memory: 0, streams: 0 })
    assert.ok(releases >= 3)
    assert.ok(isRefusal(stream.reserveMemory(1)), 'a closed stream reserves nothing')
    off()
  })

  it('a refused reservation changes no scope', () => {
    const budget = new ResourceBudget(LIMITS)
    reserve(open(budget, stranger('a', 'n')), 150)
    reserve(open(budget, stranger('b', 'n')), 150)
    const before = ['node', 'peer:c', 'subnet:n', 'strangers:node'].map((s) => budget.usageOf(s))
    assert.ok(isRefusal(open(budget, stranger('c', 'n')).reserveMemory(120)))
    const after = ['node', 'peer:c', 'subnet:n', 'strangers:node'].map((s) => budget.usageOf(s))
    assert.deepEqual(after.map((u) => u.memory), before.map((u) => u.memory))
  })

  it('the strangers of one subnet hold at most a quarter of a protocol\'s strangers\' streams', () => {
    const budget = new ResourceBudget({ ...LIMITS, node: { memory: 1000, streams: 200 }, subnet: { memory: 400, streams: 100 }, protocol: { memory: 1000, streams: 80 } })
    // fresh ids of one subnet, each under its own cap: 10 of the protocol's 40 strangers' streams
    let admitted = 0
    let refusal: Refusal | undefined
    for (let id = 0; id < 20 && refusal === undefined; id++) {
      for (let i = 0; i < 4 && refusal === undefined; i++) {
        const got = budget.openStream(stranger(`s${id}`, 'sybil'))
        if (isRefusal(got)) refusal = got
        else admitted++
      }
    }
    assert.equal(admitted, 10)
    assert.equal(refusal?.scope, 'subnet:sybil:protocol:/p')
    // three more subnets fill the protocol's strangers' share; a fifth is refused, a friend is not
    for (const net of ['n2', 'n3', 'n4']) for (let i = 0; i < 10; i++) open(budget, stranger(`${net}-${i % 3}`, net))
    assert.equal((budget.openStream(stranger('late', 'n5')) as Refusal).scope, 'strangers:protocol:/p')
    open(budget, friend('f', 'sybil'))
    // another protocol of the same subnet has its own quarter
    open(budget, { ...stranger('s9', 'sybil'), protocol: '/q' })
  })

  it('attack: the ids of one host hold at most a quarter of a protocol\'s strangers\' memory (frames held one byte short), so another stranger still gets room', () => {
    const budget = new ResourceBudget({ ...LIMITS, node: { memory: 10_000, streams: 200 }, subnet: { memory: 4000, streams: 100 }, protocol: { memory: 1000, streams: 80 } })
    // the protocol's strangers' share is 500: one subnet gets 125 of it, whatever its ids
    const held: number[] = []
    let refusal: Refusal | undefined
    for (let id = 0; id < 10 && refusal === undefined; id++) {
      const stream = open(budget, stranger(`a${id}`, 'attackers'))
      const got = stream.reserveMemory(50)
      if (isRefusal(got)) refusal = got
      else held.push(50)
    }
    assert.equal(held.length * 50, 100)
    assert.equal(refusal?.scope, 'subnet:attackers:protocol:/p')
    const honest = open(budget, stranger('h', 'elsewhere'))
    assert.ok(!isRefusal(honest.reserveMemory(100)), 'a stranger of another subnet still gets room')
  })

  it('one protocol takes at most its share of the node: a flood of gets leaves room for stores', () => {
    const limits = budgetLimitsOf({ ...DEFAULT_CONFIG, memoryBudget: 1000 * 2 ** 20, subnetMemoryBudget: 1000 * 2 ** 20, peerMemoryBudget: 1000 * 2 ** 20, strangersShare: 1 }, 2 ** 30)
    const budget = new ResourceBudget(limits)
    const gets = { peer: 'k', subnet: 'n', protocol: '/get', known: true }
    let held = 0
    for (;;) {
      const got = open(budget, gets).reserveMemory(100 * 2 ** 20)
      if (isRefusal(got)) {
        assert.equal(got.scope, 'protocol:/get')
        break
      }
      held++
    }
    assert.equal(held, 7) // 750 of 1000 MiB
    reserve(open(budget, { ...gets, protocol: '/store' }), 100 * 2 ** 20)
  })

  it('rejects limits that are not positive whole numbers or a share outside (0, 1]', () => {
    assert.throws(() => new ResourceBudget({ ...LIMITS, peer: { memory: 0, streams: 1 } }), ConfigError)
    assert.throws(() => new ResourceBudget({ ...LIMITS, strangersShare: 0 }), ConfigError)
    assert.throws(() => new ResourceBudget({ ...LIMITS, strangersShare: 1.5 }), ConfigError)
  })
  it('split moves bytes of a reservation into a new one without touching any scope; each releases its own', () => {
    const budget = new ResourceBudget(LIMITS)
    const stream = open(budget, stranger('a'))
    const ahead = reserve(stream, 120)
    const frame = ahead.split(50)
    assert.equal(ahead.bytes, 70)
    assert.equal(frame.bytes, 50)
    assert.equal(budget.usageOf('peer:a').memory, 120)
    // the split-off bytes are the stream's: nothing more fits than before
    assert.ok(isRefusal(stream.reserveMemory(31)))
    frame.release()
    assert.equal(budget.usageOf('peer:a').memory, 70)
    assert.equal(ahead.split(500).bytes, 70, 'a split takes at most what is there')
    assert.equal(ahead.bytes, 0)
    stream.close()
    assert.equal(budget.usageOf('node').memory, 0)
  })
})
