"""The insights as HTML: headline numbers, one section per figure with its chart (a PNG
embedded as base64, nothing loaded from elsewhere) and the same numbers as a table.

`render_body` is what both `bot report` (inside `report.html`) and the desk page show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from markupsafe import Markup

from bot.desk.views import REASON_LABELS
from bot.insights import figures
from bot.insights.metrics import Insights
from bot.insights.nlu import HOW_TO

TEMPLATES = Path(__file__).with_name("templates")
NO_DATA = "Ingen data ennå for denne perioden."
STAGES = (("sent", "sendt"), ("answered", "besvart"), ("accepted", "akseptert"), ("converted", "konvertert"))
MAX_INTENTS = 25

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)


@dataclass
class Section:
    id: str
    title: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    image: str | None = None  # base64 PNG
    alt: str = ""
    note: str = ""
    empty: str = NO_DATA


def pct(value: float) -> str:
    return f"{value:.1%}".replace(".", ",")


def headlines(data: Insights) -> list[tuple[str, str]]:
    c, p = data.conversations, data.proactive_total
    return [
        ("Samtaler", str(c.conversations)),
        ("Løst uten menneske", pct(c.containment_rate)),
        ("Overlevert til menneske", pct(c.handoff_rate)),
        ("Ikke forstått (fallback)", pct(c.fallback_rate)),
        ("Kundemeldinger", str(c.user_messages)),
        ("Proaktive sendt / besvart / konvertert", f"{p.sent} / {p.answered} / {p.converted}"),
    ]


def _conversations(data: Insights) -> Section:
    c = data.conversations
    days, channels = data.period.days(), c.channels
    section = Section("samtaler", "Samtaler per dag og kanal", ["Dag", *channels, "Sum"])
    if not c.conversations:
        return section
    for day in days:
        counts = c.per_day.get(day)
        if counts:
            section.rows.append([day.isoformat(), *(str(counts[ch]) for ch in channels), str(sum(counts.values()))])
    series = {ch: [c.per_day.get(d, {}).get(ch, 0) for d in days] for ch in channels}
    section.image = figures.stacked_days(days, series)
    section.alt = f"Stolpediagram: {c.conversations} samtaler per dag, fordelt på kanalene {', '.join(channels)}"
    return section


def _rates(data: Insights) -> Section:
    c = data.conversations
    section = Section("andeler", "Løst uten menneske, overlevering og fallback", ["Mål", "Andel", "Antall"])
    if not c.conversations:
        return section
    section.rows = [
        ["Løst uten menneske (containment)", pct(c.containment_rate), f"{c.contained} av {c.conversations} samtaler"],
        ["Overlevert til menneske", pct(c.handoff_rate), f"{c.handed_off} av {c.conversations} samtaler"],
        ["Ikke forstått (nlu_fallback)", pct(c.fallback_rate), f"{c.fallbacks} av {c.user_messages} meldinger"],
    ]
    section.image = figures.horizontal(
        ["Løst uten menneske", "Overlevert", "Fallback"], [c.containment_rate, c.handoff_rate, c.fallback_rate],
        "Andel", "Containment, overlevering og fallback", percent=True)
    section.alt = "Søylediagram over andelene i tabellen"
    return section


def _reasons(data: Insights) -> Section:
    section = Section("arsaker", "Årsaker til overlevering (saker i køen)", ["Årsak", "Saker"])
    items = data.handoff_reasons.most_common()
    if not items:
        section.empty = "Ingen saker til menneske i perioden."
        return section
    labels = [REASON_LABELS.get(reason, reason) for reason, _ in items]
    section.rows = [[label, str(count)] for label, (_, count) in zip(labels, items, strict=True)]
    section.image = figures.horizontal(labels, [count for _, count in items], "Saker", "Årsaker til overlevering")
    section.alt = "Søylediagram: saker per årsak"
    return section


def _intents(data: Insights) -> Section:
    c = data.conversations
    languages = c.languages
    section = Section("intensjoner", "Intensjoner etter volum og språk", ["Intensjon", *languages, "Sum"])
    ranked = c.intents_by_volume()
    if not ranked:
        return section
    section.rows = [[name, *(str(counts[lang]) for lang in languages), str(sum(counts.values()))]
                    for name, counts in ranked]
    shown = ranked[:MAX_INTENTS]
    series = {lang: [counts[lang] for _, counts in shown] for lang in languages}
    section.image = figures.stacked_horizontal([name for name, _ in shown], series, "Meldinger", "Språk",
                                               "Intensjoner etter volum og språk")
    section.alt = "Liggende stolper: meldinger per intensjon, fordelt på språk"
    if len(ranked) > MAX_INTENTS:
        section.note = f"Diagrammet viser de {MAX_INTENTS} største; tabellen viser alle."
    return section


def _proactive(data: Insights) -> Section:
    section = Section("proaktive", "Proaktive meldinger: sendt, besvart, konvertert",
                      ["Strategi", "Laget", "Sendt", "Besvart", "Akseptert", "Avslått", "Konvertert", "Svarandel"])
    if not data.proactive:
        section.empty = "Ingen proaktive meldinger i perioden."
        return section
    for f in [*data.proactive, data.proactive_total]:
        section.rows.append([f.strategy, str(f.created), str(f.sent), str(f.answered), str(f.accepted),
                             str(f.declined), str(f.converted), pct(f.answer_rate)])
    series = {f.strategy: [getattr(f, key) for key, _ in STAGES] for f in data.proactive}
    section.image = figures.grouped([label for _, label in STAGES], series, "Meldinger", "Strategi",
                                    "Proaktive meldinger per strategi")
    section.alt = "Stolpediagram: proaktive meldinger sendt, besvart, akseptert og konvertert per strategi"
    section.note = "Konvertert: en bestilling kom ut av meldingen (for auto: gjort innenfor avtalen)."
    return section


def _acceptance(data: Insights) -> Section:
    section = Section("forslag", "Forslag: aksept per tilbud og strategi",
                      ["Tilbud", "Strategi", "Tilbudt", "Akseptert", "Avslått", "Akseptandel"])
    if not data.acceptance:
        section.empty = "Ingen forslag er gitt ennå."
        return section
    section.rows = [[r.offer_code, r.segment, str(r.offered), str(r.accepted), str(r.declined), pct(r.rate)]
                    for r in data.acceptance]
    section.image = figures.horizontal([f"{r.offer_code} ({r.segment})" for r in data.acceptance],
                                       [r.rate for r in data.acceptance], "Akseptert av besvarte forslag",
                                       "Akseptandel per tilbud og strategi", percent=True)
    section.alt = "Liggende stolper: akseptandel per tilbud og strategi"
    section.note = "Alle forslag som er lagret, ikke bare perioden; andelen regnes av forslag kunden har svart på."
    return section


def _confusion(data: Insights) -> Section:
    section = Section("nlu", "NLU: forvekslingsmatrise fra siste evaluering",
                      ["Riktig intensjon", "Predikert som", "Eksempler"])
    m = data.confusion
    if m is None:
        section.empty = f"Ingen NLU-evaluering funnet. {HOW_TO}"
        return section
    section.rows = [[g, p, str(n)] for g, p, n in m.top_confusions(15)]
    f1 = f", vektet F1 {m.weighted_f1:.3f}" if m.weighted_f1 is not None else ""
    section.note = (f"Fra {m.source.name} ({m.evaluated_at:%Y-%m-%d %H:%M}): {m.examples} eksempler, "
                    f"treffsikkerhet {pct(m.accuracy)}{f1}. Tabellen viser de vanligste forvekslingene.")
    section.empty = "Ingen forvekslinger: alle eksempler ble riktig klassifisert."
    section.image = figures.matrix(m.labels, m.matrix, "Forvekslingsmatrise for intensjoner")
    section.alt = f"Forvekslingsmatrise over {len(m.labels)} intensjoner"
    return section


def sections(data: Insights) -> list[Section]:
    return [builder(data) for builder in
            (_conversations, _rates, _reasons, _intents, _proactive, _acceptance, _confusion)]


def render_body(data: Insights) -> Markup:
    """The figures and tables, without page chrome: shared by the report and the desk."""
    html = _env.get_template("insights_body.html").render(
        data=data, headlines=headlines(data), sections=sections(data), no_data=NO_DATA)
    return Markup(html)  # noqa: S704 - rendered by an autoescaping environment


def render_report(data: Insights) -> str:
    return _env.get_template("report.html").render(data=data, body=render_body(data))


def write_report(data: Insights, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(data), encoding="utf-8")
    return out
