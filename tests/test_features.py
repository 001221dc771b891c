import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from moderation.model.features import (
    AuthorFeatures,
    CommentItem,
    LinkFeatures,
    PostRelatedness,
    ShapeFeatures,
    TextNgrams,
    ThreadContext,
    items_from_thread,
)
from moderation.model.thread import Comment, Post, Thread

TRANSFORMERS = [
    TextNgrams(min_df=1),
    TextNgrams(field="author", namespace="name", min_df=1),
    TextNgrams(namespace="char", analyzer="char_wb", ngram_range=(3, 4), min_df=1),
    PostRelatedness(),
    LinkFeatures(),
    AuthorFeatures(),
    ShapeFeatures(),
    ThreadContext(),
]
IDS = ["word", "name", "char", "post", "link", "author", "shape", "context"]

# The API checks of scikit-learn that do not feed numeric arrays. Our transformers take CommentItem
# sequences, so scikit-learn skips its data checks; the tests below cover those with our own input.
API_CHECKS = [
    check_estimator_cloneable,
    check_estimator_repr,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_get_params_invariance,
    check_set_params,
]


@pytest.fixture(scope="module")
def items():
    post = Post(title="Russia withdraws from Syria", body="Putin ordered the withdrawal of Russian forces from Syria.")
    thread = Thread(
        post=post,
        comments=[
            Comment(body="Putin declared victory in Syria and quit.", author="gVOR08"),
            Comment(body="Umm... Mission Accomplished?", author="Argon"),
            Comment(body="@Argon: Leading from behind.", author="OzarkHillbilly"),
            Comment(
                body="Great web site! I'll be bookmarking it. Visit http://cheap.example.biz/loans now!!!",
                author="best payday loans",
                author_url="http://cheap.example.biz/product/loans-today",
            ),
            Comment(body="", author="C. Clavin"),
            Comment(
                body="Putin ordered the withdrawal of Russian forces from Syria. http://x.example.ru", author="copy"
            ),
        ],
    )
    thread.link_mentions()
    return items_from_thread(thread)


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_scikit_learn_api_checks(transformer, check):
    check(type(transformer).__name__, clone(transformer))


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_fit_transform_shape_names_and_namespaces(transformer, items):
    fitted = clone(transformer)
    assert fitted.fit(items) is fitted
    out = fitted.transform(items)
    names = fitted.get_feature_names_out()
    assert out.shape == (len(items), len(names))
    assert all(":" in name for name in names)
    assert np.isfinite(out.toarray() if hasattr(out, "toarray") else out).all()


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_fitted_transformer_pickles_and_gives_same_output(transformer, items):
    fitted = clone(transformer).fit(items)
    again = pickle.loads(pickle.dumps(fitted))
    a, b = fitted.transform(items), again.transform(items)
    a = a.toarray() if hasattr(a, "toarray") else a
    b = b.toarray() if hasattr(b, "toarray") else b
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "transformer",
    [t for t in TRANSFORMERS if isinstance(t, TextNgrams | PostRelatedness)],
    ids=["word", "name", "char", "post"],
)
def test_transform_before_fit_raises_not_fitted(transformer, items):
    with pytest.raises(NotFittedError):
        clone(transformer).transform(items)


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_rejects_non_item_input(transformer):
    with pytest.raises(TypeError, match="CommentItem"):
        clone(transformer).fit(np.zeros((3, 2)))


def test_invalid_parameter_is_reported_in_fit(items):
    with pytest.raises(ValueError, match="shingle_size"):
        PostRelatedness(shingle_size=1).fit(items)


@pytest.mark.parametrize(
    ("min_df", "bodies"),
    [(2, ["alpha beta", "gamma delta"]), (3, ["alpha beta", "alpha gamma"]), (1, ["", " "])],
    ids=["no shared term", "fewer texts than min_df", "no text at all"],
)
def test_ngrams_refuse_a_corpus_too_small_for_min_df_instead_of_lowering_it(min_df, bodies):
    # It once refitted with min_df=1 without a word: a tiny corpus's model kept every term.
    items = items_from_thread(Thread(post=Post(body="post"), comments=[Comment(body=body) for body in bodies]))
    with pytest.raises(ValueError, match=f"min_df={min_df}"):
        TextNgrams(min_df=min_df).fit(items)


def test_ngrams_keep_the_min_df_asked_for(items):
    fitted = TextNgrams(min_df=2).fit(items)
    assert fitted.vectorizer_.min_df == 2
    assert 0 < fitted.n_features_out_ < len(TextNgrams(min_df=1).fit(items).get_feature_names_out())


def _column(transformer, items, name):
    fitted = clone(transformer).fit(items)
    names = list(fitted.get_feature_names_out())
    return fitted.transform(items)[:, names.index(name)]


def test_post_relatedness_separates_on_topic_from_template(items):
    similarity = _column(PostRelatedness(), items, "post:similarity")
    off_topic = _column(PostRelatedness(), items, "post:off_topic")
    assert similarity[0] > 0.2 and similarity[3] == 0
    assert off_topic[3] > 0.7 and off_topic[0] <= off_topic[3] / 2


