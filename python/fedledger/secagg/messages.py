"""Typed secagg messages and documents, each checked on arrival (errors name stage and field)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, ClassVar, Self

from eth_utils import keccak

from fedledger.chain.merkle import RosterTree
from fedledger.encoding import canonical_json, from_canonical_json, sha256, to_hex
from fedledger.errors import FedledgerError, ProtocolError
from fedledger.secagg.constants import ADVERTISE_KEYS, FINALIZE, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.crypto import merkle
from fedledger.secagg.crypto.dleq import PROOF_BYTES, InvalidProof, check_channel_key
from fedledger.secagg.crypto.kdf import address_bytes
from fedledger.secagg.crypto.keys import (
    InvalidPublicKey,
    check_public_key,
    checksum_address,
    eip712_message,
    recover_bundle_signer,
    recover_typed_signer,
    sign_bundle,
    sign_typed,
)
from fedledger.secagg.crypto.shamir import SHARE_BYTES
from fedledger.secagg.params import RoundContext

__all__ = [
    "DOCUMENT_VERSION",
    "MASK_KEY",
    "SELF_MASK_SEED",
    "SHARE_TYPE",
    "UNMASK_SHARES_TYPE",
    "BadShare",
    "EncryptedShare",
    "KeyBundle",
    "LocalDropouts",
    "MaskedInput",
    "Reveal",
    "Roster",
    "ShareAccusation",
    "ShareKeysMessage",
    "UnmaskRequest",
    "UnmaskResponse",
    "UnusableKey",
    "check_address",
    "shares_typed",
    "sign_shares",
    "sort_addresses",
    "verify_shares",
]

DOCUMENT_VERSION = 1
SHARE_TYPE = "EncryptedShares(uint256 round,address sender,uint256 count,bytes32 sharesRoot)"
UNMASK_SHARES_TYPE = "UnmaskShares(uint256 round,address participant,bytes32 sharesHash)"
LOCAL_DROPOUTS_TYPE = (
    "LocalDropouts(uint256 round,address participant,bytes32 maskedHash,bytes32 dropoutsHash)"
)
SELF_MASK_SEED = "selfMaskSeed"
MASK_KEY = "maskKey"
SECRET_KINDS = (SELF_MASK_SEED, MASK_KEY)


def check_address(stage: str, name: str, value: Any) -> str:
    """`value` as an EIP-55 address, or ProtocolError(stage, name).

    Each distinct string is checksummed (keccak) once per process: a round sees the same
    few hundred addresses thousands of times.
    """
    checked = checksum_address(value) if isinstance(value, str) and len(value) in (40, 42) else None
    if checked is None:
        raise ProtocolError(stage, name, f"not an Ethereum address: {value!r}")
    return checked


def sort_addresses(addresses: Iterable[str]) -> list[str]:
    """Addresses ordered by their 20 raw bytes (ascending): the roster order."""
    return sorted(addresses, key=address_bytes)


def _bytes(stage: str, name: str, value: Any, length: int) -> bytes:
    if isinstance(value, str):
        try:
            body = value[2:] if value[:2] in ("0x", "0X") else value
            value = bytes.fromhex(body)
        except ValueError:
            raise ProtocolError(stage, name, "not valid hex") from None
    if not isinstance(value, bytes | bytearray):
        raise ProtocolError(stage, name, f"expected bytes, got {type(value).__name__}")
    if len(value) != length:
        raise ProtocolError(stage, name, f"expected {length} bytes, got {len(value)}")
    return bytes(value)


def _int(stage: str, name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(stage, name, f"expected a non-negative integer, got {value!r}")
    return value


def _get(stage: str, obj: Any, name: str) -> Any:
    if not isinstance(obj, Mapping):
        raise ProtocolError(stage, "document", f"expected an object, got {type(obj).__name__}")
    if name not in obj:
        raise ProtocolError(stage, name, "missing")
    return obj[name]


def _document_header(ctx: RoundContext) -> dict[str, Any]:
    """The fields every round document (roster, reveal) starts with."""
    return {
        "version": DOCUMENT_VERSION,
        "chainId": ctx.chain_id,
        "contract": ctx.contract,
        "round": ctx.round_id,
    }


def _parse_document(stage: str, what: str, blob: bytes) -> tuple[Any, RoundContext]:
    """Parse a round document blob; check its version and round context, errors name `what`."""
    try:
        obj = from_canonical_json(blob, what=what)
    except FedledgerError as exc:
        raise ProtocolError(stage, what, str(exc)) from None
    if _get(stage, obj, "version") != DOCUMENT_VERSION:
        raise ProtocolError(stage, "version", f"unsupported {what} version {obj['version']!r}")
    try:
        ctx = RoundContext(
            _get(stage, obj, "chainId"), _get(stage, obj, "contract"), _get(stage, obj, "round")
        )
    except FedledgerError as exc:
        raise ProtocolError(stage, what, str(exc)) from None
    return obj, ctx


class UnusableKey(ProtocolError):
    """A signed bundle carries an X25519 key nobody may use; `reason` is what to record."""

    def __init__(self, participant: str, field: str, reason: str) -> None:
        super().__init__(ADVERTISE_KEYS, field, f"{participant}: {reason}")
        self.participant = participant
        self.reason = f"{field}: {reason}"


@dataclass(frozen=True)
class KeyBundle:
    """Stage 1: a participant's X25519 public keys, signed with its Ethereum key (EIP-712)."""

    round_id: int
    participant: str
    channel_key: bytes
    mask_key: bytes
    signature: bytes

    def __post_init__(self) -> None:
        s = ADVERTISE_KEYS
        object.__setattr__(self, "round_id", _int(s, "round", self.round_id))
        object.__setattr__(self, "participant", check_address(s, "participant", self.participant))
        object.__setattr__(self, "channel_key", _bytes(s, "channelKey", self.channel_key, 32))
        object.__setattr__(self, "mask_key", _bytes(s, "maskKey", self.mask_key, 32))
        object.__setattr__(self, "signature", _bytes(s, "signature", self.signature, 65))

    @classmethod
    def create(
        cls,
        ctx: RoundContext,
        private_key: Any,
        participant: str,
        *,
        channel_key: bytes,
        mask_key: bytes,
    ) -> KeyBundle:
        """Sign a bundle with the participant's Ethereum private key."""
        signature = sign_bundle(
            private_key,
            **ctx.fields(),
            participant=participant,
            channel_key=channel_key,
            mask_key=mask_key,
        )
        return cls(ctx.round_id, participant, channel_key, mask_key, signature)

    def signer(self, ctx: RoundContext) -> str | None:
        """The address that signed this bundle under ctx's domain (None if unrecoverable)."""
        try:
            return recover_bundle_signer(
                self.signature,
                chain_id=ctx.chain_id,
                contract=ctx.contract,
                round_id=self.round_id,
                participant=self.participant,
                channel_key=self.channel_key,
                mask_key=self.mask_key,
            )
        except ValueError:
            return None

    def key_problem(self) -> str | None:
        """Why this bundle's keys are unusable (low-order or non-canonical), or None."""
        try:
            self.check_keys()
        except UnusableKey as exc:
            return exc.reason
        return None

    def check_keys(self) -> None:
        """UnusableKey unless both public keys are canonical and outside the small subgroup."""
        for name, key in (("channelKey", self.channel_key), ("maskKey", self.mask_key)):
            try:
                check_public_key(key)
            except InvalidPublicKey as exc:
                raise UnusableKey(self.participant, name, exc.reason) from None
        try:  # a share accusation proves the pair's secret on the prime-order subgroup
            check_channel_key(self.channel_key)
        except InvalidProof as exc:
            raise UnusableKey(self.participant, "channelKey", exc.reason) from None

    def verify(self, ctx: RoundContext) -> None:
        """Refuse a bundle for another round, not signed by its participant (under ctx), or
        whose keys fail `check_keys`. The signature is checked first, so an UnusableKey is
        attributable to the participant: exclude the bundle and record `reason`.

        A bundle that passed under ctx is remembered (the outcome depends on nothing else):
        in a simulation every member checks its k neighbours' bundles, n*k recoveries and
        subgroup checks in one process, of which n differ."""
        if (ctx, self) in _VERIFIED_BUNDLES:
            return
        self._verify(ctx)
        if len(_VERIFIED_BUNDLES) >= _VERIFIED_BUNDLES_MAX:
            _VERIFIED_BUNDLES.clear()
        _VERIFIED_BUNDLES.add((ctx, self))

    def _verify(self, ctx: RoundContext) -> None:
        if self.round_id != ctx.round_id:
            raise ProtocolError(
                ADVERTISE_KEYS, "round", f"bundle is for round {self.round_id}, not {ctx.round_id}"
            )
        signer = self.signer(ctx)
        if signer != self.participant:
            raise ProtocolError(
                ADVERTISE_KEYS,
                "signature",
                f"bundle of {self.participant} recovers to {signer} "
                "(wrong key, chain, contract or round)",
            )
        self.check_keys()

    def leaf_hash(self) -> bytes:
        """The roster Merkle leaf's bundle hash: keccak256(channelKey ‖ maskKey ‖ signature)."""
        return bytes(keccak(self.channel_key + self.mask_key + self.signature))

    def to_json(self) -> dict[str, Any]:
        """JSON object form (inside the roster document)."""
        return {
            "round": self.round_id,
            "participant": self.participant,
            "channelKey": to_hex(self.channel_key),
            "maskKey": to_hex(self.mask_key),
            "signature": to_hex(self.signature),
        }

    @classmethod
    def from_json(cls, obj: Any) -> KeyBundle:
        """Parse and type-check (the signature is checked by `verify`)."""
        s = ADVERTISE_KEYS
        return cls(
            _get(s, obj, "round"),
            _get(s, obj, "participant"),
            _get(s, obj, "channelKey"),
            _get(s, obj, "maskKey"),
            _get(s, obj, "signature"),
        )


