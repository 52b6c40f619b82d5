"""SCP-ECG (EN 1064 / ISO 11073-91064), an own decoder: no maintained Python library reads it.

Read: the record and section CRCs (CRC-CCITT, initial 0xFFFF), section 1 patient data
(tags), section 3 lead definitions, section 6 rhythm data stored as 16-bit integers (no
section 2) or with the default Huffman table (section 2 table count 19999), as values,
first or second differences; section 7 global measurements as device measurements.
Refused with a clear error: custom Huffman tables, bimodal compression and
reference-beat subtraction (their decoding needs sections 4/5 and is not implemented).
"""

from __future__ import annotations

import binascii
from pathlib import Path

import numpy as np

from ecgcore.io.formats.raw import DeviceMeasurements, PatientIdentifiers, RawECG
from ecgcore.io.record import RecordError

FORMAT = "SCP-ECG"
DEFAULT_HUFFMAN = 19999

# Section 3 lead codes (SCP-ECG table 5.6.3-9) for the leads this project uses.
LEAD_CODES = {1: "I", 2: "II", 3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6",
              61: "III", 62: "aVR", 63: "aVL", 64: "aVF", 16: "X", 17: "Y", 18: "Z"}
# Default Huffman table: (code length, code) → value; 8BIT/16BIT escape to a raw value.
_ESC8, _ESC16 = "8bit", "16bit"
DEFAULT_TABLE: dict[tuple[int, int], int | str] = {(1, 0b0): 0}
for _k in range(1, 9):  # ±k: k+2 bits, (k) ones then 0 and the sign bit
    _bits = _k + 2
    _prefix = ((1 << (_bits - 2)) - 1) << 2  # (bits-2) ones, then 00 / 01
    DEFAULT_TABLE[(_bits, _prefix)] = _k
    DEFAULT_TABLE[(_bits, _prefix | 1)] = -_k
DEFAULT_TABLE[(10, 0b1111111110)] = _ESC8
DEFAULT_TABLE[(10, 0b1111111111)] = _ESC16

_IDENTIFYING_TAGS = {0: "last_name", 1: "first_name", 2: "patient_id", 3: "second_last_name",
                     5: "birth_date", 25: "acquisition_date", 26: "acquisition_time"}


def _u(data: bytes, offset: int, size: int) -> int:
    return int.from_bytes(data[offset : offset + size], "little")


def _sections(path: Path, data: bytes) -> dict[int, bytes]:
    """Section id → section bytes (with its 16-byte header), CRCs checked."""
    if len(data) < 22 or _u(data, 2, 4) != len(data):
        raise RecordError(path, f"SCP-ECG record length {_u(data, 2, 4)} does not match the "
                                f"file's {len(data)} bytes (truncated?)")
    if binascii.crc_hqx(data[2:], 0xFFFF) != _u(data, 0, 2):
        raise RecordError(path, "SCP-ECG record fails its CRC check (damaged file)")
    length0 = _u(data, 6 + 4, 4)
    pointers = data[6 + 16 : 6 + length0]
    sections: dict[int, bytes] = {}
    for start in range(0, len(pointers) - 9, 10):
        sid, length, index = _u(pointers, start, 2), _u(pointers, start + 2, 4), _u(pointers, start + 6, 4)
        if length == 0 or sid == 0:
            continue
        section = data[index - 1 : index - 1 + length]  # indexes are 1-based
        if len(section) != length or _u(section, 2, 2) != sid:
            raise RecordError(path, f"SCP-ECG section {sid} pointer is broken")
        if binascii.crc_hqx(section[2:], 0xFFFF) != _u(section, 0, 2):
            raise RecordError(path, f"SCP-ECG section {sid} fails its CRC check (damaged file)")
        sections[sid] = section
    return sections


