"""Retraining from corrections: the split, the promotion rule, the registry, rollback, and the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fixtures.service.service_support import BLOG, HERE, http, make_app, model_path  # noqa: F401

from moderation.cli.service import keys, models, posts, retrain
from moderation.errors import ModelError
from moderation.retraining import (
    Comparison,
    decide,
    list_models,
    split_corrections,
    use_model,
)
from moderation.retraining import (
    retrain as run_retrain,
)
from moderation.service.keys import new_key
from moderation.service.store import Correction, Store

SPAMMY = [
    "Cheap replica handbags wholesale, free shipping, order now at our shop",
    "Win the jackpot with free spins, best casino bonus codes, sign up today",
    "Payday loans with no credit check, cash in minutes, apply online now",
    "Buy followers and likes cheap, grow your account instantly today",
    "Discount pills online pharmacy without prescription, fast delivery",
    "SEO backlinks package, first page of Google guaranteed, contact me",
]
LEGIT = [
    "I proofed the rye overnight in the fridge and it still rose well, thanks for the tip.",
    "The wax lasted three weeks of dry commuting before the chain started to squeak.",
    "Removing the low leaves helped my tomatoes too; the blight stayed away this year.",
    "Stacking frames finally cleaned up the noise in my Milky Way shots.",
    "Could you say how long the loaf should cool before it goes in a bag?",
    "Mineral spirits worked, but I needed gloves; the smell is strong indoors.",
]


def _correction(i: int, label: str) -> Correction:
    return Correction(i, 0.0, "s", label, "", "", "", "", "", "comment", f"text {i}", False)


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "retrain.db")


def _add_corrections(store: Store, count: int) -> None:
    for i in range(count):
        store.add_correction(
            site=BLOG,
            label="spam",
            content=SPAMMY[i % len(SPAMMY)],
            author="promo",
            author_url="http://p.example",
        )
        store.add_correction(site=BLOG, label="ham", content=LEGIT[i % len(LEGIT)], author=f"Reader {i}")


@pytest.mark.parametrize(
    ("n_spam", "n_ham", "held_spam", "held_ham"),
    [(0, 0, 0, 0), (1, 1, 0, 0), (2, 3, 1, 1), (10, 5, 2, 1)],
    ids=["none", "one-each", "first-few", "every-fifth"],
)
def test_split_holds_out_per_label(n_spam, n_ham, held_spam, held_ham):
    corrections = [_correction(i, "spam") for i in range(n_spam)]
    corrections += [_correction(100 + i, "ham") for i in range(n_ham)]
    train, held = split_corrections(corrections)
    assert [c.label for c in held].count("spam") == held_spam
    assert [c.label for c in held].count("ham") == held_ham
    assert len(train) + len(held) == len(corrections)
    assert split_corrections(list(reversed(corrections))) == (train, held)


def _figures(blocked: int, missed: int, n: int = 10) -> Comparison:
    return Comparison(version="v", n=n, blocked_legit=blocked, missed_spam=missed)


@pytest.mark.parametrize(
    ("candidate", "current", "force", "promoted", "why"),
    [
        (_figures(0, 1), _figures(0, 1), False, True, "not worse"),
        (_figures(0, 0), _figures(1, 1), False, True, "not worse"),
        (_figures(1, 0), _figures(0, 3), False, False, "legitimate comments as spam"),
        (_figures(0, 3), _figures(0, 1), False, False, "more mistakes"),
        (None, None, False, False, "no held-out"),
        (None, None, True, True, "--force"),
    ],
    ids=["tie", "better", "blocks-more-legit", "more-mistakes", "nothing-held-out", "forced"],
)
def test_promotion_rule(candidate, current, force, promoted, why):
    decision, reason = decide(candidate, current, force=force)
    assert decision is promoted
    assert why in reason


def test_retrain_promotes_registers_and_rolls_back(store, tmp_path, model_path):  # noqa: F811
    _add_corrections(store, 5)
    result = run_retrain(store, tmp_path / "models", base_data=[HERE], base_model=model_path)
    assert result.path.exists()
    assert result.candidate_figures is not None and result.candidate_figures.n == 2
    assert result.current_figures is not None
    records, serving = list_models(store, model_path)
    versions = {r.version: r for r in records}
    assert result.candidate in versions
    assert versions[result.candidate].metrics["held_out"]["n"] == 2
    # The candidate learned these sites' corrections; on their held-out share it is at least as good.
    assert result.promoted, result.reason
    assert serving == result.candidate
    base = next(r.version for r in records if r.status == "base")
    use_model(store, base)
    assert store.active_model() == base


def test_retrain_without_held_out_keeps_current_unless_forced(store, tmp_path, model_path):  # noqa: F811
    store.add_correction(site=BLOG, label="spam", content=SPAMMY[0])
    kept = run_retrain(store, tmp_path / "models", base_data=[HERE], base_model=model_path)
    assert (kept.promoted, store.active_model()) == (False, None)
    assert "no held-out" in kept.reason
    forced = run_retrain(store, tmp_path / "models", base_data=[HERE], base_model=model_path, force=True)
    assert forced.promoted and store.active_model() == forced.candidate
    assert forced.candidate != kept.candidate  # same data and seed, still two registry entries


def test_test_corrections_are_not_learned_from(store):
    store.add_correction(site=BLOG, label="spam", content="x", is_test=True)
    assert store.corrections() == []
    assert len(store.corrections(include_tests=True)) == 1


def test_use_unknown_version_is_a_model_error(store):
    with pytest.raises(ModelError, match="no model version"):
        use_model(store, "nope")


def test_running_service_picks_up_a_retrained_model(tmp_path, model_path):  # noqa: F811
    app = make_app(tmp_path / "live.db", model_path)
    _add_corrections(app.store, 3)
    result = run_retrain(app.store, tmp_path / "models", base_data=[HERE], base_model=model_path, force=True)
    assert result.promoted
    app.models.refresh()
    assert app.models.current().version == result.candidate


def test_cli_keys_retrain_models_use(tmp_path, model_path):  # noqa: F811
    runner = CliRunner()
    db = str(tmp_path / "cli.db")
    added = runner.invoke(keys, ["add", BLOG, "--db", db])
    assert added.exit_code == 0
    key = added.output.strip()
    assert len(key) == 32
    listed = runner.invoke(keys, ["list", "--db", db])
    assert BLOG in listed.output and key not in listed.output

    _add_corrections(Store(db), 3)
    trained = runner.invoke(retrain, ["--db", db, "--base-data", str(HERE), "--model", str(model_path), "--force"])
    assert trained.exit_code == 0, trained.output
    assert "promoted" in trained.output

    listing = runner.invoke(models, ["--db", db, "--model", str(model_path)])
    assert listing.exit_code == 0
    lines = listing.output.strip().splitlines()
    assert len(lines) == 2 and sum(line.startswith("*") for line in lines) == 1
    base = next(line.split()[0] for line in lines if "base" in line)
    used = runner.invoke(models, ["--db", db, "use", base])
    assert used.exit_code == 0 and base in used.output
    bad = runner.invoke(models, ["--db", db, "use", "nope"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: no model version")

    removed = runner.invoke(keys, ["remove", key, "--db", db])
    assert removed.exit_code == 0 and "revoked 1 key" in removed.output


def test_cli_posts_import_fills_the_post_table(tmp_path, model_path):  # noqa: F811
    db = tmp_path / "posts.db"
    store = Store(db)
    key = new_key(store, BLOG)
    other_key = new_key(store, "https://other.example/")
    rye = str(HERE / "bread-rye-loaf.json")
    result = CliRunner().invoke(
        posts, ["import", rye, "--format", "json", "--site", "crumbnotes.example", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert f"for {BLOG}" in result.output
    assert store.get_post("https://crumbnotes.example/2025/03/dense-rye-loaf", site=BLOG) is not None
    app = make_app(db, model_path)

    def known(with_key: str) -> bool:
        reply = http(app).post(
            "/api/v1/score",
            json={"permalink": "https://crumbnotes.example/2025/03/dense-rye-loaf/", "comment": {"body": "Lovely"}},
            headers={"Authorization": f"Bearer {with_key}"},
        )
        return reply.json()["post_known"]

    assert known(key) is True
    assert known(other_key) is False  # another site never reads this site's posts
    listed = CliRunner().invoke(posts, ["list", "--db", str(db)])
    assert listed.exit_code == 0 and f"{BLOG}\thttps://crumbnotes.example/2025/03/dense-rye-loaf\t" in listed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "Missing option '--site'"), (["--site", "nobody.example"], "no site 'nobody.example' has a key")],
    ids=["no-site", "site-without-key"],
)
def test_cli_posts_import_needs_a_site_with_a_key(tmp_path, args, message):
    db = tmp_path / "posts.db"
    new_key(Store(db), BLOG)
    result = CliRunner().invoke(posts, ["import", str(HERE / "bread-rye-loaf.json"), "--db", str(db), *args])
    assert result.exit_code in (1, 2) and message in result.output
    assert Store(db).count_posts() == 0
