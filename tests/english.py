"""Find English left in text meant to be Japanese (issue "日本語": the walk-through in ``ja``
prints no English sentence, codes, ARNs and names excepted).

One judge for every Japanese test: :func:`english_words` removes what stays English by design
(finding codes, ARNs, ids, names, API operations and actions, key states, options, commands in
backticks, URLs, paths, dates) and returns the English words that are left, line by line. Any
word left is English the operator would have to read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Words that stay English in Japanese text by design (docs/glossary.md, "Kept in English").
KEPT = frozenset(
    {
        # products, services, formats and acronyms
        "AWS",
        "KMS",
        "S3",
        "SSE",
        "SSE-KMS",
        "SSE-S3",
        "AES256",
        "aws:kms",
        "CloudTrail",
        "IAM",
        # infrastructure-as-code tools and languages (tab titles of the change as code)
        "CloudFormation",
        "Terraform",
        "CDK",
        "Python",
        "ARN",
        "ARNs",
        "ID",
        "IDs",
        "JSON",
        "CSV",
        "API",
        "URL",
        "UTC",
        "JST",
        "CLI",
        "SCP",
        "Control",
        "Tower",
        "AWSControlTowerExecution",
        "OrganizationAccountAccessRole",
        "FILE",
        "STS",
        "Organizations",
        "Voila",
        "Jupyter",
        "JupyterLab",
        "papermill",
        "trailkit",
        "moto",
        "demo",
        "Chromium",
        "OK",
        "Ctrl-C",
        "aws",
        "cloudtrail",
        "arn",  # the tail of a condition key: kms:EncryptionContext:aws:cloudtrail:arn
        "s3",  # the prefix of a condition key: s3:x-amz-acl
        "amazonaws",  # a service principal: cloudtrail.amazonaws.com
        "com",
        "mrk",  # the prefix of a multi-Region key id (mrk-)
        "Ctrl",
        "SIGTERM",
        "SIGINT",
        "Shift",
        "PID",
        "HTTP",
        "HTTPS",
        "TLS",
        "AWSLogs",
        "CloudTrail-Digest",
        "o-",
        "yes",
        "no",
        "y",
        "n",
        "ja",
        "en",
        "Enter",
        # key states and key facts as the API spells them
        "Enabled",
        "Disabled",
        "PendingDeletion",
        "PendingImport",
        "Unavailable",
        "Creating",
        "Updating",
        "PendingReplicaDeletion",
        "CUSTOMER",
        "AWS_KMS",
        "EXTERNAL",
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        "Allow",
        "Deny",
        "Principal",
        "Condition",
        "Action",
        "Resource",
        "Service",
        "Sid",
        "Version",
        "Id",
        "Statement",
        "Effect",
        "Name",  # UpdateTrail's request parameter, shown as sent
        # verdict and status codes shown as codes
        "READY",
        "BLOCKED",
        "UNVERIFIABLE",
        "PARTIAL",
        "RESULT",
        # standards and units named as they are written
        "ISO",
        "UTF",
        "KiB",
        "NaN",
    }
)

#: Removed before names (a name inside an ARN must not cut the ARN in two).
_FIRST = [
    re.compile(r"`[^`\n]*`"),  # commands and values in backticks
    re.compile(r"https?://\S+"),
    re.compile(r"\barn:[^\s,;()「」、。]+"),
    re.compile(r"\balias/[\w/+=,.@-]*"),
    # a key named by the short form of its id (key/1234abcd…, (1234abcd)): the demo's key ids
    # are new on every run, so they cannot be passed as names
    re.compile(r"\bkey/(?:mrk-)?[0-9a-f]{8,}…?|\b(?:mrk-)?(?=[0-9a-f]{8}\b)[0-9a-f]*\d[0-9a-f]*\b"),
]
_REMOVE = [
    re.compile(r"--[a-z][a-z0-9-]*(?:[ =][^\s,;()、。]+)?"),  # options, with their value
    re.compile(r"\b[A-Za-z0-9_.-]+\.(?:jsonl|json|py|ipynb|md|txt|po|mo)\b"),  # files
    re.compile(r"\bchg-\d{8}T\d{6}Z-[0-9a-f]+\b"),  # change ids
    re.compile(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b"),  # kebab-case: codes, names, regions
    re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b"),  # snake_case: parameters, fields
    re.compile(r"\b[A-Z0-9]+(?:_[A-Z0-9]+)+\b"),  # API values: RSA_2048, SIGN_VERIFY
    re.compile(r"\b[a-z0-9]+:[A-Za-z0-9*]+\b"),  # actions: kms:Decrypt, s3:PutObject
    re.compile(r"\b(?:[A-Z][a-z0-9]+){2,}\b"),  # API operations, exceptions: UpdateTrail
    re.compile(r"(?:~|\.{1,2})?/[\w./-]+"),  # paths
    re.compile(r"\b[0-9a-f]{8}-[0-9a-f-]{27,}\b"),  # key ids, change ids
    re.compile(r"\b[0-9a-f]{12,}\b"),  # hex ids
    re.compile(r"\b\d+[hdw]\b"),  # durations as typed: --since 30d, 12h, 2w
    re.compile(r"\b\d[\d:.TZ+-]*\b"),  # numbers, dates, times
]
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’]*(?:-[A-Za-z0-9]+)*")
_BOX = re.compile(r"[─━│┃┌┐└┘├┤┬┴┼╭╮╯╰═║╔╗╚╝▶▸•·…]")


def _whole_word(name: str) -> re.Pattern[str]:
    """``name`` where it stands on its own, not inside a longer word (``en`` must not cut
    ``broken`` in two, nor ``TRAIL`` ``$TRAILKIT_LANG``)."""
    return re.compile(rf"(?<![A-Za-z0-9_$]){re.escape(name)}(?![A-Za-z0-9_])")


def english_words(text: str, names: Iterable[str] = ()) -> list[tuple[str, list[str]]]:
    """(line, English words left) for each line of ``text`` that still has English to read.

    Parameters
    ----------
    text : str
        What was shown (ANSI colour codes are removed first).
    names : iterable of str
        Names that stay as they are: trails, buckets, keys, accounts, regions.

    Returns
    -------
    list of (str, list of str)
        A line is reported when any word of Latin letters is left once what stays English
        (:data:`KEPT`, ``names`` and the patterns above) is removed: an untranslated sentence,
        heading or label.
    """
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    ordered = sorted({n for n in names if n}, key=len, reverse=True)
    # A name with a blank or punctuation in it (a bad key id echoed back) goes first, whole;
    # other names after ARNs, so that a region or account inside an ARN cannot cut it in two.
    for name in (n for n in ordered if not re.fullmatch(r"[\w/.:@+=,-]+", n)):
        plain = _whole_word(name).sub(" ", plain)
    for pattern in _FIRST:
        plain = pattern.sub(" ", plain)
    for name in ordered:
        plain = _whole_word(name).sub(" ", plain)
    out: list[tuple[str, list[str]]] = []
    for line in plain.splitlines():
        rest = _BOX.sub(" ", line)
        for pattern in _REMOVE:
            rest = pattern.sub(" ", rest)
        words = [w for w in _WORD.findall(rest) if w not in KEPT and w.strip("'’") not in KEPT]
        if words:
            out.append((line.strip(), words))
    return out


def assert_japanese(text: str, names: Iterable[str] = (), *, what: str = "output") -> None:
    """Fail with each line that still has English, naming ``what`` was shown."""
    left = english_words(text, names)
    assert not left, f"English left in the Japanese {what}:\n" + "\n".join(
        f"  {words} in: {line}" for line, words in left
    )
