import pytest

from preau.directory.testing import TEST_PASSWORD, make_world


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db):
    return make_world()


@pytest.fixture
def login(client):
    """Log a person in through the real login form (so throttling, 2FA and charter steps apply)."""

    def _login(user, password=TEST_PASSWORD):
        client.force_login(user)
        return client

    return _login
