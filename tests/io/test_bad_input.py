"""Real records damaged on purpose: a bad file gives a RecordError naming the file and the
reason; a bad lead is left out, named with its reason, and costs nothing else."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgcore.io import RecordError, open_source, read_wfdb, validate_record
from ecgcore.leads import STANDARD_LEADS

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
NAME = "00001_hr"
ORIGINAL = DATA / "ptbxl500" / "records500" / "00000" / NAME


@pytest.fixture(scope="module")
def original() -> Path:
    path = DATA / "ptbxl500" / "records500" / "00000" / f"{NAME}.hea"
    if not path.exists():
        pytest.fail(f"real test data missing: {path} (expected ../shared/data/ from the repo root)")
    return path.with_suffix("")


@pytest.fixture
def copy(original: Path, tmp_path: Path) -> Path:
    """A fresh copy of PTB-XL record 00001_hr in tmp_path; returns its base path."""
    for suffix in (".hea", ".dat"):
        shutil.copy(f"{original}{suffix}", tmp_path / f"{NAME}{suffix}")
    return tmp_path / NAME


def rewrite_digital(copy: Path, digital: np.ndarray, sig_name: list[str] | None = None) -> None:
    """Overwrite the copy with other digital samples (same gains, units and name)."""
    rec = wfdb.rdrecord(str(copy), physical=False)
    wfdb.wrsamp(
        NAME,
        fs=rec.fs,
        write_dir=str(copy.parent),
        d_signal=digital,
        sig_name=sig_name or rec.sig_name,
        units=rec.units,
        adc_gain=rec.adc_gain,
        baseline=rec.baseline,
        fmt=rec.fmt,
    )


def digital(copy: Path) -> np.ndarray:
    return wfdb.rdrecord(str(copy), physical=False).d_signal.copy()


def edit_header(copy: Path, old: str, new: str) -> None:
    header = Path(f"{copy}.hea")
    text = header.read_text()
    assert old in text
    header.write_text(text.replace(old, new))


def expect_error(copy: Path, reason: str, file_name: str = NAME, **kwargs) -> RecordError:
    with pytest.raises(RecordError, match=reason) as caught:
        read_wfdb(copy, **kwargs)
    assert file_name in str(caught.value), str(caught.value)
    return caught.value


def test_undamaged_copy_reads(copy: Path) -> None:
    assert read_wfdb(copy).signal.shape == (12, 5000)


def test_missing_header(copy: Path) -> None:
    Path(f"{copy}.hea").unlink()
    expect_error(copy, "header file not found", f"{NAME}.hea")


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff\x13 binary junk \x89PNG\r\n",
        b"00001_hr twelve 500 5000\n",
        b"00001_hr 12 500 5000\n00001_hr.dat 16 1000.0(0)/mV 16 0 -115\n",  # 1 of 12 signal lines
    ],
)
def test_corrupt_header(copy: Path, garbage: bytes) -> None:
    Path(f"{copy}.hea").write_bytes(garbage)
    expect_error(copy, "unreadable header", f"{NAME}.hea")


def test_missing_signal_file(copy: Path) -> None:
    Path(f"{copy}.dat").unlink()
    error = expect_error(copy, "signal file missing", f"{NAME}.dat")
    assert f"{NAME}.hea" in str(error)  # says which header named it


def test_truncated_signal_file(copy: Path) -> None:
    dat = Path(f"{copy}.dat")
    dat.write_bytes(dat.read_bytes()[: 12 * 2 * 2500])
    expect_error(copy, r"truncated signal file: holds 2500 of the 5000 samples", f"{NAME}.dat")


def test_fewer_samples_than_header_declares(copy: Path) -> None:
    edit_header(copy, f"{NAME} 12 500 5000", f"{NAME} 12 500 6000")
    expect_error(copy, r"truncated signal file: holds 5000 of the 6000 samples")


def expect_bad_leads(copy: Path, reasons: dict[str, str]) -> None:
    """The record reads; exactly these leads are left out (NaN rows), each with a reason
    matching its pattern; every other lead is the original's, sample for sample."""
    record = read_wfdb(copy)
    assert set(record.bad_leads) == set(reasons), record.bad_leads
    for lead, pattern in reasons.items():
        assert re.search(pattern, record.bad_leads[lead]), record.bad_leads[lead]
        assert np.isnan(record.lead(lead)).all()
    good = [i for i, lead in enumerate(record.leads) if lead not in reasons]
    np.testing.assert_array_equal(record.signal[good], read_wfdb(ORIGINAL).signal[good])
    assert record.missing_leads == ()


def test_nan_samples_in_a_lead(copy: Path) -> None:
    samples = digital(copy)
    samples[1000:1010, 7] = -32768  # the format-16 "no sample" value, read as NaN
    rewrite_digital(copy, samples)
    expect_bad_leads(copy, {"V2": r"10 NaN and 0 Inf samples"})


def test_inf_samples_in_a_lead(copy: Path) -> None:
    # WFDB's integer formats cannot hold Inf; a record from any reader can: validate it.
    record = read_wfdb(copy)
    signal = record.signal.copy()
    signal[0, 100] = np.inf
    checked = validate_record(dataclasses.replace(record, signal=signal))
    assert list(checked.bad_leads) == ["I"] and "0 NaN and 1 Inf samples" in checked.bad_leads["I"]
    assert checked.usable_leads == STANDARD_LEADS[1:]


