"""The in-process token buckets (service/app.py RateLimiter): limits, and a bounded table under a flood."""

from __future__ import annotations

import pytest

from moderation.service.app import RateLimiter


def test_a_key_gets_its_burst_then_waits_for_a_token():
    limiter = RateLimiter(rate=0.001, burst=3)
    assert [limiter.allow("key") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.allow("key")
    assert wait > 900  # a token every 1,000 s: nearly all of it to wait
    assert limiter.allow("other") == 0.0  # another key has its own bucket


@pytest.mark.parametrize("keys", [150, 1_000, 5_000], ids=["just past the cap", "10x", "50x"])
def test_a_flood_of_addresses_keeps_the_table_bounded_and_the_flooder_limited(keys):
    # Each of these addresses is refused after its burst: before, every refusal past 100,000 buckets
    # rescanned the whole table under the lock that every site's requests take (11.2 ms a call).
    limiter = RateLimiter(rate=0.001, burst=1)
    limiter.max_keys = 100
    limiter.allow("flooder")
    for number in range(keys):
        limiter.allow(f"address-{number}")
        limiter.allow(f"address-{number}")  # refused
        assert limiter.allow("flooder") > 0  # recently seen: never dropped, still refused
    assert len(limiter._buckets) <= limiter.max_keys


def test_the_least_recently_seen_bucket_goes_first_and_starts_full_again():
    limiter = RateLimiter(rate=0.001, burst=1)
    limiter.max_keys = 10
    limiter.allow("old")
    assert limiter.allow("old") > 0
    for number in range(10):
        limiter.allow(f"new-{number}")
    assert "old" not in limiter._buckets
    assert limiter.allow("old") == 0.0  # as a new key
    assert limiter.allow("new-9") > 0  # the recent ones kept their state


def test_rate_zero_turns_the_limit_off():
    limiter = RateLimiter(rate=0, burst=1)
    assert all(limiter.allow("key") == 0.0 for _ in range(100))
    assert not limiter._buckets
