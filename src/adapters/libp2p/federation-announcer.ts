import { TopicValidatorResult, type GossipSub, type Message, type SubscriptionChangeData } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { decodeSignedAnnouncement, encodeSignedAnnouncement, type Announcement } from '../../domain/membership/announcement.ts'
import { announceTopic } from '../../domain/membership/federation.ts'
import type { Logger } from '../../ports/logger.ts'
import type { PeerBook } from '../../ports/peer-book.ts'
import { signAnnouncement } from './announcement-signature.ts'
import { judgeAnnouncement, type AnnouncementRules } from './announcement-validator.ts'

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
  book: PeerBook
  offer: () => Promise<Offer>
  /** Time between periodic announcements (±10% jitter). */
  intervalMs: number
  /** Accepted clock difference; older announcements are ignored, newer rejected. */
  windowMs: number
  /** Announcements from new peers are ignored while the book holds this many. */
  maxPeers: number
  log: Logger
  now?: () => number
  /** Called after an announcement has been recorded in the book. */
  onAccepted?: (announcement: Announcement) => void
}

export interface AnnouncementStats {
  sent: number
  accepted: number
  rejected: number
  ignored: number
}

/** The shortest time between two announcements triggered by peers joining the topic. */
const MIN_GAP_MS = 1000

/**
 * Announces this node on the federation topic (at start, every interval, and soon
 * after a peer joins the topic) and records the announcements of others in the peer
 * book. Incoming messages pass `judgeAnnouncement` as gossipsub's topic validator,
 * so a rejected one is neither delivered nor forwarded and costs its sender score.
 */
export class FederationAnnouncer {
  readonly stats: AnnouncementStats = { sent: 0, accepted: 0, rejected: 0, ignored: 0 }
  private readonly init: FederationAnnouncerInit
  private readonly topic: string
  private readonly now: () => number
  private readonly rules: AnnouncementRules
  private periodic: ReturnType<typeof setTimeout> | undefined
  private soon: ReturnType<typeof setTimeout> | undefined
  private lastSent = 0
  private running = false
  private readonly onMessage = (evt: CustomEvent<Message>): void => { void this.record(evt.detail) }
  private readonly onSubscriptionChange = (evt: CustomEvent<SubscriptionChangeData>): void => {
    if (evt.detail.subscriptions.some((s) => s.subscribe && s.topic === this.topic)) this.announceSoon()
  }

  constructor (init: FederationAnnouncerInit) {
    this.init = init
    this.topic = announceTopic(init.federation)
    this.now = init.now ?? Date.now
    this.rules = {
      federation: init.federation,
      proofSystemId: init.proofSystemId,
      selfPeerId: init.peerId.toString(),
      windowMs: init.windowMs,
      now: this.now,
      lastTimestamp: async (peerId) => (await init.book.get(peerId).catch(() => undefined))?.announcement?.timestamp,
      atCapacity: async () => await init.book.count() >= init.maxPeers
    }
  }

  start (): void {
    if (this.running) return
    this.running = true
    const { pubsub } = this.init
    pubsub.topicValidators.set(this.topic, async (_peer, message) => this.validate(message))
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.subscribe(this.topic)
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
    pubsub.topicValidators.delete(this.topic)
    if (pubsub.getTopics().includes(this.topic)) pubsub.unsubscribe(this.topic)
  }

  /** Signs and publishes one announcement now. */
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
    const data = encodeSignedAnnouncement(await signAnnouncement(init.privateKey, announcement))
    const result = await init.pubsub.publish(this.topic, data)
    this.stats.sent++
    init.log.debug(`announced to ${result.recipients.length} peers`)
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

  private async validate (message: Message): Promise<TopicValidatorResult> {
    const verdict = await judgeAnnouncement(message, this.rules)
    if (verdict.result === TopicValidatorResult.Reject) {
      this.stats.rejected++
      this.init.log.warn(`rejected an announcement from ${message.type === 'signed' ? message.from.toString() : 'an unsigned sender'}: ${verdict.reason}`)
    } else if (verdict.result === TopicValidatorResult.Ignore) {
      this.stats.ignored++
      this.init.log.debug(`ignored an announcement: ${verdict.reason}`)
    }
    return verdict.result
  }

  private async record (message: Message): Promise<void> {
    if (message.topic !== this.topic) return
    try {
      // the validator accepted it, so it decodes
      const { announcement } = decodeSignedAnnouncement(message.data)
      if (await this.init.book.recordAnnouncement(announcement, this.now())) {
        this.stats.accepted++
        this.init.onAccepted?.(announcement)
      }
    } catch (err) {
      if (this.running) this.init.log.warn('cannot record an announcement', err)
    }
  }

  private send (): void {
    if (!this.running) return
    this.announce().catch((err) => { if (this.running) this.init.log.warn('announcement failed', err) })
  }

  private schedule (delayMs: number): void {
    if (!this.running) return
    this.periodic = setTimeout(() => {
      this.send()
      const jitter = 1 + (Math.random() - 0.5) / 5
      this.schedule(Math.round(this.init.intervalMs * jitter))
    }, delayMs)
  }
}
