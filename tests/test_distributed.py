"""Archive scoring on Dask (moderation.distributed): same output as local scoring, in order, bounded.

The cluster tests start a real LocalCluster of 2 worker processes; they are skipped when the dask extra
is not installed (CI installs it: .ci/run).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from moderation.api import Moderator
from moderation.cli import main
from moderation.distributed import ArchiveModerator, batches, score_paths
from moderation.formats import read_threads

FORMATS = Path(__file__).resolve().parent / "fixtures" / "formats"
INPUTS = ["wordpress-1.2.xml", "disqus-export.xml", "comments.jsonl", "comments.csv", "threads.json"]


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """A JSONL export of 40 threads of 1 to 60 comments (1,120 in all), built from the fixtures' comments,
    so that small batches make many of them and threads of every size cross batch boundaries."""
    bodies = [c.body for name in INPUTS for t in read_threads(FORMATS / name) for c in t.comments if c.body.strip()]
    path = tmp_path_factory.mktemp("archive") / "archive.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for thread in range(40):
            for position in range(1 + (thread * 37) % 60):
                body = bodies[(thread * 7 + position) % len(bodies)]
                row = {"thread_id": f"t{thread}", "id": f"{thread}-{position}", "author": f"a{position}", "body": body}
                out.write(json.dumps(row) + "\n")
    return path


def decisions_of(scored) -> list[tuple[str, list[dict]]]:
    return [(thread.id, [decision.to_dict() for decision in decisions]) for thread, decisions in scored]


# ------------------------------------------------------------ without Dask


def test_batches_are_the_ones_local_scoring_draws(archive):
    threads = list(read_threads(archive))
    sizes = [sum(len(t.comments) for t in batch) for batch in batches(threads, 100)]
    assert sum(sizes) == sum(len(t.comments) for t in threads)
    # Each batch closes at the first thread that brings it to 100 comments, never earlier.
    assert all(size >= 100 for size in sizes[:-1])
    assert [t for batch in batches(threads, 100) for t in batch] == threads


def test_local_archive_moderator_is_plain_local_scoring(fitted_bundle, moderator, archive):
    local = ArchiveModerator(fitted_bundle)
    assert local.slots == 1
    assert decisions_of(score_paths([archive], local)) == decisions_of(moderator.score_threads(read_threads(archive)))


class RecordingBackend:
    """Runs batches in this process, but late: a batch is scored only when its result is asked for,
    so the test sees how many were submitted and not yet taken."""

    def __init__(self, moderator: Moderator, slots: int):
        self.moderator = moderator
        self.slots = slots
        self.outstanding = 0
        self.most = 0
        self.cancelled = 0

    def submit(self, threads, explain):
        from moderation.distributed import score_on_worker

        backend = self
        backend.outstanding += 1
        backend.most = max(backend.most, backend.outstanding)

        class Later:
            def result(self):
                backend.outstanding -= 1
                return score_on_worker(backend.moderator, threads, explain)

        return Later()

    def cancel(self, futures):
        self.cancelled += len(futures)


@pytest.mark.parametrize("slots", [1, 3, 8], ids=["one", "three", "eight"])
def test_batches_in_flight_are_bounded_and_results_keep_their_order(fitted_bundle, moderator, archive, slots):
    backend = RecordingBackend(moderator, slots)
    pooled = ArchiveModerator(fitted_bundle, backend, batch_comments=50)
    got = decisions_of(score_paths([archive], pooled, explain=False))
    assert backend.most == slots
    assert got == decisions_of(moderator.score_threads(read_threads(archive), explain=False))


def test_a_stopped_stream_cancels_the_batches_in_flight(fitted_bundle, moderator, archive):
    backend = RecordingBackend(moderator, 4)
    stream = ArchiveModerator(fitted_bundle, backend, batch_comments=50).score_threads(read_threads(archive))
    next(stream)
    stream.close()
    assert backend.cancelled == 3


def test_many_files_are_scored_in_order_as_one_stream(runner, model_path):
    paths = [str(FORMATS / name) for name in INPUTS]
    together = runner.invoke(main, ["score", *paths, "--format", "csv", "--model", str(model_path)])
    assert together.exit_code == 0, together.output
    one_by_one = []
    for index, path in enumerate(paths):
        alone = runner.invoke(main, ["score", path, "--format", "csv", "--model", str(model_path)])
        assert alone.exit_code == 0, alone.output
        lines = alone.stdout.splitlines()
        one_by_one.extend(lines if index == 0 else lines[1:])  # one header
    assert together.stdout.splitlines() == one_by_one


def test_local_scoring_never_imports_dask(tmp_path, model_path):
    out = tmp_path / "out.jsonl"
    code = (
        "import sys\n"
        "from moderation.cli import main\n"
        f"args = ['filter', {str(FORMATS / 'comments.jsonl')!r}, '-o', {str(out)!r}, '--model', {str(model_path)!r}]\n"
        "try:\n"
        "    main(args)\n"
        "except SystemExit as end:\n"
        "    assert end.code in (0, None), end.code\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('dask', 'distributed')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert out.exists()


@pytest.mark.parametrize("option", [["--workers", "2"], ["--scheduler", "tcp://127.0.0.1:1"]], ids=["workers", "sched"])
def test_without_dask_a_cluster_option_is_a_one_line_error(runner, model_path, monkeypatch, option):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed raises ImportError
    page = str(FORMATS / "comments.jsonl")
    result = runner.invoke(main, ["score", page, *option, "--model", str(model_path)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: --scheduler and --workers need Dask, which is not installed: pip install 'moderation[dask]'"
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
        (["--workers", "0"], "0 is not in the range x>=1"),
    ],
    ids=["both", "no-workers"],
)
def test_cluster_options_misused_are_usage_errors(runner, model_path, args, message):
    result = runner.invoke(main, ["score", str(FORMATS / "comments.jsonl"), *args, "--model", str(model_path)])
    assert result.exit_code == 2
    assert message in result.stderr


def test_filter_of_several_pages_needs_a_directory_and_distinct_names(runner, model_path, tmp_path):
    page = str(FORMATS / "comments.jsonl")
    not_dir = runner.invoke(main, ["filter", page, page, "-o", str(tmp_path / "x.jsonl"), "--model", str(model_path)])
    assert not_dir.exit_code == 1
    assert "names an existing directory" in not_dir.stderr
    twice = runner.invoke(main, ["filter", page, page, "-o", str(tmp_path), "--model", str(model_path)])
    assert twice.exit_code == 1
    assert "two inputs named comments.jsonl" in twice.stderr
    spam = runner.invoke(
        main, ["filter", page, str(FORMATS / "comments.csv"), "-o", str(tmp_path), "--spam-out", "s.jsonl"]
    )
    assert spam.exit_code == 2
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------ on a real LocalCluster of 2 worker processes


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield cluster, client


def test_cluster_output_is_identical_to_local_scoring(cluster, fitted_bundle, moderator, archive):
    from moderation.distributed import DaskBackend

    _, client = cluster
    backend = DaskBackend(client, moderator)
    assert backend.slots == 4  # two batches per worker thread
    remote = ArchiveModerator(fitted_bundle, backend, batch_comments=100)
    paths = [archive, *(FORMATS / name for name in INPUTS)]
    local_threads = (thread for path in paths for thread in read_threads(path))
    assert decisions_of(score_paths(paths, remote)) == decisions_of(moderator.score_threads(local_threads))


@pytest.mark.parametrize("output_format", ["csv", "json", "table"])
def test_score_with_scheduler_prints_what_local_score_prints(runner, cluster, model_path, archive, output_format):
    local_cluster, _ = cluster
    args = ["score", str(archive), str(FORMATS / "wordpress-1.2.xml"), "--format", output_format]
    args += ["--model", str(model_path)]
    local = runner.invoke(main, args)
    remote = runner.invoke(main, [*args, "--scheduler", local_cluster.scheduler_address])
    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    assert remote.stdout == local.stdout


@pytest.mark.parametrize(
    "name", ["wordpress-1.2.xml", "disqus-export.xml", "comments.csv"], ids=["wxr", "disqus", "csv"]
)
def test_filter_with_scheduler_writes_what_local_filter_writes(runner, cluster, model_path, tmp_path, name):
    local_cluster, _ = cluster
    for where, extra in (("local", []), ("remote", ["--scheduler", local_cluster.scheduler_address])):
        (tmp_path / where).mkdir()
        out = tmp_path / where / name
        result = runner.invoke(
            main, ["filter", str(FORMATS / name), "-o", str(out), "--model", str(model_path), *extra]
        )
        assert result.exit_code == 0, result.output
    assert (tmp_path / "remote" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_filter_of_many_files_on_the_cluster_matches_each_local_filter(runner, cluster, model_path, tmp_path):
    local_cluster, _ = cluster
    pages = [str(FORMATS / name) for name in [*INPUTS, "generic-page.html"]]
    model = ["--model", str(model_path)]
    (tmp_path / "local").mkdir()
    (tmp_path / "remote").mkdir()
    for page in pages:
        alone = runner.invoke(main, ["filter", page, "-o", str(tmp_path / "local" / Path(page).name), *model])
        assert alone.exit_code == 0, alone.output
    address = local_cluster.scheduler_address
    together = runner.invoke(main, ["filter", *pages, "-o", str(tmp_path / "remote"), "--scheduler", address, *model])
    assert together.exit_code == 0, together.output
    assert len(together.stderr.strip().splitlines()) == len(pages)  # a summary per page, in order
    for page, line in zip(pages, together.stderr.strip().splitlines(), strict=True):
        assert line.endswith(f"output {tmp_path / 'remote' / Path(page).name}")
    local = {path.name: path.read_bytes() for path in (tmp_path / "local").iterdir()}
    remote = {path.name: path.read_bytes() for path in (tmp_path / "remote").iterdir()}
    assert remote == local


def test_an_unreachable_scheduler_is_a_one_line_error(runner, model_path, monkeypatch):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    monkeypatch.setattr("moderation.distributed.CONNECT_TIMEOUT", "2s")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    page = str(FORMATS / "comments.jsonl")
    result = runner.invoke(main, ["score", page, "--scheduler", f"tcp://127.0.0.1:{port}", "--model", str(model_path)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")


def test_score_with_workers_starts_its_own_cluster(runner, model_path, archive):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    args = ["score", str(archive), "--format", "csv", "--model", str(model_path)]
    local = runner.invoke(main, args)
    remote = runner.invoke(main, [*args, "--workers", "2"])
    assert remote.exit_code == 0, remote.output
    assert remote.stdout == local.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_readmes_cluster_recipe(tmp_path, model_path, archive):
    """README, "More than one machine": `dask scheduler`, `dask worker` and `moderation score --scheduler`,
    each a process of its own as on separate machines, here on one."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    bin_dir = Path(sys.executable).parent
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    started = []
    try:
        started.append(
            subprocess.Popen(
                [bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        started.append(
            subprocess.Popen(
                [bin_dir / "dask", "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        import distributed

        with distributed.Client(address, timeout="60s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)
        command = [bin_dir / "moderation", "score", str(archive), "--format", "csv", "--model", str(model_path)]
        local = subprocess.run(command, capture_output=True, text=True, timeout=300)
        remote = subprocess.run([*command, "--scheduler", address], capture_output=True, text=True, timeout=300)
        assert remote.returncode == 0, remote.stderr
        assert remote.stdout == local.stdout
        assert remote.stderr == ""
    finally:
        for process in reversed(started):
            process.terminate()
        for process in reversed(started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
