"""The evidence policy: what a genomic result must show before the registry moves a claim on it.

Per relationship kind: the fewest autosomal loci, the likelihood ratio (combined index) that supports
the claim, and what excludes it (inconsistent loci for parentage, a likelihood ratio this low for the
other kinds); per lineage method, how many differing markers exceed the mutation allowance. The
defaults and their sources are in the README ("Kinship evidence policy"); an installation may change
them in a TOML or JSON file (``REGISTRY_KINSHIP_POLICY_FILE``), checked at start-up.

This module imports neither Flask nor SQLAlchemy: the settings check the file with it before anything
else starts.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

PARENTAGE = ("biological_mother", "biological_father")
GENETIC_KINDS = (*PARENTAGE, "sibling", "half_sibling", "grandparent", "aunt_uncle")
LINEAGE_METHODS = ("y_str", "mtdna")


class PolicyError(ValueError):
    """The policy file is unreadable or says something the registry cannot apply; the message says what."""


@dataclass(frozen=True)
class KindPolicy:
    min_autosomal_loci: int
    # The combined relationship index (likelihood ratio) at or above which an autosomal result supports.
    support_likelihood_ratio: float
    # Parentage: inconsistent loci from which an exclusion holds (fewer: inconclusive). 0: not used.
    exclude_inconsistent_loci: int = 0
    # Other kinds: a likelihood ratio at or below which an exclusion holds. 0: not used.
    exclude_likelihood_ratio: float = 0.0


@dataclass(frozen=True)
class EvidencePolicy:
    kinds: dict[str, KindPolicy]
    # Lineage methods: differing markers (Y-STR) or positions (mtDNA) from which a mismatch excludes.
    lineage_exclude_differences: dict[str, int] = field(default_factory=dict)
    # Results used in court come from a laboratory with ISO/IEC 17025 accreditation valid on the report date.
    require_accredited_laboratory: bool = False

    def for_kind(self, kind: str) -> KindPolicy | None:
        return self.kinds.get(kind)


_PARENTAGE = KindPolicy(min_autosomal_loci=15, support_likelihood_ratio=10_000, exclude_inconsistent_loci=3)
_SECOND_DEGREE = KindPolicy(min_autosomal_loci=20, support_likelihood_ratio=1_000, exclude_likelihood_ratio=0.001)
DEFAULT_POLICY = EvidencePolicy(
    kinds={
        "biological_mother": _PARENTAGE,
        "biological_father": _PARENTAGE,
        "sibling": KindPolicy(min_autosomal_loci=20, support_likelihood_ratio=1_000, exclude_likelihood_ratio=0.001),
        "half_sibling": _SECOND_DEGREE,
        "grandparent": _SECOND_DEGREE,
        "aunt_uncle": _SECOND_DEGREE,
    },
    lineage_exclude_differences={"y_str": 3, "mtdna": 2},
)

_KIND_KEYS = [f.name for f in fields(KindPolicy)]


def _number(where: str, key: str, value: Any, whole: bool) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
        raise PolicyError(f"{where}.{key} must be a {'whole ' if whole else ''}number, not {value!r}")
    if value < 0:
        raise PolicyError(f"{where}.{key} must not be negative, not {value!r}")
    return value


def _kind(name: str, base: KindPolicy, table: Any) -> KindPolicy:
    if not isinstance(table, dict):
        raise PolicyError(f"[{name}] must be a table of settings")
    unknown = set(table) - set(_KIND_KEYS)
    if unknown:
        raise PolicyError(f"[{name}] has unknown keys: {', '.join(sorted(unknown))} (known: {', '.join(_KIND_KEYS)})")
    values: dict[str, Any] = {
        key: _number(name, key, value, key in ("min_autosomal_loci", "exclude_inconsistent_loci"))
        for key, value in table.items()
    }
    kind = replace(base, **values)
    if not 1 <= kind.min_autosomal_loci <= 10_000:
        raise PolicyError(f"{name}.min_autosomal_loci must be between 1 and 10000")
    if kind.support_likelihood_ratio <= 1:
        raise PolicyError(f"{name}.support_likelihood_ratio must be above 1 (a ratio of 1 supports nothing)")
    if kind.exclude_likelihood_ratio >= 1:
        raise PolicyError(f"{name}.exclude_likelihood_ratio must be below 1 (0: not used)")
    if name in PARENTAGE and kind.exclude_inconsistent_loci < 2:
        raise PolicyError(
            f"{name}.exclude_inconsistent_loci must be at least 2: a single inconsistency is "
            "expected from an STR mutation"
        )
    return kind


def parse_policy(data: Any, source: str = "the policy") -> EvidencePolicy:
    """The defaults with what ``data`` changes; anything unknown or out of range is refused, never ignored."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source} must be a table of relationship kinds")
    unknown = set(data) - set(GENETIC_KINDS) - {"lineage"}
    if unknown:
        raise PolicyError(
            f"{source} has unknown sections: {', '.join(sorted(unknown))} (known: {', '.join(GENETIC_KINDS)}, lineage)"
        )
    kinds = {
        name: _kind(name, base, data[name]) if name in data else base for name, base in DEFAULT_POLICY.kinds.items()
    }
    lineage = dict(DEFAULT_POLICY.lineage_exclude_differences)
    table = data.get("lineage", {})
    if not isinstance(table, dict):
        raise PolicyError("[lineage] must be a table of settings")
    for key, value in table.items():
        method = key.removesuffix("_exclude_differences")
        if method not in LINEAGE_METHODS or key == method:
            raise PolicyError(
                f"[lineage] has an unknown key: {key} (known: y_str_exclude_differences, mtdna_exclude_differences)"
            )
        lineage[method] = int(_number("lineage", key, value, whole=True))
        if lineage[method] < 1:
            raise PolicyError(f"lineage.{key} must be at least 1")
    return EvidencePolicy(kinds=kinds, lineage_exclude_differences=lineage)


def load_policy(path: str) -> EvidencePolicy:
    """Read a policy file: JSON when it ends in ``.json``, TOML otherwise."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path!r} cannot be read: {exc.strerror}") from None
    try:
        data = json.loads(raw) if path.endswith(".json") else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path!r} is not valid {'JSON' if path.endswith('.json') else 'TOML'}: {exc}") from None
    return parse_policy(data, path)


@lru_cache(maxsize=8)
def policy_for(policy_file: str, require_accredited_laboratory: bool) -> EvidencePolicy:
    """The policy of a running installation (read once per file)."""
    policy = load_policy(policy_file) if policy_file else DEFAULT_POLICY
    return replace(policy, require_accredited_laboratory=require_accredited_laboratory)


def current_policy() -> EvidencePolicy:
    """The running application's policy; the defaults outside one (a script, a unit test).

    Evidence is weighed wherever a claim moves, the document upload included, so the service asks here
    rather than every caller passing the policy along.
    """
    from flask import current_app, has_app_context

    runtime = current_app.extensions.get("registry") if has_app_context() else None
    if runtime is None:
        return DEFAULT_POLICY
    settings = runtime.settings
    return policy_for(settings.kinship_policy_file, settings.require_accredited_laboratory)
