"""HDF5 containers and the tables inside them (h5py; pandas tables also need PyTables).

Rules:
- A *table* of a container is either a group pandas wrote (it carries a ``pandas_type``
  attribute, e.g. ``df.to_hdf(path, key="households")``; its inner datasets are not tables
  of their own) or a plain dataset outside such a group. Tables are named by their full
  HDF5 path with the leading slash (``"/2025/households"``) and listed depth-first in the
  order HDF5 lists a group's members (by name, unless the file tracks creation order).
- A table's content hash is BLAKE3 over, for each dataset of the table in path order (the
  PyTables search index ``_i_*`` excluded, it is derived data): its relative name, dtype,
  shape, then its values read ``chunk_rows`` rows at a time (default 65,536), so memory stays
  bounded on large tables. Object / variable-length values are hashed element by element
  (their in-memory bytes are pointers).
- ``read_table`` returns a pandas DataFrame: ``pandas.read_hdf`` for pandas groups, the
  records of a compound dataset, one column for a 1-D dataset, columns ``0..n-1`` for a 2-D
  one; a dataset of more dimensions is refused (load it with h5py).
- ``open_container`` returns a read-only ``h5py.File``; the caller closes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import blake3

from consist._libs.extras import import_h5py, import_pytables
from consist._libs.pandas import import_pandas
from consist.errors import ConfigError

DEFAULT_CHUNK_ROWS = 65_536
_HASH_PREFIX = b"consist:h5-table-v1\0"


@dataclass(frozen=True, slots=True)
class TableInfo:
    """One table of an HDF5 container.

    Attributes
    ----------
    path: full HDF5 path with the leading slash, e.g. ``"/2025/households"``.
    kind: ``"pandas"`` (a group pandas wrote) or ``"dataset"`` (a plain HDF5 dataset).
    rows: number of rows when known (first dimension of the data), else ``None``.
    pandas_type: pandas' storage layout (``"frame_table"``, ``"frame"``...) for pandas groups.
    """

    path: str
    kind: str
    rows: int | None = None
    pandas_type: str | None = None

    def to_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"table_path": self.path, "h5_kind": self.kind}
        if self.rows is not None:
            meta["rows"] = self.rows
        if self.pandas_type is not None:
            meta["pandas_type"] = self.pandas_type
        return meta


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pandas_rows(group: Any) -> int | None:
    if "table" in group:
        return int(group["table"].shape[0])
    if "axis1" in group:
        return int(group["axis1"].shape[0])
    return None


def _info(node: Any, h5py: Any) -> TableInfo | None:
    path = "/" + node.name.lstrip("/")
    if isinstance(node, h5py.Group):
        if "pandas_type" not in node.attrs:
            return None
        pandas_type = _text(node.attrs["pandas_type"])
        return TableInfo(path, "pandas", _pandas_rows(node), pandas_type)
    shape = node.shape or ()
    return TableInfo(path, "dataset", int(shape[0]) if shape else None)


def list_tables(path: str) -> list[TableInfo]:
    """Every table of the HDF5 file at ``path``, depth-first in HDF5's member order."""
    h5py = import_h5py("Discovering the tables of an HDF5 file")
    found: list[TableInfo] = []

    def walk(group: Any) -> None:
        for name in group:
            node = group.get(name)
            if node is None:  # a dangling external / soft link
                continue
            info = _info(node, h5py)
            if info is not None:
                found.append(info)
            elif isinstance(node, h5py.Group):
                walk(node)

    with h5py.File(path, "r") as handle:
        walk(handle)
    return found


def table_info(path: str, table_path: str) -> TableInfo:
    """The table at ``table_path``; a missing path or a plain group is a ConfigError."""
    h5py = import_h5py("Reading an HDF5 table")
    with h5py.File(path, "r") as handle:
        node = handle.get(table_path)
        info = _info(node, h5py) if node is not None else None
        if info is None:
            known = [t.path for t in list_tables(path)]
            raise ConfigError(
                f"table_path={table_path!r} is not a table of {path!r}.",
                fix=f"Use one of: {', '.join(known) or '(the file has no tables)'}.",
                parameter="table_path",
            )
        return info


def select_tables(
    tables: Sequence[TableInfo], table_filter: Callable[[str], bool] | Iterable[str] | None
) -> list[TableInfo]:
    """Tables kept by ``table_filter``: a predicate on the full path, or a list of names.

    A listed name matches a table's full path with or without the leading slash
    (``"households"`` and ``"/households"`` both select ``/households``).
    """
    if table_filter is None:
        return list(tables)
    if callable(table_filter):
        return [t for t in tables if table_filter(t.path)]
    if isinstance(table_filter, (str, bytes)) or not isinstance(table_filter, Iterable):
        raise ConfigError(
            f"table_filter={table_filter!r} is neither a callable nor a list of table names.",
            fix='Pass table_filter=["households", ...] or table_filter=lambda name: ...',
            parameter="table_filter",
        )
    wanted = {"/" + str(name).lstrip("/") for name in table_filter}
    return [t for t in tables if t.path in wanted]


