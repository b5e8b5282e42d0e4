"""The nightly feed: deliveries dropped in the inbox are imported in order, once settled, then archived and purged."""

import os
import time

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from preau.accounts.models import User
from preau.directory.models import ClassEnrolment
from preau.imports.inbox import DONE, LOCK_KEY, deliveries, import_inbox, purge_archives
from preau.imports.models import ImportRun

from .test_aaf import aaf_file, add, etab, pupil

pytestmark = pytest.mark.django_db

LATER = time.time() + 3600  # "now" for a pass: every file dropped by the test has settled


def eleve_modify(jointure, classes):
    return add("categoriePersonne", "Eleve", jointure, ENTPersonJointure=jointure, ENTEleveClasses=classes
               ).replace("addRequest", "modifyRequest")


@pytest.fixture
def inbox(tmp_path, settings):
    settings.PREAU_IMPORT_INBOX_SETTLE_SECONDS = 300
    settings.PREAU_IMPORT_INBOX_KEEP_DAYS = 7
    (tmp_path / "aaf").mkdir()
    cache.delete(LOCK_KEY)
    return tmp_path


def drop_full(inbox, stamp="20260901"):
    folder = inbox / "aaf"
    aaf_file(folder, f"ENT_Complet_{stamp}_EtabEducNat_0000.xml", etab())
    aaf_file(folder, f"ENT_Complet_{stamp}_MefEducNat_0000.xml",
             add("categorieMef", "MefEducNat", "10110001110", ENTMefJointure="10110001110", ENTLibelleMef="5EME"))
    aaf_file(folder, f"ENT_Complet_{stamp}_Eleve_0000.xml", pupil("e1"), pupil("e2", first="Hugo", classes="9001$5A"))


def test_imports_inbox_orders_deliveries_by_date_complet_first(inbox):
    aaf_file(inbox / "aaf", "ENT_Delta_20260902_Eleve_0000.xml", eleve_modify("e1", "9001$5A"))
    drop_full(inbox, "20260902")
    drop_full(inbox, "20260901")
    (inbox / "be1d" / "0699001A").mkdir(parents=True)
    aaf_file(inbox / "be1d" / "0699001A", "eleves.csv")
    found = [(d.kind, d.label, len(d.paths)) for d in deliveries(inbox)]
    assert found == [("aaf", "Complet-20260901", 3), ("aaf", "Complet-20260902", 3), ("aaf", "Delta-20260902", 1),
                     ("be1d", "0699001A", 1)]


def test_imports_inbox_imports_settled_deliveries_and_archives_them(inbox):
    drop_full(inbox)
    aaf_file(inbox / "aaf", "ENT_Delta_20260902_Eleve_0000.xml", eleve_modify("e1", "9001$5A"))
    outcomes = import_inbox(inbox, now=LATER)
    assert [(o.delivery, o.status) for o in outcomes] == [("aaf/Complet-20260901", "succeeded"),
                                                           ("aaf/Delta-20260902", "succeeded")]
    # The Delta ran after the Complet: Léa moved to 5A.
    assert ClassEnrolment.objects.get(pupil__external_id="e1").school_class.code == "5A"
    assert ImportRun.objects.filter(kind="aaf").count() == 2
    assert not list((inbox / "aaf").iterdir())
    archived = sorted(path.name for path in (inbox / DONE).rglob("*.xml"))
    assert archived == ["ENT_Complet_20260901_Eleve_0000.xml", "ENT_Complet_20260901_EtabEducNat_0000.xml",
                        "ENT_Complet_20260901_MefEducNat_0000.xml", "ENT_Delta_20260902_Eleve_0000.xml"]
    assert import_inbox(inbox, now=LATER) == []  # nothing left


def test_imports_inbox_waits_for_a_delivery_still_being_uploaded(inbox):
    drop_full(inbox)
    outcomes = import_inbox(inbox, now=time.time())  # files just written: not settled
    assert [o.status for o in outcomes] == ["waiting"]
    assert not User.objects.filter(external_id="e1").exists()
    assert len(list((inbox / "aaf").iterdir())) == 3


def test_imports_inbox_be1d_folder_of_unknown_school_is_left_in_place(inbox):
    folder = inbox / "be1d" / "0999999Z"
    folder.mkdir(parents=True)
    (folder / "eleves.csv").write_text("Nom;Prénom\n", encoding="utf-8")
    outcomes = import_inbox(inbox, now=LATER)
    assert outcomes[0].status == "waiting" and "aucun établissement" in outcomes[0].lines[0]
    assert (folder / "eleves.csv").exists()


def test_imports_inbox_one_pass_at_a_time(inbox):
    drop_full(inbox)
    cache.add(LOCK_KEY, "1", 60)
    try:
        assert import_inbox(inbox, now=LATER) == []
        assert not ImportRun.objects.exists()
    finally:
        cache.delete(LOCK_KEY)


def test_imports_inbox_purges_old_archives(inbox):
    old, recent = inbox / DONE / "old", inbox / DONE / "recent"
    old.mkdir(parents=True)
    recent.mkdir(parents=True)
    eight_days_ago = time.time() - 8 * 86400
    os.utime(old, (eight_days_ago, eight_days_ago))
    assert purge_archives(inbox, keep_days=7) == 1
    assert not old.exists() and recent.exists()


def test_imports_inbox_command(inbox, capsys):
    drop_full(inbox)
    old = time.time() - 3600
    for path in (inbox / "aaf").iterdir():
        os.utime(path, (old, old))
    call_command("import_inbox", str(inbox))
    out = capsys.readouterr().out
    assert "aaf/Complet-20260901 : succeeded" in out and "Élèves : 2 créés" in out
    call_command("import_inbox", str(inbox))
    assert "Aucune livraison à importer." in capsys.readouterr().out
    with pytest.raises(CommandError, match="Dossier d'arrivée introuvable"):
        call_command("import_inbox", str(inbox / "missing"))
