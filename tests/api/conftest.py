import pytest
from django.test import Client

from preau.access import policy
from preau.api import services

API = "/api/v1"


@pytest.fixture
def as_user():
    """A test client logged in (session) as the given person; None gives an anonymous client."""

    def _as(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return _as


def make_token(user, name="Script", expires_in_days=None):
    return services.api_token_create(actor=policy.actor_for(user), name=name, expires_in_days=expires_in_days)


@pytest.fixture
def bearer():
    """(client, headers) authenticating with a fresh personal token of the given person."""

    def _bearer(user):
        _token, clear = make_token(user)
        return Client(), {"Authorization": f"Bearer {clear}"}

    return _bearer