def _datasets_of(node: Any, h5py: Any) -> list[tuple[str, Any]]:
    if isinstance(node, h5py.Dataset):
        return [("", node)]
    out: list[tuple[str, Any]] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and not any(p.startswith("_i_") for p in name.split("/")):
            out.append((name, obj))

    node.visititems(visit)
    return sorted(out, key=lambda item: item[0])


def _feed_values(hasher: Any, values: Any) -> None:
    if not getattr(values.dtype, "hasobject", False):
        hasher.update(values.tobytes())
        return
    for item in values.reshape(-1):
        data = item.tobytes() if hasattr(item, "tobytes") else item
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif not isinstance(data, bytes):
            data = repr(data).encode("utf-8")
        hasher.update(len(data).to_bytes(8, "little") + data)


def hash_table(path: str, table_path: str, chunk_rows: int | None = None) -> str:
    """BLAKE3 digest of one table's values, read ``chunk_rows`` rows at a time."""
    rows = DEFAULT_CHUNK_ROWS if chunk_rows is None else chunk_rows
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ConfigError(
            f"table_hash_chunk_rows={chunk_rows!r} must be a positive integer or None.",
            fix="Pass e.g. table_hash_chunk_rows=100_000, or None for the default.",
            parameter="table_hash_chunk_rows",
        )
    h5py = import_h5py("Hashing an HDF5 table")
    hasher = blake3.blake3(_HASH_PREFIX)
    with h5py.File(path, "r") as handle:
        node = handle.get(table_path)
        if node is None:
            raise ConfigError(
                f"table_path={table_path!r} does not exist in {path!r}.",
                fix="List the tables with log_h5_container(..., discover_tables=True).",
                parameter="table_path",
            )
        for name, dataset in _datasets_of(node, h5py):
            shape = tuple(dataset.shape or ())
            hasher.update(f"{name}\0{dataset.dtype.str}\0{dataset.dtype.descr}\0{shape}\0".encode())
            if not shape:  # a scalar, or an empty (null dataspace) dataset
                value = dataset[()] if dataset.shape is not None else b""
                hasher.update(
                    value.tobytes() if hasattr(value, "tobytes") else repr(value).encode()
                )
                continue
            for start in range(0, shape[0], rows):
                _feed_values(hasher, dataset[start : start + rows])
    return str(hasher.hexdigest())


def read_table(path: str, table_path: str | None = None, **options: Any) -> Any:
    """The table at ``table_path`` as a pandas DataFrame (see the module rules)."""
    if table_path is None:
        raise ConfigError(
            f"Loading a table of the HDF5 file {path!r} needs table_path.",
            fix="Pass table_path='/households' (log it with log_h5_table to keep it).",
            parameter="table_path",
        )
    info = table_info(path, table_path)
    pandas = import_pandas()
    if info.kind == "pandas":
        import_pytables()
        return pandas.read_hdf(path, key=table_path, **options)
    h5py = import_h5py("Reading an HDF5 table")
    with h5py.File(path, "r") as handle:
        values = handle[table_path][()]
    if values.dtype.names:
        return pandas.DataFrame.from_records(values, **options)
    if values.ndim == 1:
        return pandas.DataFrame({table_path.rsplit("/", 1)[-1]: values}, **options)
    if values.ndim == 2:
        return pandas.DataFrame(values, **options)
    raise ConfigError(
        f"table_path={table_path!r} is a {values.ndim}-D dataset, not a table.",
        fix="Open the file with consist.load(container_artifact) (an h5py.File) instead.",
        parameter="table_path",
    )


def sample_table(path: str, table_path: str, rows: int | None) -> Any:
    """The first ``rows`` rows of a table (all when ``None``) as a DataFrame."""
    info = table_info(path, table_path)
    if info.kind == "pandas" and info.pandas_type == "frame_table" and rows is not None:
        import_pytables()
        return import_pandas().read_hdf(path, key=table_path, start=0, stop=rows)
    frame = read_table(path, table_path)
    return frame if rows is None else frame.head(rows)


# Content-addressed: a table of a container with the same digest has the same hash, so
# this memo can never be stale. Bounded so a long session does not grow it forever.
_HASH_MEMO: dict[tuple[str, str], str] = {}
_HASH_MEMO_LIMIT = 4096


def hash_table_memoized(
    path: str, table_path: str, container_digest: str | None, chunk_rows: int | None = None
) -> str:
    """``hash_table``, reused when the container's digest shows it unchanged."""
    memo_key = (container_digest or "", table_path)
    if container_digest and memo_key in _HASH_MEMO:
        return _HASH_MEMO[memo_key]
    digest = hash_table(path, table_path, chunk_rows)
    if container_digest:
        if len(_HASH_MEMO) >= _HASH_MEMO_LIMIT:
            _HASH_MEMO.pop(next(iter(_HASH_MEMO)))
        _HASH_MEMO[memo_key] = digest
    return digest


def open_container(path: str, **options: Any) -> Any:
    """The HDF5 file opened read-only with h5py (close it when done)."""
    return import_h5py("Opening an HDF5 file").File(path, "r", **options)
