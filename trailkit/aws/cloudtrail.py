"""CloudTrail reads (``ListTrails``, ``DescribeTrails``, ``GetTrailStatus``, ``GetTrail``,
``ListTags``), regions.

Each method makes one call and turns the response into :mod:`trailkit.records`; caching and
scheduling are :class:`trailkit.aws.reader.Reader`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from trailkit.aws.service import ServiceReader
from trailkit.aws.session import Connection
from trailkit.errors import AccessDenied, AwsError, NotFound, TrailkitError
from trailkit.i18n import _
from trailkit.permissions import requires
from trailkit.records import Trail, TrailStatus

__all__ = ["LIST_TAGS_MAX", "CloudTrail", "Regions", "list_regions"]


class CloudTrail(ServiceReader):
    """The CloudTrail calls of a reader (see :class:`~trailkit.aws.service.ServiceReader`)."""

    service = "cloudtrail"

    @requires("cloudtrail:DescribeTrails")
    def describe_trails(self, region: str) -> list[Trail]:
        """Every trail visible in ``region``, shadow copies included (``DescribeTrails``).

        Parameters
        ----------
        region : str
            The region asked.

        Returns
        -------
        list of Trail
            With ``seen_in=(region,)``.

        Raises
        ------
        TrailkitError
            The call failed.
        """
        data = self.call("DescribeTrails", region, includeShadowTrails=True)
        return [Trail.from_api(t, seen_in=region) for t in data.get("trailList") or []]

    @requires("cloudtrail:ListTrails")
    def list_trails(self, region: str) -> list[tuple[str, str]]:
        """Every trail of the account, whatever its home region (``ListTrails``, every page).

        AWS: ``ListTrails`` "lists trails that are in the current account", each with its
        ``HomeRegion``, from any one region; the organization trails a member account sees are
        listed in that member too. One call (per page of 50) replaces a ``DescribeTrails`` in
        every region when only the home regions are needed.

        Parameters
        ----------
        region : str
            The region asked (any enabled region answers for the whole account).

        Returns
        -------
        list of (str, str)
            (trail ARN, home region), in the order AWS listed them.

        Raises
        ------
        TrailkitError
            The call failed.
        """
        try:
            items = self.pages("ListTrails", region, "Trails")
        except AccessDenied as err:
            err.fix = _(
                "grant cloudtrail:ListTrails, or name the regions with --regions "
                "(DescribeTrails in each region instead)"
            )
            raise
        return [
            (str(t["TrailARN"]), str(t.get("HomeRegion") or region))
            for t in items
            if t.get("TrailARN")
        ]

    @requires("cloudtrail:GetTrailStatus")
    def trail_status(self, trail: Trail) -> TrailStatus:
        """Logging state and the latest delivery errors, read in the trail's home region.

        Parameters
        ----------
        trail : Trail
            The trail.

        Returns
        -------
        TrailStatus
            With ``error`` set (and the failure noted) when ``GetTrailStatus`` failed.
        """
        try:
            data = self.call("GetTrailStatus", trail.home_region, Name=trail.arn)
        except TrailkitError as err:
            return TrailStatus(error=self.noted(err, region=trail.home_region, resource=trail.arn))
        return TrailStatus.from_api(data)

    @requires("cloudtrail:GetTrail")
    def get_trail(self, name: str, region: str) -> list[Trail]:
        """The trail ``name`` (a name or ARN) as ``GetTrail`` in ``region`` sees it.

        Parameters
        ----------
        name : str
            A trail name or ARN.
        region : str
            Where to ask.

        Returns
        -------
        list of Trail
            One trail, or none when CloudTrail answers that there is no such trail (or that the
            name is not valid, ``InvalidTrailNameException``).

        Raises
        ------
        TrailkitError
            Any other failure.
        """
        try:
            data = self.call("GetTrail", region, Name=name)
        except NotFound:
            return []
        except AwsError as err:
            if err.code in ("TrailNotFoundException", "InvalidTrailNameException"):
                return []
            raise
        trail = data.get("Trail")
        return [Trail.from_api(trail, seen_in=region)] if trail else []

    @requires("cloudtrail:ListTags")
    def list_tags(
        self, arns: Sequence[str], region: str, *, note: bool = True
    ) -> dict[str, tuple[tuple[tuple[str, str], ...] | None, str | None]]:
        """The tags of up to 20 trails of ``region`` (``ListTags``, one call, all pages).

        AWS: ``ResourceIdList`` takes at most 20 ARNs, of trails whose home region is the region
        asked (CloudTrail API reference, ``ListTags``).

        Parameters
        ----------
        arns : sequence of str
            Trail ARNs, at most 20, all of home region ``region``.
        region : str
            Their home region.
        note : bool
            Report a failure as a scan error (False for another account's trail: its tags are
            its owner's to read, and a refusal there is expected).

        Returns
        -------
        dict
            ARN -> (tags, error): the (key, value) pairs (empty when the trail has none), or
            None and why the call failed (the whole batch then has that error).
        """
        if len(arns) > LIST_TAGS_MAX:
            raise ValueError(f"ListTags takes at most {LIST_TAGS_MAX} ARNs")
        try:
            items = self.pages("ListTags", region, "ResourceTagList", ResourceIdList=list(arns))
        except TrailkitError as err:
            why = (
                self.noted(err, region=region, resource=arns[0] if len(arns) == 1 else None)
                if note
                else str(err)
            )
            return {arn: (None, why) for arn in arns}
        found: dict[str, tuple[tuple[str, str], ...]] = {}
        for item in items:
            pairs = tuple(
                (str(t.get("Key")), str(t.get("Value") or ""))
                for t in item.get("TagsList") or []
                if t.get("Key") is not None
            )
            arn = str(item.get("ResourceId") or "")
            found[arn] = found.get(arn, ()) + pairs
        return {arn: (found.get(arn, ()), None) for arn in arns}


#: ``ListTags`` takes at most 20 ARNs a call.
LIST_TAGS_MAX = 20


class Regions(ServiceReader):
    """The regions of the account (``ec2:DescribeRegions``)."""

    service = "ec2"

    @requires("ec2:DescribeRegions")
    def enabled(self) -> list[str]:
        """The regions enabled for the account, sorted.

        A region is enabled when its ``OptInStatus`` is ``opt-in-not-required`` or ``opted-in``
        (EC2 API reference, ``DescribeRegions``).

        Returns
        -------
        list of str

        Raises
        ------
        AccessDenied
            Without ``ec2:DescribeRegions``; the remedy suggests ``--regions``.
        TrailkitError
            Any other failure.
        """
        try:
            data = self.call("DescribeRegions", self.conn.region)
        except AccessDenied as err:
            err.fix = _("grant ec2:DescribeRegions or name the regions with --regions")
            raise
        return sorted(
            str(r["RegionName"])
            for r in data.get("Regions") or []
            if r.get("OptInStatus", "opt-in-not-required") in ("opt-in-not-required", "opted-in")
        )


@requires("ec2:DescribeRegions")
def list_regions(conn: Connection) -> list[str]:
    """The regions enabled for the account (``ec2:DescribeRegions``).

    Parameters
    ----------
    conn : Connection
        The connection.

    Returns
    -------
    list of str
        Sorted region names.

    Raises
    ------
    TrailkitError
        When the regions cannot be listed; the message suggests ``--regions``.
    """
    return Regions(conn).enabled()
