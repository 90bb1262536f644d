"""Behaviour of the engine: test choice, overrides, decisions, corrections, bounded memory."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from modelplane_operator.drift.config import DriftConfig, FeatureSpec, ProfileParams
from modelplane_operator.drift.engine import WindowAccumulator
from modelplane_operator.drift.profile import ReferenceProfile
from tests.operator.drift.helpers import feature_table, profile_of, run


def _data(
    seed: int, n: int, loc: float = 0.0, mix: tuple[float, ...] = (0.5, 0.3, 0.2)
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "feature.x": rng.normal(loc, 1.0, n),
        "feature.y": rng.uniform(0, 1, n),
        "feature.c": rng.choice(np.array(["a", "b", "c"]), n, p=list(mix)),
        "output.score.0": rng.normal(loc, 1.0, n),
    }


FEATURES = [
    FeatureSpec(name="x"),
    FeatureSpec(name="y"),
    FeatureSpec(name="c", kind="categorical"),
]


def test_automatic_choice_uses_p_value_tests_on_small_references_and_distances_on_large() -> None:
    config = DriftConfig(features=FEATURES, small_reference=1000, min_samples=10)
    small = run(feature_table(_data(1, 800)), feature_table(_data(2, 500)), config)
    large = run(feature_table(_data(1, 1500)), feature_table(_data(2, 500)), config)
    assert [r.test for r in small.features] == ["ks", "ks", "chi2"]
    assert [r.test for r in large.features] == ["wasserstein", "wasserstein", "jsd"]
    assert all(r.p_value is not None for r in small.features)
    assert all(r.p_value is None for r in large.features)


def test_per_feature_overrides_set_test_threshold_and_alpha() -> None:
    config = DriftConfig(
        features=[
            FeatureSpec(name="x", test="psi", threshold=0.0),
            FeatureSpec(name="y", test="ks", alpha=0.999_999),
            FeatureSpec(name="c", kind="categorical", test="jsd", threshold=1.0),
        ],
        min_samples=10,
    )
    result = run(feature_table(_data(1, 3000)), feature_table(_data(2, 1000)), config)
    by_name = {r.feature: r for r in result.features}
    assert (by_name["x"].test, by_name["x"].threshold, by_name["x"].drifted) == ("psi", 0.0, True)
    assert (by_name["y"].test, by_name["y"].threshold, by_name["y"].drifted) == (
        "ks",
        0.999_999,
        True,
    )
    assert (by_name["c"].test, by_name["c"].threshold, by_name["c"].drifted) == ("jsd", 1.0, False)


def test_a_test_that_does_not_fit_the_feature_type_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match="does not apply to categorical"):
        FeatureSpec(name="c", kind="categorical", test="ks")
    with pytest.raises(ValidationError, match="does not apply to numerical"):
        FeatureSpec(name="x", test="chi2")


def test_a_window_below_the_minimum_sample_size_reports_insufficient_data() -> None:
    config = DriftConfig(features=FEATURES, min_samples=200)
    result = run(feature_table(_data(1, 1000)), feature_table(_data(2, 199, loc=5.0)), config)
    assert result.insufficient_data
    assert result.samples == 199
    assert result.features == []
    assert result.dataset is None


def test_a_feature_with_too_few_present_values_is_left_out() -> None:
    window = _data(2, 300)
    window["feature.y"] = np.where(np.arange(300) < 250, np.nan, window["feature.y"])
    config = DriftConfig(features=FEATURES, min_samples=100)
    result = run(feature_table(_data(1, 1000)), feature_table(window), config)
    assert not result.insufficient_data
    assert [r.feature for r in result.features] == ["x", "c"]


def test_missing_values_are_ignored_rather_than_counted_as_a_category_or_a_number() -> None:
    window = _data(2, 400)
    table = feature_table(window)
    nulls = pa.array([None if i % 4 == 0 else v for i, v in enumerate(window["feature.c"])])
    table = table.set_column(table.schema.get_field_index("feature.c"), "feature.c", nulls)
    config = DriftConfig(features=FEATURES, min_samples=10)
    result = run(feature_table(_data(1, 3000)), table, config)
    assert {r.feature: r.samples for r in result.features}["c"] == 300


def test_an_unseen_category_in_the_window_counts_as_drift() -> None:
    reference = _data(1, 600)
    window = _data(2, 400)
    window["feature.c"] = np.where(np.arange(400) % 3 == 0, "new", window["feature.c"])
    config = DriftConfig(features=[FeatureSpec(name="c", kind="categorical")], min_samples=10)
    result = run(feature_table(reference), feature_table(window), config)
    assert result.features[0].test == "chi2"
    assert result.features[0].drifted


def test_bonferroni_and_bh_correction_make_borderline_p_values_not_significant() -> None:
    rng = np.random.default_rng(5)
    n_features = 10
    ref = {f"feature.f{i}": rng.normal(0, 1, 500) for i in range(n_features)}
    win = {f"feature.f{i}": rng.normal(0.0, 1, 400) for i in range(n_features)}
    win["feature.f0"] = rng.normal(0.14, 1, 400)  # borderline shift: p ≈ 0.007
    specs = [FeatureSpec(name=f"f{i}") for i in range(n_features)]
    results = {
        c: run(
            feature_table(ref),
            feature_table(win),
            DriftConfig(features=specs, min_samples=10, correction=c),
        )
        for c in ("none", "bonferroni", "bh-fdr")
    }
    raw = results["none"].features[0]
    assert raw.p_value is not None
    assert raw.drifted
    assert 0.005 < raw.p_value < 0.05
    bonf = results["bonferroni"].features[0]
    assert bonf.p_value == pytest.approx(min(1.0, raw.p_value * n_features))
    assert not bonf.drifted
    assert results["bh-fdr"].features[0].p_value >= raw.p_value  # type: ignore[operator]


def test_dataset_drift_is_the_share_of_drifted_features_against_the_threshold() -> None:
    config = DriftConfig(features=FEATURES, min_samples=10, dataset_drift_share=0.6)
    window = _data(2, 1000, loc=3.0)  # x drifts, y and c do not
    result = run(feature_table(_data(1, 3000)), feature_table(window), config)
    assert [r.drifted for r in result.features] == [True, False, False]
    assert result.dataset is not None
    assert result.dataset.share == pytest.approx(1 / 3)
    assert not result.dataset.drifted
    lower = run(
        feature_table(_data(1, 3000)),
        feature_table(window),
        config.model_copy(update={"dataset_drift_share": 0.3}),
    )
    assert lower.dataset is not None
    assert lower.dataset.drifted


def test_prediction_drift_tests_model_outputs_separately_from_inputs() -> None:
    config = DriftConfig(features=FEATURES, outputs=[FeatureSpec(name="score.0")], min_samples=10)
    window = _data(2, 1000)
    window["output.score.0"] = window["output.score.0"] + 2.0
    result = run(feature_table(_data(1, 3000)), feature_table(window), config)
    assert [r.feature for r in result.prediction_drift] == ["score.0"]
    assert result.prediction_drift[0].drifted
    assert result.dataset is not None
    assert result.dataset.share == 0.0


def test_large_references_keep_a_bounded_sample_but_exact_bin_counts() -> None:
    params = ProfileParams(reference_sample_size=500, bins=8)
    config = DriftConfig(features=FEATURES, profile=params)
    profile = profile_of(feature_table(_data(1, 5000)), config, chunk=777)
    x = profile.numerical["feature.x"]
    assert x.sample.size == 500
    assert np.all(np.diff(x.sample) >= 0)
    assert x.count == 5000
    assert x.bin_counts.sum() == 5000
    assert x.edges.size == 7
    assert x.std == pytest.approx(1.0, rel=0.05)
    assert profile.categorical["feature.c"].counts.sum() == 5000


def test_window_samples_for_ks_are_bounded_and_reproducible_with_the_seed() -> None:
    config = DriftConfig(
        features=[FeatureSpec(name="x", test="ks")], window_sample_size=300, min_samples=10
    )
    profile = profile_of(feature_table(_data(1, 2000)), config)
    window = feature_table(_data(2, 5000))

    def evaluate_sample() -> np.ndarray:
        acc = WindowAccumulator(config, profile).add_all(window.to_batches(max_chunksize=512))
        return acc.sampler.sample()

    first, second = evaluate_sample(), evaluate_sample()
    assert first.shape == (300, 1)
    np.testing.assert_array_equal(first, second)
    assert set(first[:, 0]).issubset(set(window.column("feature.x").to_numpy()))


def test_a_profile_survives_serialization_and_garbage_is_refused() -> None:
    config = DriftConfig(features=FEATURES, outputs=[FeatureSpec(name="score.0")])
    profile = profile_of(feature_table(_data(1, 1200)), config)
    loaded = ReferenceProfile.from_bytes(profile.to_bytes())
    assert loaded.digest == profile.digest
    assert loaded.rows == 1200
    assert loaded.params == profile.params
    for column, numerical in profile.numerical.items():
        np.testing.assert_array_equal(loaded.numerical[column].sample, numerical.sample)
        np.testing.assert_array_equal(loaded.numerical[column].edges, numerical.edges)
        np.testing.assert_array_equal(loaded.numerical[column].bin_counts, numerical.bin_counts)
        assert loaded.numerical[column].std == numerical.std
    assert loaded.categorical["feature.c"].categories == ["a", "b", "c"]
    with pytest.raises(ValueError, match="not a drift reference profile"):
        ReferenceProfile.from_bytes(b"not an npz file")


def test_a_feature_missing_from_the_profile_is_a_clear_error() -> None:
    config = DriftConfig(features=FEATURES)
    profile = profile_of(feature_table(_data(1, 500)), config)
    wider = DriftConfig(features=[*FEATURES, FeatureSpec(name="z")])
    with pytest.raises(ValueError, match=r"no numerical column 'feature\.z'"):
        WindowAccumulator(wider, profile)


def test_a_non_numeric_column_declared_numerical_is_a_clear_error() -> None:
    config = DriftConfig(features=[FeatureSpec(name="c")])
    with pytest.raises(ValueError, match="not numerical"):
        profile_of(feature_table(_data(1, 500)), config)


def test_numbers_used_as_categories_match_however_they_are_spelled() -> None:
    rng = np.random.default_rng(8)
    reference = feature_table({"feature.card": rng.choice(np.array(["0", "1"]), 800)})
    window = feature_table({"feature.card": rng.choice(np.array(["0.0", "1.0"]), 600)})
    numeric_reference = pa.table({"feature.card": pa.array(rng.integers(0, 2, 800))})
    config = DriftConfig(features=[FeatureSpec(name="card", kind="categorical")], min_samples=10)
    for ref in (reference, numeric_reference):
        result = run(ref, window, config)
        assert result.features[0].test == "chi2"
        assert not result.features[0].drifted
