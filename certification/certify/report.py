"""The report: report.json (schemas/certify-report.schema.json), junit.xml, report.html.

Written only when a run finished (every selected check has a verdict): a run stopped by bad
input leaves no report claiming anything.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from certification.certify.model import Result, Verdict


def document(meta: dict[str, Any], results: list[Result]) -> dict[str, Any]:
    counts = Counter(r.verdict.value for r in results)
    return {
        "report": "sigsvc-certify/v1",
        **meta,
        "summary": {v.value: counts.get(v.value, 0) for v in Verdict},
        "checks": [r.as_json() for r in results],
    }


def summary_table(results: list[Result]) -> str:
    """Plain-text table (stdout and the closing note)."""
    lines = ["| check | title | verdict | ms | note |", "|---|---|---|---|---|"]
    for r in results:
        note = r.reason.replace("|", "/")[:120]
        lines.append(
            f"| {r.spec.id} | {r.spec.title} | {r.verdict.value} | {r.duration_ms} | {note} |"
        )
    return "\n".join(lines)


def junit(doc: dict[str, Any]) -> bytes:
    summary = doc["summary"]
    suite = ET.Element(
        "testsuite",
        name="sigsvc-certify",
        tests=str(len(doc["checks"])),
        failures=str(summary["FAIL"]),
        errors=str(summary["ERROR"]),
        skipped=str(summary["SKIP"]),
        timestamp=doc["started_at"],
        time=f"{doc['duration_ms'] / 1000:.3f}",
    )
    for check in doc["checks"]:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="certify",
            name=f"{check['id']} {check['title']}",
            time=f"{check['duration_ms'] / 1000:.3f}",
        )
        text = "\n".join(
            ("OK   " if o["ok"] else "FAIL " if o["ok"] is False else "     ") + o["text"]
            for o in check["observations"]
        )
        verdict = check["verdict"]
        if verdict == "FAIL":
            ET.SubElement(case, "failure", message=check["reason"]).text = text
        elif verdict == "ERROR":
            ET.SubElement(case, "error", message=check["reason"]).text = text
        elif verdict == "SKIP":
            ET.SubElement(case, "skipped", message=check["reason"])
        ET.SubElement(case, "system-out").text = text
    return bytes(ET.tostring(suite, encoding="utf-8", xml_declaration=True))


_CSS = """
body{font-family:sans-serif;font-size:10pt;margin:1.5em;max-width:60em}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:2px 4px;
vertical-align:top;text-align:left}.PASS{background:#d9f2d9}.FAIL{background:#f8d0d0}
.SKIP{background:#f3ecc8}.ERROR{background:#f0c8f0}section{page-break-inside:avoid;
margin-top:1.2em}code{font-size:9pt;word-break:break-all}h2{font-size:12pt;margin-bottom:.2em}
@media print{a{color:black}}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def render_html(doc: dict[str, Any]) -> str:
    out = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        f"<title>sigsvc conformance report {_e(doc['started_at'])}</title><style>{_CSS}</style>",
        "<h1>sigsvc conformance report</h1><table>",
    ]
    target = doc["target"]
    rows = [
        ("target", target["url"]),
        ("target version", target.get("version") or "(not published in /readyz)"),
        ("schema revision", target.get("schema_revision", "")),
        ("log origin / key", f"{target.get('log_origin')} / {target.get('log_key')}"),
        ("suite", f"sigsvc-certify {doc['suite_version']}"),
        ("run id", doc["run_id"]),
        ("started / duration", f"{doc['started_at']} / {doc['duration_ms'] / 1000:.1f} s"),
        ("trust", "; ".join(f"{k} sha256 {v}" for k, v in doc["trust"].items())),
        ("options", json.dumps(doc["options"], sort_keys=True)),
        ("summary", ", ".join(f"{k} {v}" for k, v in doc["summary"].items())),
    ]
    out += [f"<tr><th>{_e(k)}<td>{_e(v)}" for k, v in rows]
    out.append(
        "</table><h2>Summary</h2><table><tr><th>check<th>title<th>basis<th>verdict<th>s<th>note"
    )
    for c in doc["checks"]:
        out.append(
            f"<tr class={c['verdict']}><td><a href=#{c['id']}>{c['id']}</a><td>{_e(c['title'])}"
            f"<td>{_e(c['basis'])}<td>{c['verdict']}<td>{c['duration_ms'] / 1000:.1f}"
            f"<td>{_e(c['reason'])}"
        )
    out.append("</table>")
    for c in doc["checks"]:
        out.append(f"<section id={c['id']}><h2>{c['id']} {_e(c['title'])}: {c['verdict']}</h2>")
        out.append("<table>")
        out.append(f"<tr><th>requirement<td>{_e(c['requirement'])}")
        out.append(f"<tr><th>inputs<td>{_e(c['inputs_description'])}")
        out.append(f"<tr><th>basis<td>{_e(c['basis'])}: {_e(c['legal'])}")
        out.append(f"<tr><th>needs<td>{_e(c['needs'])}")
        out.append(f"<tr><th>verdict<td class={c['verdict']}>{c['verdict']} {_e(c['reason'])}")
        out.append(f"<tr><th>timing<td>started {_e(c['started_at'])}, {c['duration_ms']} ms")
        out.append("</table>")
        if c["inputs"]:
            out.append("<table><tr><th>input<th>bytes<th>SHA-256")
            out += [
                f"<tr><td>{_e(i['name'])}<td>{i['size']}<td><code>{i['sha256']}</code>"
                for i in c["inputs"]
            ]
            out.append("</table>")
        out.append("<table><tr><th>ms<th>ok<th>observed")
        for o in c["observations"]:
            mark = {True: "ok", False: "FAIL", None: ""}[o["ok"]]
            out.append(f"<tr><td>{o['at_ms']}<td>{mark}<td>{_e(o['text'])}")
        out.append("</table></section>")
    out.append("</html>\n")
    return "\n".join(out)


def write(out: Path, doc: dict[str, Any]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "report.json": json.dumps(doc, indent=2, ensure_ascii=False).encode() + b"\n",
        "junit.xml": junit(doc),
        "report.html": render_html(doc).encode(),
    }
    written = []
    for name, data in files.items():
        path = out / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        written.append(path)
    return written
