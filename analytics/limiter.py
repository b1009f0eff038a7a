"""A call-rate limit shared by every worker through the Django cache (Redis in
production): CloudWatch allows 5 FilterLogEvents calls a second per account and
region, however many processes make them.

A second is cut into ``rate`` slots; each call claims a free slot with the
cache's atomic ``add`` and waits for its start. A slot is used only while it
lasts (a caller that overslept claims another), so no wall-clock second ever
holds more than ``rate`` calls and the calls come evenly spaced, which also
keeps them under a token bucket of the same rate.
"""

import random
import time

from django.core.cache import cache

# How far ahead a claim may be made; beyond it a shared hint is taken for skew.
LOOKAHEAD_SECONDS = 10
SLOT_TTL_SECONDS = LOOKAHEAD_SECONDS + 60


class RateLimiter:
    def __init__(self, scope: str, rate: int, *, clock=time.time, sleep=time.sleep):
        if rate < 1:
            raise ValueError("rate must be at least 1 a second")
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self._prefix = f"rate:{scope}:{rate}"
        self._hint = f"{self._prefix}:next"

    def acquire(self) -> float:
        """Wait for a slot; returns the time (``clock()``) at which the call may go."""
        while True:
            now = self.clock()
            slot = int(now * self.rate)
            hint = cache.get(self._hint) or 0
            if slot < hint <= slot + LOOKAHEAD_SECONDS * self.rate:
                slot = hint  # the slots before it are taken: skip the look-ups
            while not cache.add(f"{self._prefix}:{slot}", 1, timeout=SLOT_TTL_SECONDS):
                slot += 1
            cache.set(self._hint, slot + 1, timeout=SLOT_TTL_SECONDS)
            start, end = slot / self.rate, (slot + 1) / self.rate
            now = self.clock()
            while now < start:
                self.sleep(start - now)
                now = self.clock()
            if now < end:
                return now
            # Overslept past the slot: it stays unused, which is safe; claim another.
            self.sleep(random.uniform(0, 1 / self.rate))  # noqa: S311 - jitter only


def cloudwatch_scope(config: dict) -> str:
    """What CloudWatch counts calls against: the account (from an assumed role's ARN,
    else the workers' own credentials, or the endpoint for an emulator) and the region."""
    region = config.get("region") or "default-region"
    role_arn = config.get("role_arn") or ""
    parts = role_arn.split(":")
    if len(parts) > 4 and parts[4]:
        account = parts[4]
    elif config.get("endpoint_url"):
        account = config["endpoint_url"]
    else:
        account = "own-credentials"
    return f"cloudwatch:{account}:{region}"
