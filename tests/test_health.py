import pytest


@pytest.mark.django_db
def test_healthz_reports_database(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] is True
    assert body["redis"] is (True if settings.REDIS_URL else None)
