"""The audit log: every biometric read, search, decision and deletion, hash-chained.

``chain`` is the pure core (events, entries, verification, rows); storage comes later.
"""

from bioexit.audit.chain import (
    CANONICAL_VERSION,
    EMPTY_HEAD,
    GENESIS_HASH,
    PURPOSE_REQUIRED,
    SEARCH_ACTIONS,
    AuditAction,
    AuditChain,
    AuditEntry,
    AuditEvent,
    AuditSink,
    VerifyResult,
    canonical_bytes,
    compute_hash,
    from_row,
    seal,
    subject_reference,
    to_row,
    verify,
)
from bioexit.errors import AuditError, AuditIntegrityError

__all__ = [
    "CANONICAL_VERSION",
    "EMPTY_HEAD",
    "GENESIS_HASH",
    "PURPOSE_REQUIRED",
    "SEARCH_ACTIONS",
    "AuditAction",
    "AuditChain",
    "AuditEntry",
    "AuditError",
    "AuditEvent",
    "AuditIntegrityError",
    "AuditSink",
    "VerifyResult",
    "canonical_bytes",
    "compute_hash",
    "from_row",
    "seal",
    "subject_reference",
    "to_row",
    "verify",
]
