import { TopicValidatorResult, type GossipSub, type Message, type SubscriptionChangeData } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { NewcomerGate, type NewcomerGateInit } from '../../domain/membership/newcomer-gate.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import { decodeSignedAnnouncement, encodeSignedAnnouncement, type Announcement, type AnnouncementVersion } from '../../domain/membership/announcement.ts'
import { announceTopic } from '../../domain/membership/federation.ts'
import type { Logger } from '../../ports/logger.ts'
import type { PeerBook } from '../../ports/peer-book.ts'
import { signAnnouncement } from './announcement-signature.ts'
import { judgeAnnouncement, type AnnouncementRules } from './announcement-validator.ts'
import { RateAllowance } from '../../util/rate-allowance.ts'

/** The parts of an announcement that change while the node runs, read at each send. */
export interface Offer {
  addresses: string[]
  capacity: number
  free: number
  uptime: number
}

export interface FederationAnnouncerInit {
  pubsub: GossipSub
  privateKey: PrivateKey
  peerId: PeerId
  federation: string
  proofSystemId: string
  software: string
  protocols: string[]
  /** The operator-declared site (site.ts), sent in version 2 announcements; absent: none. */
  site?: string
  book: PeerBook
  offer: () => Promise<Offer>
  /** Time between periodic announcements (±10% jitter). */
  intervalMs: number
  /** Accepted clock difference; older announcements are ignored, newer rejected. */
  windowMs: number
  /**
   * Dials a peer known only from its announcement and admits it to the book if it
   * answers (LivenessService.admit); resolves whether it is in the book.
   */
  verify: (announcement: Announcement, options: AbortOptions) => Promise<boolean>
  /** New identities per relaying peer per window, and the size of the unverified set. */
  newcomers: NewcomerGateInit
  log: Logger
  now?: () => number
  /** Called after a version 1 announcement of a peer in the book has been recorded (not after an admission). */
  onAccepted?: (announcement: Announcement) => void
}

export interface AnnouncementStats {
  sent: number
  accepted: number
  rejected: number
  ignored: number
  /** Announcements of unknown peers dialled, and how many of those answered and were admitted. */
  dialled: number
  admitted: number
}

const VERSIONS: readonly AnnouncementVersion[] = [1, 2]

/**
 * Announcements of one book peer, per topic, recorded and forwarded a minute: an honest
 * node sends one per announceInterval and at most one a second after joins; a book peer
 * that signs newer timestamps as fast as it can would otherwise have every node verify,
 * write and forward each. Past it: Ignore (a node configured to announce more often than
 * once a second is only heard less often).
 */
const KNOWN_PEER_ANNOUNCEMENTS_PER_MINUTE = 60

/** The shortest time between two announcements triggered by peers joining the topic. */
const MIN_GAP_MS = 1000
/** Unknown peers dialled at once; the rest of the unverified set waits its turn. */
const DIALS_AT_ONCE = 4

/** Gaps between the announcements right after start, before the regular interval. */
const JOIN_BURST_MS = [2_000, 5_000, 10_000, 20_000] as const

/**
 * Announces this node on the federation topic (at start, every interval, and soon
 * after a peer joins the topic) and records the announcements of others in the peer
 * book. Incoming messages pass `judgeAnnouncement` as gossipsub's topic validator,
 * so a rejected one is neither delivered nor forwarded and costs its sender score.
 *
 * An announcement of a peer not in the book is a claim, not a fact: it is ignored (not
 * delivered, not forwarded, not recorded) and, if the NewcomerGate lets it in, waits
 * in the small unverified set until `verify` dials the peer. Only a peer that answered
 * is admitted, and only then are its later announcements forwarded. A relaying peer
 * gets a few dials per window; one that names more distinct new identities than a
 * book holds has the excess rejected, so it pays in gossipsub score (P4) for the flood.
 *
 * Each announcement goes out twice, with one timestamp: version 1 on the version 1
 * topic, which every build reads, and version 2 (with the site, if declared) on its own
 * topic, which earlier builds do not subscribe to. A newcomer's version 2 passes the
 * same gate as its twin (one id, counted once); either may earn the dial, which admits
 * what version 1 says, and the site is learnt from its next version 2.
 */
