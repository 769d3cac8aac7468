"""Files other processes may read: one cache root, atomic publishing, build locks, verified manifests."""
from evalkit.storage.artefact import Artefact, Damaged, cached_artefact, require_artefact, verify_artefact
from evalkit.storage.atomic import atomic_file, atomic_write_bytes, atomic_write_text, write_error
from evalkit.storage.faults import fault_point
from evalkit.storage.paths import cache_root

__all__ = ["Artefact", "Damaged", "atomic_file", "atomic_write_bytes", "atomic_write_text", "cache_root", "cached_artefact",
           "fault_point", "require_artefact", "verify_artefact", "write_error"]
