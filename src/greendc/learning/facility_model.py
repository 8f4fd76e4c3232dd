"""The facility model: what the next interval brings for a state and a candidate action.

Learned from telemetry only (never from EnergyPlus internals) with gradient-boosted trees (LightGBM).
For the next interval it predicts cooling electric power, IT electric power (servers draw more as inlet
air warms) and each zone's hottest server inlet temperature, with an uncertainty for the inlets from
10 % and 90 % quantile models. Physical priors are imposed as monotone constraints: a zone's inlet and
the IT power never fall when a supply-air setpoint rises.

Saved models (``.gdm``) are zip files holding ``meta.json`` (format version, features, zones, training
period, held-out accuracy) and one LightGBM text model per target.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from greendc.errors import GreendcError, quoted
from greendc.files import InputFileError, checked_input_file
from greendc.learning.features import PLANT_ACTION_COLUMN, feature_names, target_names, training_table
from greendc.learning.metrics import accuracy
from greendc.learning.trees import ModelTextError, TreeEnsemble, compiled
from greendc.telemetry.schema import Telemetry

FORMAT_VERSION = 1
MODEL_KIND = "greendc facility model"
MIN_TRAINING_ROWS = 500
#: Standard normal quantile of 0.9: (q90 - q10) / (2 * 1.2816) estimates one standard deviation.
_Z90 = 1.2816
#: The shipped model file is 0.4 MiB and its eight texts 1.2 MiB: these limits leave room for models forty
#: times as large (far slower than the ai's decision budget allows) and stop a file or a zip bomb from
#: exhausting memory before it is refused.
MAX_MODEL_FILE_BYTES = 16 * 2**20
MAX_META_BYTES = 2**20
MAX_MEMBER_BYTES = 16 * 2**20
MAX_MODEL_TEXT_BYTES = 64 * 2**20
MAX_ARCHIVE_MEMBERS = 256
#: What zipfile raises for corrupt archives: a bad header or directory, a bad CRC, a damaged deflate stream,
#: a truncated member, sizes or offsets that do not fit.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, struct.error,
               OverflowError, NotImplementedError, RuntimeError)


class ModelFileError(GreendcError, ValueError):
    """A model file that cannot be used (corrupt, another format version, or another site's zones)."""


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _Accuracy(_Strict):
    """One target's held-out accuracy (``greendc.learning.metrics.accuracy``)."""

    cv_rmse_pct: float
    nmbe_pct: float
    mae: float
    #: The floor of the inlet uncertainty (:meth:`FacilityModel.inlet_std_floor_c`), so finite.
    rmse: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    n: Annotated[int, Field(ge=0)]


class _Coverage(_Strict):
    value: Annotated[float, Field(ge=0.0, le=1.0)]


class _Params(_Strict):
    """The constructor arguments of :class:`FacilityModel`."""

    n_estimators: Annotated[int, Field(ge=1)]
    learning_rate: Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
    num_leaves: Annotated[int, Field(ge=2)]
    min_child_samples: Annotated[int, Field(ge=0)]
    holdout_fraction: Annotated[float, Field(gt=0.0, lt=1.0)]
    random_state: int
    n_jobs: int


class _MetaHeader(BaseModel):
    """What identifies a model file, read first so that another format version gets its own message."""

    model_config = ConfigDict(extra="ignore")
    kind: Any = None
    format_version: Any = None


class ModelMeta(_Strict):
    """``meta.json`` of a model file: typed, so that every field is checked once, by name, at load."""

    format_version: Literal[1]
    kind: Literal["greendc facility model"]
    zone_names: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    has_chiller_plant: bool
    feature_names: list[str]
    target_names: list[str]
    interval_h: Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
    training_period: tuple[str, str]
    training_rows: Annotated[int, Field(ge=0)]
    holdout_rows: Annotated[int, Field(ge=0)]
    metrics: dict[str, _Accuracy | _Coverage]
    params: _Params
    boosters: list[str]


@dataclass(frozen=True)
class Prediction:
    """Predicted next-interval outcomes for each candidate row."""

    cooling_power_w: np.ndarray
    it_power_w: np.ndarray
    inlet_temp_c: dict[str, np.ndarray]
    inlet_temp_std_c: dict[str, np.ndarray]

    @property
    def facility_power_w(self) -> np.ndarray:
        """IT plus cooling: what the optimizer minimises by default (UPS and other losses aside)."""
        return self.cooling_power_w + self.it_power_w


class FacilityModel:
    """Gradient-boosted facility model with a scikit-learn-like ``fit``/``predict``.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM settings. The defaults (100
        trees of at most 15 leaves) are sized for the optimizer, which evaluates about a hundred candidate
        rows per decision: 300 trees of 31 leaves cut the held-out cooling CV(RMSE) only from 14.6 % to
        13.0 % on the example site's exploration data, at three times the prediction cost.
    holdout_fraction : share at the end of every episode held out to measure accuracy
    random_state : seed for repeatable fits
    n_jobs : threads for fitting (prediction runs on one, compiled: ``greendc.learning.trees``)
    """

    def __init__(self, n_estimators: int = 100, learning_rate: float = 0.2, num_leaves: int = 15,
                 min_child_samples: int = 20, holdout_fraction: float = 0.2, random_state: int = 0,
                 n_jobs: int = 2):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.holdout_fraction = holdout_fraction
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- fitting ----------------------------------------------------------------------------------------
    def _params(self, objective: str, alpha: float | None = None) -> dict[str, Any]:
        params = {"objective": objective, "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                  "min_child_samples": self.min_child_samples, "seed": self.random_state, "deterministic": True,
                  "num_threads": self.n_jobs, "verbose": -1, "monotone_constraints_method": "advanced"}
        if alpha is not None:
            params["alpha"] = alpha
        return params

    def _monotone(self, target: str) -> list[int]:
        """+1 on supply-air setpoints for IT power and for the zone's own inlet, 0 elsewhere."""
        constraints = []
        for name in self.feature_names_:
            own_inlet = target.endswith("/inlet_temp_c") and name.split("/")[0] == target.split("/")[0]
            rising = name.endswith("/supply_air_setpoint_c") and (target == "it_power_w" or own_inlet)
            constraints.append(1 if rising else 0)
        return constraints

    def _train(self, features: pd.DataFrame, values: pd.Series, target: str, objective: str,
               alpha: float | None = None) -> Any:
        import lightgbm

        params = self._params(objective, alpha)
        if objective != "quantile":  # LightGBM supports monotone constraints only for the mean models
            params["monotone_constraints"] = self._monotone(target)
        data = lightgbm.Dataset(features.to_numpy(dtype=float), label=values.to_numpy(dtype=float),
                                feature_name=[_safe(n) for n in self.feature_names_], free_raw_data=True)
        return lightgbm.train(params, data, num_boost_round=self.n_estimators)

    def fit(self, telemetry: Telemetry, has_chiller_plant: bool | None = None) -> FacilityModel:
        """Fit on all but the last ``holdout_fraction`` of each episode; measure accuracy on that rest."""
        frame = telemetry.frame
        if has_chiller_plant is None:
            has_chiller_plant = PLANT_ACTION_COLUMN in frame and bool(frame[PLANT_ACTION_COLUMN].notna().any())
        table = training_table(telemetry, has_chiller_plant)
        features, targets = table.features, table.targets
        if len(features) < MIN_TRAINING_ROWS:
            raise ValueError(f"{telemetry.source}: {len(features)} usable rows; the facility model needs at least "
                             f"{MIN_TRAINING_ROWS} (about five days of 15-minute data)")
        self.zone_names_ = list(telemetry.zone_names)
        self.has_chiller_plant_ = has_chiller_plant
        self.feature_names_ = feature_names(self.zone_names_, has_chiller_plant)
        self.target_names_ = target_names(self.zone_names_)
        self.interval_h_ = telemetry.interval_h
        holdout = holdout_mask(table.episode, self.holdout_fraction)
        self.metrics_: dict[str, Any] = {}  # no uncertainty floor while measuring the raw quantile coverage
        train_x, test_x = features[~holdout], features[holdout]
        self.boosters_ = {}
        for target in self.target_names_:
            self.boosters_[target] = self._train(train_x, targets.loc[~holdout, target], target, "regression")
            if target.endswith("/inlet_temp_c"):
                for alpha in (0.1, 0.9):
                    self.boosters_[f"{target}@q{int(alpha * 100)}"] = self._train(
                        train_x, targets.loc[~holdout, target], target, "quantile", alpha)
        prediction = self.predict(test_x)
        self.metrics_ = {
            "cooling_power_w": accuracy(targets.loc[holdout, "cooling_power_w"], prediction.cooling_power_w),
            "it_power_w": accuracy(targets.loc[holdout, "it_power_w"], prediction.it_power_w),
            **{f"{zone}/inlet_temp_c": accuracy(targets.loc[holdout, f"{zone}/inlet_temp_c"],
                                                prediction.inlet_temp_c[zone]) for zone in self.zone_names_},
        }
        inside = [((targets.loc[holdout, f"{z}/inlet_temp_c"].to_numpy() - prediction.inlet_temp_c[z])
                   <= 2 * prediction.inlet_temp_std_c[z]).mean() for z in self.zone_names_]
        self.metrics_["inlet_within_2_std_fraction"] = {"value": float(np.mean(inside))}
        self.training_period_ = (str(frame["time"].min()), str(frame["time"].max()))
        self.training_rows_ = int((~holdout).sum())
        self.holdout_rows_ = int(holdout.sum())
        return self

    # -- prediction -------------------------------------------------------------------------------------
    def predict(self, features: pd.DataFrame | np.ndarray, uncertainty: bool = True) -> Prediction:
        """Predict for rows of features (columns in ``feature_names_`` order).

        With ``uncertainty=False`` the quantile models are skipped (standard deviations are NaN), which
        halves the cost when only the means are needed.
        """
        if isinstance(features, pd.DataFrame):
            missing = [name for name in self.feature_names_ if name not in features.columns]
            if missing:
                raise ValueError(f"features missing: {', '.join(missing)}")
            matrix = features[self.feature_names_].to_numpy(dtype=float)
        else:
            matrix = np.asarray(features, dtype=float)
        means, _ = self.ensembles()
        values = means.predict(matrix)
        inlet = {zone: values[2 + index] for index, zone in enumerate(self.zone_names_)}
        if uncertainty:
            spread = self.inlet_temp_std_c(matrix)
        else:
            spread = {zone: np.full(len(matrix), np.nan) for zone in self.zone_names_}
        return Prediction(values[0], values[1], inlet, spread)

    def inlet_temp_std_c(self, matrix: np.ndarray) -> dict[str, np.ndarray]:
        """Each zone's predicted inlet standard deviation (K) for rows of features, from the quantile models."""
        _, quantiles = self.ensembles()
        spread = inlet_std_from_quantiles_c(quantiles.predict(matrix), self.inlet_std_floor_c())
        return dict(zip(self.zone_names_, spread, strict=True))

    def inlet_std_floor_c(self) -> np.ndarray:
        """Each zone's smallest inlet standard deviation, K: the held-out RMSE of its mean model.

        Quantile trees can agree exactly where data are thin; the model never claims more certainty than
        the held-out error of the mean model shows.
        """
        return np.array([self.metrics_.get(f"{zone}/inlet_temp_c", {}).get("rmse", 0.0) for zone in self.zone_names_])

    @property
    def boosters_(self) -> dict[str, Any]:
        """The LightGBM booster of each target (mean models, then each zone's inlet quantiles as
        ``{zone}/inlet_temp_c@q10`` and ``@q90``).

        A loaded model makes them from its file's text on first use only: control needs only the compiled
        trees (:meth:`ensembles`), and importing LightGBM costs about a quarter of a second.
        """
        boosters = getattr(self, "_boosters", None)
        if boosters is None:
            import lightgbm

            texts = getattr(self, "_booster_texts", None)
            if texts is None:
                raise AttributeError("boosters_: the model is not fitted")
            boosters = {}
            for name, text in texts.items():
                try:
                    boosters[name] = lightgbm.Booster(model_str=_without_tree_sizes(text))
                except lightgbm.basic.LightGBMError as error:
                    raise ModelFileError(f"{getattr(self, '_source', '<model>')}: boosters/{_safe(name)}.txt: "
                                         f"LightGBM cannot read it ({str(error)[:200]})") from None
            self._boosters = boosters
        return boosters

    @boosters_.setter
    def boosters_(self, boosters: dict[str, Any]) -> None:
        self._boosters, self._booster_texts, self._ensemble_cache = boosters, None, None

    def _texts(self) -> dict[str, str]:
        """Each booster in LightGBM's text format, as the model file holds it."""
        texts = getattr(self, "_booster_texts", None)
        if texts is None:
            texts = {name: booster.model_to_string() for name, booster in self.boosters_.items()}
        return texts

    def ensembles(self) -> tuple[TreeEnsemble, TreeEnsemble]:
        """The boosters compiled for prediction, made on first use (a cache; the boosters are the model).

        The first holds the means (cooling power, IT power, then each zone's inlet), the second each zone's
        10 % and 90 % inlet quantiles.
        """
        if getattr(self, "_ensemble_cache", None) is None:
            texts = self._texts()
            means = target_names(self.zone_names_)
            quantiles = [f"{inlet}@q{level}" for inlet in means[2:] for level in (10, 90)]
            self._ensemble_cache = tuple(TreeEnsemble.from_model_texts({name: texts[name] for name in names})
                                         for names in (means, quantiles))
        return self._ensemble_cache

    def feature_importance(self, target: str = "cooling_power_w") -> pd.Series:
        """Total gain of each feature for a target, largest first."""
        gains = self.boosters_[target].feature_importance(importance_type="gain")
        return pd.Series(gains, index=self.feature_names_).sort_values(ascending=False)

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, path: Path | str) -> Path:
        """Write a ``.gdm`` model file atomically."""
        from greendc.atomic import write_file_atomic

        path = Path(path)
        texts = self._texts()
        meta = {
            "format_version": FORMAT_VERSION,
            "kind": MODEL_KIND,
            "zone_names": self.zone_names_,
            "has_chiller_plant": self.has_chiller_plant_,
            "feature_names": self.feature_names_,
            "target_names": self.target_names_,
            "interval_h": self.interval_h_,
            "training_period": list(self.training_period_),
            "training_rows": self.training_rows_,
            "holdout_rows": self.holdout_rows_,
            "metrics": self.metrics_,
            "params": {k: getattr(self, k) for k in ("n_estimators", "learning_rate", "num_leaves",
                                                     "min_child_samples", "holdout_fraction", "random_state",
                                                     "n_jobs")},
            "boosters": sorted(texts),
        }

        def fill(stream: IO[bytes]) -> None:
            with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("meta.json", json.dumps(meta, indent=2))
                for name, text in texts.items():
                    archive.writestr(f"boosters/{_safe(name)}.txt", text)

        return write_file_atomic(path, fill)

    @classmethod
    def load(cls, path: Path | str, zone_names: list[str] | None = None) -> FacilityModel:
        """Read a ``.gdm`` file; with ``zone_names`` also check that it was trained for those zones.

        Every problem with the file is one :class:`ModelFileError` naming the file and what is wrong: the
        file is size-checked before it is read, what is decompressed is bounded, ``meta.json`` is checked field
        by field (:class:`ModelMeta`) and every tree is checked (``TreeEnsemble.from_model_texts``) so that a
        model that loads cannot crash or hang prediction. All of it happens here, once, not per decision.
        """
        path, data = _read_model_file(path)
        meta, texts = _read_archive(path, data)
        model = cls(**meta.params.model_dump())
        model.zone_names_ = list(meta.zone_names)
        model._booster_texts = texts
        model._source = path
        try:
            means, quantiles = model.ensembles()
        except ModelTextError as error:
            raise ModelFileError(f"{path}: {error}") from None
        for ensemble in (means, quantiles):
            if ensemble.n_features != len(meta.feature_names):
                raise ModelFileError(f"{path}: the trees of {ensemble.targets[0]!r} read {ensemble.n_features} "
                                     f"features, meta.json lists {len(meta.feature_names)}")
        if zone_names is not None and list(zone_names) != meta.zone_names:
            raise ModelFileError(f"{path}: trained for zones {quoted(meta.zone_names)}, but the site has "
                                 f"{quoted(list(zone_names))}")
        model.has_chiller_plant_ = meta.has_chiller_plant
        model.feature_names_ = list(meta.feature_names)
        model.target_names_ = list(meta.target_names)
        model.interval_h_ = meta.interval_h
        model.training_period_ = meta.training_period
        model.training_rows_ = meta.training_rows
        model.holdout_rows_ = meta.holdout_rows
        model.metrics_ = {name: figures.model_dump() for name, figures in meta.metrics.items()}
        return model


