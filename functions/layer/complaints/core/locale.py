"""Locales: the ones supported, and negotiation from Accept-Language."""

from __future__ import annotations

SUPPORTED = ("en", "zh-CN")


DEFAULT = "en"


def normalise_locale(tag: str) -> str | None:
    """Map a language tag to a supported locale, or None if it is not one we speak."""
    primary = tag.strip().replace("_", "-").lower()
    if primary in ("en",) or primary.startswith("en-"):
        return "en"
    if primary in ("zh", "zh-cn", "zh-hans", "zh-sg") or primary.startswith("zh-hans"):
        return "zh-CN"
    return None


def negotiate(accept_language: str | None) -> str:
    """Pick the best supported locale from an Accept-Language header (RFC 9110 weights); en by default."""
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        locale = normalise_locale(tag) if tag and tag != "*" else None
        if locale and weight > 0:
            ranked.append((-weight, position, locale))
    return min(ranked)[2] if ranked else DEFAULT
