"""Login throttling: one limit per username across addresses, another per address."""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def client_address(request) -> str | None:
    """The client's address as the server saw it, never a header the client could forge."""
    # `equilean serve` has already put the trusted proxy's X-Forwarded-For client here.
    return request.META.get("REMOTE_ADDR")


class LoginThrottle(AxesDatabaseHandler):
    """Lock a username tried too often from anywhere, and an address trying too many names."""

    def get_failures(self, request, credentials=None) -> int:
        """Failures scaled to AXES_FAILURE_LIMIT, so each parameter meets its own limit there."""
        by_username, by_address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        limit = settings.AXES_FAILURE_LIMIT
        # floor(n * limit / address_limit) reaches limit exactly when n reaches address_limit.
        return max(by_username, by_address * limit // settings.LOGIN_ADDRESS_FAILURE_LIMIT)

    def reset_user_attempts(self, request, credentials=None) -> int:
        """A sign-in clears its own username's failures, never the rest of its address's."""
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count
