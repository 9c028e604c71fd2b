import { BusyError } from '../../domain/protocol/federation-errors.ts'
import { RateAllowance } from '../../util/rate-allowance.ts'

export interface ProofAdmissionLimits {
  /** Challenges one peer may have outstanding (issued, not yet verified or given up). */
  challengesPerPeer: number
  /** Challenges the strangers of one subnet may have outstanding, all together. */
  strangerChallengesPerSubnet: number
  /** A peer's cooldown after its first failed proof; each further failure doubles it. */
  firstCooldownMs: number
  maxCooldownMs: number
  /** Failed proofs the strangers of one subnet may cost in a burst, and per second after it. */
  subnetFailureBurst: number
  subnetFailuresPerSecond: number
  /** The same for every stranger together: many subnets share one budget. */
  strangerFailureBurst: number
  strangerFailuresPerSecond: number
  /** How long a verified proof gives its peer standing. */
  provenStandingMs: number
  /**
   * Refusals a peer may ignore during one cooldown: it asked again at once, each time,
   * so the caller may hang up on it (only reconnecting then costs it, and the node's
   * per-host connection limits bound that).
   */
  knocksPerCooldown: number
  /**
   * Peers (and subnets) remembered; beyond it idle peers, then the longest unseen, are
   * forgotten. A subnet is forgotten only once its failure budget is full again: beyond
   * this many, new subnets share one overflow budget, as strict as one subnet's.
   */
  maxTracked: number
}

/**
 * A tree get proves once per file per holder, 4 files at a time (owner/in-parallel.ts)
 * with a manifest and data commitment each: 16 outstanding leaves it room. Strangers of
 * one subnet fail at most 2 proofs a second after a burst of 16 (~2 % of a core), all
 * strangers 20 a second (~20 %): failures cost the sender, attempts that verify do not.
 */
export const DEFAULT_PROOF_ADMISSION: ProofAdmissionLimits = {
  challengesPerPeer: 16,
  strangerChallengesPerSubnet: 8,
  firstCooldownMs: 1000,
  maxCooldownMs: 10 * 60_000,
  subnetFailureBurst: 16,
  subnetFailuresPerSecond: 2,
  strangerFailureBurst: 64,
  strangerFailuresPerSecond: 20,
  provenStandingMs: 60 * 60_000,
  knocksPerCooldown: 4,
  maxTracked: 10_000
}

export interface ProofAdmissionInit {
  /** Standing this node gave a peer (trusted or reciprocal: app/admission/allowances.ts). */
  hasStanding?: (peer: string) => boolean
  limits?: Partial<ProofAdmissionLimits>
  now?: () => number
}

export interface ChallengeRequester {
  peer: string
  /** Its network (public /24 or /48, else its address): the unit strangers share. */
  subnet: string
}

/** How an admitted challenge ended: only a proof that reached a verdict of false costs. */
export type ChallengeOutcome = 'verified' | 'failed' | 'abandoned'

export interface AdmittedChallenge {
  /** The requester had standing when admitted: its verification goes ahead of strangers'. */
  readonly priority: boolean
  /** Ends the challenge; later calls are ignored. */
  settle (outcome: ChallengeOutcome): void
}

interface PeerRecord { outstanding: number, failures: number, coolUntil: number, knocks: number, provenAt?: number, seenAt: number }
interface SubnetRecord { outstanding: number, failures: RateAllowance, seenAt: number }

/**
 * Admission of proof attempts before the challenge, where refusing costs the node
 * nothing but a frame. A failed proof is known only after a pairing (~10 ms), so
 * failures, not attempts, cost the sender: its peer waits out a cooldown that doubles
 * with each failure and ends with a verified proof; fresh identities are free, so the
 * strangers of a subnet, and all strangers together, also share a budget of failures
 * and a bound on challenges outstanding. Peers with standing (given by the operator
 * or reciprocity, or a verified proof within the hour) pass the strangers' bounds and
 * are verified ahead of them. Sessions already proven never come here.
 */
export class ProofAdmission {
  private readonly limits: ProofAdmissionLimits
  private readonly hasStanding: (peer: string) => boolean
  private readonly now: () => number
  private readonly peers = new Map<string, PeerRecord>()
  private readonly subnets = new Map<string, SubnetRecord>()
  private readonly strangers: RateAllowance
  /** The networks beyond maxTracked, all together: one subnet's budget, so 10,001 /48s are not 10,001 budgets. */
  private readonly overflow: SubnetRecord
  private sweptAt = -Infinity

  constructor (init: ProofAdmissionInit = {}) {
    this.limits = { ...DEFAULT_PROOF_ADMISSION, ...init.limits }
    this.hasStanding = init.hasStanding ?? (() => false)
    this.now = init.now ?? Date.now
    this.strangers = RateAllowance.perSecond(this.limits.strangerFailuresPerSecond, this.limits.strangerFailureBurst, this.now)
    this.overflow = this.newSubnet(this.now())
  }

