"""Who may use the workbench when it serves beyond this machine.

On a loopback address (127.0.0.0/8, ::1, ``localhost``) the app is open, as any local tool.
Bound to any other address, including Streamlit's empty default (every interface), it
needs an access secret (``ECGWB_SECRET``, at least :data:`MIN_SECRET_LENGTH` characters)
and refuses to serve without one; it is then read-only (clinic mode: no Train view, no
training processes) unless training was allowed explicitly, and folders typed into the
dataset picker must lie inside the allowed roots (``ECGWB_ALLOWED_ROOTS``, ``os.pathsep``
separated; by default the start-up data and runs folders).

``ecgwb app`` sets these variables from its options; the app reads them through
:func:`policy_from_env`. Nothing here imports Streamlit, so the rules are tested alone.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

ENV_SECRET = "ECGWB_SECRET"
ENV_CLINIC = "ECGWB_CLINIC"  # "1": read-only; "0": training allowed; unset: by address
ENV_ROOTS = "ECGWB_ALLOWED_ROOTS"
MIN_SECRET_LENGTH = 8


def is_loopback(host: str) -> bool:
    """True for addresses only this machine reaches; '' and 0.0.0.0 mean every interface."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost resolves beyond this machine


def secret_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so the time taken tells nothing about the secret."""
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class AccessPolicy:
    host: str
    secret: str | None = None
    clinic: bool = False
    roots: tuple[Path, ...] = ()  # empty: any folder (loopback only)

    @property
    def public(self) -> bool:
        return not is_loopback(self.host)

    @property
    def problem(self) -> str:
        """'' when the app may serve, else why it refuses."""
        if not self.public:
            return ""
        shown = self.host or "every interface"
        if not self.secret:
            return (f"The workbench is bound to {shown}, beyond this machine, and no access "
                    f"secret is set: set {ENV_SECRET} (or start it with `ecgwb app --host "
                    f"{self.host or '0.0.0.0'} --secret-file FILE`), or bind it to 127.0.0.1.")
        if len(self.secret) < MIN_SECRET_LENGTH:
            return (f"The access secret is shorter than {MIN_SECRET_LENGTH} characters: "
                    "choose a longer one to serve beyond this machine.")
        return ""

    @property
    def needs_login(self) -> bool:
        return bool(self.secret)

    def allows_folder(self, path: str | Path) -> bool:
        """True when ``path`` lies inside an allowed root (any path when none are set)."""
        if not self.roots:
            return True
        resolved = Path(path).expanduser().resolve()
        return any(resolved == root or root in resolved.parents for root in self.roots)


def policy_from_env(host: str, default_roots: tuple[Path, ...] = (),
                    env: dict[str, str] | None = None) -> AccessPolicy:
    """The policy for a server bound to ``host``. Beyond loopback, clinic mode is on unless
    ``ECGWB_CLINIC=0`` and folders are limited to ``ECGWB_ALLOWED_ROOTS`` or else to
    ``default_roots``; on loopback, clinic mode only when ``ECGWB_CLINIC=1``."""
    env = os.environ if env is None else env
    public = not is_loopback(host)
    clinic_flag = env.get(ENV_CLINIC, "").strip()
    clinic = clinic_flag == "1" or (public and clinic_flag != "0")
    listed = [p for p in env.get(ENV_ROOTS, "").split(os.pathsep) if p.strip()]
    roots = tuple(Path(p).expanduser().resolve() for p in listed) or (
        tuple(Path(p).resolve() for p in default_roots) if public or clinic else ())
    return AccessPolicy(host=host, secret=env.get(ENV_SECRET) or None, clinic=clinic,
                        roots=roots)