_VERIFIED_BUNDLES: set[tuple[RoundContext, KeyBundle]] = set()
_VERIFIED_BUNDLES_MAX = 1 << 17


@dataclass(frozen=True)
class Roster:
    """The published list of signed bundles, sorted by participant address ascending."""

    ctx: RoundContext
    bundles: tuple[KeyBundle, ...]
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    _tree: list[RosterTree] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        addresses = [b.participant for b in self.bundles]
        if addresses != sort_addresses(addresses):
            raise ProtocolError(
                ADVERTISE_KEYS, "bundles", "roster is not sorted by address ascending"
            )
        if len(set(addresses)) != len(addresses):
            raise ProtocolError(
                ADVERTISE_KEYS, "bundles", "a participant appears twice in the roster"
            )
        for b in self.bundles:
            if b.round_id != self.ctx.round_id:
                raise ProtocolError(
                    ADVERTISE_KEYS, "round", f"bundle of {b.participant} is for round {b.round_id}"
                )
        self._index.update({a: i for i, a in enumerate(addresses)})

    @classmethod
    def build(cls, ctx: RoundContext, bundles: Iterable[KeyBundle]) -> Roster:
        """Sort bundles into roster order."""
        return cls(ctx, tuple(sorted(bundles, key=lambda b: address_bytes(b.participant))))

    @property
    def addresses(self) -> list[str]:
        """Participants in roster order."""
        return [b.participant for b in self.bundles]

    def __len__(self) -> int:
        return len(self.bundles)

    def __contains__(self, address: object) -> bool:
        return address in self._index

    def index(self, address: str) -> int:
        """Roster position of `address` (0-based); the Shamir x coordinate is index + 1."""
        try:
            return self._index[address]
        except KeyError:
            raise ProtocolError(
                ADVERTISE_KEYS, "participant", f"{address} is not in the roster"
            ) from None

    def bundle(self, address: str) -> KeyBundle:
        """The signed bundle of `address`."""
        return self.bundles[self.index(address)]

    def verify_signatures(self, addresses: Iterable[str] | None = None) -> None:
        """Check the signatures of the given participants (all by default)."""
        chosen = self.bundles if addresses is None else [self.bundle(a) for a in addresses]
        for b in chosen:
            b.verify(self.ctx)

    def to_bytes(self) -> bytes:
        """The roster blob: canonical JSON {version, chainId, contract, round, bundles}."""
        return canonical_json(
            {
                **_document_header(self.ctx),
                "bundles": [b.to_json() for b in self.bundles],
            }
        )

    def hash(self) -> bytes:
        """sha256 of the roster blob (posted on chain)."""
        return sha256(self.to_bytes())

    def tree(self) -> RosterTree:
        """The Merkle tree whose root is posted on chain: leaf i = (i, address, bundle hash)."""
        cached = self._tree
        if not cached:
            cached.append(RosterTree.build([(b.participant, b.leaf_hash()) for b in self.bundles]))
        return cached[0]

    @classmethod
    def from_bytes(cls, blob: bytes) -> Roster:
        """Parse a roster blob; structure is checked here, signatures by verify_signatures."""
        s = ADVERTISE_KEYS
        obj, ctx = _parse_document(s, "roster", blob)
        bundles = _get(s, obj, "bundles")
        if not isinstance(bundles, list):
            raise ProtocolError(s, "bundles", "expected a list")
        return cls(ctx, tuple(KeyBundle.from_json(b) for b in bundles))


