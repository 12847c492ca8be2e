"""Password hashing with argon2id, and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 512  # bounds the work one login can ask of the server
_COMMON = frozenset(
    {
        "password12",
        "password123",
        "1234567890",
        "qwertyuiop",
        "letmein123",
        "welcome123",
        "iloveyou12",
    }
)


class Passwords:
    """Hashes and verifies passwords; parameters come from settings so tests can run cheaper ones."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # Verified against when the account does not exist, so both paths cost the same.
        self._decoy = self._hasher.hash("decoy-password-for-timing")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; always does one full verification, even for no hash."""
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if not password or not password.strip():
        return "Password must not be empty."
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Password must be at most {MAX_LENGTH} characters."
    if len(set(password)) < 4 or password.lower() in _COMMON:
        return "Password is too easy to guess."
    return None