export class FederationAnnouncer {
  readonly stats: AnnouncementStats = { sent: 0, accepted: 0, rejected: 0, ignored: 0, dialled: 0, admitted: 0 }
  private readonly init: FederationAnnouncerInit
  private readonly topics: Record<AnnouncementVersion, string>
  private readonly now: () => number
  private readonly rules: AnnouncementRules
  private periodic: ReturnType<typeof setTimeout> | undefined
  private soon: ReturnType<typeof setTimeout> | undefined
  private lastSent = 0
  private running = false
  private readonly gate: NewcomerGate
  private readonly waiting: Announcement[] = []
  private readonly dialling = new Set<Promise<void>>()
  private dials = new AbortController()
  /** Per `version peerId` of a book peer: KNOWN_PEER_ANNOUNCEMENTS_PER_MINUTE. */
  private readonly allowances = new Map<string, RateAllowance>()
  private readonly onMessage = (evt: CustomEvent<Message>): void => { void this.record(evt.detail) }
  private readonly onSubscriptionChange = (evt: CustomEvent<SubscriptionChangeData>): void => {
    if (evt.detail.subscriptions.some((s) => s.subscribe && this.versionOf(s.topic) !== undefined)) this.announceSoon()
  }

  constructor (init: FederationAnnouncerInit) {
    this.init = init
    this.topics = { 1: announceTopic(init.federation, 1), 2: announceTopic(init.federation, 2) }
    this.now = init.now ?? Date.now
    this.rules = {
      federation: init.federation,
      proofSystemId: init.proofSystemId,
      selfPeerId: init.peerId.toString(),
      windowMs: init.windowMs,
      now: this.now,
      known: async (peerId) => {
        const entry = await init.book.get(peerId).catch(() => undefined)
        return entry === undefined ? undefined : { timestamp: entry.announcement?.timestamp, siteTimestamp: entry.siteTimestamp }
      }
    }
    this.gate = new NewcomerGate(init.newcomers)
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.dials = new AbortController()
    const { pubsub } = this.init
    for (const version of VERSIONS) {
      pubsub.topicValidators.set(this.topics[version], async (relayer, message) => this.validate(relayer.toString(), message, version))
    }
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    for (const version of VERSIONS) pubsub.subscribe(this.topics[version])
    this.schedule(0)
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.periodic)
    clearTimeout(this.soon)
    const { pubsub } = this.init
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    for (const version of VERSIONS) {
      const topic = this.topics[version]
      pubsub.topicValidators.delete(topic)
      if (pubsub.getTopics().includes(topic)) pubsub.unsubscribe(topic)
    }
    this.waiting.length = 0
    this.dials.abort()
    await Promise.allSettled(this.dialling)
    this.gate.clear()
    this.allowances.clear()
  }

  /** Signs and publishes one announcement now, in both versions. */
  async announce (): Promise<void> {
    const { init } = this
    const offer = await init.offer()
    const announcement: Announcement = {
      federation: init.federation,
      peerId: init.peerId.toString(),
      addresses: offer.addresses,
      capacity: offer.capacity,
      free: Math.min(offer.free, offer.capacity),
      proofSystem: init.proofSystemId,
      software: init.software,
      protocols: init.protocols,
      uptime: offer.uptime,
      timestamp: Math.max(this.now(), this.lastSent + 1) // strictly increasing, so none is ignored as a replay
    }
    this.lastSent = announcement.timestamp
    const first = await init.pubsub.publish(this.topics[1], encodeSignedAnnouncement(await signAnnouncement(init.privateKey, announcement, 1)))
    const withSite = init.site === undefined ? announcement : { ...announcement, site: init.site }
    const second = await init.pubsub.publish(this.topics[2], encodeSignedAnnouncement(await signAnnouncement(init.privateKey, withSite, 2)))
    this.stats.sent++
    init.log.debug(`announced to ${first.recipients.length} peers (version 2: ${second.recipients.length})`)
  }

  /** Announces within a second, once, however often it is called. */
  announceSoon (): void {
    if (!this.running || this.soon !== undefined) return
    const wait = Math.max(0, this.lastSent + MIN_GAP_MS - this.now())
    this.soon = setTimeout(() => {
      this.soon = undefined
      this.send()
    }, Math.min(wait, MIN_GAP_MS))
  }

  private async validate (relayer: string, message: Message, version: AnnouncementVersion): Promise<TopicValidatorResult> {
    const verdict = await judgeAnnouncement(message, this.rules, version)
    if (verdict.result === TopicValidatorResult.Accept && !verdict.known) {
      // a version 2 claim goes through the same gate, or fresh ids on its topic would cost
      // a verification each and never their relayer any score; twins count once (distinct
      // ids), and the book admits what version 1 says: the site comes with the next one
      const { site: _site, ...claim } = verdict.announcement
      return this.newcomer(relayer, claim, version)
    }
    if (verdict.result === TopicValidatorResult.Accept && !this.allowed(verdict.announcement.peerId, version)) {
      if (version === 1) this.stats.ignored++
      this.init.log.debug(`ignored an announcement of ${verdict.announcement.peerId}: more than ${KNOWN_PEER_ANNOUNCEMENTS_PER_MINUTE} a minute`)
      return TopicValidatorResult.Ignore
    }
    if (verdict.result === TopicValidatorResult.Reject) {
      this.stats.rejected++
      this.init.log.warn(`rejected an announcement from ${message.type === 'signed' ? message.from.toString() : 'an unsigned sender'}: ${verdict.reason}`)
    } else if (verdict.result === TopicValidatorResult.Ignore) {
      this.stats.ignored++
      this.init.log.debug(`ignored an announcement: ${verdict.reason}`)
    }
    return verdict.result
  }

  /** Whether a book peer's announcement of `version` is within its allowance (taken if so). */
  private allowed (peerId: string, version: AnnouncementVersion): boolean {
    const key = `${version} ${peerId}`
    let allowance = this.allowances.get(key)
    if (allowance === undefined) {
      // only book peers get here, and a full allowance remembers nothing: the map stays near two per book entry
      if (this.allowances.size >= 2 * this.init.newcomers.floodLimit + 64) {
        for (const [k, a] of this.allowances) if (a.full) this.allowances.delete(k)
      }
      allowance = new RateAllowance(KNOWN_PEER_ANNOUNCEMENTS_PER_MINUTE, this.now)
      this.allowances.set(key, allowance)
    }
    return allowance.take()
  }

  /** An unknown peer's announcement: never delivered or forwarded; queued for a dial if the gate allows. */
  private newcomer (relayer: string, announcement: Announcement, version: AnnouncementVersion): TopicValidatorResult {
    const verdict = this.gate.offer(announcement.peerId, relayer, this.now())
    if (verdict === 'flood') {
      this.stats.rejected++
      this.init.log.debug(`rejected an announcement of new peer ${announcement.peerId}: ${relayer} named more new peers than a book holds`)
      return TopicValidatorResult.Reject
    }
    // counted once per announcement, its version 1 twin's
    if (version === 1) this.stats.ignored++
    if (verdict === 'queued') {
      this.waiting.push(announcement)
      this.pump()
    }
    return TopicValidatorResult.Ignore
  }

  /** Dials waiting newcomers, a few at a time. */
  private pump (): void {
    while (this.running && this.dialling.size < DIALS_AT_ONCE && this.waiting.length > 0) {
      const announcement = this.waiting.shift()!
      this.stats.dialled++
      let admitted = false
      const work = this.init.verify(announcement, { signal: this.dials.signal })
        .then((ok) => {
          admitted = ok
          if (ok) this.stats.admitted++
        }, (err) => { if (this.running) this.init.log.debug(`cannot verify ${announcement.peerId}`, err) })
        .finally(() => {
          this.gate.done(announcement.peerId, admitted, this.now())
          this.dialling.delete(work)
          this.pump()
        })
      this.dialling.add(work)
    }
  }

  private versionOf (topic: string): AnnouncementVersion | undefined {
    return VERSIONS.find((version) => this.topics[version] === topic)
  }

  private async record (message: Message): Promise<void> {
    const version = this.versionOf(message.topic)
    if (version === undefined) return
    try {
      // the validator accepted it, so it decodes
      const { announcement } = decodeSignedAnnouncement(message.data, version)
      if (await this.init.book.recordAnnouncement(announcement, this.now(), { version })) {
        // counted once per announcement, as `sent` is: its version 2 twin only adds the site
        if (version === 1) {
          this.stats.accepted++
          this.init.onAccepted?.(announcement)
        }
      }
    } catch (err) {
      if (this.running) this.init.log.warn('cannot record an announcement', err)
    }
  }

  private send (): void {
    if (!this.running) return
    this.announce().catch((err) => { if (this.running) this.init.log.warn('announcement failed', err) })
  }

  /**
   * At `delayMs`, then every interval; the first few announcements after start come
   * sooner (JOIN_BURST_MS). A peer forwards a newcomer's announcements only once it has
   * dialled it, which takes a moment after the first one arrived: without the burst the
   * rest of the federation would hear of a newcomer only an interval later.
   */
  private schedule (delayMs: number, burst: readonly number[] = JOIN_BURST_MS): void {
    if (!this.running) return
    this.periodic = setTimeout(() => {
      this.send()
      const [next, ...rest] = burst
      const jitter = 1 + (Math.random() - 0.5) / 5
      if (next !== undefined && next < this.init.intervalMs) this.schedule(next, rest)
      else this.schedule(Math.round(this.init.intervalMs * jitter), [])
    }, delayMs)
  }
}
