"""A per-key rate limit, counted in a shared cache (Redis in production) per minute."""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from .authentication import PartnerSystem, caller_client


class ApiKeyRateThrottle(BaseThrottle):
    window_seconds = 60

    def allow_request(self, request, view):
        user = request.user
        if user is None:
            return True
        limit = settings.API_KEY_DEFAULT_RATE_PER_MINUTE
        if isinstance(user, PartnerSystem) and user.api_key.rate_limit_per_minute:
            limit = user.api_key.rate_limit_per_minute
        now = time.time()
        window = int(now // self.window_seconds)
        key = f"rate:{caller_client(request)}:{window}"
        if cache.add(key, 1, self.window_seconds + 5):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:
                cache.add(key, 1, self.window_seconds + 5)
                count = 1
        self._wait = (window + 1) * self.window_seconds - now
        return count <= limit

    def wait(self):
        return max(1, int(self._wait + 0.999))