def _read_model_file(path: Path | str) -> tuple[Path, bytes]:
    """A model file's bytes, once it is known to be a regular file of at most MAX_MODEL_FILE_BYTES.

    Read whole (16 MiB at most) so that the archive is parsed from memory, not from a file that could change
    or grow in between.
    """
    try:
        path = checked_input_file(path, MAX_MODEL_FILE_BYTES, "model file")
        with path.open("rb") as stream:
            # Asking for the file's size, not the limit: read(n) sets n bytes aside first.
            data = stream.read(min(os.fstat(stream.fileno()).st_size, MAX_MODEL_FILE_BYTES) + 1)
    except InputFileError as error:
        raise ModelFileError(f"{error.file}: {error.message}") from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read the model file ({error.strerror or error})") from None
    if len(data) > MAX_MODEL_FILE_BYTES:
        raise ModelFileError(f"{path}: the model file grew past {MAX_MODEL_FILE_BYTES / 2**20:.0f} MiB while "
                             "being read")
    return path, data


def _read_archive(path: Path, data: bytes) -> tuple[ModelMeta, dict[str, str]]:
    """``meta.json`` checked, and the text of each booster it lists, from a model file's bytes."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if len(archive.infolist()) > MAX_ARCHIVE_MEMBERS:
                raise ModelFileError(f"{path}: {len(archive.infolist())} files in the archive, more than a model "
                                     f"file has ({MAX_ARCHIVE_MEMBERS} at most)")
            budget = [MAX_MODEL_TEXT_BYTES]
            meta = _parse_meta(path, _read_member(path, archive, "meta.json", MAX_META_BYTES, budget))
            texts = {}
            for name in meta.boosters:
                member = f"boosters/{_safe(name)}.txt"
                raw = _read_member(path, archive, member, MAX_MEMBER_BYTES, budget)
                try:
                    texts[name] = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise ModelFileError(f"{path}: {member}: not UTF-8 text (byte {error.start})") from None
    except ModelFileError:
        raise
    except _ZIP_ERRORS as error:
        raise ModelFileError(f"{path}: corrupt or unreadable model file ({type(error).__name__}: "
                             f"{str(error)[:200]})") from None
    return meta, texts


def _read_member(path: Path, archive: zipfile.ZipFile, name: str, max_bytes: int, budget: list[int]) -> bytes:
    """One file of the archive, decompressed to at most ``max_bytes`` and what is left of ``budget[0]``.

    Both the size the archive declares and what decompressing gives are checked: a declared size can lie.
    """
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ModelFileError(f"{path}: corrupt or unreadable model file ({name} is missing)") from None
    if info.flag_bits & 0x1:
        raise ModelFileError(f"{path}: {name} is encrypted; greendc writes model files unencrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(f"{path}: {name} uses compression method {info.compress_type}; greendc writes "
                             "deflate")
    limit = min(max_bytes, budget[0])
    if info.file_size > limit:
        raise ModelFileError(f"{path}: {name} declares {info.file_size:,} bytes, more than the {limit:,} a model "
                             "file's part may have")
    # zipfile decompresses as much as it is asked for before it cuts to the declared size: asking for no more
    # than that size bounds memory by it, and what does not fit then fails the CRC check.
    with archive.open(info) as stream:
        content = stream.read(info.file_size + 1)
    if len(content) > info.file_size:
        raise ModelFileError(f"{path}: {name} decompresses to more than the {info.file_size:,} bytes it declares")
    budget[0] -= len(content)
    return content


def _parse_meta(path: Path, data: bytes) -> ModelMeta:
    """``meta.json`` as :class:`ModelMeta`, and consistent: the features, targets and boosters are the ones
    greendc makes for its zones (another list would make prediction look up columns or models that are not
    there)."""
    try:
        header = _MetaHeader.model_validate_json(data)
    except ValidationError as error:
        raise ModelFileError(f"{path}: meta.json: {_first_problem(error)}") from None
    if header.kind != MODEL_KIND:
        raise ModelFileError(f"{path}: not a greendc facility model (meta.json: kind {quoted(header.kind)})")
    if header.format_version != FORMAT_VERSION:
        raise ModelFileError(f"{path}: model format version {quoted(header.format_version)}, this greendc reads "
                             f"version {FORMAT_VERSION}; retrain with greendc train")
    try:
        meta = ModelMeta.model_validate_json(data)
    except ValidationError as error:
        raise ModelFileError(f"{path}: meta.json: {_first_problem(error)}") from None
    zones = list(meta.zone_names)
    if len(set(zones)) != len(zones):
        raise ModelFileError(f"{path}: meta.json: zone_names: a zone appears twice in {quoted(zones)}")
    means = target_names(zones)
    boosters = [*means, *[f"{inlet}@q{level}" for inlet in means[2:] for level in (10, 90)]]
    # Features and targets in greendc's order (prediction reads them by position), boosters in any order.
    for field, found, expected in (
            ("feature_names", meta.feature_names, feature_names(zones, meta.has_chiller_plant)),
            ("target_names", meta.target_names, means),
            ("boosters", sorted(meta.boosters), sorted(boosters))):
        if found != expected:
            raise ModelFileError(f"{path}: meta.json: {field}: {quoted(found)} are not the ones greendc makes "
                                 f"for zones {quoted(zones)} (expected {quoted(expected)})")
    for target in means:
        if not isinstance(meta.metrics.get(target), _Accuracy):
            raise ModelFileError(f"{path}: meta.json: metrics.{target}: the held-out accuracy is missing")
    if not isinstance(meta.metrics.get("inlet_within_2_std_fraction"), _Coverage):
        raise ModelFileError(f"{path}: meta.json: metrics.inlet_within_2_std_fraction: the coverage is missing")
    return meta


def _first_problem(error: ValidationError) -> str:
    """The first problem pydantic found, as ``field: message (got value)``, and how many more there are."""
    problems = error.errors()
    first = problems[0]
    field = ".".join(str(part) for part in first["loc"]) or "<file>"
    text = f"{field}: {first['msg']}"
    if first["type"] not in ("json_invalid", "missing"):
        text += f" (got {quoted(first.get('input'))})"
    if len(problems) > 1:
        text += f"; and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''}"
    return text


def _without_tree_sizes(text: str) -> str:
    """A model text without its ``tree_sizes`` line, for LightGBM.

    LightGBM locates each tree by these byte counts and parses the trees in parallel: a count that does not
    match the text makes it read past the end (SIGSEGV) or fail inside a thread (SIGABRT), which no caller
    can catch. Without the line it finds the trees by their ``Tree=`` lines, one after the other, and reports
    a malformed one as an error.
    """
    header_end = text.find("\nTree=")
    start = text.find("\ntree_sizes=", 0, header_end if header_end >= 0 else len(text))
    if start < 0:
        return text
    end = text.find("\n", start + 1)
    return text[:start] + text[end:] if end >= 0 else text[:start]


def _safe(name: str) -> str:
    """LightGBM feature and file names without spaces, slashes or colons."""
    return "".join(c if c.isalnum() or c in "_-@." else "_" for c in name)


@compiled
def inlet_std_from_quantiles_c(quantiles: np.ndarray, floor_c: np.ndarray) -> np.ndarray:
    """Inlet standard deviations, K, shape (zones, rows), from the raw 10 % and 90 % quantile predictions of
    each zone in turn, shape (2 x zones, rows): (q90 - q10) / (2 x 1.2816), at least ``floor_c`` (zones,)."""
    spread = np.empty((len(floor_c), quantiles.shape[1]))
    for zone in range(len(floor_c)):
        spread[zone] = np.maximum((quantiles[2 * zone + 1] - quantiles[2 * zone]) / (2 * _Z90), floor_c[zone])
    return spread


def holdout_mask(episode: np.ndarray, fraction: float) -> np.ndarray:
    """True for the rows in the last ``fraction`` of each episode (rows are in time order per episode)."""
    mask = np.zeros(len(episode), dtype=bool)
    for value in np.unique(episode):
        index = np.flatnonzero(episode == value)
        mask[index[round(len(index) * (1 - fraction)):]] = True
    return mask
