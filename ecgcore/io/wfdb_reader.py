"""Read any WFDB record into a :class:`Record`, and check its content lead by lead.

``read_wfdb`` accepts any sampling rate, lead count and lead names. It converts every lead
to microvolts from the units written in the header and lays the leads out by
:func:`lead_layout`: the standard 12-lead order when the record has any 12-lead name
(aliases such as ``MLII`` normalised; absent leads NaN rows listed in ``missing_leads``),
then the leads with other names (``ECG``, ``CM5``, ``ECG1``) kept as they are. A lead map
(``{'ECG': 'I'}``) says what a name means. A second channel of the same lead is named in
``metadata["extra_leads"]``. PhysioNet-style ``# Key: value`` header comments become
``metadata``.

``validate_record`` holds every content check (duration, then per lead: NaN/Inf, spikes
beyond ±20 mV, wrong gain, flat, saturated) so that the data pipeline can apply the same
rules to records from elsewhere. A bad lead is left out (a NaN row named in
``bad_leads`` with its reason); a record is refused, with a :class:`RecordError` naming the
file and the problem, only when it is unreadable, too short or has no usable lead left.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

from ecgcore.io.record import Record, RecordError
from ecgcore.leads import STANDARD_LEADS, map_lead_name

MIN_DURATION_S = 4.0  # three complete beats at 60 bpm fit in 4 s
FLAT_PTP_UV = 10.0  # a lead whose peak-to-peak over the whole record is below this is flat
MAX_ABS_UV = 20_000.0  # |x| above 20 mV is not a surface ECG (wrong units or a broken lead)
#: A lead further than this from its median for 5 % of the record is no surface ECG at the
#: declared gain (a QRS lasts ~10 % of a beat and rarely exceeds 3 mV).
MAX_TYPICAL_UV = 5_000.0
#: A lead that sits at its own extreme value in plateaus of at least SATURATION_RUN_MS,
#: recurring (SATURATION_MIN_RUNS or more) over SATURATION_FRACTION of the record or in
#: any number over SATURATION_LONG_FRACTION, is clipped by its amplifier (saturated). One
#: short plateau, as where a recording starts, is not.
SATURATION_RUN_MS = 20.0
SATURATION_FRACTION = 0.02
SATURATION_MIN_RUNS = 3
SATURATION_LONG_FRACTION = 0.2

# Microvolts per header unit. Units are compared lower-case with µ/μ spelt "u".
_UV_PER_UNIT = {"nv": 1e-3, "uv": 1.0, "mv": 1e3, "v": 1e6}
# Bytes per sample of the uncompressed WFDB formats (used to detect truncated files).
_BYTES_PER_SAMPLE = {
    "8": 1.0,
    "16": 2.0,
    "61": 2.0,
    "80": 1.0,
    "160": 2.0,
    "24": 3.0,
    "32": 4.0,
    "212": 1.5,
    "310": 4 / 3,
    "311": 4 / 3,
}
_RESERVED_KEYS = {"extra_leads", "comments"}
_TRUE_TOKENS = {"true", "t", "yes", "y", "1"}
_FALSE_TOKENS = {"false", "f", "no", "n", "0"}


# --------------------------------------------------------------------------- comments


def _snake_key(key: str) -> str:
    key = key.strip().strip("<>").strip()
    return re.sub(r"[^0-9a-z]+", "_", key.lower()).strip("_")


def _parse_age(value: str) -> float | None:
    """Leading number of the value ("63", "63 years"); None for NaN, Unknown and the like."""
    match = re.match(r"\s*(\d+(?:\.\d+)?)", value)
    return float(match.group(1)) if match else None


def _parse_sex(value: str) -> str | None:
    token = value.strip().lower()
    if token in {"m", "male", "man"}:
        return "M"
    if token in {"f", "female", "woman"}:
        return "F"
    return None


def _parse_bool(value: str) -> bool | None:
    token = value.strip().lower()
    if token in _TRUE_TOKENS:
        return True
    if token in _FALSE_TOKENS:
        return False
    return None


def _parse_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


_VALUE_PARSERS = {
    "age": _parse_age,
    "sex": _parse_sex,
    "dx": _parse_list,
    "labels": _parse_list,
    "chagas_label": _parse_bool,
}


def parse_header_comments(comments: list[str]) -> dict[str, Any]:
    """Parse PhysioNet header comments (``# Key: value``) into a metadata dict.

    ``Age`` → float or None (NaN/Unknown), ``Sex`` → "M"/"F"/None, ``Dx`` and ``Labels``
    → list of str, ``Chagas label`` → bool/None; any other key is kept as a string under
    its snake_case name (``# Electric axis: left`` → ``electric_axis``; LUDB's ``<age>``
    → ``age``). Lines without a key, keys with an empty value, repeated keys and keys
    that would shadow ``extra_leads``/``comments`` are kept verbatim in ``"comments"``.
    """
    metadata: dict[str, Any] = {}
    loose: list[str] = []
    for raw in comments:
        line = raw.strip().lstrip("#").strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        name = _snake_key(key) if sep else ""
        value = value.strip()
        if not name or len(name) > 60 or not value or name in metadata or name in _RESERVED_KEYS:
            loose.append(line)
            continue
        parser = _VALUE_PARSERS.get(name)
        metadata[name] = value if parser is None else parser(value)
    metadata["comments"] = loose
    return metadata


# --------------------------------------------------------------------------- header text


def _header_path(path: str | Path) -> Path:
    """``x``, ``x.hea`` or ``x.dat`` → ``x.hea`` (WFDB record names hold no dots)."""
    path = Path(path)
    if path.suffix.lower() in {".hea", ".dat"}:
        path = path.with_suffix("")
    return path.with_name(path.name + ".hea")


def _read_header_text(header: Path) -> str:
    data = header.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _split_header(text: str) -> tuple[list[str], list[str]]:
    """Non-comment lines and comment lines (without '#'), as in the WFDB spec."""
    lines, comments = [], []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            comments.append(line[1:])
        elif line:
            lines.append(line)
    return lines, comments


def _declares_segments(lines: list[str]) -> bool:
    return bool(lines) and "/" in lines[0].split()[0]


def is_multisegment_header(header: str | Path) -> bool:
    """True when the header's record line declares segments (``name/nseg``)."""
    return _declares_segments(_split_header(_read_header_text(_header_path(header)))[0])


def _signal_units(signal_lines: list[str]) -> list[str | None]:
    """Units written in each signal line (``gain(baseline)/units``), None when absent.

    Parsed here because wfdb reads headers as ASCII and turns "µV" into "V".
    """
    units: list[str | None] = []
    for line in signal_lines:
        tokens = line.split()
        gain = tokens[2] if len(tokens) > 2 else ""
        units.append(gain.split("/", 1)[1] if "/" in gain else None)
    return units


def _uv_per_unit(unit: str | None) -> float | None:
    if unit is None:  # the WFDB default unit is the millivolt
        return 1e3
    key = unit.strip().lower().replace("\u00b5", "u").replace("\u03bc", "u")
    return _UV_PER_UNIT.get(key)


# --------------------------------------------------------------------------- reading


def _check_signal_files(header_path: Path, header: wfdb.Record) -> None:
    """Missing or truncated signal files, with a clear message, before wfdb reads them."""
    directory = header_path.parent
    for file_name in dict.fromkeys(header.file_name):
        file_path = directory / file_name
        if not file_path.is_file():
            raise RecordError(file_path, f"signal file missing (named in {header_path.name})")
        channels = [i for i, name in enumerate(header.file_name) if name == file_name]
        fmt = str(header.fmt[channels[0]])
        if fmt not in _BYTES_PER_SAMPLE or not header.sig_len:
            continue
        frame = sum((header.samps_per_frame[i] or 1) for i in channels)
        offset = header.byte_offset[channels[0]] or 0
        expected = offset + math.ceil(header.sig_len * frame * _BYTES_PER_SAMPLE[fmt])
        size = file_path.stat().st_size
        if size < expected:
            held = int((size - offset) / (frame * _BYTES_PER_SAMPLE[fmt])) if size > offset else 0
            raise RecordError(
                file_path,
                f"truncated signal file: holds {max(held, 0)} of the {header.sig_len} samples "
                f"that {header_path.name} declares ({size} of {expected} bytes)",
            )


def lead_layout(names: list[str]) -> tuple[str, ...]:
    """The rows of a record whose (mapped) lead names are ``names``.

    With any 12-lead name: the 12 standard leads in order, then the other names in file
    order (Holter ``D3`` beside ``V4``). Without one: the file's own names in file order
    (a wearable's ``ECG``, Holter ``ECG1``/``ECG2``). Repeated names appear once.
    """
    others = [name for name in dict.fromkeys(names) if name not in STANDARD_LEADS]
    if len(others) == len(dict.fromkeys(names)):
        return tuple(others)
    return STANDARD_LEADS + tuple(others)


def layout_channels(
    mapped: Sequence[str], rows: Sequence[np.ndarray | str], n_samples: int
) -> tuple[tuple[str, ...], np.ndarray, list[int], dict[str, str]]:
    """A record's channels in the rows of :func:`lead_layout`, the one way every reader
    builds its signal.

    ``mapped[i]`` is channel i's (mapped) lead name and ``rows[i]`` its µV samples, or the
    reason the lead cannot be used. Returns the leads, the float32 signal ``[leads,
    samples]`` (NaN rows for absent and unusable leads), the indices of channels that
    repeat a lead already placed, and ``{lead: reason}`` of the unusable ones.
    """
    leads = lead_layout(list(mapped))
    signal = np.full((len(leads), n_samples), np.nan, dtype=np.float32)
    placed: set[str] = set()
    repeated: list[int] = []
    bad: dict[str, str] = {}
    for channel, (lead, row) in enumerate(zip(mapped, rows)):
        if lead in placed:  # a second channel of the same lead
            repeated.append(channel)
            continue
        placed.add(lead)
        if isinstance(row, str):
            bad[lead] = row
        else:
            signal[leads.index(lead)] = row
    return leads, signal, repeated, bad


def read_wfdb(
    path: str | Path,
    *,
    min_duration_s: float = MIN_DURATION_S,
    validate: bool = True,
    lead_map: dict[str, str] | None = None,
) -> Record:
    """Read a WFDB record (``path`` with or without ``.hea``) of any lead count and names.

    The signal is float32 microvolts ``[leads, samples]`` in the layout of
    :func:`lead_layout`: the 12 standard leads first when the file has any of them (absent
    ones are NaN rows listed in ``missing_leads``), other-named leads kept with their own
    names. ``lead_map`` (``{'ECG': 'I'}``) says what a file's lead name means. A channel
    in units other than V/mV/µV is a bad lead, not a refusal. With ``validate`` (default)
    the record goes through :func:`validate_record`. Raises :class:`RecordError` naming
    the file for any unreadable record or one without a usable lead.
    """
    header_path = _header_path(path)
    base = header_path.with_suffix("")
    if not header_path.is_file():
        raise RecordError(header_path, "header file not found")
    try:
        text = _read_header_text(header_path)
        signal_lines_all, comments = _split_header(text)
        if _declares_segments(signal_lines_all):
            raise RecordError(header_path, "multi-segment records are not supported")
        header = wfdb.rdheader(str(base))
    except RecordError:
        raise
    except Exception as exc:  # wfdb raises many types for a malformed header
        raise RecordError(header_path, f"unreadable header: {type(exc).__name__}: {exc}") from exc
    if not header.n_sig or not header.sig_name:
        raise RecordError(header_path, "header declares no signals")
    if len(signal_lines_all) - 1 < header.n_sig:
        raise RecordError(
            header_path,
            f"unreadable header: declares {header.n_sig} signals but has "
            f"{len(signal_lines_all) - 1} signal lines",
        )
    if not header.fs or header.fs <= 0:
        raise RecordError(header_path, f"header declares an invalid sampling rate {header.fs!r}")

    names = list(header.sig_name)
    mapped = [map_lead_name(name, lead_map) for name in names]
    units = _signal_units(signal_lines_all[1 : 1 + header.n_sig])

    _check_signal_files(header_path, header)
    try:
        wrec = wfdb.rdrecord(str(base), physical=True)
    except Exception as exc:
        raise RecordError(
            header_path, f"could not read the signal: {type(exc).__name__}: {exc}"
        ) from exc
    samples = wrec.p_signal
    if header.sig_len and samples.shape[0] < header.sig_len:
        raise RecordError(
            header_path,
            f"truncated signal: {samples.shape[0]} of the {header.sig_len} samples the header declares",
        )

    rows: list[np.ndarray | str] = []
    for channel in range(len(names)):
        unit = units[channel] if channel < len(units) else None
        scale = _uv_per_unit(unit)
        rows.append(f"unsupported units {unit!r} (not an ECG lead in mV, µV or V)" if scale is None
                    else samples[:, channel] * scale)
    leads, signal, repeated, bad = layout_channels(mapped, rows, samples.shape[0])
    extra = [names[i] for i in repeated]

    metadata = parse_header_comments(comments)
    metadata["extra_leads"] = extra
    metadata["lead_names"] = dict(zip(mapped, names))  # the file's own name of each lead
    record = Record(
        record_id=base.name,
        signal=signal,
        fs=float(header.fs),
        leads=leads,
        metadata=metadata,
        source=header_path,
        missing_leads=tuple(lead for lead in leads if lead not in mapped),
        bad_leads=bad,
    )
    return validate_record(record, min_duration_s=min_duration_s) if validate else record


# --------------------------------------------------------------------------- validation


def saturated_fraction(x: np.ndarray, fs: float, run_ms: float = SATURATION_RUN_MS) -> tuple[float, int]:
    """Fraction of a lead's samples in plateaus (≥ ``run_ms``) at its maximum or minimum,
    and the number of those plateaus."""
    x = np.asarray(x, dtype=np.float64)
    hi, lo = float(np.max(x)), float(np.min(x))
    tol = max(1e-3 * (hi - lo), 1e-6)
    at_rail = (x >= hi - tol) | (x <= lo + tol)
    edges = np.diff(np.concatenate([[0], at_rail.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = ends - starts
    plateaus = lengths[lengths >= max(2, int(round(run_ms * fs / 1000.0)))]
    return float(plateaus.sum()) / max(1, x.size), int(plateaus.size)


def lead_problem(x: np.ndarray, fs: float) -> str | None:
    """Why one lead (µV) cannot be measured, or None when its content is usable.

    In order: NaN/Inf samples; any |x| beyond 20 mV (spikes or wrong units); 5 % of the
    samples beyond 5 mV from the lead's median (wrong units or gain); peak-to-peak
    below 10 µV over the whole record (flat or disconnected); clipped at the amplifier's
    rail in recurring plateaus over 2 % of the record, or over 20 % (saturated).
    """
    finite = np.isfinite(x)
    if not finite.all():
        return (f"{int(np.isnan(x).sum())} NaN and {int(np.isinf(x).sum())} Inf samples "
                "(gaps in the recording)")
    peak = float(np.abs(x).max())
    if peak > MAX_ABS_UV:
        return (f"absurd amplitude {peak / 1000:.1f} mV beyond ±{MAX_ABS_UV / 1000:g} mV "
                "(spikes, wrong units or a broken lead)")
    typical = float(np.percentile(np.abs(x - np.median(x)), 95))
    if typical > MAX_TYPICAL_UV:
        return (f"amplitude beyond ±{MAX_TYPICAL_UV / 1000:g} mV for 5% of the record "
                f"({typical / 1000:.1f} mV; wrong units or gain)")
    ptp = float(np.ptp(x))
    if ptp < FLAT_PTP_UV:
        return (f"flat or disconnected (peak-to-peak {ptp:.1f} µV, below {FLAT_PTP_UV:g} µV "
                "over the whole record)")
    clipped, runs = saturated_fraction(x, fs)
    if (clipped >= SATURATION_FRACTION and runs >= SATURATION_MIN_RUNS) or clipped >= SATURATION_LONG_FRACTION:
        return (f"saturated: clipped at its extreme value for {100 * clipped:.0f}% of the record "
                f"(between {float(np.min(x)) / 1000:.2f} and {float(np.max(x)) / 1000:.2f} mV)")
    return None


def validate_record(record: Record, min_duration_s: float = MIN_DURATION_S) -> Record:
    """Check a record's content lead by lead; return it with bad leads left out.

    A lead that is entirely NaN counts as missing; no lead at all → error; shorter than
    ``min_duration_s`` → error. Each other lead goes through :func:`lead_problem`; a lead
    with a problem becomes a NaN row named in ``bad_leads`` with its reason. When no
    usable lead is left the record is refused (:class:`RecordError` naming
    ``record.source`` and every lead's reason). The signal is returned as float32.
    """
    source = record.source if record.source is not None else record.record_id
    signal = np.array(record.signal, dtype=np.float32)
    bad = dict(record.bad_leads)
    missing = set(record.missing_leads)
    for row, lead in enumerate(record.leads):
        if lead not in missing and lead not in bad and np.isnan(signal[row]).all():
            missing.add(lead)
    present = [row for row, lead in enumerate(record.leads) if lead not in missing]
    if not present:
        raise RecordError(source, "no usable leads: every lead is missing or entirely NaN")

    duration = record.n_samples / record.fs
    if duration < min_duration_s:
        raise RecordError(
            source,
            f"too short: {record.n_samples} samples at {record.fs:g} Hz is {duration:.2f} s, "
            f"minimum {min_duration_s:g} s",
        )

    for row in present:
        lead = record.leads[row]
        if lead in bad:
            signal[row] = np.nan
            continue
        problem = lead_problem(signal[row], record.fs)
        if problem is not None:
            bad[lead] = problem
            signal[row] = np.nan
    if all(record.leads[row] in bad for row in present):
        grouped: dict[str, list[str]] = {}
        for lead, why in bad.items():
            grouped.setdefault(why, []).append(lead)
        reasons = "; ".join(f"{', '.join(leads)}: {why}" for why, leads in grouped.items())
        raise RecordError(source, f"no usable lead left: {reasons}")

    missing_leads = tuple(lead for lead in record.leads if lead in missing)
    return dataclasses.replace(record, signal=signal, missing_leads=missing_leads, bad_leads=bad)