def _huffman_decode(payload: bytes, n: int, path: Path, lead: str) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8)).tolist()
    out: list[int] = []
    i, total = 0, len(bits)
    while len(out) < n:
        code = length = 0
        while True:
            if i >= total:
                raise RecordError(path, f"lead {lead}: Huffman data end after {len(out)} of {n} samples")
            code, length, i = (code << 1) | bits[i], length + 1, i + 1
            symbol = DEFAULT_TABLE.get((length, code))
            if symbol is not None or length >= 10:
                break
        if symbol is None:
            raise RecordError(path, f"lead {lead}: invalid Huffman code")
        if isinstance(symbol, str):
            width = 8 if symbol == _ESC8 else 16
            if i + width > total:
                raise RecordError(path, f"lead {lead}: Huffman data end inside a value")
            value = int("".join(map(str, bits[i : i + width])), 2)
            i += width
            symbol = value - (1 << width) if value >= 1 << (width - 1) else value
        out.append(symbol)
    return np.array(out, dtype=np.int64)


def _undifference(values: np.ndarray, order: int) -> np.ndarray:
    x = values.astype(np.int64)
    if order == 1:
        return np.cumsum(x)
    if order == 2:
        out = x.copy()
        for i in range(2, x.size):  # x[i] = d[i] + 2 x[i-1] − x[i-2]
            out[i] = x[i] + 2 * out[i - 1] - out[i - 2]
        return out
    return x


def _patient(section: bytes | None) -> tuple[dict[str, str], dict[str, object]]:
    identifiers: dict[str, str] = {}
    metadata: dict[str, object] = {}
    if section is None:
        return identifiers, metadata
    offset = 16
    while offset + 3 <= len(section):
        tag, length = section[offset], _u(section, offset + 1, 2)
        value = section[offset + 3 : offset + 3 + length]
        offset += 3 + length
        if tag == 255:
            break
        if tag in (5, 25) and length >= 4:
            text = f"{_u(value, 0, 2):04d}-{value[2]:02d}-{value[3]:02d}"
        elif tag == 26 and length >= 3:
            text = f"{value[0]:02d}:{value[1]:02d}:{value[2]:02d}"
        else:
            text = value.split(b"\0", 1)[0].decode("latin-1").strip()
        if tag in _IDENTIFYING_TAGS:
            identifiers[_IDENTIFYING_TAGS[tag]] = text
        elif tag == 4 and length >= 3 and value[2] == 1:  # age, unit 1 = years
            metadata["age"] = float(_u(value, 0, 2))
        elif tag == 8 and length >= 1:
            metadata["sex"] = {1: "M", 2: "F"}.get(value[0])
        elif tag == 14 and length >= 14:
            metadata["device"] = value[8:14].split(b"\0", 1)[0].decode("latin-1").strip() or None
    return identifiers, metadata


def _measurements(section: bytes | None) -> DeviceMeasurements | None:
    """Section 7: number of QRS types, pacemaker spikes, average RR and PP; per QRS type
    (type 0 first) P on/off, QRS on/off, T off (ms) and P/QRS/T axes; spike records; QRS
    types; then ventricular rate, atrial rate and QTc. Codes 999 (axis undefined) and
    19999/29998/29999 (not found, rejected, not computed) are left out."""
    if section is None or len(section) < 16 + 6 + 16:
        return None

    def value(offset: int) -> int | None:
        if offset + 2 > len(section):
            return None
        v = _u(section, offset, 2)
        return None if v in (999, 19999, 29998, 29999) else v

    n_types, n_spikes = section[16], section[17]
    rr = value(18)
    block = 16 + 6
    p_on, p_off, q_on, q_off, t_off = (value(block + 2 * k) for k in range(5))
    p_axis, qrs_axis, t_axis = (value(block + 10 + 2 * k) for k in range(3))
    values: dict[str, float] = {}
    if rr:
        values["rr_ms"], values["hr_bpm"] = float(rr), round(60_000.0 / rr, 1)
    pairs = {"p_ms": (p_on, p_off), "pr_ms": (p_on, q_on), "qrs_ms": (q_on, q_off),
             "qt_ms": (q_on, t_off)}
    for name, (a, b) in pairs.items():
        if a is not None and b is not None and b > a:
            values[name] = float(b - a)
    for name, axis in (("p_axis_deg", p_axis), ("axis_deg", qrs_axis), ("t_axis_deg", t_axis)):
        if axis is not None:
            values[name] = float(axis - 65536 if axis >= 32768 else axis)  # signed degrees
    tail = block + 16 * n_types + 10 * n_spikes
    n_qrs = value(tail)
    if n_qrs is not None:
        rates = tail + 2 + n_qrs
        ventricular, qtc = value(rates), value(rates + 4)
        if ventricular:
            values["hr_bpm"] = float(ventricular)
        if qtc:
            values["qtc_ms"] = float(qtc)
    return DeviceMeasurements("SCP-ECG section 7", values) if values else None


