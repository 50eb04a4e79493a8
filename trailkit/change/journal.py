"""The append-only change journal: one JSON object per line, never rewritten.

Every change trailkit sends to AWS (a trail's KMS key via ``UpdateTrail``, a key policy via
``PutKeyPolicy``) is recorded twice:

1. an *intent* record, written and ``fsync``'ed **before** the call is made, and
2. an *outcome* record (``done`` or ``failed``) after it.

An intent without an outcome means the process died between the two (or the call's result is
unknown); :func:`reconcile` reads the live state and settles such changes with a ``reconciled``
record. After an applied change, ``trailkit verify`` may append any number of ``verified``
records (:meth:`Journal.record_verification`): proofs that the log files delivered since carry
the expected encryption. They are never outcomes: they settle, supersede and undo nothing, and
the newest is shown in the journal's Delivery column. The journal is the operator's proof of
what was changed and the basis of rollback, so:

* records are only ever appended (``O_APPEND``), each with one ``write`` and an ``fsync``;
* concurrent writers (threads and processes) are serialised with a process-level lock and an
  exclusive ``flock``, so lines never interleave;
* a line torn by a crash is reported by :meth:`Journal.read` and skipped, and the next append
  starts on a fresh line, so no other record is ever lost;
* the file is created ``0600`` (its new parent directories ``0700``) and looser permissions on an
  existing file are tightened;
* a record whose fields look like they contain AWS credentials is refused (defence in depth:
  trailkit never puts credentials in a record in the first place).

The file is plain JSON Lines with sorted keys, so ``jq`` and ``grep`` work on it. This module
never talks to AWS.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import socket
import stat
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import platformdirs

from trailkit.errors import InputError, JournalError, NotFound, TrailkitError
from trailkit.i18n import N_, _, language
from trailkit.records.journal import (
    NOTE_APPLIED,
    NOTE_CHANGED,
    NOTE_NOT_APPLIED,
    NOTE_TARGET_GONE,
    OUTCOME_PHASES,
    PROOF_STATUSES,
    Change,
    Kind,
    Phase,
    ProofLike,
    ReadResult,
    Record,
    record_from_line,
    utc_now,
)

if sys.platform != "win32":
    import fcntl

__all__ = [
    "DEMO_JOURNAL_NAME",
    "JOURNAL_ENV",
    "LEASE_SECONDS",
    "MAX_LINE_BYTES",
    "NOTE_APPLIED",
    "NOTE_CHANGED",
    "NOTE_NOT_APPLIED",
    "NOTE_TARGET_GONE",
    "Change",
    "Journal",
    "Kind",
    "Phase",
    "ReadResult",
    "Record",
    "credential_shape",
    "default_path",
    "demo_path",
    "in_flight",
    "reconcile",
    "writer_running",
]

#: Environment variable that overrides the journal's location.
JOURNAL_ENV = "TRAILKIT_JOURNAL"

#: The longest line the journal writes or parses (bytes, newline excluded). KMS key policies are
#: at most 32 KiB, so a real record is far below this; longer lines are reported, not parsed.
MAX_LINE_BYTES = 1 << 20


#: The file name of the demo's own journal, next to the real one.
DEMO_JOURNAL_NAME = "demo-journal.jsonl"


def default_path(*, demo: bool = False) -> Path:
    """Where the journal lives unless a path is given.

    Parameters
    ----------
    demo
        The path for the demo backend: the demo's changes never mix with real ones.

    Returns
    -------
    Path
        ``$TRAILKIT_JOURNAL`` if it is set and not empty, otherwise
        ``<user data dir>/trailkit/journal.jsonl`` (``platformdirs.user_data_path``), or
        :func:`demo_path` for the demo.
    """
    override = os.environ.get(JOURNAL_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    if demo:
        return demo_path()
    return platformdirs.user_data_path("trailkit", appauthor=False) / "journal.jsonl"


def demo_path() -> Path:
    """The demo's own journal: ``<user data dir>/trailkit/demo-journal.jsonl``."""
    return platformdirs.user_data_path("trailkit", appauthor=False) / DEMO_JOURNAL_NAME


# --------------------------------------------------------------------------------------------
# Credential screening
# --------------------------------------------------------------------------------------------

# Values are screened by their *shape*, never by names: a key policy statement whose Sid is
# "AllowSessionTokenUsers" is an ordinary value; a string shaped like an access key id is not.
_ACCESS_KEY_ID = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")
# A secret access key: 40 base64 characters with mixed case and a digit, within a short
# distance of an access key id (a lone 40-character string is often a hash or an id).
_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_SECRET_NEAR = 200
# A session token: STS tokens are long base64 blobs; the current and older formats start with
# these prefixes. A run of 300 or more base64 characters of mixed case, digits and at least 20
# distinct characters is treated as one too (padding such as "xxxx..." is not).
_TOKEN_PREFIXES = ("IQoJb3JpZ2luX2", "FwoGZXIvYXdzE", "FQoGZXIvYXdzE")
_SESSION_TOKEN = re.compile(
    r"(?:IQoJb3JpZ2luX2|FwoGZXIvYXdzE|FQoGZXIvYXdzE)[A-Za-z0-9/+]{60,}={0,2}"
    r"|(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{300,}={0,2}"
)


