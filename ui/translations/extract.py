#!/usr/bin/env python3
"""Lists every @tr() msgid in ui/**/*.slint into bianmin.pot, and checks en/zh_CN .po files
against it (prints msgids missing a translation). Usage: python3 ui/translations/extract.py"""
import pathlib, re, sys

UI = pathlib.Path(__file__).resolve().parent.parent
TR = re.compile(r'@tr\(\s*"((?:[^"\\]|\\.)*)"')


def msgids():
    seen = {}
    for f in sorted(UI.glob("**/*.slint")):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            for m in TR.finditer(line):
                seen.setdefault(m.group(1), f"{f.relative_to(UI)}:{n}")
    return seen


def po_entries(path):
    text = path.read_text(encoding="utf-8")
    return dict(re.findall(r'^msgid "((?:[^"\\]|\\.)*)"\nmsgstr "((?:[^"\\]|\\.)*)"', text, re.M))


def main():
    ids = msgids()
    pot = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for mid, where in ids.items():
        pot += [f"#: {where}", f'msgid "{mid}"', 'msgstr ""', ""]
    (UI / "translations" / "bianmin.pot").write_text("\n".join(pot), encoding="utf-8")
    bad = 0
    for po in sorted((UI / "translations").glob("*/LC_MESSAGES/bianmin.po")):
        have = po_entries(po)
        for mid in ids:
            if not have.get(mid):
                print(f"{po.relative_to(UI)}: missing {mid!r}")
                bad += 1
    print(f"{len(ids)} msgids; {bad} missing translations")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
