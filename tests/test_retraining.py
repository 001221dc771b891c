"""Retraining from corrections: the split, the promotion rule, the registry, rollback, and the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fixtures.service.service_support import BLOG, HERE, http, make_app, model_path  # noqa: F401

from moderation.cli.service import keys, models, posts, retrain
from moderation.errors import DataError, ModelError
from moderation.learning.retraining import Comparison, decide, split_corrections
from moderation.service.keys import new_key
from moderation.service.registry import list_models, use_model
from moderation.service.registry import retrain as run_retrain
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
        (_figures(1, 1, n=2), _figures(1, 1, n=2), False, False, "every one of the 2"),
        (_figures(0, 2, n=2), _figures(0, 2, n=2), True, False, "never promoted"),
    ],
    ids=[
        "tie",
        "better",
        "blocks-more-legit",
        "more-mistakes",
        "nothing-held-out",
        "forced",
        "all-wrong-tie",
        "all-wrong-forced",
    ],
)
def test_promotion_rule(candidate, current, force, promoted, why):
    decision, reason = decide(candidate, current, force=force)
    assert decision is promoted
    assert why in reason


def test_retrain_promotes_registers_and_rolls_back(store, tmp_path, model_path):  # noqa: F811
    new_key(store, BLOG)
    _add_corrections(store, 5)
    result = run_retrain(store, tmp_path / "models", site=BLOG, data=[HERE], base_model=model_path)
    assert result.path.exists()
    assert result.candidate_figures is not None and result.candidate_figures.n == 2
    assert result.current_figures is not None
    records, serving = list_models(store, model_path)
    versions = {r.version: r for r in records}
    assert result.candidate in versions and versions[result.candidate].site == BLOG
    assert versions[result.candidate].metrics["held_out"]["n"] == 2
    # The candidate learned this site's corrections; on their held-out share it is at least as good.
    assert result.promoted, result.reason
    assert store.active_model(BLOG) == result.candidate
    base = next(r.version for r in records if r.status == "base")
    assert serving == base  # the shared pointer did not move
    use_model(store, base, site=BLOG)
    assert store.active_model(BLOG) == base


def test_retrain_without_held_out_says_so_before_training(store, tmp_path, model_path, monkeypatch):  # noqa: F811
    import moderation.learning.training

    new_key(store, BLOG)
    store.add_correction(site=BLOG, label="spam", content=SPAMMY[0])
    store.add_correction(site=BLOG, label="spam", content="   ")  # no text: not usable, not held out

    def no_training(*args, **kwargs):
        raise AssertionError("trained although nothing could judge the candidate")

    monkeypatch.setattr(moderation.learning.training, "train_model", no_training)
    with pytest.raises(DataError, match="no held-out corrections.*1 usable"):
        run_retrain(store, tmp_path / "models", site=BLOG, data=[HERE], base_model=model_path)
    monkeypatch.undo()
    assert store.active_model(BLOG) is None
    forced = run_retrain(store, tmp_path / "models", site=BLOG, data=[HERE], base_model=model_path, force=True)
    assert forced.promoted and store.active_model(BLOG) == forced.candidate
    again = run_retrain(store, tmp_path / "models", site=BLOG, data=[HERE], base_model=model_path, force=True)
    assert again.candidate != forced.candidate  # same data and seed, still two registry entries


def test_cli_retrain_without_held_out_is_one_line_error(tmp_path, model_path):  # noqa: F811
    db = str(tmp_path / "empty.db")
    result = CliRunner().invoke(retrain, ["--db", db, "--data", str(HERE), "--model", str(model_path)])
    assert result.exit_code == 1 and result.output.startswith("Error: no held-out corrections")
    assert "training" not in result.output


def test_site_b_corrections_cannot_change_site_a_scores(tmp_path, model_path):  # noqa: F811
    """Issue 9 item 5: any key holder's submit-spam used to teach the one model every site is served."""
    app = make_app(tmp_path / "sites.db", model_path, rate=0)
    site_a, site_b = BLOG, "https://other.example/"
    key_a, key_b = new_key(app.store, site_a), new_key(app.store, site_b)
    probes = LEGIT + SPAMMY

    def scores(key: str) -> list[tuple[float, str]]:
        client = http(app)
        client.headers["Authorization"] = f"Bearer {key}"
        replies = [client.post("/api/v1/score", json={"comment": {"body": text}}).json() for text in probes]
        return [(r["score"], r["model_version"]) for r in replies]

    before_a = scores(key_a)
    # B reports A-style legitimate comments as spam, through the Akismet protocol, enough to be judged on.
    for text in LEGIT * 2:
        form = {"api_key": key_b, "blog": site_b, "user_ip": "10.0.0.2", "comment_content": text}
        assert http(app).post("/1.1/submit-spam", data=form).text.startswith("Thanks")
    for text in SPAMMY:
        form = {"api_key": key_b, "blog": site_b, "user_ip": "10.0.0.2", "comment_content": text}
        http(app).post("/1.1/submit-ham", data=form)
    result = run_retrain(app.store, tmp_path / "models", site=site_b, data=[HERE], base_model=model_path, force=True)
    assert result.site == site_b and app.store.active_model(site_b) == result.candidate
    app.models.refresh(site=site_b)
    app.models.refresh(site=site_a)
    assert scores(key_b)[0][1] == result.candidate  # B is served its own model...
    assert scores(key_a) == before_a  # ...and A's scores did not move at all.
    # B did not opt in to sharing, so the shared base model cannot learn from B either.
    with pytest.raises(DataError, match="0 usable shared"):
        run_retrain(app.store, tmp_path / "models", data=[HERE], base_model=model_path)


def test_shared_corrections_join_other_sites_retraining_only_when_opted_in(store):
    from moderation.service.registry import corrections_for

    new_key(store, BLOG)
    new_key(store, "https://other.example/")
    store.add_correction(site="https://other.example/", label="spam", content="from other")
    store.add_correction(site=BLOG, label="spam", content="from blog")
    assert [c.content for c in corrections_for(store, BLOG)[1]] == []
    result = CliRunner().invoke(keys, ["share", "other.example", "--on", "--db", str(store.path)])
    assert result.exit_code == 0, result.output
    assert [c.content for c in corrections_for(store, BLOG)[1]] == ["from other"]
    assert [c.content for c in corrections_for(store, None)[0]] == ["from other"]
    CliRunner().invoke(keys, ["share", "other.example", "--off", "--db", str(store.path)])
    assert corrections_for(store, None)[0] == []


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
    result = run_retrain(app.store, tmp_path / "models", data=[HERE], base_model=model_path, force=True)
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
    trained = runner.invoke(retrain, ["--db", db, "--data", str(HERE), "--model", str(model_path), "--force"])
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
