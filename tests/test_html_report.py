"""The HTML report on real data: one self-contained file that names every trade, draws it with the zones that
justified it, and shows the same figures as summary.json."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser

import pytest
import yaml
from typer.testing import CliRunner

from ictbot.backtest.html import render_html_report
from ictbot.backtest.report import summarize
from ictbot.backtest.runner import run_backtest
from ictbot.cli import app
from ictbot.config import load_settings
from ictbot.data.frame import iso
from ictbot.data.loaders import load_candles

WEEK = (1_746_835_200_000, 1_747_440_000_000)  # 2025-05-10 → 2025-05-17 UTC
STRATEGY = {"name": "fvg_retrace"}  # the simple strategy trades often, so a week has trades on both symbols
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr"}


@dataclass(eq=False)
class Element:
    tag: str
    attrs: dict[str, str]
    parents: tuple[Element, ...]
    chunks: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        return "".join(self.chunks).strip()

    def within(self, cls: str) -> bool:
        return any(cls in parent.classes for parent in self.parents)


class Document(HTMLParser):
    """Every element of a page with its attributes, ancestors and text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, tuple(self._open))
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}, tuple(self._open)))

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.chunks.append(data)

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if (tag is None or e.tag == tag)
            and (cls is None or cls in e.classes)
            and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Element:
        found = self.find(tag, cls, **attrs)
        assert len(found) == 1, f"expected one {tag} {cls} {attrs}, found {len(found)}"
        return found[0]


@pytest.fixture(scope="module")
def frames(data_dir):
    return [load_candles(data_dir / f"{base}_USDT_USDT-1m-futures.feather").between(*WEEK) for base in ("BTC", "ETH")]


@pytest.fixture(scope="module")
def result(frames):
    settings = load_settings(strategy=STRATEGY, symbols=[f.symbol for f in frames])
    return run_backtest(settings, frames)


@pytest.fixture(scope="module")
def summary(result):
    return summarize(result)


@pytest.fixture(scope="module")
def page(result, summary, frames):
    return render_html_report(result, summary, frames)


@pytest.fixture(scope="module")
def doc(page):
    return Document(page)


def test_the_week_trades_on_both_symbols(result):
    assert {t.symbol for t in result.trades} == {"BTCUSDT", "ETHUSDT"}
    assert len(result.trades) >= 10


def test_report_is_self_contained(page, doc):
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert not doc.find("script") and not doc.find("link") and not doc.find("img") and not doc.find("iframe")
    links = [e.attrs[a] for e in doc.elements for a in ("href", "src", "xlink:href") if a in e.attrs]
    assert links and all(link.startswith("#") for link in links), "every link stays inside the page"
    targets = {e.attrs["id"] for e in doc.elements if "id" in e.attrs}
    assert {link[1:] for link in links} <= targets, "every in-page link has its target"
    assert set(re.findall(r"url\(([^)]*)\)", page)) <= {f"#{t}" for t in targets}
    assert "@import" not in page and "@font-face" not in page


def test_report_names_every_trade_with_its_times_prices_and_reasons(result, doc):
    rows = [e for e in doc.find("tr") if "id" in e.attrs]
    assert [r.attrs["id"] for r in rows] == [f"trade-{n}" for n in range(1, len(result.trades) + 1)]
    for row, (n, trade) in zip(rows, enumerate(result.trades, start=1), strict=True):
        cells = _cells(doc, row)
        side = "long" if trade.side.sign > 0 else "short"
        assert cells[:5] == [str(n), trade.symbol, side, iso(trade.entry_time), iso(trade.exit_time)]
        assert [Decimal(c) for c in cells[5:8]] == [trade.entry_price, trade.exit_price, trade.quantity]
        assert Decimal(cells[9]) == trade.pnl.quantize(Decimal("0.0001"))
        assert cells[10:] == [trade.exit_reason, trade.entry_reason, trade.client_order_id]
        panel = doc.one("figure", id=f"panel-{n}")
        assert f"#{n} {trade.symbol}" in panel.text and trade.exit_reason in panel.text


def test_each_symbol_chart_marks_every_entry_once_and_draws_the_zones(result, doc):
    for symbol in ("BTCUSDT", "ETHUSDT"):
        section = doc.one("section", id=f"chart-{symbol}")
        inside = _inside(doc, section)
        markers = [e for e in inside if "entry-marker" in e.classes and e.within("overview")]
        expected = [n for n, t in enumerate(result.trades, start=1) if t.symbol == symbol]
        assert sorted(int(m.attrs["data-trade"]) for m in markers) == expected
        zones = [e for e in inside if "zone" in e.classes]
        assert len(zones) >= len(expected), "each trade's justifying zone is drawn"
        assert all(z.text.startswith("#") for z in zones), "a zone says which trade it justified"


