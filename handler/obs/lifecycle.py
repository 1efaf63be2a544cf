"""A bucket's lifecycle configuration (``GET /?lifecycle``) and what it does to uploads.

Field names follow the official SDK's ``LifecycleResponse`` (``lifecycleConfig.rule[i]``
with ``id``, ``prefix``, ``status``, ``abortIncompleteMultipartUpload.daysAfterInitiation``
...), so SDK-style code reads ours unchanged. Two XML shapes are read: OBS's classic one
with ``<Prefix>`` directly in ``<Rule>``, and the filtered one OBS and S3 share
(``<Filter><Prefix>`` or ``<Filter><And><Prefix/><Tag/>…``); see
https://support.huaweicloud.com/intl/en-us/api-obs/obs_04_0035.html and
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLifecycleConfiguration.html.

A bucket without a configuration answers 404 ``NoSuchLifecycleConfiguration``; that is
the normal case, and ``configuration_of`` turns it into an empty configuration.
"""

# The SDK's camelCase field names, on purpose (as model.py, which pyproject exempts).
# ruff: noqa: N815

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from handler.obs.model import _SdkModel

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

    from handler.obs.model import GetResult

NO_CONFIGURATION = "NoSuchLifecycleConfiguration"


@dataclass(frozen=True, slots=True)
class AbortIncompleteMultipartUpload(_SdkModel):
    daysAfterInitiation: int | None = None


@dataclass(frozen=True, slots=True)
class Expiration(_SdkModel):
    date: str | None = None  # the ISO text as sent (the SDK converts it to local midnight)
    days: int | None = None
    expiredObjectDeleteMarker: bool | None = None


@dataclass(frozen=True, slots=True)
class NoncurrentVersionExpiration(_SdkModel):
    noncurrentDays: int | None = None


@dataclass(frozen=True, slots=True)
class Transition(_SdkModel):
    storageClass: str | None = None
    date: str | None = None
    days: int | None = None


@dataclass(frozen=True, slots=True)
class NoncurrentVersionTransition(_SdkModel):
    storageClass: str | None = None
    noncurrentDays: int | None = None


@dataclass(frozen=True, slots=True)
class Rule(_SdkModel):
    """One rule. ``prefix`` is the rule's own or its filter's; ``tags`` and
    ``has_size_filter`` are the parts of a filter that an upload cannot be judged by."""

    id: str | None = None
    prefix: str | None = None
    status: str | None = None
    expiration: Expiration | None = None
    noncurrentVersionExpiration: NoncurrentVersionExpiration | None = None
    transition: list[Transition] = field(default_factory=list)
    noncurrentVersionTransition: list[NoncurrentVersionTransition] = field(default_factory=list)
    abortIncompleteMultipartUpload: AbortIncompleteMultipartUpload | None = None
    tags: tuple[tuple[str, str], ...] = ()
    has_size_filter: bool = False

    @property
    def enabled(self) -> bool:
        return (self.status or "").strip().lower() == "enabled"

    @property
    def abort_days(self) -> int | None:
        """DaysAfterInitiation of an enabled rule, else None (the rule removes no upload)."""
        abort = self.abortIncompleteMultipartUpload
        if not self.enabled or abort is None or abort.daysAfterInitiation is None:
            return None
        return abort.daysAfterInitiation if abort.daysAfterInitiation >= 0 else None

    @property
    def removes_uploads(self) -> bool:
        """True when the rule aborts incomplete uploads under its prefix. A rule that also
        filters by tag or size is not counted: an upload has neither to match, so we
        cannot say it will be removed, and saying so wrongly would hide a cost. When it
        removes them is the inventory's business (handler/inventory/lifecycle_rules.py)."""
        return self.abort_days is not None and not self.tags and not self.has_size_filter

    def covers(self, key: str) -> bool:
        """True when this rule will abort an upload of ``key``."""
        return self.removes_uploads and key.startswith(self.prefix or "")


@dataclass(frozen=True, slots=True)
class Lifecycle(_SdkModel):
    rule: list[Rule] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LifecycleResponse(_SdkModel):
    """The body of a successful getBucketLifecycle, as the SDK names it."""

    lifecycleConfig: Lifecycle = field(default_factory=Lifecycle)


def _text(node: ET.Element, path: str) -> str | None:
    found = node.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def _raw(node: ET.Element, path: str) -> str | None:
    found = node.find(path)  # a prefix is never stripped: spaces are part of a key
    return None if found is None else (found.text or "")


def _int(node: ET.Element, path: str) -> int | None:
    value = _text(node, path)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _rule(node: ET.Element) -> Rule:
    prefix = _raw(node, "Prefix")
    filter_node = node.find("Filter")
    tags: list[tuple[str, str]] = []
    sized = False
    if filter_node is not None:
        scope = filter_node.find("And")
        scope = filter_node if scope is None else scope
        if prefix is None:
            prefix = _raw(scope, "Prefix")
        tags = [(_text(tag, "Key") or "", _text(tag, "Value") or "")
                for tag in scope.findall("Tag")]
        sized = any(scope.find(name) is not None
                    for name in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"))
    expiration = node.find("Expiration")
    noncurrent = node.find("NoncurrentVersionExpiration")
    abort = node.find("AbortIncompleteMultipartUpload")
    marker = _text(expiration, "ExpiredObjectDeleteMarker") if expiration is not None else None
    return Rule(
        id=_text(node, "ID"),
        prefix=prefix or None,  # empty means the whole bucket; None as the SDK gives it
        status=_text(node, "Status"),
        expiration=None if expiration is None else Expiration(
            date=_text(expiration, "Date"), days=_int(expiration, "Days"),
            expiredObjectDeleteMarker=None if marker is None else marker.lower() == "true",
        ),
        noncurrentVersionExpiration=None if noncurrent is None else NoncurrentVersionExpiration(
            noncurrentDays=_int(noncurrent, "NoncurrentDays")),
        transition=[
            Transition(storageClass=_text(t, "StorageClass"), date=_text(t, "Date"),
                       days=_int(t, "Days"))
            for t in node.findall("Transition")
        ],
        noncurrentVersionTransition=[
            NoncurrentVersionTransition(storageClass=_text(t, "StorageClass"),
                                        noncurrentDays=_int(t, "NoncurrentDays"))
            for t in node.findall("NoncurrentVersionTransition")
        ],
        abortIncompleteMultipartUpload=None if abort is None else AbortIncompleteMultipartUpload(
            daysAfterInitiation=_int(abort, "DaysAfterInitiation")),
        tags=tuple(tags),
        has_size_filter=sized,
    )


def parse_lifecycle(text: str) -> LifecycleResponse | None:
    """A ``LifecycleConfiguration`` document; None when the body is not XML."""
    from handler.obs.xmlparse import parse_document  # namespace-tolerant, as for listings

    root = parse_document(text)
    if root is None:
        return None
    return LifecycleResponse(Lifecycle(rule=[_rule(node) for node in root.findall("Rule")]))


def configuration_of(result: GetResult) -> Lifecycle | None:
    """The configuration a getBucketLifecycle result says the bucket has.

    2xx: its rules; 404 NoSuchLifecycleConfiguration: none (an empty Lifecycle, the
    normal case); anything else (denied, throttled, unreadable): None, not known.
    """
    if result.ok:
        body = result.body
        return body.lifecycleConfig if isinstance(body, LifecycleResponse) else None
    if result.status == 404 and result.errorCode == NO_CONFIGURATION:
        return Lifecycle()
    return None