def read_scp(path: Path, data: bytes) -> RawECG:
    """Read an SCP-ECG file (``data`` are its bytes) as a :class:`RawECG`."""
    sections = _sections(path, data)
    for required in (3, 6):
        if required not in sections:
            raise RecordError(path, f"SCP-ECG file has no section {required}")
    huffman = False
    if 2 in sections:
        tables = _u(sections[2], 16, 2)
        if tables != DEFAULT_HUFFMAN:
            raise RecordError(path, "SCP-ECG custom Huffman tables are not supported "
                                    "(only the default table or uncompressed data)")
        huffman = True
    s3, s6 = sections[3], sections[6]
    n_leads, flags = s3[16], s3[17]
    if flags & 1:
        raise RecordError(path, "SCP-ECG reference-beat subtraction is not supported")
    leads, counts = [], []
    for k in range(n_leads):
        base = 18 + 9 * k
        start, end, code = _u(s3, base, 4), _u(s3, base + 4, 4), s3[base + 8]
        leads.append(LEAD_CODES.get(code, f"SCP lead {code}"))
        counts.append(end - start + 1)
    if len(set(counts)) != 1 or counts[0] <= 0:
        raise RecordError(path, f"SCP-ECG leads differ in length or are empty: {counts}")
    avm_nv, interval_us, difference, bimodal = _u(s6, 16, 2), _u(s6, 18, 2), s6[20], s6[21]
    if bimodal:
        raise RecordError(path, "SCP-ECG bimodal compression is not supported")
    if difference not in (0, 1, 2) or not avm_nv or not interval_us:
        raise RecordError(path, f"SCP-ECG rhythm header invalid (AVM {avm_nv} nV, "
                                f"interval {interval_us} µs, difference {difference})")
    sizes = [_u(s6, 22 + 2 * k, 2) for k in range(n_leads)]
    offset, rows, kept, errors = 22 + 2 * n_leads, [], [], {}
    for lead, size in zip(leads, sizes):
        payload = s6[offset : offset + size]
        offset += size
        try:  # one bad lead never costs the record
            if len(payload) != size:
                raise RecordError(path, f"lead {lead}: rhythm data cut short")
            if huffman:
                values = _huffman_decode(payload, counts[0], path, lead)
            else:
                if size < 2 * counts[0]:
                    raise RecordError(path, f"lead {lead}: {size // 2} of {counts[0]} samples stored")
                values = np.frombuffer(payload[: 2 * counts[0]], dtype="<i2").astype(np.int64)
        except RecordError as exc:
            errors[lead] = exc.problem
            continue
        rows.append(_undifference(values, difference) * (avm_nv / 1000.0))
        kept.append(lead)
    if not rows:
        raise RecordError(path, f"no readable lead: {'; '.join(errors.values())}")
    identifiers, metadata = _patient(sections.get(1))
    if errors:
        metadata["lead_errors"] = errors
    return RawECG(
        signal=np.stack(rows).astype(np.float32),
        fs=1e6 / interval_us,
        leads=tuple(kept),
        format=FORMAT,
        source=path,
        metadata=metadata,
        device_measurements=_measurements(sections.get(7)),
        identifiers=PatientIdentifiers(identifiers),
    )
