"""Which site a URL (Akismet's ``blog``, a post's permalink) belongs to.

A key is made for a site (``moderation keys add SITE``) and answers only for that site: the ``blog`` of an
Akismet request must name the same host as the key's site, else the key is ``invalid`` for it, as Akismet
answers a key used for another blog.

How two names are compared: both are reduced to a host name, lowercased, without a port, a trailing dot
or a leading ``www.`` (WordPress sends ``home_url()``, which may or may not carry ``www.`` while the owner
typed the other). Scheme and path do not count: ``http://`` and ``https://`` are the same blog, and two
blogs under one host (``example.org/a`` and ``example.org/b``) are one site for this check.

A site named without a URL (``keys add myblog.example`` or ``keys add staging``) is read as a host name,
exactly as if ``https://`` were in front of it: ``myblog.example`` matches ``blog=https://myblog.example/``,
and a bare label such as ``staging`` matches only a blog whose host is ``staging``. So a key is never
valid for every blog: a name that is no host matches nothing but itself.
"""

from __future__ import annotations

import urllib.parse


def site_host(name: str) -> str:
    """The comparable host of a site name or URL ('' when there is none)."""
    text = name.strip()
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    try:
        host = urllib.parse.urlsplit(text).hostname or ""
    except ValueError:
        return ""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def same_site(site: str, url: str) -> bool:
    """Whether ``url`` (a blog or a permalink) is on ``site``: same normalised host, and not empty."""
    host = site_host(site)
    return bool(host) and host == site_host(url)
