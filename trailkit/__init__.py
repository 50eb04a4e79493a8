"""trailkit: see, check and safely change the KMS encryption of AWS CloudTrail trails."""

from __future__ import annotations

__version__ = "0.1.0"
