"""Every setting and its default, loaded and validated once.

Settings come from, in order of precedence: keyword arguments, the environment (prefix
``INDEXER_``, nested with ``__``, e.g. ``INDEXER_HANDWRITING__ENGINE``), and an optional TOML file
(``--config`` or ``INDEXER_CONFIG``, else ``./indexer.toml`` when present). The Elasticsearch
connection also reads the short names the README documents: ``INDEXER_ES_URL``,
``INDEXER_ES_API_KEY``, ``INDEXER_ES_USERNAME``, ``INDEXER_ES_PASSWORD``, ``INDEXER_ES_CA_CERTS``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from indexer.errors import ConfigError
from indexer.resources import resource_dir

__all__ = [
    "ApiSettings",
    "ArtifactSettings",
    "AzureSettings",
    "DetectorSettings",
    "ElasticSettings",
    "EntitySettings",
    "HandwritingSettings",
    "NodeSettings",
    "OutputSettings",
    "QueueSettings",
    "Settings",
    "default_cache_dir",
    "default_state_dir",
    "load_settings",
]

APP_NAME = "contract-indexer"
ENV_PREFIX = "INDEXER_"
DEFAULT_CONFIG_FILE = Path("indexer.toml")
# Elasticsearch refuses to run as root, and an unprivileged user cannot enter /root, so a root
# process keeps the node's files under the system-wide locations instead of the home folder.
_ROOT_STATE_DIR = Path("/var/lib") / APP_NAME
_ROOT_CACHE_DIR = Path("/var/cache") / APP_NAME
_VISIBILITY_MARGIN_S = 60.0


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def default_state_dir() -> Path:
    """Where the node's data, the journal and other state live by default."""
    return _ROOT_STATE_DIR if _is_root() else Path(platformdirs.user_state_dir(APP_NAME))


def default_cache_dir() -> Path:
    """Where downloads (the Elasticsearch distribution) are cached by default."""
    return _ROOT_CACHE_DIR if _is_root() else Path(platformdirs.user_cache_dir(APP_NAME))


class NodeSettings(BaseModel):
    """The embedded Elasticsearch node that `indexer es start` runs when no URL is configured."""

    version: str = "9.5.3"
    host: str = "127.0.0.1"
    port: int = Field(default=9200, ge=1, le=65535)
    transport_port: int = Field(default=9300, ge=1, le=65535)
    heap_mb: int = Field(default=512, ge=256)
    java_home: Path | None = None
    #: Where the distribution is downloaded and unpacked; default: the user cache directory.
    cache_dir: Path | None = None
    #: Where data, logs and the node's config live; default: `<state_dir>/elasticsearch`.
    home_dir: Path | None = None
    startup_timeout_s: float = Field(default=180.0, gt=0)
    #: The unprivileged account the node runs as when `indexer` runs as root.
    run_as_user: str = "indexer-es"