  /** Admits one challenge for `requester`, or throws BusyError saying when to try again. */
  admit (requester: ChallengeRequester): AdmittedChallenge {
    const now = this.now()
    const peer = this.peerRecord(requester.peer, now)
    if (now < peer.coolUntil) {
      peer.knocks++
      throw new BusyError(`proofs from this peer failed; retry in ${seconds(peer.coolUntil - now)}`)
    }
    if (peer.outstanding >= this.limits.challengesPerPeer) throw new BusyError('too many of this peer\'s challenges are outstanding')
    const priority = this.hasStanding(requester.peer) ||
      (peer.provenAt !== undefined && now - peer.provenAt < this.limits.provenStandingMs)
    const subnet = priority ? undefined : this.subnetRecord(requester.subnet, now)
    if (subnet !== undefined) {
      if (subnet.failures.available() < 1) throw new BusyError(`proofs from this network failed too often; retry in ${seconds(1000 / this.limits.subnetFailuresPerSecond)}`)
      if (this.strangers.available() < 1) throw new BusyError('too many proofs from new peers failed; retry after a pause')
      if (subnet.outstanding >= this.limits.strangerChallengesPerSubnet) throw new BusyError('too many challenges to new peers of this network are outstanding')
      subnet.outstanding++
    }
    peer.outstanding++
    let settled = false
    return {
      priority,
      settle: (outcome) => {
        if (settled) return
        settled = true
        const at = this.now()
        peer.outstanding--
        peer.seenAt = at
        if (subnet !== undefined) subnet.outstanding--
        if (outcome === 'verified') {
          peer.provenAt = at
          peer.failures = 0
          peer.coolUntil = 0
        } else if (outcome === 'failed') {
          peer.provenAt = undefined
          peer.failures++
          peer.knocks = 0
          peer.coolUntil = at + Math.min(this.limits.maxCooldownMs, this.limits.firstCooldownMs * 2 ** Math.min(30, peer.failures - 1))
          if (subnet !== undefined) {
            subnet.failures.spend()
            this.strangers.spend()
          }
        }
      }
    }
  }

  /** Peers and subnets remembered now. */
  get tracked (): { peers: number, subnets: number } {
    return { peers: this.peers.size, subnets: this.subnets.size }
  }

  /** Milliseconds left of `peer`'s cooldown (0: none). */
  cooldownLeftMs (peer: string): number {
    const record = this.peers.get(peer)
    return record === undefined ? 0 : Math.max(0, record.coolUntil - this.now())
  }

  /** `peer` was refused more often in its current cooldown than knocksPerCooldown: it does not wait. */
  ignoresCooldown (peer: string): boolean {
    const record = this.peers.get(peer)
    return record !== undefined && this.now() < record.coolUntil && record.knocks > this.limits.knocksPerCooldown
  }

  private peerRecord (id: string, now: number): PeerRecord {
    let record = this.peers.get(id)
    if (record === undefined) {
      if (this.peers.size >= this.limits.maxTracked) this.forgetPeers(now)
      record = { outstanding: 0, failures: 0, coolUntil: 0, knocks: 0, seenAt: now }
      this.peers.set(id, record)
    }
    return record
  }

  private subnetRecord (key: string, now: number): SubnetRecord {
    let record = this.subnets.get(key)
    if (record === undefined) {
      if (this.subnets.size >= this.limits.maxTracked) this.forgetSubnets(now)
      if (this.subnets.size >= this.limits.maxTracked) return this.overflow
      record = this.newSubnet(now)
      this.subnets.set(key, record)
    }
    record.seenAt = now
    return record
  }

  /**
   * Forgets peers with nothing outstanding, nothing to wait out and no standing of
   * their own first; still full, the longest unseen go. A forgotten peer starts
   * afresh, as a fresh identity would: the subnet's and strangers' budgets still hold.
   */
  private forgetPeers (now: number): void {
    const idle = (r: PeerRecord): boolean => r.outstanding === 0 && r.coolUntil <= now &&
      (r.provenAt === undefined || now - r.provenAt >= this.limits.provenStandingMs)
    for (const [id, r] of this.peers) if (idle(r)) this.peers.delete(id)
    if (this.peers.size < this.limits.maxTracked) return
    const byAge = [...this.peers].filter(([, r]) => r.outstanding === 0).sort((a, b) => a[1].seenAt - b[1].seenAt)
    for (const [id] of byAge.slice(0, Math.ceil(this.limits.maxTracked / 10))) this.peers.delete(id)
  }

  /**
   * Forgets the subnets with nothing outstanding whose failure budget is full again:
   * they know nothing a fresh record would not. Never one still paying for failures, or
   * an attacker with maxTracked + 1 subnets would wipe its own debts by age. A sweep
   * walks every record, so it runs at most once a second; between, newcomers overflow.
   */
  private forgetSubnets (now: number): void {
    if (now - this.sweptAt < SWEEP_INTERVAL_MS) return
    this.sweptAt = now
    for (const [key, r] of this.subnets) if (r.outstanding === 0 && r.failures.full) this.subnets.delete(key)
  }

  private newSubnet (now: number): SubnetRecord {
    return { outstanding: 0, failures: RateAllowance.perSecond(this.limits.subnetFailuresPerSecond, this.limits.subnetFailureBurst, this.now), seenAt: now }
  }
}

/** How often a full table of subnets is swept for records back to a full budget. */
const SWEEP_INTERVAL_MS = 1000

function seconds (ms: number): string {
  return `${Math.ceil(ms / 1000)} s`
}
