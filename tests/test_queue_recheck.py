"""`moderation recheck`: stored checks re-scored with the serving model; what changed, and --dry-run."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from fixtures.service.service_support import BLOG, model_path  # noqa: F401

from moderation.cli import main
from moderation.errors import InputError
from moderation.service.keys import new_key
from moderation.service.recheck import recheck
from moderation.service.store import Store

OTHER = "https://other.example/"
SPAM = "Buy replica watches online cheap price, free shipping, best casino bonus, visit our store now!!!"
HAM = "I rested the rye loaf a full day like you said and the crumb was finally not gummy."


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "m.db")
    new_key(store, BLOG)
    new_key(store, OTHER)
    return store


def stored(store, site, content, verdict, ts=None):
    (rid,) = store.log_requests(
        [
            {
                "site": site,
                "endpoint": "comment-check",
                "answer": "true",
                "model_version": "old",
                "content": content,
                "author": "someone",
                "verdict": verdict,
                "score": 0.5,
                "reasons": ["contains 1 link(s)"],
            }
        ]
    )
    if ts is not None:
        store._connection().execute("UPDATE requests SET ts = ? WHERE id = ?", (ts, rid))
    return rid


def test_dry_run_reports_and_changes_nothing(store, model_path):  # noqa: F811
    ids = [stored(store, BLOG, SPAM, "hold"), stored(store, BLOG, HAM, "hold"), stored(store, BLOG, HAM, "spam")]
    report = recheck(store, held=True, dry_run=True, base_model=str(model_path))
    assert report.checked == 2  # the held ones only
    assert report.changed == sum(t for t in report.transitions.values())
    assert [store.get_request(i)["verdict"] for i in ids] == ["hold", "hold", "spam"]
    assert store._connection().execute("SELECT COUNT(*) FROM rechecks").fetchone()[0] == 0


def test_recheck_stores_the_new_verdict_and_keeps_the_old(store, model_path):  # noqa: F811
    from moderation.api import Moderator

    model = Moderator.load(str(model_path))
    rid = stored(store, BLOG, SPAM, "hold")
    expected = model.score_comment(SPAM, author="someone").verdict
    report = recheck(store, held=True, base_model=str(model_path))
    record = store.get_request(rid)
    assert record["verdict"] == expected
    assert record["model_version"] == str(model.version)
    if expected != "hold":
        assert report.transitions == {("hold", expected): 1}
        old = store._connection().execute("SELECT old_verdict, old_model FROM rechecks WHERE request_id = ?", (rid,))
        assert tuple(old.fetchone()) == ("hold", "old")
        assert store.request_page(BLOG)[0]["rechecked"] == 1


def test_one_site_only(store, model_path):  # noqa: F811
    stored(store, BLOG, SPAM, "hold")
    other = stored(store, OTHER, SPAM, "hold")
    report = recheck(store, site="crumbnotes.example", held=True, base_model=str(model_path))
    assert report.checked == 1
    assert store.get_request(other)["model_version"] == "old"


def test_date_range(store, model_path):  # noqa: F811
    day = 86400
    now = time.time()
    stored(store, BLOG, HAM, "approve", ts=now - 10 * day)
    stored(store, BLOG, HAM, "approve", ts=now - 1 * day)
    assert recheck(store, since=now - 2 * day, base_model=str(model_path), dry_run=True).checked == 1
    assert recheck(store, until=now - 2 * day, base_model=str(model_path), dry_run=True).checked == 1


def test_progress_is_reported_with_the_total(store, model_path):  # noqa: F811
    for _ in range(3):
        stored(store, BLOG, HAM, "hold")
    calls = []
    recheck(store, held=True, base_model=str(model_path), dry_run=True, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"since": 10.0, "until": 5.0}, {"held": True, "site": "https://nobody.example/"}],
    ids=["nothing-chosen", "empty-range", "unknown-site"],
)
def test_refusals(store, kwargs):
    with pytest.raises(InputError):
        recheck(store, **kwargs)


def test_cli_reports_changes(store, model_path):  # noqa: F811
    stored(store, BLOG, SPAM, "hold")
    stored(store, BLOG, HAM, "hold")
    runner = CliRunner()
    args = ["recheck", "--held", "--dry-run", "--db", str(store.path), "--model", str(model_path)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "rechecked 2 checks with" in result.output and "would change" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "--held"), (["--since", "yesterday"], "not a date"), (["--site", "nobody.example", "--held"], "no site")],
    ids=["nothing-chosen", "bad-date", "unknown-site"],
)
def test_cli_refusals_are_one_line(store, args, message):
    result = CliRunner().invoke(main, ["recheck", "--db", str(store.path), *args])
    assert result.exit_code in (1, 2)
    assert message in result.output and "Traceback" not in result.output