class ElasticSettings(BaseModel):
    """How to reach Elasticsearch and how to write to it."""

    #: One URL, or several nodes of one cluster separated by commas (`INDEXER_ES_URL`).
    url: str | None = None
    api_key: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    alias: str = Field(default="contracts", pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    request_timeout_s: float = Field(default=30.0, gt=0)
    bulk_chunk_size: int = Field(default=200, ge=1)
    bulk_max_retries: int = Field(default=5, ge=0)
    bulk_initial_backoff_s: float = Field(default=1.0, gt=0)
    bulk_max_backoff_s: float = Field(default=30.0, gt=0)
    #: Replicas of each page index, set in the index template (applies to indices created after
    #: it is installed); None keeps the mapping file's 0, which a single node needs.
    number_of_replicas: int | None = Field(default=None, ge=0)
    node: NodeSettings = NodeSettings()

    @model_validator(mode="after")
    def _check_auth(self) -> ElasticSettings:
        if self.api_key is not None and self.username is not None:
            raise ValueError("set either INDEXER_ES_API_KEY or INDEXER_ES_USERNAME/PASSWORD, not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("INDEXER_ES_USERNAME and INDEXER_ES_PASSWORD must be set together")
        if self.url is not None and not all(host.startswith(("http://", "https://")) for host in self.hosts):
            raise ValueError(
                f"INDEXER_ES_URL={self.url}: each comma-separated host needs http:// or https://"
            )
        return self

    @property
    def is_embedded(self) -> bool:
        """True when no cluster URL is configured and the project's own node is used."""
        return self.url is None

    @property
    def effective_url(self) -> str:
        """The configured URL(s) as written (comma-separated for a cluster), or the local node's."""
        return self.url or f"http://{self.node.host}:{self.node.port}"

    @property
    def hosts(self) -> list[str]:
        """Each node's URL: the client spreads requests over them and skips one that is down."""
        return [host.strip() for host in self.effective_url.split(",") if host.strip()]


class ArtifactSettings(BaseModel):
    """Per-document folders with what the pipeline found, used by `reindex --from-artifacts`."""

    dir: Path | None = None
    image_max_side_px: int = Field(default=1000, ge=100)


class HandwritingSettings(BaseModel):
    """Which engine reads handwriting crops, and how."""

    #: auto: Azure when its endpoint and key are set, else TrOCR when its model is local, else ppocr.
    engine: Literal["auto", "azure", "trocr", "ppocr", "ensemble", "htr", "tesseract"] = "auto"
    #: The ppocr engine's word lexicon (built without any labelled crop, so no figure is fitted to it).
    ppocr_lexicon: Path = resource_dir("models") / "ppocr" / "lexicon.txt"
    #: Decode ppocr's lines as dates, amounts, zip codes and phones when their grammar fits.
    typed_decoding: bool = True
    #: Nats a typed reading may fall below the free reading and still be chosen; chosen by
    #: cross-validation by document on contracts-dev (models/ppocr/MODEL_CARD.md).
    typed_margin: float = Field(default=6.0, ge=0)
    #: The margin when the box's printed label names its type (`Date:`): the label is evidence
    #: the free reading lacks. Set by that argument, not fitted: on contracts-dev any value from
    #: 9 to 15 changes the same one line, which cross-validation by document cannot weigh
    #: (docs/experiments/2026-12-04-form-fields.md, seventh session).
    typed_hinted_margin: float = Field(default=9.0, ge=0)
    #: The ensemble takes htr's reading of a line when its confidence beats ppocr's by this much
    #: and neither reading is a typed field.
    ensemble_confidence_offset: float = 0.05
    #: The htr model folder (htr.json + weights); default: the model shipped in the repository.
    htr_model_dir: Path = resource_dir("models") / "htr"
    #: A Hugging Face model id or a local folder; ids are downloaded only with trocr_allow_download.
    trocr_model: str = "microsoft/trocr-base-handwritten"
    trocr_allow_download: bool = False
    trocr_max_new_tokens: int = Field(default=48, ge=1)
    batch_size: int = Field(default=16, ge=1)
    #: Pixels of page around each box in the reader's crop (`ocr_hand.CROP_PADDING_PX` takes its
    #: default from here and says why 3).
    crop_padding_px: int = Field(default=3, ge=0, le=64)
    #: 1 decodes the best path; more runs a CTC prefix beam search (htr) or beam generation (trocr).
    beam_width: int = Field(default=1, ge=1, le=64)
    #: Correct misread words against the model's lexicon (numbers, dates, zip codes are kept).
    use_lexicon: bool = True
    #: Cut crops into their handwritten lines before htr or TrOCR (line readers) reads them.
    split_lines: bool = True
    #: Read signature boxes too: one whose whole reading is a date or an amount is an annotation
    #: (the detector took a handwritten `10/26/12` for a signature); other readings are dropped.
    read_signatures: bool = True
    threads: int = Field(default=2, ge=0)


class AzureSettings(BaseModel):
    """Azure AI Document Intelligence (`prebuilt-read`), used when its endpoint and key are set."""

    endpoint: str | None = None
    key: SecretStr | None = None
    api_version: str = "2024-11-30"
    model_id: str = "prebuilt-read"
    request_timeout_s: float = Field(default=30.0, gt=0)
    #: Give up on an analyze operation that has not finished after this long.
    operation_timeout_s: float = Field(default=120.0, gt=0)
    #: Wait between polls when the service sends no Retry-After.
    poll_interval_s: float = Field(default=1.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    max_retry_after_s: float = Field(default=60.0, gt=0)

    @property
    def is_configured(self) -> bool:
        return bool(self.endpoint) and self.key is not None and bool(self.key.get_secret_value())


class InputSettings(BaseModel):
    """What an input file may be; anything beyond is quarantined with a reason."""

    max_file_mb: float = Field(default=512.0, gt=0)
    max_pages: int = Field(default=2000, ge=1)
    #: Rendered page size cap (a 200 dpi A0 page is about 6600x9400): guards against bombs.
    max_page_pixels: int = Field(default=80_000_000, ge=1_000_000)


class RenderSettings(BaseModel):
    """Turning pages into images (pdf2image/poppler for PDFs, Pillow for images)."""

    dpi: int = Field(default=200, ge=50, le=600)
    #: DPI assumed for images that carry none (scans exported as JPEG often do not).
    image_default_dpi: int = Field(default=200, ge=50, le=600)
    timeout_s: float = Field(default=120.0, gt=0)


class DeskewSettings(BaseModel):
    """Straightening slanted scans before any step reads them (`deskew_pages`)."""

    #: A slant under this (degrees) is left alone: along a 1,400 px line it drifts 12 px, under
    #: a third of a printed line's height at 200 dpi, and turning re-samples every pixel.
    min_degrees: float = Field(default=0.5, ge=0.0)
    #: The largest slant looked for; scans fed in sideways are another problem.
    max_degrees: float = Field(default=5.0, gt=0.0, le=15.0)


class AnchorSettings(BaseModel):
    """The 5-digit tokens drawn into handwriting boxes before the page OCR."""

    font: Path | None = None  # default: Liberation Sans Narrow Bold, else DejaVu Sans Mono Bold
    #: Font size (em, pixels at 200 dpi; scaled with the page's dpi). Tesseract misses tokens
    #: much smaller than the minimum; a token wider than its box widens the blanked area.
    max_token_size_px: int = Field(default=40, ge=10)
    min_token_size_px: int = Field(default=22, ge=8)
    max_retries: int = Field(default=3, ge=0)
    seed: int | None = None  # fixed seed for reproducible tokens (tests); None draws fresh ones
    #: Re-read, as sparse text, the rows of boxes where the page OCR read nothing at all (its
    #: layout analysis sometimes drops a whole ruled signature line, tokens and labels with it).
    reread_lost_rows: bool = True


class TesseractSettings(BaseModel):
    """The page OCR with Tesseract (through tesserocr)."""

    lang: str = "eng"
    tessdata_dir: Path | None = None  # default: found under /usr/share/tesseract-ocr
    psm: int = Field(default=3, ge=0, le=13)
    #: `indexer bench` runs the `tesseract` program itself for its baseline.
    executable: str = "tesseract"
    timeout_s: float = Field(default=300.0, gt=0)


class MergeSettings(BaseModel):
    """How handwriting is written back into the page text."""

    signature_marker: str = "[signature]"
    illegible_marker: str = "[handwriting]"
    #: Max edits between an OCR'd word and a token for a fuzzy match (on 5 characters).
    fuzzy_max_distance: int = Field(default=1, ge=0, le=2)


class ExtendSettings(BaseModel):
    """`extend_boxes`: an annotation box grows over the rest of its handwritten line."""

    #: A word beside the box joins it when the detector's mean handwriting probability over the
    #: word is at least this (chosen by cross-validation by document, docs/experiments/).
    min_probability: float = Field(default=0.1, ge=0.0, le=1.0)
    #: The largest gap between the box and the next word, in box heights.
    max_gap_heights: float = Field(default=0.5, ge=0.0)
    #: A word that looks like a label (`Harnilk:`) but names no field type joins when the map's
    #: probability over it is at least this: the page OCR misread handwriting with a colon.
    misread_label_probability: float = Field(default=0.4, ge=0.0, le=1.0)
    #: Along the printed rule under the box (a form blank), a word joins whatever the map says
    #: when it is at most this many box heights from the box and at least `rule_min_height_share`
    #: of the box's height (handwriting, not the small print of a table line). None turns the
    #: rule walk off. Chosen by cross-validation by document (docs/experiments/).
    rule_max_gap_heights: float | None = Field(default=1.5, ge=0.0)
    rule_min_height_share: float = Field(default=0.45, ge=0.0)
    #: On the rule, a colon word that names no field type (`Ham:`) joins when the page OCR's
    #: confidence in it is under this: print is read surely, handwriting is not.
    rule_misread_confidence: float = Field(default=0.5, ge=0.0, le=1.0)


class CandidateSettings(BaseModel):
    """Handwriting the detector's own scales miss: a second reading of the page at a larger scale
    proposes annotation boxes, and `confirm_candidates` keeps those whose print Tesseract doubts.
    The same reading is a second opinion on the signatures the detector is unsure of."""

    #: The scale of the second reading; its annotation boxes that meet no detected box on their
    #: line are the candidates. None turns the second reading (about 0.1 s a page), the
    #: candidates and the second opinion off.
    scale: float | None = Field(default=1.3, gt=0.0)
    #: A signature box scored under `SURE_SIGNATURE_SCORE` (0.9) is an annotation when an
    #: annotation box of the second reading overlaps it at least this much (intersection over
    #: union). None: the second reading never changes a kind.
    relabel_iou: float | None = Field(default=0.5, gt=0.0, le=1.0)
    #: A candidate becomes an annotation span when Tesseract's mean confidence over the page words
    #: inside it is under this (print reads surer). Chosen by cross-validation by document, end to
    #: end (docs/experiments/2026-12-04-form-fields.md, ninth session).
    max_print_confidence: float = Field(default=0.85, ge=0.0, le=1.0)


class PipelineSettings(BaseModel):
    """Which steps run, in which order; `indexer pipeline` prints the effective list."""

    printed_ocr: Literal["tesseract", "azure"] = "tesseract"
    processors: list[str] = [
        "deskew_pages",
        "detect_handwriting",
        "split_blocks",
        "trim_boxes",
        "mask_with_anchors",
        "ocr_printed",
        "confirm_candidates",
        "find_rules",
        "extend_boxes",
        "find_labels",
        "ocr_handwriting",
        "merge_text",
        "extract_entities",
        "extract_fields",
    ]


#: The default century rule for two-digit years, shared with the reader's date grammar
#: (`indexer.backends.htr.grammar.parse_date`), so that both read `6/30/55` as one date.
DEFAULT_TWO_DIGIT_YEAR_PIVOT = 70


class EntitySettings(BaseModel):
    """Entity extraction from handwriting: dates, amounts, addresses, names, titles."""

    #: How all-numeric dates are read: 2/3/12 is February 3 under MDY (US contracts).
    date_order: Literal["MDY", "DMY", "YMD"] = "MDY"
    #: Two-digit years below this are 20xx, the others 19xx: 12/13/10 -> 2010, 6/30/31 -> 2031.
    two_digit_year_pivot: int = Field(default=DEFAULT_TWO_DIGIT_YEAR_PIVOT, ge=0, le=99)
    #: Dates outside these years are OCR noise, not dates (a lease end decades ahead is kept).
    min_year: int = Field(default=1900, ge=1)
    max_year: int = Field(default=2150, ge=1)
    #: Read the signer's name and title from the printed words beside each signature.
    signer_names_from_print: bool = True


class WatchSettings(BaseModel):
    """The watch-folder daemon."""

    recursive: bool = False
    #: Poll the folder instead of waiting for change events (network shares, Docker volumes).
    polling: bool = False
    poll_interval_s: float = Field(default=1.0, gt=0)
    #: A file is complete once its size and mtime stayed unchanged this long.
    settle_s: float = Field(default=1.0, ge=0)
    #: Full rescan of the folder, a safety net for missed events.
    rescan_interval_s: float = Field(default=60.0, gt=0)
    #: Worker processes; default: the number of CPU cores.
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    file_timeout_s: float = Field(default=900.0, gt=0)
    retry_initial_s: float = Field(default=2.0, gt=0)
    retry_max_s: float = Field(default=60.0, gt=0)
    #: Remove a file's pages from the index when the file leaves the folder.
    remove_deleted: bool = True
    #: Seconds to let in-flight files finish on SIGTERM/SIGINT before re-queueing them.
    shutdown_grace_s: float = Field(default=30.0, ge=0)
    quarantine_dir_name: str = ".quarantine"
    #: A file that fails as damaged (truncated, empty) while it was modified less than this long
    #: ago may still be being copied: it is retried, and quarantined only once it stays damaged
    #: and unchanged for this long.
    incomplete_grace_s: float = Field(default=120.0, ge=0)
    #: The first retry of such a file; each next one waits twice as long, up to the grace period.
    incomplete_retry_s: float = Field(default=2.0, gt=0)
    #: Links in the folder: `inside` follows those that stay inside it, `follow` follows all,
    #: `refuse` refuses all. Refused links are moved to the quarantine with a reason.
    symlinks: Literal["inside", "follow", "refuse"] = "inside"
    #: How long a starting daemon waits for the workers of an earlier, killed one to end.
    leftovers_wait_s: float = Field(default=10.0, ge=0)


class DetectorSettings(BaseModel):
    """The handwriting detector: our FCN, or a TensorFlow Object Detection API SavedModel."""

    engine: Literal["fcn", "tfod"] = "fcn"
    #: The FCN's folder (weights + detector.json); default: the model shipped in the repository.
    model_dir: Path = resource_dir("models") / "detector"
    #: Overrides the threshold saved with the model; None keeps it.
    score_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    #: Move the boxes' edges with the box refiner the model folder names, if it names one.
    use_refiner: bool = True
    tfod_saved_model: Path | None = None
    #: TFOD class id -> kind; ids not listed are ignored.
    tfod_class_ids: dict[int, Literal["signature", "annotation"]] = {1: "signature", 2: "annotation"}
    tfod_score_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    threads: int = Field(default=2, ge=1)


class ApiSettings(BaseModel):
    """`indexer serve`: the REST API and the review page."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: Every route needs it in the `X-API-Key` header; without it only loopback addresses are served.
    key: SecretStr | None = None
    #: Where uploads go; default: the inbox `indexer serve` is given (the watched folder).
    upload_dir: Path | None = None


class OutputSettings(BaseModel):
    """Files written beside the artifacts for people to open."""

    #: `searchable.pdf`: the page images with an invisible text layer, handwriting included.
    searchable_pdf: bool = False


class QueueSettings(BaseModel):
    """Celery over Redis: with `url` set, `indexer watch` enqueues files and `indexer worker`s run them."""

    #: The Redis broker and result backend, e.g. `redis://host:6379/0`; None runs the pipeline in
    #: the daemon's own worker processes.
    url: str | None = None
    #: The Celery queue the daemon sends to and the workers read.
    name: str = "indexer"
    #: Files the daemon keeps enqueued at once (at least the workers' total concurrency).
    max_in_flight: int = Field(default=256, ge=1)
    #: Deliveries of one file (a worker killed while it held it counts) before it is quarantined.
    max_attempts: int = Field(default=3, ge=1)
    #: Redis hands an unacknowledged task to another worker after this long (a worker that died
    #: holding it); default: the per-file timeout plus a minute. Must exceed the per-file timeout.
    visibility_timeout_s: float | None = Field(default=None, gt=0)
    #: How long task results stay in Redis when the daemon does not collect them.
    result_expires_s: float = Field(default=86_400.0, gt=0)


class Settings(BaseSettings):
    """All of `indexer`'s configuration; build it with `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    state_dir: Path = Field(default_factory=default_state_dir)
    es: ElasticSettings = ElasticSettings()
    artifacts: ArtifactSettings = ArtifactSettings()
    handwriting: HandwritingSettings = HandwritingSettings()
    azure: AzureSettings = AzureSettings()
    input: InputSettings = InputSettings()
    render: RenderSettings = RenderSettings()
    deskew: DeskewSettings = DeskewSettings()
    anchors: AnchorSettings = AnchorSettings()
    tesseract: TesseractSettings = TesseractSettings()
    merge: MergeSettings = MergeSettings()
    extend: ExtendSettings = ExtendSettings()
    candidates: CandidateSettings = CandidateSettings()
    pipeline: PipelineSettings = PipelineSettings()
    detector: DetectorSettings = DetectorSettings()
    watch: WatchSettings = WatchSettings()
    entities: EntitySettings = EntitySettings()
    api: ApiSettings = ApiSettings()
    output: OutputSettings = OutputSettings()
    queue: QueueSettings = QueueSettings()

    @property
    def journal_path(self) -> Path:
        return self.state_dir / "watch" / "journal.sqlite3"

    @property
    def visibility_timeout_s(self) -> float:
        """When Redis redelivers a task whose worker vanished: past the per-file timeout."""
        return self.queue.visibility_timeout_s or self.watch.file_timeout_s + _VISIBILITY_MARGIN_S

    @model_validator(mode="after")
    def _check_visibility(self) -> Settings:
        if self.queue.visibility_timeout_s is not None and (
            self.queue.visibility_timeout_s <= self.watch.file_timeout_s
        ):
            raise ValueError(
                "INDEXER_QUEUE__VISIBILITY_TIMEOUT_S must exceed INDEXER_WATCH__FILE_TIMEOUT_S, or a file "
                "still being processed is handed to a second worker"
            )
        return self

    @property
    def artifacts_dir(self) -> Path:
        return self.artifacts.dir or self.state_dir / "artifacts"

    @property
    def corrections_dir(self) -> Path:
        """Corrections made in the review app: crops with their corrected text (`train-htr --corrections`)."""
        return self.state_dir / "corrections"

    @property
    def node_home_dir(self) -> Path:
        return self.es.node.home_dir or self.state_dir / "elasticsearch"

    @property
    def cache_dir(self) -> Path:
        return self.es.node.cache_dir or default_cache_dir()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            _ShortEsEnvSource(settings_cls),
            env_settings,
        ]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)


# The short names the README and the issues use for the connection settings.
_SHORT_ES_NAMES = {
    "URL": "url",
    "API_KEY": "api_key",
    "USERNAME": "username",
    "PASSWORD": "password",
    "CA_CERTS": "ca_certs",
}


class _ShortEsEnvSource(PydanticBaseSettingsSource):
    """Reads `INDEXER_ES_URL` and friends into the nested `es` section."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {
            key: os.environ[f"{ENV_PREFIX}ES_{name}"]
            for name, key in _SHORT_ES_NAMES.items()
            if os.environ.get(f"{ENV_PREFIX}ES_{name}")
        }
        return {"es": found} if found else {}


def _default_config_file() -> Path | None:
    named = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if named:
        return Path(named)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(config_file: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Load and validate the settings once; the result is handed down explicitly.

    Args:
        config_file: a TOML file; default `INDEXER_CONFIG`, else `./indexer.toml` when present.
        overrides: values that win over the environment and the file, e.g. from CLI options.

    Raises:
        ConfigError: a value is invalid or the named config file does not exist.
    """
    toml_file = config_file or _default_config_file()
    if toml_file is not None and not toml_file.is_file():
        raise ConfigError(f"config file {toml_file} does not exist; fix --config or INDEXER_CONFIG")

    class _Loaded(Settings):
        model_config = SettingsConfigDict(toml_file=toml_file)

    try:
        loaded = _Loaded(**dict(overrides or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
    # A plain `Settings` (the loader class is local): it pickles into worker processes.
    return Settings.model_construct(**{name: getattr(loaded, name) for name in Settings.model_fields})
