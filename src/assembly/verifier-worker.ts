import { parentPort, workerData } from 'node:worker_threads'
import { SnarkjsVerifier } from '../adapters/proof/snarkjs-verifier.ts'
import type { VerificationKey } from '../adapters/proof/verification-key.ts'
import type { VerifyReply, VerifyRequest } from '../adapters/proof/worker-pool-verifier.ts'

// The assembly of one worker thread of WorkerPoolVerifier: one SnarkjsVerifier, one
// verification at a time, answering each request with its verdict or the error's name
// and message.

const port = parentPort
if (port === null) throw new Error('verifier-worker.ts runs as a worker thread')
const verifier = await SnarkjsVerifier.create({ verificationKey: (workerData as { verificationKey: VerificationKey }).verificationKey })
port.on('message', (request: VerifyRequest) => {
  verifier.verify(request.input).then(
    (verdict) => port.postMessage({ id: request.id, verdict } satisfies VerifyReply),
    (err: Error) => port.postMessage({ id: request.id, error: { name: err.name, message: err.message } } satisfies VerifyReply)
  )
})
port.postMessage('ready')