@dataclass(frozen=True)
class ShareKeysMessage:
    """Stage 2: everything one participant sends, one encrypted share pair per neighbour."""

    sender: str
    shares: tuple[EncryptedShare, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "sender", check_address(SHARE_KEYS, "sender", self.sender))
        for s in self.shares:
            if s.sender != self.sender:
                raise ProtocolError(
                    SHARE_KEYS, "shares", f"share from {s.sender} inside {self.sender}'s message"
                )


class _SignedBySender:
    """EIP-712 signing by a message's own sender; `_typed(ctx)` says what the signature binds."""

    sender: str
    signature: bytes
    _STAGE: ClassVar[str]
    _FIELD: ClassVar[str]
    _WHAT: ClassVar[str]

    def _typed(self, ctx: RoundContext) -> dict[str, Any]:
        raise NotImplementedError

    def signed(self, ctx: RoundContext, private_key: Any) -> Self:
        """A copy signed with the sender's Ethereum key under ctx's domain."""
        return replace(self, signature=sign_typed(private_key, self._typed(ctx)))  # type: ignore[type-var]

    def signer(self, ctx: RoundContext) -> str | None:
        """The address that signed this message under ctx (None if unsigned or unrecoverable)."""
        if not self.signature:
            return None
        try:
            return recover_typed_signer(self.signature, self._typed(ctx))
        except ValueError:
            return None

    def verify(self, ctx: RoundContext) -> None:
        """Refuse a message not signed by its sender for this chain, contract and round."""
        signer = self.signer(ctx)
        if signer != self.sender:
            raise ProtocolError(
                self._STAGE,
                self._FIELD,
                f"{self._WHAT} of {self.sender} recovers to {signer} "
                "(unsigned, or signed for another key, chain, contract or round)",
            )


