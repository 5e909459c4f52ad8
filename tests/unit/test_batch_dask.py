"""The Dask path (issue 16 part 2): a real 2-worker ``LocalCluster`` (processes) routes two
partitions, and each output equals a single-process run of the same file row for row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.cli import main


@pytest.mark.slow
def test_dask_local_cluster_equals_single_process(tmp_path, capsys):
    rng = np.random.default_rng(5)
    parts = tmp_path / "in"
    parts.mkdir()
    for i in range(2):
        n = 3000 + i
        pd.DataFrame({"lat": np.round(rng.uniform(-80, 80, n), 4),
                      "lon": np.round(rng.uniform(-180, 180, n), 4),
                      "name": [f"c{i}-{j}" for j in range(n)]}).to_parquet(
            parts / f"p{i}.parquet")
    out = tmp_path / "out"
    assert main(["assign", str(parts / "*.parquet"), "--dask", "local", "-o", str(out),
                 "--chunk-rows", "1000"]) == 0, capsys.readouterr().err
    assert "6,001 routed of 6,001" in capsys.readouterr().err
    for i in range(2):
        single = tmp_path / f"single{i}.parquet"
        assert main(["assign", str(parts / f"p{i}.parquet"), "-o", str(single), "-q"]) == 0
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"p{i}.parquet"),
                                      pd.read_parquet(single))


def test_dask_needs_an_output_directory_and_inputs(tmp_path, capsys):
    assert main(["assign", str(tmp_path / "*.parquet"), "--dask", "local"]) == 2
    assert "-o DIRECTORY" in capsys.readouterr().err
    assert main(["assign", str(tmp_path / "*.parquet"), "--dask", "local", "-o",
                 str(tmp_path / "o")]) == 2
    assert "no input files match" in capsys.readouterr().err
