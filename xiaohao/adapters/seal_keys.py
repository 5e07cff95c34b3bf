"""The keys that sign checkpoints (domain/checkpoints.py `SealKey`): Ed25519 through
`cryptography` by default, SM2 (with SM3, the default user id) through `gmssl` when the county
is assessed for 商用密码. Each is kept as a file under var/ (mode 0600, made on first use by
xiaohao/settings.py); `new_*` make a key's bytes, the classes load them."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.seal import SM2_N, sm2_public_key


def new_ed25519() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


class Ed25519Key:
    algorithm = "ed25519"

    def __init__(self, pem: bytes) -> None:
        self._key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(self._key, Ed25519PrivateKey):
            raise ValueError("the seal key is not an Ed25519 key")
        self.public_key = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def new_sm2() -> bytes:
    """A private key (hex), one whose public key gmssl reads as given (it strips a leading
    "04" as if it were the uncompressed-point marker)."""
    while True:
        d = secrets.randbelow(SM2_N - 2) + 1
        if not sm2_public_key(d).hex().startswith(("0", "4")):
            return f"{d:064x}\n".encode()


class Sm2Key:
    algorithm = "sm2"

    def __init__(self, private_hex: bytes) -> None:
        from gmssl.sm2 import CryptSM2

        d = int(private_hex.strip(), 16)
        self.public_key = sm2_public_key(d)
        self._sm2 = CryptSM2(private_key=f"{d:064x}", public_key=self.public_key.hex())

    def sign(self, message: bytes) -> bytes:
        while True:      # gmssl gives None for the rare k that makes r or s zero
            k = secrets.randbelow(SM2_N - 1) + 1
            if signature := self._sm2.sign_with_sm3(message, f"{k:064x}"):
                return bytes.fromhex(signature)
