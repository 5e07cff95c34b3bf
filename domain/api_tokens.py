"""API tokens (mixed into XiaohaoApp): per account, shown once, kept as a digest, revocable.

A token reads `xh_<login>_<id>_<secret>`: the login finds the account without an index, the id
names the token for revoking, and only the sha256 of the secret is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from domain.account import Account, account_id
from domain.errors import AccountDisabledError, NotPermittedError, UnknownReferenceError
from domain.values import clean_text

INVALID = "API 令牌无效或已撤销"
MAX_TOKENS = 20


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokens:
    def issue_api_token(self, login: str, label: str) -> str:
        """A new token for the account (its own or, for the office, anyone's); returned once."""
        account = self._get(account_id(login), f"未知的账号：{login}")
        if account.disabled:
            raise AccountDisabledError(f"账号 {login} 已停用")
        if len(account.tokens) >= MAX_TOKENS:
            raise NotPermittedError(f"每个账号最多 {MAX_TOKENS} 个令牌，请先撤销不用的")
        token_id, secret = secrets.token_hex(4), secrets.token_hex(32)   # no "_" in either
        account.issue_token(token_id=token_id, digest=_digest(secret),
                            label=clean_text(label, "令牌用途", limit=100), by=account.login,
                            timestamp=self.now())
        self._save(account)
        return f"xh_{account.login}_{token_id}_{secret}"

    def api_tokens(self, login: str) -> list[dict]:
        """The account's tokens, without their secrets."""
        return [{"id": k, "label": v["label"], "issued_at": v["issued_at"]}
                for k, v in self._account(login).tokens.items()]

    def revoke_api_token(self, login: str, token_id: str) -> None:
        account = self._get(account_id(login), f"未知的账号：{login}")
        if token_id not in account.tokens:
            raise UnknownReferenceError("没有这个令牌")
        account.revoke_token(token_id=token_id, by=login, timestamp=self.now())
        self._save(account)

    @staticmethod
    def _revoke_every_token(account: Account, by: str, timestamp: datetime) -> None:
        """Every token of the account stops at once (a password reset, a disabling)."""
        for token_id in list(account.tokens):
            account.revoke_token(token_id=token_id, by=by, timestamp=timestamp)

    def login_of_token(self, token: str) -> str:
        """The login a presented token belongs to, or NotPermittedError."""
        try:
            prefix, rest = token.split("_", 1)
            login, token_id, secret = rest.rsplit("_", 2) if "_" in rest else ("", "", "")
            if prefix != "xh":
                raise ValueError
            account = self._account(login)
        except Exception:
            raise NotPermittedError(INVALID) from None
        known = account.tokens.get(token_id)
        if account.disabled or known is None or not hmac.compare_digest(
                known["digest"], _digest(secret)):
            raise NotPermittedError(INVALID)
        return account.login