def _looks_like_secret_key(text: str) -> bool:
    return (
        any(c.islower() for c in text)
        and any(c.isupper() for c in text)
        and any(c.isdigit() for c in text)
    )


def credential_shape(value: str) -> str | None:
    """What credential ``value`` looks like it contains, by shape; None when it looks like none.

    Parameters
    ----------
    value
        Any text (a record field, a key policy).

    Returns
    -------
    str or None
        ``"an AWS access key id"`` (``AKIA``/``ASIA`` + 16 characters), ``"a secret
        access key"`` (40 base64 characters near an access key id), ``"a session token"`` (an
        STS token's prefix, or a base64 run of 300+ characters), or None. Names (JSON keys,
        Sids, query parameter names) never count.
    """
    ids = list(_ACCESS_KEY_ID.finditer(value))
    for match in ids:
        lo, hi = match.start() - _SECRET_NEAR, match.end() + _SECRET_NEAR
        for secret in _SECRET_KEY.finditer(value, max(lo, 0), min(hi, len(value))):
            if _looks_like_secret_key(secret.group()):
                return N_("a secret access key")
    if ids:
        return N_("an AWS access key id")
    for token in _SESSION_TOKEN.finditer(value):
        text = token.group()
        if text.startswith(_TOKEN_PREFIXES) or (
            _looks_like_secret_key(text) and len(set(text)) >= 20
        ):
            return N_("a session token")
    return None


def _check_no_credentials(record: Record) -> None:
    for name, value in record.as_dict().items():
        if not isinstance(value, str):
            continue
        what = credential_shape(value)
        if what is not None:
            # Never echo the value: it may be the credential.
            raise JournalError(
                _(
                    "Refusing to write change {change_id} to the journal: field {field} "
                    "contains what looks like {what}."
                ).format(change_id=record.change_id, field=repr(name), what=_(what)),
                _("remove credentials from the value; the journal must never hold them"),
            )


# --------------------------------------------------------------------------------------------
# File handling
# --------------------------------------------------------------------------------------------

_PROCESS_LOCK = threading.Lock()


@contextmanager
def _flock(fd: int, exclusive: bool) -> Iterator[None]:
    """Hold an advisory lock on ``fd`` (no-op where ``flock`` does not exist)."""
    if sys.platform == "win32":
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _make_dirs(directory: Path) -> None:
    """Create ``directory`` and missing parents with mode 0700 (existing ones are untouched)."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)  # the umask may have removed owner bits


def _fsync_dir(directory: Path) -> None:
    """Make a new directory entry durable (best effort; not possible everywhere)."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _ends_with_newline(fd: int, size: int) -> bool:
    if size == 0:
        return True
    os.lseek(fd, size - 1, os.SEEK_SET)
    return os.read(fd, 1) == b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, _("write returned no progress"))
        view = view[written:]


@dataclass(frozen=True)
class _Loaded:
    records: tuple[tuple[int, Record], ...]
    changes: tuple[tuple[Change, int], ...]  # change and the line of its latest record
    problems: tuple[str, ...]


_EMPTY = _Loaded((), (), ())
#: What could not be done to the journal file (:meth:`Journal._os_error`), one sentence each.
_CANNOT = {
    "create": N_("Cannot create the journal {path}: {error}."),
    "write": N_("Cannot write the journal {path}: {error}."),
    "open": N_("Cannot open the journal {path}: {error}."),
    "read": N_("Cannot read the journal {path}: {error}."),
}
#: :meth:`Journal.tails`: the first tail read (bytes; about 90 records) and its growth factor.
_TAIL_FIRST = 1 << 16
_TAIL_GROWTH = 4
#: ``O_NONBLOCK``: opening a FIFO must never wait for a writer (no effect on regular files).
_OPEN_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
_HOST = socket.gethostname()


