"""Keys at rest: Ethereum keystore v3 files (scrypt + AES-128-CTR), plaintext 0x-hex for devnets."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from fedledger.errors import ConfigError

__all__ = [
    "PASSWORD_ENV",
    "is_keystore",
    "load_account",
    "read_password",
    "write_keystore",
    "write_plaintext_key",
]

PASSWORD_ENV = "FEDLEDGER_KEY_PASSWORD"
"""Environment variable holding a keystore's password (after --password-file, before a prompt)."""


def read_password(
    password_file: Path | None = None, *, what: str = "key file", confirm: bool = False
) -> str:
    """The password from `password_file`, else $FEDLEDGER_KEY_PASSWORD, else a terminal prompt.

    A password file's trailing newline is dropped. No terminal and no other source: ConfigError.
    """
    if password_file is not None:
        try:
            return password_file.read_text().rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(
                f"password file {password_file}: unreadable ({exc.strerror})"
            ) from None
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return from_env
    if not sys.stdin.isatty():
        raise ConfigError(
            f"{what}: needs a password: give --password-file or set ${PASSWORD_ENV} "
            "(no terminal to prompt on)"
        )
    password = getpass.getpass(f"Password for {what}: ")
    if confirm and getpass.getpass("Repeat password: ") != password:
        raise ConfigError(f"{what}: the two passwords differ")
    return password


def write_keystore(path: Path, account: LocalAccount, password: str) -> Path:
    """Encrypt `account` into a keystore v3 JSON file at `path` (mode 0600)."""
    doc = Account.encrypt(account.key, password)
    _write_private(path, json.dumps(doc) + "\n")
    return path


def write_plaintext_key(path: Path, account: LocalAccount) -> Path:
    """Write the private key as 0x-hex (mode 0600): for devnet test keys only."""
    _write_private(path, "0x" + bytes(account.key).hex() + "\n")
    return path


def is_keystore(text: str) -> bool:
    """True if `text` looks like a keystore JSON document (not a bare hex key)."""
    return text.lstrip().startswith("{")


def load_account(path: Path, *, password_file: Path | None = None) -> LocalAccount:
    """The account in `path`: a keystore v3 file (asks `read_password`) or a devnet 0x-hex key.

    Every failure is a one-line ConfigError naming the file.
    """
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise ConfigError(f"key file {path}: not found") from None
    except OSError as exc:
        raise ConfigError(f"key file {path}: unreadable ({exc.strerror})") from None
    if not is_keystore(text):
        try:
            return Account.from_key(text)
        except Exception:
            raise ConfigError(f"key file {path}: not a 32-byte hex private key") from None
    doc = _keystore_doc(path, text)
    password = read_password(password_file, what=f"key file {path}")
    try:
        key = Account.decrypt(doc, password)
    except ValueError:
        raise ConfigError(f"key file {path}: wrong password") from None
    return Account.from_key(key)


def _keystore_doc(path: Path, text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError:
        raise ConfigError(f"key file {path}: not valid keystore JSON") from None
    if not isinstance(doc, dict) or doc.get("version") != 3 or "crypto" not in doc:
        raise ConfigError(f"key file {path}: not an Ethereum keystore v3 file")
    return doc


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)