def test_each_trade_panel_draws_zone_entry_exit_stop_and_target(result, doc):
    for n, trade in enumerate(result.trades, start=1):
        intent = result.intents[trade.client_order_id]
        inside = _inside(doc, doc.one("figure", id=f"panel-{n}"))
        lines = {e.attrs["class"]: float(e.attrs["y1"]) for e in inside if e.tag == "line" and "y1" in e.attrs}
        if trade.side.sign > 0:
            assert lines["target"] < lines["entry-line"] < lines["stop"], "SVG y grows downwards"
        else:
            assert lines["stop"] < lines["entry-line"] < lines["target"]
        tags = {e.text for e in inside if "tag" in e.classes}
        assert tags == {f"entry {intent.price}", f"SL {intent.stop}", f"TP {intent.target}"}
        assert sum("zone" in e.classes for e in inside) == len(intent.signal.evidence) >= 1
        assert {e.text for e in inside if "zone-label" in e.classes} == {r.kind for r in intent.signal.evidence}
        assert [e.attrs["data-trade"] for e in inside if "entry-marker" in e.classes] == [str(n)]
        assert [e.attrs["data-trade"] for e in inside if "exit-marker" in e.classes] == [str(n)]


def test_equity_and_drawdown_curves(summary, doc):
    curve = doc.one("svg", id="equity")
    inside = _inside(doc, curve)
    equity = [e for e in inside if "equity" in e.classes]
    assert len(equity) == 1 and len(equity[0].attrs["points"].split()) > 100
    assert sum("drawdown" in e.classes for e in inside) == 1
    label = next(e.text for e in inside if e.text.startswith("max drawdown"))
    assert float(label.split()[-1].rstrip("%")) == pytest.approx(-summary["max_drawdown_pct"], abs=0.01)


def test_figures_match_the_summary(summary, doc):
    shown = {row.attrs["data-key"]: _cells(doc, row)[1] for row in doc.find("tr") if "data-key" in row.attrs}
    assert shown.keys() == {k for k, v in summary.items() if not isinstance(v, dict)}
    for key, text in shown.items():
        value = summary[key]
        if value is None:
            assert text == "-", key
        elif isinstance(value, list):
            assert text == (", ".join(value) or "-"), key
        elif _number(value) is not None:
            assert float(text) == pytest.approx(float(value), abs=5e-5), key
        else:
            assert text == value, key
    rejected = doc.one("table", data_key="rejected_signals")
    rows = [_cells(doc, r) for r in doc.find("tr") if r.parents[-1] is rejected]
    assert {reason: int(count) for reason, count in rows} == summary["rejected_signals"]
    cards = {_child(doc, card, "label"): _child(doc, card, "value") for card in doc.find("div", "card")}
    assert float(cards["net pnl"]) == pytest.approx(float(summary["net_pnl"]), abs=5e-5)
    assert cards["trades"] == str(summary["trades"]) and cards["win rate pct"] == str(summary["win_rate_pct"])


def test_frames_may_be_given_by_symbol(result, summary, frames, page):
    assert render_html_report(result, summary, {f.symbol: f for f in frames}) == page


def test_backtest_command_writes_the_html_report(tmp_path, data_dir):
    out = tmp_path / "run"
    data = data_dir / "BTC_USDT_USDT-1m-futures.feather"
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({"strategy": STRATEGY}))
    args = ["backtest", "--data", str(data), "--config", str(config), "--from", "2025-05-10", "--to", "2025-05-17"]
    args += ["--out", str(out)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == ["equity.csv", "report.html", "summary.json", "trades.csv"]
    with (out / "trades.csv").open() as fh:
        trades = list(csv.DictReader(fh))
    doc = Document((out / "report.html").read_text(encoding="utf-8"))
    rows = [e for e in doc.find("tr") if e.attrs.get("id", "").startswith("trade-")]
    assert len(rows) == len(trades) > 0
    for row, trade in zip(rows, trades, strict=True):
        assert trade["entry_time"] in row.text and trade["exit_reason"] in row.text
    net = json.loads((out / "summary.json").read_text())["net_pnl"]
    assert float(_cells(doc, doc.one("tr", data_key="net_pnl"))[1]) == pytest.approx(float(net), abs=5e-5)


def _cells(doc: Document, row: Element) -> list[str]:
    return [e.text for e in doc.elements if e.tag in ("th", "td") and e.parents and e.parents[-1] is row]


def _child(doc: Document, parent: Element, cls: str) -> str:
    return next(e.text for e in doc.find(cls=cls) if e.parents[-1] is parent)


def _inside(doc: Document, ancestor: Element) -> list[Element]:
    """The elements within ``ancestor``: the run of elements after it, in document order, that have it as a parent."""
    start = next(i for i, e in enumerate(doc.elements) if e is ancestor) + 1
    depth = len(ancestor.parents)
    end = next(
        (i for i in range(start, len(doc.elements)) if len(doc.elements[i].parents) <= depth),
        len(doc.elements),
    )
    return doc.elements[start:end]


def _number(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
