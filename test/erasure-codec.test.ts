import { ReedSolomonCodec } from '../src/adapters/erasure/reed-solomon-codec.ts'
import { erasureCodecSuite } from './conformance/erasure-codec.suite.ts'

erasureCodecSuite('ReedSolomonCodec (@ronomon/reed-solomon)', () => new ReedSolomonCodec())
