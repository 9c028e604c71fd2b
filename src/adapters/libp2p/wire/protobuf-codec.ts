import protobuf from 'protobufjs'
import { MalformedMessageError } from '../../../domain/protocol/federation-errors.ts'

/** Encoder and validating decoder of one message type. */
export interface MessageCodec<T> {
  encode (message: T): Uint8Array
  /** Throws MalformedMessageError for anything that is not a valid T. */
  decode (bytes: Uint8Array): T
}

/**
 * The codec of message `name` of a loaded schema. With `oneof`, a decoded message keeps
 * only the chosen member of it, so callers can switch on `'x' in message`, and the
 * fields outside it that the frame carries (proto3 `optional` ones only when present);
 * a frame choosing none is malformed.
 */
export function protobufCodec<T> (messageType: protobuf.Type, oneof?: string): MessageCodec<T> {
  const name = messageType.name
  return {
    encode: (message) => messageType.encode(messageType.fromObject(message as object)).finish(),
    decode: (bytes) => {
      let object: Record<string, unknown>
      try {
        object = messageType.toObject(messageType.decode(bytes), { longs: Number, enums: Number, defaults: true, oneofs: oneof !== undefined })
      } catch (err) {
        throw new MalformedMessageError(`undecodable ${name} frame: ${(err as Error).message}`, { cause: err })
      }
      if (oneof !== undefined) {
        const chosen = object[oneof]
        if (typeof chosen !== 'string') throw new MalformedMessageError(`${name} frame carries no message`)
        const outside: Record<string, unknown> = {}
        for (const field of messageType.fieldsArray) {
          if (field.partOf?.name !== oneof && object[field.name] !== undefined) outside[field.name] = object[field.name]
        }
        return { ...outside, [chosen]: object[chosen] } as T
      }
      return object as T
    }
  }
}
