"""`bot review label|story` as a trainer types them: errors exit 2 with the reason on stderr."""

from __future__ import annotations

from pathlib import Path

from bot.cli import main
from bot.db.models import ReviewItem
from bot.db.session import session_scope
from tests.review_tracker import SENDER, UNCLEAR_MASKED, make_tracker
from tests.test_review_annotate import add_item, copy_project


def test_label_not_useful_and_story_from_the_command_line(db_url, tmp_path: Path, monkeypatch, capsys):
    data_dir = copy_project(tmp_path / "project")
    monkeypatch.setenv("BOT_DATA_DIR", str(data_dir))
    url, _ = make_tracker(tmp_path / "tracker.db")
    with session_scope(db_url) as session:
        price = add_item(session, "hva koster en dekkskift med balansering?", predicted="ask_price")
        useless = add_item(session, "qwerty", sender="s2")
        unclear = add_item(session, UNCLEAR_MASKED, sender=SENDER)

    assert main(["review", "label", str(price), "wash_car"]) == 2
    assert "unknown intent 'wash_car'" in capsys.readouterr().err
    assert main(["review", "label", str(price), "ask_price", "--entity", "dekkskift"]) == 2
    assert "TEXT=ENTITY" in capsys.readouterr().err
    assert main(["review", "label", "999", "ask_price"]) == 2
    assert "no review item 999" in capsys.readouterr().err

    assert main(["review", "label", str(price), "ask_price", "--entity", "dekkskift=service_type",
                 "--trainer", "tina"]) == 0  # with the real data validation
    assert "added to" in capsys.readouterr().out
    assert '    - hva koster en [dekkskift]{"entity": "service_type", "value": "tyre_change"} med balansering?\n' \
        in (data_dir / "nlu" / "nb" / "ask_price.yml").read_text(encoding="utf-8")

    assert main(["review", "label", str(useless), "--not-useful"]) == 0
    assert main(["review", "label", str(price), "--not-useful"]) == 2
    assert "already an example" in capsys.readouterr().err
    with session_scope(db_url) as session:
        assert session.get(ReviewItem, useless).status == "not_useful"
        assert session.get(ReviewItem, price).labelled_by == "tina"
        assert session.get(ReviewItem, unclear).status == "new"

    out_dir = tmp_path / "stories"
    assert main(["review", "story", SENDER, "--name", "brakes", "--tracker-url", url, "--out-dir", str(out_dir)]) == 0
    assert "Ola" in (out_dir / "brakes.yml").read_text(encoding="utf-8")
    assert main(["review", "story", "nobody", "--tracker-url", url, "--out-dir", str(out_dir)]) == 2
    assert "no customer message" in capsys.readouterr().err
