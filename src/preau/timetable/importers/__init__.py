"""Timetable importers: the Index Éducation `ExportEmploiDuTemps` XML (edt.py) and a documented CSV (csv.py).

Both run through the directory import machinery (`preau.imports`: ImportRun, report, dry run, audit) as the kinds
`edt` and `timetable-csv`; what they share (matching the directory, writing courses, the week patterns, ending the
courses a new export no longer lists) is in base.py. See docs/imports.md, "Timetable imports".
"""