def test_copy_of_the_post_is_detected(items):
    copied = _column(PostRelatedness(), items, "post:copied")
    assert copied[5] == 1.0 and copied[0] == 0.0


@pytest.mark.parametrize(
    ("name", "row", "expected"),
    [
        ("link:count", 3, np.log1p(1)),
        ("link:author_url_deep", 3, 1.0),
        ("link:count", 0, 0.0),
    ],
    ids=["link-in-body", "deep-author-url", "no-link"],
)
def test_link_features(items, name, row, expected):
    assert _column(LinkFeatures(), items, name)[row] == pytest.approx(expected)


def test_reply_context_marks_at_replies(items):
    reply = _column(ThreadContext(), items, "context:reply")
    assert reply.tolist() == [0, 0, 1, 0, 0, 0]


def test_empty_comment_has_only_the_empty_shape(items):
    assert _column(ShapeFeatures(), items, "shape:empty").tolist() == [0, 0, 0, 0, 1, 0]


def test_items_are_the_dataclass_own(items):
    # items._new_item builds CommentItem without its __init__: a field added to the class and not to
    # _item would be missing, not defaulted.
    for item in items:
        assert vars(item).keys() == CommentItem.__dataclass_fields__.keys()
        rebuilt = CommentItem(**vars(item))
        assert rebuilt == item and hash(rebuilt) == hash(item)


def test_item_defaults_are_usable_without_thread():
    item = CommentItem(body="hello there")
    out = clone(PostRelatedness()).fit([item]).transform([item])
    assert out.shape == (1, len(PostRelatedness._NAMES))


def test_mentions_link_to_the_latest_earlier_comment_by_that_name_in_one_pass(monkeypatch):
    import moderation.model.thread as thread_module

    comments = [Comment(body="First!", author="Dana Whit"), Comment(body="Agreed.", author="Argon")]
    comments += [Comment(body="@dana-whit: no.", author="Argon"), Comment(body="@Dana Whit, yes.", author="Dana Whit")]
    comments += [Comment(body="@Nobody: hello", author=f"reader {n}") for n in range(2000)]
    comments += [Comment(body="@Dana Whit: late reply", author="Kim")]
    thread = Thread(post=Post(), comments=comments)
    calls = 0
    real = thread_module._name_key

    def counting(name):
        nonlocal calls
        calls += 1
        return real(name)

    monkeypatch.setattr(thread_module, "_name_key", counting)
    thread.link_mentions()
    assert comments[2].parent == comments[0].id  # case and punctuation aside, the earlier Dana Whit
    assert comments[3].parent == comments[0].id  # answering herself is still answering her earlier comment
    assert comments[-1].parent == comments[3].id  # the most recent earlier comment by that name
    assert all(c.parent is None for c in comments[4:-1])
    # Two lookups per comment at most: the old backward scan made 2,000 x 2,000 comparisons here.
    assert calls <= 2 * len(comments)


@pytest.mark.parametrize(
    ("author", "body", "author_url", "expected"),
    [
        (
            "cheap above ground pools",
            '<a href="https://poolsupply-outlet.shop/above-ground">above ground pools</a> summer sale, free shipping',
            "",
            0.75,
        ),
        ("best payday loans", "Payday loans approved in minutes.", "https://best-payday.example/x", 1.0),
        ("Dana Whit", "Agreed, the pool should reopen. -- Dana Whit", "", 0.0),
        ("Dana Whit", "My notes on the filtration vote: https://danawhit.example/pool-vote", "", 0.0),
        ("heath ledger", "I could have sworn I've been to this site before. I'll be bookmarking it.", "", 0.0),
        ("Kevin", "Kevin here: https://kevin.example", "", 0.0),
        (
            "Two Kids No Debt",
            "We snowballed the two tiny balances, then wrote it up: https://twokidsnodebt.blog/our-payoff/",
            "https://twokidsnodebt.blog",
            0.0,
        ),
    ],
    ids=["keyword-anchor", "keyword-site", "signature", "own-blog", "person-name", "one-word", "blog-name-stop-word"],
)
def test_author_name_repeated_as_a_keyword_phrase(author, body, author_url, expected):
    from moderation.model.features import AuthorFeatures

    item = CommentItem(body=body, author=author, author_url=author_url)
    features = AuthorFeatures().fit([item])
    values = dict(zip(features.get_feature_names_out(), features.transform([item])[0], strict=True))
    assert values["author:name_in_text"] == pytest.approx(expected)


STATELESS = [LinkFeatures(), AuthorFeatures(), ShapeFeatures(), ThreadContext()]


@pytest.mark.parametrize("transformer", STATELESS, ids=["link", "author", "shape", "context"])
def test_stateless_transformers_declare_that_they_need_no_fit(transformer, items):
    from sklearn.utils.validation import check_is_fitted

    assert transformer.__sklearn_tags__().requires_fit is False
    check_is_fitted(transformer)  # no NotFittedError: there is nothing to learn
    unfitted = clone(transformer).transform(items)
    np.testing.assert_array_equal(unfitted, clone(transformer).fit(items).transform(items))
