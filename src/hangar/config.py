"""One settings object: ``HANGAR_*`` environment variables over an optional TOML file.

Settings are read when :func:`load_settings` is called (the app factory and the CLI call it),
never frozen at import time, so tests and operators can change the environment freely.
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from hangar.backends.local.config import DeclaredGpu


def default_home() -> Path:
    return Path(os.environ.get("HANGAR_HOME", Path.home() / ".hangar")).expanduser()


class Settings(BaseSettings):
    """Server settings. Every field can be set as ``HANGAR_<FIELD>`` or in ``config.toml``."""

    model_config = SettingsConfigDict(env_prefix="HANGAR_", extra="forbid")

    home: Path = Field(default_factory=default_home, description="Data directory.")
    config_file: Path | None = Field(
        default=None, description="TOML file with settings; default <home>/config.toml."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite at <home>/hangar.db (WAL)."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8420, ge=1, le=65535)
    public_url: str | None = Field(default=None, description="URL users reach the server at.")
    secure_cookies: bool = Field(
        default=False, description="Mark cookies Secure (set when served over HTTPS)."
    )

    admin_username: str = "admin"
    admin_password: str | None = Field(
        default=None, description="First-start admin password; generated and printed if unset."
    )
    first_tenant_name: str = "default"

    session_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body.")
    custom_group_cap: int = Field(default=20, ge=0, description="Custom user groups per tenant.")

    audit_retention_days: int = Field(default=90, ge=1)
    audit_prune_interval_seconds: float = Field(default=3600.0, gt=0)

    # Installation-wide caps on per-user limits (decision A7): tenant settings hold the
    # defaults, these bound what any tenant may configure.
    cap_user_max_gpus: int = Field(default=10000, ge=0)
    cap_user_max_cpus: int = Field(default=10000, ge=0)
    cap_user_pfs_gib: int = Field(default=1_048_576, ge=0)

    # Inventory (spec 02 §1-§2). Declared GPUs are added to this host's discovered ones for
    # demos and CI, labelled DECLARED everywhere (they are not real hardware).
    # Environment: HANGAR_DECLARED_GPUS='[{"model": "H800", "memory_gib": 80, "count": 8}]';
    sandbox: Literal["auto", "required", "off"] = Field(
        default="auto",
        description="Workload isolation with bubblewrap: auto (when it works here), required, "
        "or off.",
    )
    scheduler_interval_seconds: float = Field(
        default=0.5, gt=0, description="How often the scheduler and run reconciler loop."
    )
    scheduler_placement: Literal["best_fit", "first_fit"] = Field(
        default="best_fit",
        description="Where the scheduler places admitted work: best_fit (fewest free cards "
        "that fit, vGPU slices packed) or first_fit (first node by name with room).",
    )
    # config.toml: [[declared_gpus]] tables with model, memory_gib, count.
    declared_gpus: list[DeclaredGpu] = Field(
        default_factory=list, description="GPUs declared on this host for demos and CI."
    )

    # Assets (spec 07; docs/datasets.md).
    dataset_cache_dir: Path | None = Field(
        default=None,
        description="A faster file system (local NVMe, parallel FS) that published dataset "
        'versions can be pushed to ("push to cache"); mounts then read from it.',
    )

    # Dev environments (spec 03, decisions C2, C7; docs/devenvs.md).
    devenv_port_min: int = Field(default=42000, ge=1024, le=65535)
    devenv_port_max: int = Field(default=42999, ge=1024, le=65535)
    devenv_cache_limit_gib: int = Field(default=50, ge=1, description="Per-environment cache.")
    devenv_cache_retention_days: float = Field(
        default=5, gt=0, description="How long a stopped environment's /work/cache is kept."
    )
    devenv_loop_seconds: float = Field(
        default=15.0, gt=0, description="How often idle, scheduled stops and retention are checked."
    )
    devenv_idle_warning_minutes: float = Field(
        default=5, ge=0, description="Warn this long before an idle environment is stopped."
    )
    devenv_gpu_busy_percent: int = Field(
        default=10, ge=0, le=100, description="GPU utilisation that counts as activity."
    )
    # Billing (spec 10 §5; src/hangar/billing/README.md).
    billing_settle_seconds: float = Field(
        default=60.0, gt=0, description="How often completed hours of usage are settled."
    )
    billing_storage_sample_seconds: float = Field(
        default=900.0, gt=0,
        description="How often file storage is sampled (each pass walks every owner's "
        "directories) and finished days are settled.",
    )  # fmt: skip
    billing_storage_postpaid_free_gb: Decimal = Field(
        default=Decimal(0), ge=0,
        description="Free storage GB per postpaid tenant (billed only with a 'storage' price).",
    )  # fmt: skip
    code_server: Path | None = Field(
        default=None,
        description="code-server executable (default: found by scripts/code-server.sh).",
    )

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'hangar.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, then the TOML file, then ``overrides``.

    Precedence (highest first): keyword overrides, ``HANGAR_*`` environment, config file.
    """
    probe = Settings(**overrides)
    path = probe.config_file or probe.home / "config.toml"
    if not path.exists():
        return probe
    with path.open("rb") as fh:
        from_file: dict[str, Any] = tomllib.load(fh)
    env_keys = {name for name in Settings.model_fields if f"HANGAR_{name.upper()}" in os.environ}
    merged = {k: v for k, v in from_file.items() if k not in env_keys}
    merged.update(overrides)
    return Settings(**merged)