@dataclass(frozen=True)
class EncryptedShare(_SignedBySender):
    """Stage 2: AES-GCM(share of b_sender || share of s_sender^SK) from sender to recipient.

    The sender signs all its ciphertexts at once (`sign_shares`): one EIP-712 signature over
    (round, sender, count, Merkle root of its (recipient, sha256(ciphertext)) leaves,
    secagg.crypto.merkle), and each share carries that signature, the leaf count, its index
    and its Merkle proof. So the aggregator cannot alter or redirect a ciphertext, and a
    recipient that cannot open one holds evidence the sender cannot disown (ShareAccusation).
    """

    sender: str
    recipient: str
    ciphertext: bytes
    signature: bytes = b""
    count: int = 1
    """Leaves under the signed root: the sender's shares in its message."""
    index: int = 0
    """This share's leaf among them."""
    proof: tuple[bytes, ...] = ()
    """Sibling hashes from this share's leaf up to the signed root."""
    _STAGE: ClassVar[str] = SHARE_KEYS
    _FIELD: ClassVar[str] = "signature"
    _WHAT: ClassVar[str] = "share ciphertext"

    def __post_init__(self) -> None:
        s = SHARE_KEYS
        object.__setattr__(self, "sender", check_address(s, "sender", self.sender))
        object.__setattr__(self, "recipient", check_address(s, "recipient", self.recipient))
        expected = 12 + 2 * SHARE_BYTES + 16
        object.__setattr__(self, "ciphertext", _bytes(s, "ciphertext", self.ciphertext, expected))
        if self.signature:
            object.__setattr__(self, "signature", _bytes(s, "signature", self.signature, 65))
        if not 1 <= _int(s, "count", self.count) <= 1 << merkle.MAX_DEPTH:
            raise ProtocolError(s, "count", f"expected 1..2^{merkle.MAX_DEPTH} shares in the list")
        if _int(s, "index", self.index) >= self.count:
            raise ProtocolError(s, "index", f"index {self.index} is not below count {self.count}")
        if not isinstance(self.proof, tuple | list) or len(self.proof) > merkle.MAX_DEPTH:
            raise ProtocolError(s, "proof", f"expected at most {merkle.MAX_DEPTH} hashes")
        proof = tuple(_bytes(s, "proof", h, 32) for h in self.proof)
        object.__setattr__(self, "proof", proof)

    def signed_root(self) -> bytes | None:
        """The Merkle root this share's proof leads to (None if the proof is misshapen)."""
        leaf = merkle.leaf(self.recipient, self.ciphertext)
        try:
            return merkle.root_from_proof(leaf, self.index, self.count, self.proof)
        except merkle.InvalidPath:
            return None

    def signed(self, ctx: RoundContext, private_key: Any) -> Self:
        """A copy signed alone by the sender (a list of one share): see `sign_shares`."""
        alone = replace(self, count=1, index=0, proof=())
        return replace(alone, signature=sign_typed(private_key, alone._typed(ctx)))

    def signer(self, ctx: RoundContext) -> str | None:
        """The address that signed this share's list under ctx (None if unsigned, if the
        proof does not fit, or unrecoverable)."""
        if not self.signature or self.signed_root() is None:
            return None
        return super().signer(ctx)

    def _typed(self, ctx: RoundContext) -> dict[str, Any]:
        root = self.signed_root()
        return shares_typed(ctx, self.sender, self.count, root or bytes(32))


def shares_typed(ctx: RoundContext, sender: str, count: int, root: bytes) -> dict[str, Any]:
    """The EIP-712 message a sender signs over its share list (docs/protocol.md 4.6)."""
    return eip712_message(
        "EncryptedShares",
        [
            ("round", "uint256"),
            ("sender", "address"),
            ("count", "uint256"),
            ("sharesRoot", "bytes32"),
        ],
        {"round": ctx.round_id, "sender": sender, "count": count, "sharesRoot": root},
        chain_id=ctx.chain_id,
        contract=ctx.contract,
    )


def sign_shares(
    ctx: RoundContext, private_key: Any, shares: Sequence[EncryptedShare]
) -> tuple[EncryptedShare, ...]:
    """`shares` (one sender's, in order) with one signature over their Merkle root and each
    share's proof of its leaf: O(1) signatures per sender instead of one per share."""
    if not shares:
        raise ValueError("no shares to sign")
    sender = shares[0].sender
    levels = merkle.build([merkle.leaf(x.recipient, x.ciphertext) for x in shares])
    signature = sign_typed(private_key, shares_typed(ctx, sender, len(shares), levels[-1][0]))
    return tuple(
        replace(x, signature=signature, count=len(shares), index=i, proof=merkle.proof(levels, i))
        for i, x in enumerate(shares)
    )


