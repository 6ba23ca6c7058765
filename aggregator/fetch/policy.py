"""The fetch policy: which addresses a fetch may reach.

A feed server, an OPML file from the web or a URL typed into the web face must not turn
the daemon into a client of the operator's own network (an admin page on 127.0.0.1, a
database on 10.0.0.5, a cloud's metadata service on 169.254.169.254).  So:

* feeds whose URL comes from outside the config file (OPML import, the web face/API) must
  be ``http(s)`` to a *public* address; their every hop is held to that;
* a redirect never leads from a public address to a non-public one, nor to a file, for
  any feed (a config-file feed may itself live on a private address: the operator chose it);
* "public" is decided on the addresses a host name resolves to, for every hop, and the
  connection is then made to an address that was checked (:mod:`aggregator.fetch.http`
  pins it), so a DNS answer that changes between the check and the connection
  ("rebinding") gains nothing;
* the operator may allow more: ``fetch.allow_networks`` (networks treated as public),
  ``fetch.allow_private`` (no address rule at all), ``fetch.local_files`` (paths and
  ``file://`` for config-file feeds; on by default, as before).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from aggregator.config import FetchConfig
from aggregator.errors import FetchError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

TRUSTED_ORIGINS = frozenset({"config", "cli"})
"""Where a feed's URL came from when the operator wrote it: the config file, or
``aggregator feeds add`` on the command line.  Any other origin (``opml``, ``web``) is
held to the public-address rule from its first hop."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class PolicyRefused(Exception):
    """A hop the policy forbids; its text is the whole message for the feed's error."""


@dataclass(frozen=True)
class FetchPolicy:
    allow_private: bool = False
    """True: any address may be reached, by any feed and any redirect."""
    allow_networks: tuple[Network, ...] = ()
    """Networks treated as public (an intranet feed server the web face may subscribe to)."""
    local_files: bool = True
    """Paths and ``file://`` URLs are read for feeds the operator configured."""

    @classmethod
    def from_config(cls, config: FetchConfig) -> FetchPolicy:
        return cls(
            allow_private=config.allow_private,
            allow_networks=tuple(
                ipaddress.ip_network(n, strict=False) for n in config.allow_networks
            ),
            local_files=config.local_files,
        )

    def allows(self, address: Address) -> bool:
        """May a hop that must stay public reach ``address``?"""
        if self.allow_private:
            return True
        return any(_contains(network, address) for network in self.allow_networks) or is_public(
            address
        )


def _contains(network: Network, address: Address) -> bool:
    if address.version == network.version:
        return address in network
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    return embedded is not None and embedded in network


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries on to (mapped, 6to4, NAT64): a hop to
    ``::ffff:127.0.0.1`` is a hop to 127.0.0.1."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """A globally routed unicast address: not private, loopback, link-local, shared
    (100.64/10), documentation, reserved, unspecified or multicast — for an IPv6 address
    carrying an IPv4 one, the rule applies to that IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


def parse_address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone id is not the address
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now, in the resolver's order, without repeats.
    Raises ``OSError`` (``socket.gaierror``) when it does not resolve."""
    seen: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in seen:
            seen.append(address)
    return seen


def refusal(host: str) -> str:
    """The one text for a hop to a non-public address, whatever answers there (a closed,
    filtered or open port look the same: nothing is ever sent to it)."""
    return (
        f"refused by the fetch policy: {host} is not a public address "
        "(fetch.allow_networks or fetch.allow_private allow it)"
    )


def check_outside_url(url: str, policy: FetchPolicy) -> str:
    """Vet a feed URL that comes from outside the config file (an OPML file, the web face
    or API) before it is subscribed; return it stripped, or raise ``FetchError`` saying why
    not.  Only ``http(s)`` is accepted — never a path or ``file://``, and nothing is looked
    up on disk, so the answer says nothing about which local files exist.  A host that
    resolves to a non-public address is refused; one that does not resolve now is
    accepted (each fetch checks again, hop by hop, after resolving)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise FetchError(url, "not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(url, "only http and https URLs are accepted from outside the config file")
    if not host:
        raise FetchError(url, "the URL has no host")
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return url
    for text in addresses:
        address = parse_address(text)
        if address is None or not policy.allows(address):
            raise FetchError(url, refusal(host))
    return url