class Journal:
    """The change journal at one path.

    Parameters
    ----------
    path
        The JSON Lines file; None means :func:`default_path`. The file and its directory are
        created on the first :meth:`append`.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        if isinstance(path, str) and not path.strip():
            # Path("") is ".", which would read as "the journal . is a directory".
            raise JournalError(
                _("The journal path is empty."),
                _(
                    "give a file path (--journal PATH, TRAILKIT_JOURNAL), or leave it out for "
                    "the default journal"
                ),
            )
        self.path: Path = default_path() if path is None else Path(path).expanduser()
        # The parse of one version of the file, in one language (its problems are sentences).
        self._cache: tuple[tuple[int, int, int, int], str, _Loaded] | None = None
        # The change ids issued in the current second (``new_change_id``): never one twice.
        self._issued: tuple[str, set[str]] = ("", set())
        self._issued_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    # -- writing -----------------------------------------------------------------------------

    def new_change_id(self) -> str:
        """A new change id that sorts by time: ``chg-<UTC timestamp>-<6 hex>``.

        Unique among the ids this journal object issues (one drawn in the same second as an
        earlier one is drawn again: 6 random hex digits alone collide about once in 130 runs
        of 500 ids a second); across processes, two ids of the same second differ with
        probability 1 - 2**-24.
        """
        with self._issued_lock:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            second, issued = self._issued
            if second != stamp:
                issued = set()
                self._issued = (stamp, issued)
            while True:
                change_id = f"chg-{stamp}-{uuid.uuid4().hex[:6]}"
                if change_id not in issued:
                    issued.add(change_id)
                    return change_id

    def append(self, record: Record) -> None:
        """Append one record durably (written and fsync'ed when this returns).

        Parameters
        ----------
        record
            The record to write.

        Raises
        ------
        JournalError
            The record looks like it holds credentials or is longer than
            :data:`MAX_LINE_BYTES` (nothing is written), or the file cannot be created, locked,
            tightened to 0600 or written.
        """
        _check_no_credentials(record)
        data = record.as_json().encode("ascii") + b"\n"
        if len(data) - 1 > MAX_LINE_BYTES:
            raise JournalError(
                _(
                    "Refusing to write change {change_id}: the record is {size} bytes, more "
                    "than the journal's {limit}-byte line limit."
                ).format(change_id=record.change_id, size=len(data) - 1, limit=MAX_LINE_BYTES),
                _("this is a bug in the caller; a key policy is at most 32 KiB"),
            )
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | _OPEN_FLAGS
        with _PROCESS_LOCK:
            self._require_regular()
            try:
                created = not self.path.exists()
                _make_dirs(self.path.parent)
                fd = os.open(self.path, flags, 0o600)
            except OSError as exc:
                raise self._os_error("create", exc) from exc
            try:
                with _flock(fd, exclusive=True):
                    size = os.fstat(fd).st_size
                    if not _looks_like_journal(fd):
                        raise self._not_a_journal()
                    self._tighten(fd)
                    if not _ends_with_newline(fd, size):
                        # A torn last line (a crash mid-write): start on a line of our own.
                        data = b"\n" + data
                    _write_all(fd, data)
                    os.fsync(fd)
            except OSError as exc:
                raise self._os_error("write", exc) from exc
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.path.parent)

    def _not_a_journal(self) -> JournalError:
        return JournalError(
            _(
                "{path} is not a trailkit journal: none of its first lines is a journal record. "
                "Nothing was written to it and nothing was sent."
            ).format(path=self.path),
            _(
                "point --journal or {variable} at the journal, or at a path that does not exist "
                "yet; if it is a journal whose only record was cut short, move it aside"
            ).format(variable=JOURNAL_ENV),
        )

    def _require_regular(self) -> None:
        """Refuse a path that exists and is not a regular file, before opening it.

        Opening a FIFO for reading blocks until someone writes to it, so the type is checked
        with ``stat`` first (and every open is non-blocking as well).
        """
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._os_error("open", exc) from exc
        if not _is_regular(st.st_mode):
            raise self._not_regular(st.st_mode)

    def _not_regular(self, mode: int) -> JournalError:
        message = (
            _("The journal {path} is a directory, not a regular file.")
            if stat.S_ISDIR(mode)
            else _("The journal {path} is a FIFO (named pipe), not a regular file.")
            if stat.S_ISFIFO(mode)
            else _("The journal {path} is a socket, not a regular file.")
            if stat.S_ISSOCK(mode)
            else _("The journal {path} is a device, not a regular file.")
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else _("The journal {path} is not a regular file, not a regular file.")
        )
        return JournalError(
            message.format(path=self.path),
            _(
                "point --journal or {variable} at a regular file (or a path that does not exist "
                "yet)"
            ).format(variable=JOURNAL_ENV),
        )

    def _tighten(self, fd: int) -> None:
        st = os.fstat(fd)
        if not _is_regular(st.st_mode):
            raise self._not_regular(st.st_mode)
        if st.st_mode & 0o077:
            try:
                if sys.platform == "win32":
                    os.chmod(self.path, 0o600)
                else:
                    os.fchmod(fd, 0o600)
            except OSError as exc:
                raise JournalError(
                    _(
                        "The journal {path} is readable by others (mode {mode}) and could not "
                        "be made private: {error}."
                    ).format(
                        path=self.path, mode=f"{st.st_mode & 0o777:04o}", error=exc.strerror or exc
                    ),
                    # The command stays one line to copy: its path is not translated text.
                    _("run {command} as its owner").format(command=f"`chmod 600 {self.path}`"),
                ) from exc

    def _os_error(self, action: str, exc: OSError) -> JournalError:
        return JournalError(
            _(_CANNOT[action]).format(path=self.path, error=exc.strerror or exc),
            _("check the path and its permissions, or set {variable} to a writable file").format(
                variable=JOURNAL_ENV
            ),
        )

    def record_intent(
        self,
        *,
        kind: Kind,
        target_arn: str,
        region: str,
        before: str | None,
        after: str | None,
        caller_arn: str,
        account: str,
        endpoint: str,
        backend: str,
        change_id: str | None = None,
        time: str | None = None,
        request_id: str | None = None,
        rollback_of: str | None = None,
        trail_arn: str | None = None,
        note: str | None = None,
        role_arn: str | None = None,
        via_account: str | None = None,
    ) -> Record:
        """Build an ``INTENT`` record (time = now, a new change id unless given) and append it.

        Call this *before* the AWS call; when it returns the intent is on disk. ``role_arn``:
        the role assumed to act in ``account`` (another account than the caller's own), and
        ``via_account`` the caller's own account that assumed it; the outcome records carry
        both too.

        Returns
        -------
        Record
            The record written; pass it to :meth:`record_outcome`.
        """
        record = Record(
            change_id=change_id or self.new_change_id(),
            phase=Phase.INTENT,
            kind=kind,
            time=time or utc_now(),
            caller_arn=caller_arn,
            account=account,
            endpoint=endpoint,
            backend=backend,
            target_arn=target_arn,
            region=region,
            before=before,
            after=after,
            request_id=request_id,
            rollback_of=rollback_of,
            trail_arn=trail_arn,
            note=note,
            host=_HOST,
            pid=os.getpid(),
            role_arn=role_arn,
            via_account=via_account if role_arn is not None else None,
        )
        self.append(record)
        _STARTED.append((self.path, record.change_id))
        return record

    def record_outcome(
        self,
        intent: Record,
        phase: Phase,
        *,
        after: str | None,
        request_id: str | None = None,
        error: str | None = None,
        note: str | None = None,
        time: str | None = None,
    ) -> Record:
        """Append the outcome of ``intent`` (same change id, target and ``before``).

        Parameters
        ----------
        intent
            The intent record returned by :meth:`record_intent`.
        phase
            ``DONE``, ``FAILED`` or ``RECONCILED``.
        after
            The value observed (or, if not observable, requested) after the call.
        request_id, error, note
            The AWS request id, the translated error message (for ``FAILED``), free text.
        time
            Defaults to now.

        Returns
        -------
        Record

        Raises
        ------
        InputError
            ``intent`` is not an intent record, or ``phase`` is ``INTENT``.
        """
        record = self.outcome_record(
            intent, phase, after=after, request_id=request_id, error=error, note=note, time=time
        )
        self.append(record)
        return record

    def outcome_record(
        self,
        intent: Record,
        phase: Phase,
        *,
        after: str | None,
        request_id: str | None = None,
        error: str | None = None,
        note: str | None = None,
        time: str | None = None,
    ) -> Record:
        """The outcome record :meth:`record_outcome` would append, without writing it.

        Raises
        ------
        InputError
            As for :meth:`record_outcome`.
        """
        if intent.phase is not Phase.INTENT:
            raise InputError(
                _(
                    "record_outcome needs the intent record of change {change_id}, not its "
                    "{phase} record."
                ).format(change_id=intent.change_id, phase=repr(intent.phase.value))
            )
        phase = Phase(phase)
        if phase not in OUTCOME_PHASES:
            raise InputError(
                _("an outcome cannot have phase {phase}.").format(phase=repr(phase.value))
            )
        return dataclasses.replace(
            intent,
            phase=phase,
            time=time or utc_now(),
            after=after,
            request_id=request_id if request_id is not None else intent.request_id,
            error=error,
            note=note,
            host=None,
            pid=None,
        )

    def record_verification(self, change: Change, proof: ProofLike) -> Record:
        """Append the delivery proof of an applied change: a ``VERIFIED`` record (issue 17).

        Any number may be written for one change; the newest is
        :attr:`~trailkit.records.journal.Change.verification`. It is not an outcome: the
        change's status, :meth:`pending`, :func:`reconcile`, rollback and :meth:`last` do not
        look at it.

        Parameters
        ----------
        change
            The change proved, as read from this journal; it must be applied (``done`` or
            ``reconciled-done``).
        proof
            The proof (``trailkit.records.proof.Proof``; only the attributes of
            :class:`~trailkit.records.journal.ProofLike` are read). The record's ``note`` is
            its status, ``after`` the ``SSEKMSKeyId`` of its log object when that is
            ``aws:kms`` (else None), ``error`` its reason unless proven, ``log_object`` and
            ``digest_object`` the S3 keys read, ``time`` its ``checked_at`` (UTC; now when
            None).

        Returns
        -------
        Record
            The record written.

        Raises
        ------
        InputError
            The change is not applied (failed, pending, reconciled otherwise), the proof is of
            another change, or its status is not one of
            :data:`~trailkit.records.journal.PROOF_STATUSES`.
        JournalError
            As for :meth:`append`.
        """
        record = self.verification_record(change, proof)
        self.append(record)
        return record

    def verification_record(self, change: Change, proof: ProofLike) -> Record:
        """The record :meth:`record_verification` would append, without writing it.

        Raises
        ------
        InputError
            As for :meth:`record_verification`.
        """
        if not change.applied:
            raise InputError(
                _(
                    "Cannot record a delivery proof for change {change_id}: it is {status}, "
                    "not applied."
                ).format(change_id=change.change_id, status=change.status_text),
                _("prove the delivery of an applied change (done or reconciled-done)"),
            )
        if proof.change_id is not None and proof.change_id != change.change_id:
            raise InputError(
                _("The delivery proof is of change {proved}, not of change {change_id}.").format(
                    proved=proof.change_id, change_id=change.change_id
                )
            )
        status = str(proof.status)
        if status not in PROOF_STATUSES:
            raise InputError(
                _("unknown delivery proof status {value} (expected one of {known}).").format(
                    value=repr(status), known=", ".join(PROOF_STATUSES)
                )
            )
        log, digest = proof.log, proof.digest
        key = log.kms_key_id if log is not None and log.encryption == "aws:kms" else None
        return dataclasses.replace(
            change.intent,
            phase=Phase.VERIFIED,
            time=_utc_text(proof.checked_at) if proof.checked_at is not None else utc_now(),
            after=key,
            request_id=None,
            error=None if status == "proven" else proof.reason,
            note=status,
            host=None,
            pid=None,
            log_object=log.key if log is not None else None,
            digest_object=digest.key if digest is not None else None,
        )

    # -- reading -----------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[tuple[int, tuple[int, int, int, int]] | None]:
        """The file open for reading under a shared lock, with its version (device, inode, size,
        mtime); None when it does not exist. Refuses anything but a regular file (a FIFO would
        block) and turns OS errors into :class:`JournalError`."""
        try:
            fd = os.open(self.path, os.O_RDONLY | _OPEN_FLAGS)
        except FileNotFoundError:
            yield None
            return
        except OSError as exc:
            raise self._os_error("open", exc) from exc
        try:
            st = os.fstat(fd)
            if not _is_regular(st.st_mode):
                raise self._not_regular(st.st_mode)
            with _flock(fd, exclusive=False):
                st = os.fstat(fd)
                yield fd, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError as exc:
            raise self._os_error("read", exc) from exc
        finally:
            os.close(fd)

    def _cached(self, version: tuple[int, int, int, int]) -> _Loaded | None:
        cached = self._cache
        if cached is None or cached[0] != version or cached[1] != language():
            return None
        return cached[2]

    def _load(self) -> _Loaded:
        """Parse the file once per version of it (cached by device, inode, size and mtime).

        The file is read line by line under a shared lock, so memory holds the records, not the
        file's text as well.
        """
        with self._locked() as opened:
            if opened is None:
                return _EMPTY
            fd, version = opened
            loaded = self._cached(version)
            if loaded is None:
                loaded = _parse(fd)
                self._cache = (version, language(), loaded)
            return loaded

    def read(self) -> ReadResult:
        """Every readable record, and a message for each line that is not.

        Never raises for bad content: corrupt, truncated, oversized or non-UTF-8 lines are
        reported in ``problems`` and skipped; outcomes without an intent (and duplicate or
        mismatched outcomes) are reported too. A missing file is an empty journal.

        Raises
        ------
        JournalError
            The file exists but cannot be read.
        """
        loaded = self._load()
        return ReadResult(tuple(r for _line, r in loaded.records), loaded.problems)

    def parsed_problems(self) -> tuple[str, ...]:
        """The problems :meth:`read` would report, when the whole file is parsed already.

        For a command that read only the journal's tail (:meth:`tails`, ``rollback --last``)
        this costs nothing: a tail with a damaged line is never used, so any damage in what
        such a command relied on made it parse the whole file, whose problems are returned.
        Empty when the whole file was not parsed (the tail it read was sound), or it changed
        since.

        Raises
        ------
        JournalError
            The file exists but cannot be read.
        """
        with self._locked() as opened:
            if opened is None:
                return ()
            loaded = self._cached(opened[1])
        return loaded.problems if loaded is not None else ()

    def changes(self) -> list[Change]:
        """All changes, grouped by ``change_id`` in the order their intents were written.

        Records that cannot be folded (see :meth:`read`) are left out; :meth:`read` reports
        them.
        """
        return [change for change, _position in self._load().changes]

    def get(self, change_id: str) -> Change:
        """The change with this id.

        Raises
        ------
        JournalError
            No such change in the journal.
        """
        for change in self.changes():
            if change.change_id == change_id:
                return change
        raise JournalError(
            _("No change {change_id} in {path}.").format(change_id=change_id, path=self.path),
            _("check the change id against the journal's list of changes"),
        )

    def last(self, *, kind: Kind | None = None, done_only: bool = True) -> Change:
        """The most recent change: the one whose latest record was written last.

        Parameters
        ----------
        kind
            Only changes of this kind.
        done_only
            Only changes known to have taken effect (``done`` or ``reconciled-done``).

        Raises
        ------
        JournalError
            No change matches.
        """
        best: tuple[int, Change] | None = None
        for change, position in self._load().changes:
            if kind is not None and change.intent.kind is not kind:
                continue
            if done_only and not change.applied:
                continue
            if best is None or position > best[0]:
                best = (position, change)
        if best is None:
            if kind is None:
                message = (
                    _("no applied change in {path}") if done_only else _("no change in {path}")
                )
            elif done_only:
                message = _("no applied {kind} change in {path}")
            else:
                message = _("no {kind} change in {path}")
            kind_code = kind.value if kind else ""
            raise JournalError(message.format(kind=kind_code, path=self.path), "")
        return best[1]

    def pending(self) -> list[Change]:
        """Changes with an intent but no outcome, in the order they were started."""
        return [change for change in self.changes() if not change.settled]

    def tails(self) -> Iterator[list[Change]]:
        """The newest changes first, then more: growing suffixes of :meth:`changes`.

        Yields the changes whose intent lies in the last 64 KiB of the file, then the last
        256 KiB, 1 MiB, ... and finally :meth:`changes` itself (all of them). Each list is
        complete for the changes it holds (an outcome is always written after its intent), so
        a question that depends only on a change and the changes after it (is it undone, is a
        newer change in force: :func:`trailkit.records.journal.undoable`) has the same answer
        on a tail as on the whole journal. ``rollback --last`` stops at the first tail that
        answers, instead of parsing a journal of 100,000 records.

        A tail with an unreadable line or a record that does not fold (a damaged journal) is
        not yielded: the search goes on to the whole file, whose problems :meth:`read`
        reports. When the whole file is already parsed (and unchanged), only it is yielded.

        Raises
        ------
        JournalError
            The file exists but cannot be read.
        """
        size = _TAIL_FIRST
        while True:
            tail = self._load_tail(size)
            if tail is None:
                break
            changes, whole = tail
            if whole:
                yield changes
                return
            if changes:
                yield changes
            size *= _TAIL_GROWTH
        yield self.changes()

    def _load_tail(self, size: int) -> tuple[list[Change], bool] | None:
        """The changes whose intent lies in the last ``size`` bytes, and whether that is all
        of the file (the full parse, cached). None: the tail does not parse cleanly, or the
        file is no bigger than ``size`` (use the full parse)."""
        with self._locked() as opened:
            if opened is None:
                return [], True
            fd, version = opened
            loaded = self._cached(version)
            if loaded is not None:
                return [change for change, _position in loaded.changes], True
            file_size = version[2]
            if file_size <= 2 * size:
                return None  # the tail would be most of the file: parse the file once
            data = os.pread(fd, size, file_size - size)
        # The first line is cut (or starts exactly here; either way it is left out).
        lines = data.split(b"\n")[1:]
        records: list[tuple[int, Record]] = []
        problems: list[str] = []
        shared: dict[str, str] = {}
        for number, chunk in enumerate(lines, start=1):
            record = _parse_line(chunk, number, problems, shared, complete=True)
            if record is not None:
                records.append((number, record))
        if problems:
            return None
        changes, fold_problems = _fold(records, partial=True)
        if fold_problems:
            return None
        return [change for change, _position in changes], False


def _parse(fd: int) -> _Loaded:
    """Parse the journal open on ``fd`` (from its start) in one pass."""
    os.lseek(fd, 0, os.SEEK_SET)
    records: list[tuple[int, Record]] = []
    problems: list[str] = []
    shared: dict[str, str] = {}
    limit = MAX_LINE_BYTES + 1
    with os.fdopen(os.dup(fd), "rb", buffering=1 << 16) as stream:
        number = 0
        while chunk := stream.readline(limit):
            number += 1
            complete = chunk.endswith(b"\n")
            if not complete and len(chunk) == limit:
                # Longer than any record: skipped without holding it (a torn, zero-filled tail
                # of gigabytes must not fill the memory).
                size, complete = _skip_line(stream, len(chunk))
                problems.append(_too_long(number, size))
                continue
            if complete:
                chunk = chunk[:-1]
            record = _parse_line(chunk, number, problems, shared, complete=complete)
            if record is not None:
                records.append((number, record))
    changes, fold_problems = _fold(records)
    return _Loaded(tuple(records), tuple(changes), tuple(problems + fold_problems))


def _utc_text(when: datetime) -> str:
    """``when`` as a journal time: ISO 8601 UTC with ``Z``, second precision (a naive time is
    taken to be UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _looks_like_journal(fd: int) -> bool:
    """Whether a file may be written to as a journal: empty (or blank), or one of the lines in
    its first 64 KiB is a journal record. Any other file (notes, a config, ``/proc/...``) given
    as ``--journal`` by mistake is left alone: records are not appended to it and its mode is
    not changed."""
    # Read whatever is there: /proc files and other special regular files report size 0.
    head = os.pread(fd, 1 << 16, 0)
    if not head.strip():
        return True
    for line in head.splitlines():
        if not line.strip():
            continue
        try:
            Record.from_json(line.decode("utf-8"))
        except (JournalError, UnicodeDecodeError):
            continue
        return True
    return False


def _skip_line(stream: BinaryIO, read: int) -> tuple[int, bool]:
    """Read past the rest of an over-long line: (its length without the newline, whether it
    ended with one)."""
    while more := stream.readline(1 << 20):
        if more.endswith(b"\n"):
            return read + len(more) - 1, True
        read += len(more)
    return read, False


def _too_long(number: int, size: int) -> str:
    return _(
        "line {number}: {size} bytes, longer than the {limit}-byte limit for a record; skipped"
    ).format(number=number, size=size, limit=MAX_LINE_BYTES)


def _parse_line(
    chunk: bytes,
    number: int,
    problems: list[str],
    shared: dict[str, str],
    *,
    complete: bool,
) -> Record | None:
    """One line (without its newline) as a record; None (and a problem noted) if it is not."""
    if len(chunk) > MAX_LINE_BYTES:
        problems.append(_too_long(number, len(chunk)))
        return None
    record = record_from_line(chunk, shared)
    if record is not None:
        return record
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            _("line {number}: not UTF-8 text (bad byte at offset {offset})").format(
                number=number, offset=exc.start
            )
        )
        return None
    if not text.strip():
        return None
    try:
        return Record.from_json(text, shared)
    except JournalError as exc:
        message = exc.message.rstrip(".。")
        if not complete and not _parses_as_json(text):
            message = _("truncated JSON (the last write may have been interrupted)")
        problems.append(_("line {number}: {problem}").format(number=number, problem=message))
        return None


def _is_regular(mode: int) -> bool:
    return stat.S_ISREG(mode)


def _parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _fold(
    records: list[tuple[int, Record]], *, partial: bool = False
) -> tuple[list[tuple[Change, int]], list[str]]:
    """Group records by change id; report outcomes (and ``verified`` records) that do not fit
    an intent.

    A ``verified`` record becomes the change's :attr:`~Change.verification` (the last one in the
    file wins), wherever it lies in the file; it is never an outcome, so it neither
    settles a change nor counts as a second outcome, and a change's position (the line of its
    latest record, :meth:`Journal.last`) stays that of its intent or outcome.

    ``partial``: the records are a tail of the file, so an outcome whose intent is not among
    them belongs to an earlier change and is left out silently.
    """
    intents: dict[str, tuple[int, Record]] = {}
    problems: list[str] = []
    for number, record in records:
        if record.phase is not Phase.INTENT:
            continue
        if record.change_id in intents:
            first = intents[record.change_id][0]
            problems.append(
                _(
                    "line {number}: second intent for {change_id} (the first is on line "
                    "{first}); ignored"
                ).format(number=number, change_id=record.change_id, first=first)
            )
            continue
        intents[record.change_id] = (number, record)
    outcomes: dict[str, tuple[int, Record]] = {}
    verified: dict[str, Record] = {}
    for number, record in records:
        if record.phase is Phase.INTENT:
            continue
        cid = record.change_id
        if cid not in intents:
            if partial:
                continue
            problems.append(
                _("line {number}: {phase} record for {change_id} has no intent record").format(
                    number=number, phase=record.phase.value, change_id=cid
                )
            )
            continue
        intent = intents[cid][1]
        if record.kind is not intent.kind or record.target_arn != intent.target_arn:
            problems.append(
                _(
                    "line {number}: {phase} record for {change_id} does not match its intent "
                    "(kind or target differs); ignored"
                ).format(number=number, phase=record.phase.value, change_id=cid)
            )
            continue
        if record.phase is Phase.VERIFIED:
            # A delivery proof: never an outcome (it settles and supersedes nothing, and the
            # change's position stays its outcome's). The one written last wins.
            verified[cid] = record
            continue
        if cid in outcomes and _supersedes(record, outcomes[cid][1]):
            # A real outcome written after a reconcile that settled the change too early (its
            # writer was still running) is what happened: it replaces the reconcile record.
            outcomes[cid] = (number, record)
            continue
        if cid in outcomes:
            problems.append(
                _(
                    "line {number}: second outcome for {change_id} (the first is on line "
                    "{first}); ignored"
                ).format(number=number, change_id=cid, first=outcomes[cid][0])
            )
            continue
        outcomes[cid] = (number, record)
    changes: list[tuple[Change, int]] = []
    for cid, (number, intent) in intents.items():
        outcome = outcomes.get(cid)
        position = outcome[0] if outcome else number
        change = Change(cid, intent, outcome[1] if outcome else None, verified.get(cid))
        changes.append((change, position))
    return changes, problems


def _supersedes(later: Record, earlier: Record) -> bool:
    return earlier.phase is Phase.RECONCILED and later.phase in (Phase.DONE, Phase.FAILED)


# --------------------------------------------------------------------------------------------
# Reconciliation and presentation
# --------------------------------------------------------------------------------------------


def _same(kind: Kind, a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    if kind is Kind.KEY_POLICY:
        try:
            return bool(json.loads(a) == json.loads(b))
        except (ValueError, RecursionError):
            pass
    return a == b


#: How long an intent whose writer cannot be checked (another host, or a journal written
#: before intents carried ``host``/``pid``) is assumed to be still in flight.
LEASE_SECONDS = 600
#: A live process with the writer's pid, older than this, is taken to be a reused pid.
STALE_SECONDS = 24 * 3600

_IN_FLIGHT: set[str] = set()
_INTERRUPTED: list[str] = []
_STARTED: list[tuple[Path, str]] = []
_IN_FLIGHT_LOCK = threading.Lock()


@contextmanager
def in_flight(change_id: str) -> Iterator[None]:
    """Mark ``change_id`` as being sent by this process (reconcile leaves it alone meanwhile).

    The journaled write holds this from its intent to its outcome.
    """
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.add(change_id)
    try:
        yield
    except KeyboardInterrupt:
        _INTERRUPTED.append(change_id)
        raise
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(change_id)


def started_changes() -> list[tuple[Path, str]]:
    """(journal path, change id) of every intent this process journaled, oldest first: what an
    interrupt may have left pending, applied, or not sent."""
    return list(_STARTED)


def interrupted_changes() -> list[str]:
    """The changes this process was sending when it was interrupted (Ctrl-C): their intents
    are journaled and they may have been applied; ``journal --reconcile`` settles them."""
    return list(_INTERRUPTED)


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists here (a pid no process can have: False)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    except (OSError, OverflowError, ValueError):
        return False  # e.g. 2**63 from a damaged journal: beyond any pid
    return True


def writer_running(intent: Record, now: datetime) -> str | None:
    """Why the process that wrote ``intent`` may still be sending it, or None if it cannot be.

    * written by this process: while the change is in flight here (:func:`in_flight`);
    * by another process on this host: while that pid is alive (for at most
      :data:`STALE_SECONDS`, after which a live pid is taken to be reused);
    * on another host, or by a version that did not record its writer: for
      :data:`LEASE_SECONDS` after the intent's time.
    """
    try:
        written = datetime.fromisoformat(intent.time.replace("Z", "+00:00"))
    except ValueError:
        written = now
    if written.tzinfo is None:
        written = written.replace(tzinfo=UTC)
    age = (now - written).total_seconds()
    if intent.host == _HOST and intent.pid is not None:
        if intent.pid == os.getpid():
            with _IN_FLIGHT_LOCK:
                running = intent.change_id in _IN_FLIGHT
            return _("this process is still sending it") if running else None
        if _pid_alive(intent.pid) and age < STALE_SECONDS:
            return _("its writer (process {pid} on this host) is still running").format(
                pid=intent.pid
            )
        return None
    if age < LEASE_SECONDS:
        fields = {"age": max(int(age), 0), "lease": LEASE_SECONDS}
        if intent.host:
            return _(
                "it was started {age} s ago by process {pid} on {host} that cannot be checked "
                "from here; it may still be in flight (wait {lease} s)"
            ).format(pid=intent.pid, host=intent.host, **fields)
        return _(
            "it was started {age} s ago by a process that cannot be checked from here; it may "
            "still be in flight (wait {lease} s)"
        ).format(**fields)
    return None


def _settled_note(intent: Record, observed: str | None) -> str:
    """What the state a change left says of it: applied, not applied, or changed since."""
    if _same(intent.kind, observed, intent.after):
        return NOTE_APPLIED
    if _same(intent.kind, observed, intent.before):
        return NOTE_NOT_APPLIED
    return NOTE_CHANGED


def _next_on_target(changes: list[Change], index: int) -> Change | None:
    """The first change after ``changes[index]`` to the same target (kind, ARN, account and
    endpoint), if the journal has one."""
    intent = changes[index].intent
    for later in changes[index + 1 :]:
        other = later.intent
        if (
            other.kind is intent.kind
            and other.target_arn == intent.target_arn
            and other.account == intent.account
            and other.endpoint == intent.endpoint
        ):
            return later
    return None


def reconcile(
    journal: Journal,
    read_state: Callable[[Record], str | None],
    *,
    now: Callable[[], str] | None = None,
    on_skip: Callable[[Change, str], None] | None = None,
) -> list[tuple[Change, Record]]:
    """Settle pending changes by reading the live state.

    For each pending change, ``read_state(intent)`` returns the current value (``TRAIL_KEY``: the
    trail's key ARN, None for SSE-S3; ``KEY_POLICY``: the policy JSON). A ``RECONCILED`` record is
    appended with ``after`` = the observed value and ``note``:

    * ``applied`` if it equals the intent's ``after`` (status ``reconciled-done``);
    * ``not-applied`` if it equals the intent's ``before`` (``reconciled-not-applied``);
    * ``changed-by-someone-else`` otherwise (``reconciled-changed``);
    * ``target-gone`` when ``read_state`` raises :class:`~trailkit.errors.NotFound`: the trail
      or key no longer exists (``reconciled-target-gone``, ``after`` = None).

    When the journal has a later change to the same target, the state that change read before
    it was sent (its intent's ``before``) is what this change left, and it decides instead of
    the live state (which later changes have moved on since); nothing is read.

    A change whose writer may still be running (see :func:`writer_running`) is left pending:
    settling it now could contradict the outcome that process is about to write. Key policies
    are compared as parsed JSON (falling back to the exact text). Settled changes are never
    touched, so running this twice is harmless.

    Parameters
    ----------
    journal
        The journal to settle.
    read_state
        Reads the live value for an intent; any other
        :class:`~trailkit.errors.TrailkitError` leaves that change pending (with the error as
        the reason) and the others are still reconciled.
    now
        Clock for the records' ``time`` (ISO 8601 UTC with ``Z``) and the writers' lease;
        defaults to the system clock.
    on_skip
        Called with each change left pending and why.

    Returns
    -------
    list of (Change, Record)
        For each change settled now: the change with its new outcome, and that outcome record.
    """
    clock = now or utc_now
    settled: list[tuple[Change, Record]] = []
    changes = journal.changes()
    position = {c.change_id: i for i, c in enumerate(changes)}
    for change in journal.pending():
        intent = change.intent
        stamp = clock()
        busy = writer_running(intent, datetime.fromisoformat(stamp.replace("Z", "+00:00")))
        if busy is not None:
            if on_skip is not None:
                on_skip(change, busy)
            continue
        later = _next_on_target(changes, position[change.change_id])
        note: str | None = None
        if later is not None:
            # A later change to the same target read its state before it was sent: that is the
            # state this change left, whatever the target holds now.
            observed = later.intent.before
        else:
            try:
                observed = read_state(intent)
            except NotFound:
                observed, note = None, NOTE_TARGET_GONE
            except TrailkitError as err:
                if on_skip is not None:
                    on_skip(change, str(err))
                continue
        if note is None:
            note = _settled_note(intent, observed)
        record = journal.record_outcome(
            intent, Phase.RECONCILED, after=observed, note=note, time=stamp
        )
        settled.append((Change(change.change_id, intent, record), record))
    return settled
