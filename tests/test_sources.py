"""The training sources: what each public corpus becomes, and how `train` and `retrain` pick their data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from moderation.errors import DataError
from moderation.learning.dataset import training_arrays
from moderation.learning.sources import load_tubespam_pilot, load_youtube, training_set
from moderation.model.thread import Comment, Post, Thread

FIXTURES = Path(__file__).parent / "fixtures" / "labeled"


@pytest.fixture
def datasets(tmp_path) -> Path:
    """A datasets folder shaped like ../shared/datasets, from the YouTube-style fixture."""
    youtube = tmp_path / "youtube_spam_collection"
    youtube.mkdir()
    shutil.copy(FIXTURES / "youtube_style.csv", youtube / "Youtube01-Test.csv")
    return tmp_path


def _thread(conversation: bool | None) -> Thread:
    comments = [
        Comment(body="Subscribe to my channel for free gift cards", author="a", id="1", label="spam"),
        Comment(body="Subscribe to my channel for free gift cards!!", author="b", id="2", label="spam"),
        Comment(body="This song never gets old", author="c", id="3", label="ham"),
    ]
    extra = {} if conversation is None else {"conversation": conversation}
    return Thread(post=Post(), comments=comments, id="t", extra=extra)


@pytest.mark.parametrize(
    ("conversation", "with_thread"),
    [(None, True), (True, True), (False, False)],
    ids=["default-conversation", "conversation", "sampled-list"],
)
def test_a_sampled_comment_list_is_not_learned_as_a_thread(conversation, with_thread):
    items, y, groups = training_arrays([_thread(conversation)])
    assert list(y) == [1, 1, 0]
    assert len(set(groups)) == 1  # still one group: cross-validation keeps the video whole
    for item in items:
        assert bool(item.thread_bodies) is with_thread
        assert (item.index >= 0) is with_thread


def test_youtube_comments_are_sampled_lists_not_conversations(datasets):
    source = load_youtube(datasets)
    (thread,) = source.threads
    assert thread.extra == {"conversation": False, "source": "youtube"}
    items, _y, _groups = training_arrays(source.threads)
    assert all(item.thread_bodies == () for item in items)


def test_tubespam_pilot_comments_are_sampled_lists_too(datasets):
    pilot = datasets / "tubespam_pilot_2014"
    pilot.mkdir()
    pilot.joinpath("Psy_9bZkp7q19f0.csv").write_text(
        "COMMENT_ID,AUTHOR,DATE,CONTENT,TAG\nc1,a,2014,i love this song &lt;3,0\nc2,b,2014,check my channel,1\n",
        encoding="utf-8",
    )
    (thread,) = load_tubespam_pilot(datasets).threads
    assert thread.extra["conversation"] is False
    assert [c.body for c in thread.comments] == ["i love this song <3", "check my channel"]
    assert thread.post.url == "https://www.youtube.com/watch?v=9bZkp7q19f0"


@pytest.mark.parametrize(
    ("stem", "url"),
    [
        ("Youtube01-Psy", "https://www.youtube.com/watch?v=9bZkp7q19f0"),
        ("Youtube04-Eminem", "https://www.youtube.com/watch?v=uelHwf8o7_U"),
        ("Youtube09-Unknown", ""),
    ],
    ids=["psy", "eminem", "unknown-file"],
)
def test_a_video_is_the_page_its_comments_sit_under(datasets, stem, url):
    # A reader sharing the video's own address is then read as linking the page (model/pagelinks.py).
    (datasets / "youtube_spam_collection" / "Youtube01-Test.csv").rename(
        datasets / "youtube_spam_collection" / f"{stem}.csv"
    )
    (thread,) = load_youtube(datasets).threads
    assert thread.post.url == url


def test_training_set_with_data_only_trains_on_the_data(monkeypatch, tmp_path):
    monkeypatch.setenv("MODERATION_DATASETS", str(tmp_path / "absent"))
    threads, provenance, missing = training_set(None, [FIXTURES / "thread.json"])
    assert set(provenance) == {"data"}
    assert missing == []
    assert provenance["data"]["comments"] == sum(1 for t in threads for c in t.comments if c.label is not None)


def test_training_set_adds_named_sources_to_the_data(monkeypatch, datasets):
    monkeypatch.setenv("MODERATION_DATASETS", str(datasets))
    threads, provenance, missing = training_set(["youtube", "sms"], [FIXTURES / "thread.json"])
    assert set(provenance) == {"youtube", "data"}
    assert missing == ["sms"]
    assert any(t.id.startswith("youtube:") for t in threads)


def test_training_set_refuses_nothing_to_train_on():
    with pytest.raises(DataError, match="nothing to train on"):
        training_set([], [])
