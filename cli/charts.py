"""The report as charts: one PNG per figure and one self-contained HTML file that shows them all."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen

import matplotlib.pyplot as plt

from complaints.ops.reports import Report

BLUE, RED, GREEN = "#1f5faa", "#c0392b", "#2e8b57"


def _bar(path: Path, title: str, labels: list[str], values: list[float], horizontal: bool = False) -> Path:
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.35 * len(labels)) if horizontal else 4))
    if horizontal:
        ax.barh(labels[::-1], values[::-1], color=BLUE)
    else:
        ax.bar(labels, values, color=BLUE)
        ax.tick_params(axis="x", labelrotation=45 if len(labels) > 6 else 0)
    ax.set_title(title)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _compliance(path: Path, report: Report) -> Path:
    names = {
        "first_response": "First response",
        "resolution_sla": "Resolution SLA",
        "final_response": "Final response",
    }
    labels = [names[k] for k in report.compliance]
    met = [c.met for c in report.compliance.values()]
    missed = [c.missed for c in report.compliance.values()]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(labels, met, color=GREEN, label="met")
    ax.bar(labels, missed, bottom=met, color=RED, label="missed")
    ax.set_title("SLA compliance (closed cases)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_charts(report: Report, out: Path) -> list[Path]:
    """Every chart of the report as a PNG in `out` (created), in reading order."""
    out.mkdir(parents=True, exist_ok=True)
    charts = [
        _bar(
            out / "volume_by_day.png",
            "Complaints received per day",
            list(report.by_day),
            list(report.by_day.values()),
        ),
        _bar(
            out / "by_category.png",
            "Complaints by category",
            list(report.by_category),
            list(report.by_category.values()),
            horizontal=True,
        ),
        _bar(
            out / "by_channel.png",
            "Complaints by channel",
            list(report.by_channel),
            list(report.by_channel.values()),
        ),
        _compliance(out / "sla_compliance.png", report),
        _bar(
            out / "remedies.png",
            "Remedies by type (count)",
            list(report.remedies),
            [r.count for r in report.remedies.values()],
        ),
        _bar(
            out / "csat.png",
            "Customer satisfaction (ratings 1-5)",
            [str(k) for k in report.csat_distribution],
            list(report.csat_distribution.values()),
        ),
        _bar(
            out / "escalations.png",
            "Escalations by level",
            list(report.escalations),
            list(report.escalations.values()),
            horizontal=True,
        ),
        _bar(
            out / "top_causes.png",
            "Top recurring causes",
            [f"{c.category}: {c.cause}" for c in report.top_causes],
            [c.count for c in report.top_causes],
            horizontal=True,
        ),
    ]
    return charts


def write_html(
    report: Report, charts: list[Path], tables: list[tuple[str, list[str], list[list[str]]]], path: Path
) -> Path:
    """One HTML file with the tables and every chart inlined (it can be mailed or archived as is)."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Complaints report {report.start} to {report.end}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#1d2733}"
        "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccd;padding:.25rem .6rem}"
        "img{max-width:100%;display:block;margin:1rem 0}</style></head><body>",
        f"<h1>Complaints report {report.start} to {report.end}</h1>",
    ]
    for title, header, rows in tables:
        parts.append(f"<h2>{html.escape(title)}</h2><table><tr>")
        parts.extend(f"<th>{html.escape(h)}</th>" for h in header)
        parts.append("</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>")
        parts.append("</table>")
    parts.append("<h2>Charts</h2>")
    for chart in charts:
        data = base64.b64encode(chart.read_bytes()).decode()
        parts.append(f"<img alt='{html.escape(chart.stem)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    path.write_text("".join(parts), encoding="utf-8")
    return path
