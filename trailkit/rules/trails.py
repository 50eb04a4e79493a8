"""How trail names and ARNs are read, and how the trails of several regions become one list.

Pure (no AWS): :class:`trailkit.aws.reader.Reader` asks ``DescribeTrails``/``GetTrail`` and uses
these rules to interpret the answers; ``tests/test_keys.py`` tests them table-driven.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from trailkit.arn import arn_account, arn_region, arn_resource, arn_service
from trailkit.errors import InputError, NotFound
from trailkit.i18n import _
from trailkit.records import ScanError, Trail

__all__ = ["TrailRef", "list_trails_fix", "merge_trails", "parse_trail_ref", "the_one_trail"]


@dataclass(frozen=True)
class TrailRef:
    """A trail as the user named it.

    Attributes
    ----------
    text : str
        The name or ARN, stripped.
    region : str or None
        The region of an ARN (where ``GetTrail`` is asked); None for a bare name.
    """

    text: str
    region: str | None = None

    @property
    def is_arn(self) -> bool:
        """Whether the trail was named by ARN."""
        return self.region is not None

    def matches(self, trail: Trail) -> bool:
        """Whether ``trail`` is the one named (by ARN, else by name)."""
        return trail.arn == self.text if self.is_arn else trail.name == self.text


def parse_trail_ref(name_or_arn: str) -> TrailRef:
    """Check that ``name_or_arn`` can be a trail name or trail ARN.

    A trail ARN is ``arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME`` (CloudTrail API
    reference, ``GetTrail`` ``Name``: "the name or the ARN of the trail"); names and ARNs are at
    most 2048 characters there and contain no white space.

    Parameters
    ----------
    name_or_arn : str
        What the user typed.

    Returns
    -------
    TrailRef

    Raises
    ------
    InputError
        Empty, too long, containing white space, or an ``arn:`` that is not a trail ARN.
    """
    text = name_or_arn.strip()
    if not text or len(text) > 2048 or any(c.isspace() for c in text):
        raise InputError(
            _("{text} is not a trail name or ARN.").format(text=repr(text[:60])),
            _(
                "give a trail name (e.g. org-trail) or trail ARN "
                "(arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME)"
            ),
        )
    if not text.startswith("arn:"):
        return TrailRef(text)
    # Only the shape is checked here: a malformed region is refused when a client is made for
    # it, and a name no trail has is "not found" (tests/test_fuzz.py pins both).
    if arn_service(text) != "cloudtrail" or not arn_resource(text).startswith("trail/"):
        raise InputError(
            _("{text} is not a trail ARN.").format(text=repr(text[:80])),
            _("a trail ARN looks like arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME"),
        )
    return TrailRef(text, arn_region(text))


def list_trails_fix(trail_input: str, reach: str = "") -> str | None:
    """For a trail named by its ARN: the fix that lists the trails of that ARN's account
    (``trailkit inventory --accounts ACCOUNT``: a plain ``trailkit inventory`` lists only the
    caller's own account, issue 16). None for a name (or text that is not an ARN).

    ``reach``: the options that reached the account (`` --role-name AWSControlTowerExecution``,
    :meth:`trailkit.aws.accounts.AccountAccess.reach`), so the command works as printed.
    """
    account = arn_account(trail_input.strip())
    if not (account.isdigit() and len(account) == 12):
        return None
    return _(
        "list the trails of account {account} with `trailkit inventory --accounts "
        "{account}{reach}` and check the ARN"
    ).format(account=account, reach=reach)


def the_one_trail(ref: TrailRef, found: Iterable[Trail], reach: str = "") -> Trail:
    """The single trail of ``found`` that ``ref`` names.

    Parameters
    ----------
    ref : TrailRef
        The trail named.
    found : iterable of Trail
        Trails read (shadow copies of one trail count once: the ARN identifies a trail).

    Returns
    -------
    Trail

    Raises
    ------
    NotFound
        No trail matches (code ``TrailNotFound``).
    InputError
        Several trails of different ARNs share the name.
    """
    unique = {t.arn: t for t in found if ref.matches(t)}
    if not unique:
        raise NotFound(
            _("No trail named {trail} is visible to this caller.").format(trail=repr(ref.text)),
            list_trails_fix(ref.text, reach)
            or _(
                "list trails with `trailkit inventory`; use the trail ARN for trails of "
                "other regions or accounts"
            ),
            code="TrailNotFound",
        )
    if len(unique) > 1:
        arns = ", ".join(sorted(unique))
        raise InputError(
            _("Several trails are named {trail}: {arns}.").format(trail=repr(ref.text), arns=arns),
            _("give the trail ARN instead"),
        )
    return next(iter(unique.values()))


def merge_trails(
    regions: Sequence[str], results: Sequence[list[Trail] | ScanError]
) -> tuple[list[Trail], list[ScanError]]:
    """Trails of several regions deduplicated by ARN, and the regions that failed.

    ``DescribeTrails`` with ``includeShadowTrails`` lists a multi-region (or organization) trail
    in every region it covers (CloudTrail API reference, ``DescribeTrails``); the copies have the
    trail's ARN. Each trail is kept once, with ``seen_in`` the regions that listed it, in the
    order of ``regions``.

    Parameters
    ----------
    regions : sequence of str
        The regions asked, in order.
    results : sequence of (list of Trail) or ScanError
        Per region, the trails listed or why it failed.

    Returns
    -------
    tuple
        The trails sorted by (account, home region, name), and the errors in region order.
    """
    errors: list[ScanError] = []
    by_arn: dict[str, Trail] = {}
    for region, result in zip(regions, results, strict=True):
        if isinstance(result, ScanError):
            errors.append(result)
            continue
        for trail in result:
            seen = by_arn.get(trail.arn)
            if seen is None:
                by_arn[trail.arn] = trail
            else:
                by_arn[trail.arn] = replace(seen, seen_in=(*seen.seen_in, region))
    trails = sorted(by_arn.values(), key=lambda t: (t.account, t.home_region, t.name))
    return trails, errors
