pragma circom 2.1.0;

// Quloud ownership proof: "I know the secret s whose Poseidon hash is this commitment",
// bound to one context (challenge, storage node, requester, action, expiry).
// The witness is private; only `commitment` and `context` are public, in that order.

include "circomlib/circuits/poseidon.circom";

template Ownership() {
    // Per-file retrieval secret s, a BN254 scalar. Never leaves the owner's node.
    signal input secret;
    // C = Poseidon(s), stored by storage nodes beside every chunk of the file.
    signal input commitment;
    // Field element derived from the storage node's challenge (protocol-spec/ownership-proof.md).
    signal input context;

    component hash = Poseidon(1);
    hash.inputs[0] <== secret;
    hash.out === commitment;

    // A public input that appears in no constraint is not bound by a Groth16 proof:
    // the verifier's linear combination would accept any value for it. Squaring it
    // puts `context` into a quadratic constraint the optimiser cannot remove, so a
    // proof made for one context fails for every other.
    signal contextSquared;
    contextSquared <== context * context;
}

component main {public [commitment, context]} = Ownership();