def test_every_lead_nan(copy: Path) -> None:
    rewrite_digital(copy, np.full((5000, 12), -32768, dtype=np.int64))
    expect_error(copy, "no usable leads")


def test_flat_lead(copy: Path) -> None:
    samples = digital(copy)
    rec = wfdb.rdheader(str(copy))
    samples[:, 8] = rec.baseline[8]  # V3 at its baseline: 0 µV throughout
    rewrite_digital(copy, samples)
    expect_bad_leads(copy, {"V3": r"flat or disconnected \(peak-to-peak 0.0 µV"})


def test_all_zero_record_is_refused(copy: Path) -> None:
    rec = wfdb.rdheader(str(copy))
    rewrite_digital(copy, np.tile(np.asarray(rec.baseline), (5000, 1)))  # 0 µV everywhere
    error = expect_error(copy, "no usable lead left")
    assert "I, II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6: flat or disconnected" in str(error)


def test_saturated_lead(copy: Path) -> None:
    samples = digital(copy)
    v5 = samples[:, 10]
    rail = np.percentile(v5, 90)  # the amplifier clips V5 at its 90th percentile
    samples[:, 10] = np.minimum(v5, rail)
    rewrite_digital(copy, samples)
    expect_bad_leads(copy, {"V5": r"saturated: clipped at its extreme value for \d+% of the record"})


def test_unknown_lead_names_are_kept(copy: Path) -> None:
    names = [f"ch{i}" for i in range(12)]
    rewrite_digital(copy, digital(copy), sig_name=names)
    record = read_wfdb(copy)
    assert record.leads == tuple(names) and record.missing_leads == ()
    np.testing.assert_array_equal(record.signal, read_wfdb(ORIGINAL).signal)


def test_some_unknown_leads_follow_the_standard_ones(copy: Path) -> None:
    names = [
        f"ch{i}" if i in (2, 3) else n for i, n in enumerate(wfdb.rdheader(str(copy)).sig_name)
    ]
    rewrite_digital(copy, digital(copy), sig_name=names)
    record = read_wfdb(copy)
    assert record.leads == STANDARD_LEADS + ("ch2", "ch3")
    assert record.missing_leads == ("III", "aVR") and record.metadata["extra_leads"] == []
    original = read_wfdb(ORIGINAL)
    np.testing.assert_array_equal(record.signal[12:], original.signal[2:4])
    assert read_wfdb(copy, lead_map={"CH2": "iii", "ch3": "AVR"}).leads == STANDARD_LEADS


def test_absurd_amplitude(copy: Path) -> None:
    # 10 digital units per mV instead of 1000: every value 100× larger (a few hundred mV)
    edit_header(copy, "1000.0(0)/mV", "10.0(0)/mV")
    error = expect_error(copy, r"no usable lead left: .*absurd amplitude [\d.]+ mV beyond ±20 mV")
    assert "aVF: amplitude beyond ±5 mV for 5% of the record (10.6 mV; wrong units" in str(error)


def test_one_lead_spiking_beyond_20_mV(copy: Path) -> None:
    samples = digital(copy)
    samples[2500:2503, 6] = 26_000  # V1 spikes to 26 mV (1000 units per mV)
    rewrite_digital(copy, samples)
    expect_bad_leads(copy, {"V1": r"absurd amplitude 26.0 mV beyond ±20 mV"})


def test_unsupported_units(copy: Path) -> None:
    edit_header(copy, "1000.0(0)/mV 16 0 -50", "1000.0(0)/mmHg 16 0 -50")
    expect_bad_leads(copy, {"II": r"unsupported units 'mmHg'"})


def test_too_short(copy: Path) -> None:
    rewrite_digital(copy, digital(copy)[:1000])  # 2 s at 500 Hz
    expect_error(copy, r"too short: 1000 samples at 500 Hz is 2.00 s, minimum 4 s")
    assert read_wfdb(copy, min_duration_s=1.0).duration_s == 2.0


def test_min_duration_parameter(copy: Path) -> None:
    expect_error(copy, "too short", min_duration_s=12.0)


def test_multisegment_header(copy: Path) -> None:
    Path(f"{copy}.hea").write_text(f"{NAME}/2 12 500 10000\nseg_1 5000\nseg_2 5000\n")
    expect_error(copy, "multi-segment")


def test_bad_record_never_stops_a_dataset(copy: Path, original: Path) -> None:
    good = copy.parent / "good"
    good.mkdir()
    shutil.copy(f"{original}.dat", good / "00002_ok.dat")
    (good / "00002_ok.hea").write_text(
        Path(f"{original}.hea").read_text().replace(NAME, "00002_ok")
    )
    Path(f"{copy}.dat").unlink()
    results = dict(open_source(copy.parent).iter_records())
    assert set(results) == {NAME, "00002_ok"}
    assert isinstance(results[NAME], RecordError) and "signal file missing" in str(results[NAME])
    assert results["00002_ok"].signal.shape == (12, 5000)
