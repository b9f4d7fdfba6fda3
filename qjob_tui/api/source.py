"""A source of jobs: an IBM Quantum account/instance, or a local service URL.

The dashboard can watch several at once; each has a short name shown in the job list's source
column. Secrets stay inside the Source and its Auth and never appear in its repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from qjob_tui.api.accounts import Account, api_base_url, iam_url
from qjob_tui.api.auth import Auth, BearerAuth, IAMAuth, NoAuth

if TYPE_CHECKING:
    import httpx

LOCAL = "local"
IBM = "ibm"
IBM_CLOUD_HOST = "quantum.cloud.ibm.com"


@dataclass(frozen=True)
class Source:
    """Where jobs come from and how to authenticate there."""

    name: str
    url: str
    kind: str = LOCAL
    token: str | None = field(default=None, repr=False)
    account: Account | None = field(default=None, repr=False)
    verify: bool = True
    iam: str | None = None
    apikey: str | None = field(default=None, repr=False)
    # Served by a relay (``--relay``): it takes no jobs. They go to the service the relay
    # watches, whose address the relay does not tell its viewers.
    relayed: bool = False

    def __repr__(self) -> str:
        return f"Source(name={self.name!r}, url={self.url!r}, kind={self.kind!r})"

    @property
    def can_rename(self) -> bool:
        """Only the local service has the ``PATCH /jobs/{id}`` name extension."""
        return self.kind == LOCAL

    @property
    def at_ibm_cloud(self) -> bool:
        """Whether the URL is IBM Quantum Platform's own (not a server of the same API that
        an IBM account's URL points at, such as ``qjob-tui serve``)."""
        host = urlsplit(self.url).hostname or ""
        return self.kind == IBM and (host == IBM_CLOUD_HOST or host.endswith("." + IBM_CLOUD_HOST))

    def job_page(self, job_id: str) -> str | None:
        """The job's page on IBM Quantum Platform's web site (its region's), for IBM jobs."""
        if not self.at_ibm_cloud:
            return None
        host = urlsplit(self.url).hostname or ""
        return f"https://{host}/workloads/{quote(job_id, safe='')}"

    def make_auth(self, transport: httpx.AsyncBaseTransport | None = None) -> Auth:
        if self.account is not None and self.iam is not None:
            return IAMAuth(
                self.account.token,
                self.iam,
                self.account.instance,
                verify=self.verify,
                transport=transport,
            )
        if self.apikey is not None and self.iam is not None:
            return IAMAuth(self.apikey, self.iam, None, verify=self.verify, transport=transport)
        if self.token:
            return BearerAuth(self.token)
        return NoAuth()

    @classmethod
    def local(
        cls,
        url: str,
        token: str | None = None,
        name: str = LOCAL,
        *,
        apikey: str | None = None,
    ) -> Source:
        """The local service (or any server of the same API) at ``url`` (…/api/v1).

        With an IAM API key (``qjob-tui serve`` given ``$QJOB_TUI_IAM_APIKEY``), it is exchanged
        for bearer tokens at the service's own ``/identity/token``, as qiskit-ibm-runtime does
        at IBM Cloud IAM.
        """
        url = url.rstrip("/")
        if not url.endswith("/api/v1"):
            url += "/api/v1"
        if apikey:
            root = url.removesuffix("/api/v1").removesuffix("/experimental")
            return cls(name=name, url=url, kind=LOCAL, token=token, iam=root, apikey=apikey)
        return cls(name=name, url=url, kind=LOCAL, token=token)

    @classmethod
    def from_account(cls, account: Account, env: Mapping[str, str] | None = None) -> Source:
        """An IBM Quantum Platform account, authenticated through IAM."""
        return cls(
            name=account.name,
            url=api_base_url(account),
            kind=IBM,
            account=account,
            verify=account.verify,
            iam=iam_url(account, os.environ if env is None else env),
        )
