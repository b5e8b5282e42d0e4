import pytest
from django.test import RequestFactory

from preau.audit.models import AuditEvent
from preau.audit.services import client_ip, record, record_sensitive_read


def test_client_ip_without_proxy_ignores_forwarded_header(settings):
    settings.PREAU_TRUSTED_PROXIES = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.5"


def test_client_ip_behind_one_trusted_proxy_takes_the_right_most_hop(settings):
    settings.PREAU_TRUSTED_PROXIES = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert client_ip(request) == "203.0.113.7"


def test_client_ip_behind_proxy_with_garbage_header_falls_back(settings):
    settings.PREAU_TRUSTED_PROXIES = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(request) == "10.0.0.5"


@pytest.mark.django_db
def test_audit_events_are_append_only(world):
    event = record(AuditEvent.Action.LOGIN, actor=world.one.pupil_b)
    event.details = {"changed": True}
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


@pytest.mark.django_db
def test_sensitive_read_of_oneself_is_not_logged(world):
    assert record_sensitive_read(actor=world.one.head, subject=world.one.head, target="grades") is None
    event = record_sensitive_read(actor=world.one.head, subject=world.one.pupil_b, target="grades")
    assert (event.action, event.actor, event.subject, event.target) == (
        "sensitive_read", world.one.head, world.one.pupil_b, "grades")


def test_every_audit_action_has_a_french_label():
    from preau.audit.selectors import ACTION_LABELS

    assert set(AuditEvent.Action.values) <= {str(key) for key in ACTION_LABELS}
