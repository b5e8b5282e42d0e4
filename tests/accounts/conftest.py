import pytest

from preau.directory.testing import TEST_PASSWORD

LOGIN_URL = "/compte/connexion/"


@pytest.fixture
def post_login(client):
    def _post(username, password=TEST_PASSWORD, ip="127.0.0.1", **extra):
        return client.post(LOGIN_URL, {"username": username, "password": password, **extra}, REMOTE_ADDR=ip)

    return _post

