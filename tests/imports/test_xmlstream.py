"""The streaming XML reader: safe by construction, flat in memory."""

import pytest
from lxml import etree

from preau.imports.report import Report
from preau.imports.xmlstream import UnsafeXML, iter_elements, text_of


def test_imports_xml_reader_external_entity_never_resolved(tmp_path):
    path = tmp_path / "attack.xml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                    "<r><item><value>&x;</value></item></r>", encoding="utf-8")
    for _number, element in iter_elements(path, ("item",)):
        with pytest.raises(UnsafeXML):
            text_of(element[0])
        assert "root:" not in etree.tostring(element, encoding="unicode")


def test_imports_xml_reader_yields_numbered_records_and_clears_them(tmp_path):
    path = tmp_path / "many.xml"
    path.write_text("<r>" + "".join(f"<item><value>{n}</value></item>" for n in range(1, 51)) + "</r>",
                    encoding="utf-8")
    seen = []
    for number, element in iter_elements(path, ("item",)):
        seen.append((number, text_of(element[0])))
        previous = element.getprevious()
        assert previous is None or len(previous) == 0  # finished records are cleared
    assert seen == [(n, str(n)) for n in range(1, 51)]


def test_imports_xml_reader_broken_xml_raises_after_good_records(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text("<r><item><value>1</value></item><item><value>2</value></ite", encoding="utf-8")
    seen = []
    with pytest.raises(etree.XMLSyntaxError):
        for number, _element in iter_elements(path, ("item",)):
            seen.append(number)
    assert seen == [1]


def test_imports_report_lines_in_french():
    report = Report()
    report.count("pupils", "created", "Élèves", 2)
    report.count("pupils", "unchanged", "Élèves")
    report.reject("Eleve_0000.xml", 3, "ENTPersonJointure", "Identifiant de jointure manquant.")
    lines = report.lines()
    assert "Élèves : 2 créés, 0 mis à jour, 0 désactivés, 1 inchangés" in lines
    assert "  - Eleve_0000.xml, enregistrement 3, ENTPersonJointure : Identifiant de jointure manquant." in lines
    assert report.imported == 3