def verify_shares(ctx: RoundContext, shares: Iterable[EncryptedShare]) -> None:
    """`EncryptedShare.verify` for many shares, recovering each distinct signed
    (sender, count, root, signature) once: one recovery per honest sender's message."""
    recovered: dict[tuple[str, int, bytes | None, bytes], str | None] = {}
    for x in shares:
        key = (x.sender, x.count, x.signed_root(), x.signature)
        if key not in recovered:
            recovered[key] = x.signer(ctx)
        if recovered[key] != x.sender:
            raise ProtocolError(
                SHARE_KEYS,
                "signature",
                f"share ciphertext of {x.sender} recovers to {recovered[key]} "
                "(unsigned, or signed for another key, chain, contract or round)",
            )


@dataclass(frozen=True)
class ShareAccusation:
    """Evidence that `share.sender` sent `share.recipient` a share that does not open.

    `share` carries the sender's signature over its share list and the Merkle proof of this
    share's leaf (EncryptedShare); `proof` (secagg.crypto.dleq) shows the pair's X25519
    output Z = X25519(c_recipient, C_sender) without the recipient's private key; with Z
    anyone derives the pair's AES key and tries the sender-signed ciphertext
    (`secagg.blame.judge_accusation`).
    """

    share: EncryptedShare
    proof: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "proof", _bytes(MASKED_INPUT, "proof", self.proof, PROOF_BYTES))
        if len(self.share.signature) != 65:
            raise ProtocolError(MASKED_INPUT, "shareSignature", "the accused share is unsigned")

    @property
    def accuser(self) -> str:
        """The recipient, who could not open the share."""
        return self.share.recipient

    @property
    def accused(self) -> str:
        """The sender, who signed the ciphertext."""
        return self.share.sender

    def to_json(self) -> dict[str, Any]:
        """JSON object form (the accuser is the report it travels in)."""
        return {
            "sender": self.share.sender,
            "ciphertext": to_hex(self.share.ciphertext),
            "shareSignature": to_hex(self.share.signature),
            "shareCount": self.share.count,
            "shareIndex": self.share.index,
            "shareProof": [to_hex(h) for h in self.share.proof],
            "proof": to_hex(self.proof),
        }

    @classmethod
    def from_json(cls, accuser: str, obj: Any, *, stage: str = FINALIZE) -> ShareAccusation:
        """Parse the form of `to_json` (errors name `stage` and the field)."""
        try:
            path = _get(stage, obj, "shareProof")
            if not isinstance(path, list):
                raise ProtocolError(stage, "shareProof", "expected a list of hashes")
            share = EncryptedShare(
                _get(stage, obj, "sender"),
                accuser,
                _get(stage, obj, "ciphertext"),
                _bytes(stage, "shareSignature", _get(stage, obj, "shareSignature"), 65),
                _get(stage, obj, "shareCount"),
                _get(stage, obj, "shareIndex"),
                tuple(path),
            )
            return cls(share, _get(stage, obj, "proof"))
        except ProtocolError as exc:
            raise ProtocolError(stage, exc.field, exc.detail) from None


@dataclass(frozen=True)
class LocalDropouts(_SignedBySender):
    """Stage 3: the neighbours a committer did not mask with (its D_u), signed by it.

    The EIP-712 signature binds (round, participant, maskedHash, dropoutsHash), so the
    aggregator can publish the report but can neither invent one nor move it to another
    masked vector; the verifier needs every survivor's report to recompute the sum.
    """

    sender: str
    masked_hash: bytes
    dropouts: tuple[str, ...]
    signature: bytes = b""
    accusations: tuple[ShareAccusation, ...] = ()
    """Evidence for the dropouts whose signed share did not open (not signed: each is
    self-authenticating, see ShareAccusation)."""
    _STAGE: ClassVar[str] = MASKED_INPUT
    _FIELD: ClassVar[str] = "dropouts"
    _WHAT: ClassVar[str] = "local-dropout report"

    def __post_init__(self) -> None:
        s = MASKED_INPUT
        object.__setattr__(self, "sender", check_address(s, "sender", self.sender))
        object.__setattr__(self, "masked_hash", _bytes(s, "maskedHash", self.masked_hash, 32))
        if isinstance(self.dropouts, str | bytes) or not isinstance(self.dropouts, Iterable):
            raise ProtocolError(s, "dropouts", "expected a list of addresses")
        dropouts = [check_address(s, "dropouts", a) for a in self.dropouts]
        if len(set(dropouts)) != len(dropouts):
            raise ProtocolError(s, "dropouts", "an address appears twice")
        if self.sender in dropouts:
            raise ProtocolError(s, "dropouts", "a participant cannot be its own dropout")
        object.__setattr__(self, "dropouts", tuple(sort_addresses(dropouts)))
        if self.signature:
            object.__setattr__(self, "signature", _bytes(s, "signature", self.signature, 65))
        accused = [a.accused for a in self.accusations]
        if any(a.accuser != self.sender for a in self.accusations):
            raise ProtocolError(s, "accusations", "an accusation is not by the report's sender")
        if len(set(accused)) != len(accused) or not set(accused) <= set(dropouts):
            raise ProtocolError(s, "accusations", "each accused must be a dropout, once")
        object.__setattr__(
            self,
            "accusations",
            tuple(sorted(self.accusations, key=lambda a: address_bytes(a.accused))),
        )

    def dropouts_hash(self) -> bytes:
        """sha256 of the canonical JSON list of the dropouts in roster order."""
        return sha256(canonical_json(list(self.dropouts)))

    def committed_hash(self) -> bytes | None:
        """What the seed commitment binds: `dropouts_hash()`, or None for an empty report."""
        return self.dropouts_hash() if self.dropouts else None

    def _typed(self, ctx: RoundContext) -> dict[str, Any]:
        return eip712_message(
            "LocalDropouts",
            [
                ("round", "uint256"),
                ("participant", "address"),
                ("maskedHash", "bytes32"),
                ("dropoutsHash", "bytes32"),
            ],
            {
                "round": ctx.round_id,
                "participant": self.sender,
                "maskedHash": self.masked_hash,
                "dropoutsHash": self.dropouts_hash(),
            },
            chain_id=ctx.chain_id,
            contract=ctx.contract,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON object form (the sender is the key it is published under)."""
        out: dict[str, Any] = {
            "maskedHash": to_hex(self.masked_hash),
            "dropouts": list(self.dropouts),
            "signature": to_hex(self.signature),
        }
        if self.accusations:  # absent when empty: reports without evidence keep their form
            out["accusations"] = [a.to_json() for a in self.accusations]
        return out

    @classmethod
    def from_json(cls, sender: str, obj: Any, *, stage: str = FINALIZE) -> LocalDropouts:
        """Parse the form of `to_json` (errors name `stage` and the field)."""
        dropouts = _get(stage, obj, "dropouts")
        if not isinstance(dropouts, list):
            raise ProtocolError(stage, "dropouts", "expected a list")
        accusations = obj.get("accusations", [])
        if not isinstance(accusations, list):
            raise ProtocolError(stage, "accusations", "expected a list")
        try:
            sender = check_address(stage, "sender", sender)
            return cls(
                sender,
                _get(stage, obj, "maskedHash"),
                tuple(dropouts),
                _bytes(stage, "signature", _get(stage, obj, "signature"), 65),
                tuple(ShareAccusation.from_json(sender, a, stage=stage) for a in accusations),
            )
        except ProtocolError as exc:
            raise ProtocolError(stage, exc.field, exc.detail) from None


@dataclass(frozen=True)
class MaskedInput:
    """Stage 3: the masked vector blob, the two values committed on chain, and the signed
    report of the neighbours the sender did not mask with."""

    sender: str
    vector: bytes
    masked_hash: bytes
    seed_commitment: bytes
    dropouts: LocalDropouts | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sender", check_address(MASKED_INPUT, "sender", self.sender))
        _bytes(MASKED_INPUT, "maskedHash", self.masked_hash, 32)
        _bytes(MASKED_INPUT, "seedCommitment", self.seed_commitment, 32)


@dataclass(frozen=True)
class UnmaskRequest:
    """Stage 4: whose self-mask seed (survivors) and whose mask key (dropped) to reveal."""

    survivors: tuple[str, ...]
    dropped: tuple[str, ...]

    def __post_init__(self) -> None:
        surv = tuple(check_address(UNMASK, "survivors", a) for a in self.survivors)
        drop = tuple(check_address(UNMASK, "dropped", a) for a in self.dropped)
        both = set(surv) & set(drop)
        if both:
            raise ProtocolError(
                UNMASK, "dropped", f"{sorted(both)[0]} is both a survivor and dropped"
            )
        if len(set(surv)) != len(surv) or len(set(drop)) != len(drop):
            raise ProtocolError(UNMASK, "survivors", "duplicate address")
        object.__setattr__(self, "survivors", surv)
        object.__setattr__(self, "dropped", drop)


@dataclass(frozen=True)
class UnmaskResponse(_SignedBySender):
    """Stage 4: the responder's shares (33 bytes each), keyed by whose secret they are.

    `signature` is the responder's EIP-712 signature over (round, sender, sharesHash); it is
    published in the reveal, so a bad share can be proven to come from its sender.
    """

    sender: str
    self_mask_shares: Mapping[str, bytes]
    mask_key_shares: Mapping[str, bytes]
    signature: bytes = b""
    _STAGE: ClassVar[str] = UNMASK
    _FIELD: ClassVar[str] = "signature"
    _WHAT: ClassVar[str] = "unmask response"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sender", check_address(UNMASK, "sender", self.sender))
        for attr, name in (
            ("self_mask_shares", "selfMaskShares"),
            ("mask_key_shares", "maskKeyShares"),
        ):
            shares = getattr(self, attr)
            # Owners are checksummed here, once, so shares_json (hashed and signed) needs none.
            checked = {
                check_address(UNMASK, name, owner): _bytes(UNMASK, name, raw, SHARE_BYTES)
                for owner, raw in shares.items()
            }
            if len(checked) != len(shares):
                raise ProtocolError(UNMASK, name, "an owner appears twice")
            object.__setattr__(self, attr, checked)
        both = set(self.self_mask_shares) & set(self.mask_key_shares)
        if both:
            raise ProtocolError(
                UNMASK, "maskKeyShares", f"both secrets of {sorted(both)[0]} revealed"
            )
        if self.signature:
            object.__setattr__(self, "signature", _bytes(UNMASK, "signature", self.signature, 65))

    def shares_json(self) -> dict[str, Any]:
        """{selfMaskShares, maskKeyShares} with checksummed owners and 0x-hex shares."""
        return {
            "selfMaskShares": {a: to_hex(v) for a, v in self.self_mask_shares.items()},
            "maskKeyShares": {a: to_hex(v) for a, v in self.mask_key_shares.items()},
        }

    def shares_hash(self) -> bytes:
        """sha256 of the canonical JSON of `shares_json()` (what the signature binds)."""
        return sha256(canonical_json(self.shares_json()))

    def _typed(self, ctx: RoundContext) -> dict[str, Any]:
        return eip712_message(
            "UnmaskShares",
            [("round", "uint256"), ("participant", "address"), ("sharesHash", "bytes32")],
            {"round": ctx.round_id, "participant": self.sender, "sharesHash": self.shares_hash()},
            chain_id=ctx.chain_id,
            contract=ctx.contract,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON object form inside the reveal: the shares and the signature (sender is the key)."""
        return {**self.shares_json(), "signature": to_hex(self.signature)}

    @classmethod
    def from_json(cls, sender: str, obj: Any, *, stage: str = FINALIZE) -> UnmaskResponse:
        """Parse the form of `to_json` (errors name `stage` and the field)."""
        out: dict[str, dict[str, bytes]] = {}
        for name in ("selfMaskShares", "maskKeyShares"):
            value = _get(stage, obj, name)
            if not isinstance(value, dict):
                raise ProtocolError(stage, name, "expected an object")
            out[name] = {
                check_address(stage, name, a): _bytes(stage, name, v, SHARE_BYTES)
                for a, v in value.items()
            }
        signature = _bytes(stage, "signature", _get(stage, obj, "signature"), 65)
        try:
            return cls(sender, out["selfMaskShares"], out["maskKeyShares"], signature)
        except ProtocolError as exc:
            raise ProtocolError(stage, exc.field, exc.detail) from None


@dataclass(frozen=True)
class BadShare:
    """Evidence that `accused` sent a share of `owner`'s secret that is off its polynomial.

    `witnesses` are `threshold` other responders whose signed shares of the same secret
    interpolate to the revealed secret; the accused's signed share does not lie on that
    polynomial (or is not a field element at all).
    """

    owner: str
    secret: str
    """SELF_MASK_SEED (b_owner, owner survived) or MASK_KEY (s_owner^SK, owner dropped)."""
    witnesses: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON object form (witnesses in roster order)."""
        return {
            "owner": self.owner,
            "secret": self.secret,
            "witnesses": sort_addresses(self.witnesses),
        }

    @classmethod
    def from_json(cls, obj: Any) -> BadShare:
        """Parse and type-check (the evidence itself is checked by the verifier)."""
        s = FINALIZE
        secret = _get(s, obj, "secret")
        if secret not in SECRET_KINDS:
            raise ProtocolError(s, "badShares", f"secret must be one of {SECRET_KINDS}")
        witnesses = _get(s, obj, "witnesses")
        if not isinstance(witnesses, list):
            raise ProtocolError(s, "badShares", "witnesses: expected a list")
        return cls(
            check_address(s, "badShares", _get(s, obj, "owner")),
            secret,
            tuple(check_address(s, "badShares", a) for a in witnesses),
        )


@dataclass(frozen=True)
class Reveal:
    """Stage 5 blob: the partition of the roster and the secrets that unmask the sum."""

    ctx: RoundContext
    survivors: tuple[str, ...]
    """Committed with a matching blob: their b_u is revealed."""
    dropped: tuple[str, ...]
    """Shared keys but did not survive: s^SK revealed when a survivor neighbours them."""
    unshared: tuple[str, ...]
    """In the roster but never completed share keys: nobody masked with them."""
    self_mask_seeds: Mapping[str, bytes]
    mask_keys: Mapping[str, bytes]
    unmask_responses: Mapping[str, UnmaskResponse] = field(default_factory=dict)
    """Every accepted (signed) unmask response, keyed by responder: the responders list."""
    bad_shares: Mapping[str, tuple[BadShare, ...]] = field(default_factory=dict)
    """Responder -> evidence of each share it sent that is off its owner's polynomial."""
    local_dropouts: Mapping[str, LocalDropouts] = field(default_factory=dict)
    """Committer -> its signed report of the neighbours it did not mask with (every
    accepted masked input; required for every survivor)."""

    @property
    def responders(self) -> list[str]:
        """Survivors whose unmask response was accepted (roster order)."""
        return sort_addresses(self.unmask_responses)

    def to_bytes(self) -> bytes:
        """Canonical JSON; lists in roster order, secrets as 0x-hex keyed by address."""
        return canonical_json(
            {
                **self._small_fields(),
                "unmaskResponses": {a: r.to_json() for a, r in self.unmask_responses.items()},
            }
        )

    def write_to(self, out: BinaryIO, response_json: Callable[[str], bytes] | None = None) -> None:
        """Write exactly `to_bytes()` to `out`, one unmask response at a time.

        `response_json(responder)` gives canonical JSON of a response's `to_json()` (default:
        computed from `unmask_responses`); a spooled round passes the stored form, so the
        responses are never all in memory. The top level is one object: its keys are written
        in sorted order, each value as canonical JSON, as `canonical_json` would.
        """
        one = response_json or (lambda a: canonical_json(self.unmask_responses[a].to_json()))
        small = self._small_fields()
        keys = sorted([*small, "unmaskResponses"])
        out.write(b"{")
        for i, key in enumerate(keys):
            out.write((b"," if i else b"") + canonical_json(key) + b":")
            if key != "unmaskResponses":
                out.write(canonical_json(small[key]))
                continue
            out.write(b"{")
            for j, a in enumerate(sorted(self.unmask_responses)):
                out.write((b"," if j else b"") + canonical_json(a) + b":" + one(a))
            out.write(b"}")
        out.write(b"}")

    def _small_fields(self) -> dict[str, Any]:
        """Every top-level field of the blob but `unmaskResponses` (O(n), not O(n k))."""
        return {
            **_document_header(self.ctx),
            "survivors": sort_addresses(self.survivors),
            "dropped": sort_addresses(self.dropped),
            "unshared": sort_addresses(self.unshared),
            "selfMaskSeeds": {a: to_hex(v) for a, v in self.self_mask_seeds.items()},
            "maskKeys": {a: to_hex(v) for a, v in self.mask_keys.items()},
            "badShares": {
                a: [e.to_json() for e in sorted(ev, key=lambda e: address_bytes(e.owner))]
                for a, ev in self.bad_shares.items()
            },
            "localDropouts": {a: r.to_json() for a, r in self.local_dropouts.items()},
        }

    def hash(self) -> bytes:
        """sha256 of the reveal blob (the on-chain revealHash)."""
        return sha256(self.to_bytes())

    @classmethod
    def from_bytes(cls, blob: bytes) -> Reveal:
        """Parse a reveal blob, checking types (consistency is the verifier's job)."""
        s = FINALIZE
        obj, ctx = _parse_document(s, "reveal", blob)

        def addresses(name: str) -> tuple[str, ...]:
            value = _get(s, obj, name)
            if not isinstance(value, list):
                raise ProtocolError(s, name, "expected a list")
            return tuple(check_address(s, name, a) for a in value)

        def secrets(name: str) -> dict[str, bytes]:
            value = _get(s, obj, name)
            if not isinstance(value, dict):
                raise ProtocolError(s, name, "expected an object")
            return {check_address(s, name, a): _bytes(s, name, v, 32) for a, v in value.items()}

        responses = _get(s, obj, "unmaskResponses")
        if not isinstance(responses, dict):
            raise ProtocolError(s, "unmaskResponses", "expected an object")
        bad = _get(s, obj, "badShares")
        if not isinstance(bad, dict) or not all(isinstance(v, list) for v in bad.values()):
            raise ProtocolError(s, "badShares", "expected an object of lists")
        reports = _get(s, obj, "localDropouts")
        if not isinstance(reports, dict):
            raise ProtocolError(s, "localDropouts", "expected an object")
        return cls(
            ctx,
            addresses("survivors"),
            addresses("dropped"),
            addresses("unshared"),
            secrets("selfMaskSeeds"),
            secrets("maskKeys"),
            {
                check_address(s, "unmaskResponses", a): UnmaskResponse.from_json(
                    check_address(s, "unmaskResponses", a), v
                )
                for a, v in responses.items()
            },
            {
                check_address(s, "badShares", a): tuple(BadShare.from_json(e) for e in v)
                for a, v in bad.items()
            },
            {
                check_address(s, "localDropouts", a): LocalDropouts.from_json(
                    check_address(s, "localDropouts", a), v
                )
                for a, v in reports.items()
            },
        )
