"""Clinical export formats: PTB-XL records written by each format's own library (pydicom,
edfio) or by a writer following the published schema (MUSE, HL7 aECG, Philips XLI, CSV),
read back sample by sample within the format's quantisation; the real DICOM ECG that
pydicom ships; damaged files; identifiers that never reach a Record or `ecgwb measure`."""

from __future__ import annotations

import base64
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from ecg_writers import (
    CARDIOSOFT_UV_PER_LSB,
    DEVICE,
    DICOM_SENSITIVITY_UV,
    EDF_RANGE_UV,
    EDF_STEP_UV,
    HL7_ORIGIN_UV,
    HL7_SCALE_UV,
    IDENTITY,
    MUSE_UV_PER_BIT,
    PHILIPS_UV,
    SCP_AVM_NV,
    hl7_digits,
    muse_counts,
    philips_counts,
    scp_counts,
    write_apple_watch,
    write_cardiosoft,
    write_csv,
    write_dicom,
    write_edf,
    write_hl7_aecg,
    write_muse,
    write_philips,
    write_scp,
)

from ecgcore.io import Record, RecordError, read_wfdb
from ecgcore.io.formats import detect_format, read_ecg, read_raw_ecg
from ecgcore.leads import INDEPENDENT_LEADS, STANDARD_LEADS

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
EPS = 1e-3  # float32 rounding of µV values below 20 mV
WRITERS = {
    "muse": (write_muse, ".xml"),
    "hl7_aecg": (write_hl7_aecg, ".xml"),
    "dicom": (write_dicom, ".dcm"),
    "edf": (write_edf, ".edf"),
    "csv": (write_csv, ".csv"),
    "philips": (write_philips, ".xml"),
    "scp": (write_scp, ".scp"),
    "cardiosoft": (write_cardiosoft, ".xml"),
}


@pytest.fixture(scope="module")
def ptbxl() -> Record:
    path = DATA / "ptbxl500" / "records500" / "00000" / "00001_hr.hea"
    if not path.exists():
        pytest.fail(f"real test data missing: {path} (expected ../shared/data/ from the repo root)")
    return read_wfdb(path)


@pytest.fixture(scope="module")
def written(ptbxl: Record, tmp_path_factory) -> dict[str, Path]:
    """PTB-XL 00001_hr (500 Hz, 10 s) in every format."""
    folder = tmp_path_factory.mktemp("formats")
    return {kind: writer(ptbxl.signal, ptbxl.fs, folder / f"00001_hr_{kind}{suffix}")
            for kind, (writer, suffix) in WRITERS.items()}


def _row(record: Record, lead: str) -> np.ndarray:
    return record.signal[STANDARD_LEADS.index(lead)].astype(np.float64)


@pytest.mark.parametrize("kind", list(WRITERS))
def test_format_detected_from_content(written: dict[str, Path], kind: str) -> None:
    assert detect_format(written[kind]) == kind


def test_muse_rhythm_derived_leads_median_and_12sl(written, ptbxl) -> None:
    record = read_ecg(written["muse"])
    counts = muse_counts(ptbxl.signal)
    assert record.fs == 500 and record.n_samples == 5000 and record.missing_leads == ()
    for lead, c in counts.items():  # the 8 stored leads: exactly the stored counts
        np.testing.assert_allclose(_row(record, lead), c * MUSE_UV_PER_BIT, atol=EPS)
        assert np.abs(_row(record, lead) - _row(ptbxl, lead)).max() <= MUSE_UV_PER_BIT / 2 + EPS
    one, two = counts["I"] * MUSE_UV_PER_BIT, counts["II"] * MUSE_UV_PER_BIT
    derived = {"III": two - one, "aVR": -(one + two) / 2, "aVL": one - two / 2, "aVF": two - one / 2}
    for lead, expected in derived.items():
        np.testing.assert_allclose(_row(record, lead), expected, atol=EPS)
    assert record.metadata["derived_leads"] == ["III", "aVR", "aVL", "aVF"]
    assert record.metadata["statements"] == ["Normal sinus rhythm"]  # no "Confirmed by …"
    assert record.metadata["format"] == "GE MUSE XML"
    assert (record.metadata["age"], record.metadata["sex"]) == (63.0, "M")
    device = record.metadata["device_measurements"]
    assert device["source"] == "GE MUSE 12SL"
    assert {k: device[k] for k in DEVICE} == DEVICE
    assert device["p_ms"] == (275 - 220) * 1000 / 500  # POffset − POnset at ECGSampleBase
    raw = read_raw_ecg(written["muse"])
    assert raw.median_fs == 500 and raw.median.shape == (12, 600)
    np.testing.assert_allclose(raw.median[raw.median_leads.index("V2")],
                               counts["V2"][:600] * MUSE_UV_PER_BIT, atol=EPS)


def test_utf16_muse_export(written, tmp_path) -> None:
    text = written["muse"].read_text(encoding="iso-8859-1").replace('encoding="ISO-8859-1"', 'encoding="UTF-16"')
    path = tmp_path / "utf16.xml"
    path.write_bytes(text.encode("utf-16"))  # with a byte-order mark
    assert detect_format(path) == "muse"
    np.testing.assert_array_equal(read_ecg(path).signal, read_ecg(written["muse"]).signal)


def test_hl7_aecg_origin_and_scale(written, ptbxl) -> None:
    record = read_ecg(written["hl7_aecg"])
    expected = HL7_ORIGIN_UV + HL7_SCALE_UV * hl7_digits(ptbxl.signal)
    np.testing.assert_allclose(record.signal, expected, atol=EPS)
    assert np.abs(record.signal - ptbxl.signal).max() <= HL7_SCALE_UV / 2 + EPS
    assert record.fs == 500 and record.missing_leads == ()
    assert record.metadata["sex"] == "F" and record.metadata["device"] == "ELI 350"
    device = record.metadata["device_measurements"]
    assert device["source"] == "HL7 aECG annotations"
    assert {k: device[k] for k in DEVICE} == pytest.approx(DEVICE)  # QT written in seconds


def test_dicom_written_by_pydicom_reads_the_rhythm_group(written, ptbxl) -> None:
    record = read_ecg(written["dicom"])
    assert record.n_samples == 5000  # the RHYTHM group, not the 1 s MEDIAN BEAT before it
    expected = np.round(ptbxl.signal.astype(np.float64) / DICOM_SENSITIVITY_UV) * DICOM_SENSITIVITY_UV
    np.testing.assert_allclose(record.signal, expected, atol=EPS)
    assert record.metadata["age"] == 63.0


def test_real_dicom_ecg_shipped_with_pydicom() -> None:
    """A Mortara ELI 250 12-lead export: 10 s at 1000 Hz, 1.25 µV per count."""
    import pydicom
    from pydicom.data import get_testdata_file

    path = Path(get_testdata_file("waveform_ecg.dcm"))
    record = read_ecg(path)
    ds = pydicom.dcmread(path)
    group = ds.WaveformSequence[0]  # RHYTHM: int16 multiplexed [samples, channels]
    raw_counts = np.frombuffer(group.WaveformData, "<i2").reshape(-1, 12).astype(np.float64)
    assert record.fs == 1000 and record.n_samples == 10000 and record.missing_leads == ()
    order = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    for channel, lead in enumerate(order):
        np.testing.assert_allclose(_row(record, lead), raw_counts[:, channel] * 1.25, atol=EPS)
    device = record.metadata["device_measurements"]
    assert device["source"] == "DICOM annotation (Mortara Instrument, Inc. el250)"
    assert {k: device[k] for k in ("pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "p_axis_deg",
                                    "axis_deg", "t_axis_deg", "rr_ms")} == {
        "pr_ms": 161, "qrs_ms": 75, "qt_ms": 368, "qtc_ms": 370, "p_axis_deg": 74,
        "axis_deg": 52, "t_axis_deg": 57, "rr_ms": 982}
    assert record.metadata["statements"] == ["RITMO SINUSALE", "ECG NORMALE"]
    text = repr(record.metadata)
    for field in ("PatientName", "PatientID", "PatientBirthDate"):
        assert str(ds[field].value) not in text
    assert len(read_raw_ecg(path).identifiers) >= 3


def test_edf_by_edfio_chooses_ecg_channels_by_label(written, ptbxl) -> None:
    record = read_ecg(written["edf"])
    assert np.abs(record.signal - ptbxl.signal).max() <= EDF_STEP_UV / 2 + EPS
    assert record.missing_leads == ()
    assert record.metadata["extra_channels"] == ["Resp"]  # not an ECG label: left out
    assert record.metadata["sex"] == "F"


def test_bdf_24_bit(ptbxl, tmp_path) -> None:
    path = write_edf(ptbxl.signal, ptbxl.fs, tmp_path / "x.bdf", bdf=True)
    record = read_ecg(path)
    assert record.metadata["format"] == "BDF" and record.missing_leads == ()
    step = (EDF_RANGE_UV[1] - EDF_RANGE_UV[0]) / (2**24 - 1)
    assert np.abs(record.signal - ptbxl.signal).max() <= step / 2 + EPS


def test_edf_lead_map_names_unlabelled_channels(ptbxl, tmp_path) -> None:
    path = write_edf(ptbxl.signal, ptbxl.fs, tmp_path / "chan.edf",
                     labels=[f"Chan{i + 1}" for i in range(12)])
    with pytest.raises(RecordError, match=re.escape(str(path)) + ".*no ECG channel"):
        read_ecg(path)
    lead_map = {"Chan2": "II", "Chan7": "V1"}
    record = read_ecg(path, lead_map=lead_map)
    assert record.missing_leads == tuple(n for n in STANDARD_LEADS if n not in ("II", "V1"))
    assert np.abs(_row(record, "V1") - _row(ptbxl, "V1")).max() <= EDF_STEP_UV / 2 + EPS


def test_csv_with_header_time_and_units(written, ptbxl) -> None:
    record = read_ecg(written["csv"])
    assert record.fs == pytest.approx(500, rel=1e-6)
    assert np.abs(record.signal - ptbxl.signal).max() <= 0.0005 + EPS  # written to 0.001 µV


def test_semicolon_csv_with_decimal_commas(ptbxl, tmp_path) -> None:
    path = tmp_path / "eu.csv"
    rows = [";".join(["Zeit [s]"] + [f"{lead} [mV]" for lead in STANDARD_LEADS])]
    rows += [";".join([f"{j / 500:.3f}".replace(".", ",")]
                      + [f"{v / 1000:.4f}".replace(".", ",") for v in ptbxl.signal[:, j]])
             for j in range(ptbxl.n_samples)]
    path.write_text("\n".join(rows), encoding="latin-1")
    record = read_ecg(path)
    assert record.fs == pytest.approx(500, rel=1e-6)  # from the "Zeit [s]" column
    assert np.abs(record.signal - ptbxl.signal).max() <= 0.05 + EPS  # 0.0001 mV written


def test_headerless_csv_needs_fs_and_units(ptbxl, tmp_path) -> None:
    path = tmp_path / "plain.csv"
    millivolts = ptbxl.signal / 1000
    write_csv(millivolts, ptbxl.fs, path, header=False)
    with pytest.raises(RecordError, match=re.escape(str(path)) + ".*no time column.*--fs"):
        read_ecg(path)
    with pytest.raises(RecordError, match="--units"):
        read_ecg(path, fs=500)
    record = read_ecg(path, fs=500, units="mV")  # 12 columns: the standard order
    assert np.abs(record.signal - ptbxl.signal).max() <= 0.5 + EPS  # 0.001 mV written


def test_cardiosoft_strip_median_and_measurements(written, ptbxl) -> None:
    raw = read_raw_ecg(written["cardiosoft"])
    assert raw.format == "GE CardioSoft XML" and raw.fs == ptbxl.fs
    assert raw.leads == STANDARD_LEADS  # all twelve stored, none derived
    record = read_ecg(written["cardiosoft"])
    for lead in STANDARD_LEADS:  # 5 µV a bit: rounding moves a sample by 2.5 µV at most
        assert np.abs(_row(record, lead) - _row(ptbxl, lead)).max() <= CARDIOSOFT_UV_PER_LSB / 2 + EPS
    assert raw.median.shape == (12, int(1.2 * ptbxl.fs)) and raw.median_fs == ptbxl.fs
    np.testing.assert_allclose(raw.median[1], raw.signal[1, : raw.median.shape[1]])
    device = record.metadata["device_measurements"]
    assert device["source"] == "GE CardioSoft" and device["qrs_ms"] == DEVICE["qrs_ms"]
    assert device["pr_ms"] == DEVICE["pr_ms"] and "p_ms" not in device  # "Invalid" left out
    assert record.metadata["age"] == 63.0 and record.metadata["sex"] == "M"


def test_cardiosoft_bad_lead_costs_only_that_lead(written, tmp_path) -> None:
    text = written["cardiosoft"].read_text(encoding="iso-8859-1")
    start = text.index('<WaveformData lead="V4">', text.index("<StripData>"))
    start = text.index(">", start) + 1
    path = tmp_path / "bad_v4.xml"
    path.write_text(text[:start] + "12,x7," + text[start:], encoding="iso-8859-1")
    record = read_ecg(path)
    assert record.missing_leads == ("V4",)
    assert "not numbers" in record.metadata["lead_errors"]["V4"]
    np.testing.assert_array_equal(_row(record, "V5"), _row(read_ecg(written["cardiosoft"]), "V5"))


def test_philips_xli_decoded_by_sierraecg(written, ptbxl) -> None:
    record = read_ecg(written["philips"])
    np.testing.assert_allclose(record.signal, philips_counts(ptbxl.signal) * PHILIPS_UV, atol=EPS)
    assert np.abs(record.signal - ptbxl.signal).max() <= PHILIPS_UV / 2 + EPS
    device = record.metadata["device_measurements"]
    assert device["source"] == "Philips"
    assert {k: device[k] for k in DEVICE if k != "t_axis_deg"} == {
        k: v for k, v in DEVICE.items() if k != "t_axis_deg"}
    assert "t_axis_deg" not in device  # written as "Invalid"
    assert record.metadata["device"] == "PageWriter TC70"


@pytest.mark.parametrize("residuals", [True, False])
def test_philips_uncompressed_limb_leads_either_way(ptbxl, tmp_path, residuals) -> None:
    """sierraecg 0.4.0 cannot read uncompressed files; the own split restores residual
    limb leads only when they are residuals (Einthoven decides)."""
    path = write_philips(ptbxl.signal, ptbxl.fs, tmp_path / "plain.xml", xli=False, residuals=residuals)
    record = read_ecg(path)
    np.testing.assert_allclose(record.signal, philips_counts(ptbxl.signal) * PHILIPS_UV, atol=EPS)


@pytest.mark.parametrize(("huffman", "difference"), [(True, 2), (True, 1), (True, 0), (False, 2), (False, 0)])
def test_scp_ecg_own_decoder(ptbxl, tmp_path, huffman, difference) -> None:
    path = write_scp(ptbxl.signal, ptbxl.fs, tmp_path / "x.scp", huffman=huffman, difference=difference)
    record = read_ecg(path)
    np.testing.assert_allclose(record.signal, scp_counts(ptbxl.signal) * SCP_AVM_NV / 1000, atol=EPS)
    assert np.abs(record.signal - ptbxl.signal).max() <= SCP_AVM_NV / 2000 + EPS
    assert record.fs == 500 and record.missing_leads == ()
    assert (record.metadata["age"], record.metadata["sex"], record.metadata["device"]) == (63.0, "M", "CT90A")
    device = record.metadata["device_measurements"]
    assert device["source"] == "SCP-ECG section 7"
    assert {k: device[k] for k in DEVICE if k != "t_axis_deg"} == {
        k: v for k, v in DEVICE.items() if k != "t_axis_deg"}
    assert device["p_ms"] == 102 and "t_axis_deg" not in device  # 999: undefined


def test_scp_unsupported_compression_is_named(written, tmp_path) -> None:
    import binascii

    data = bytearray(written["scp"].read_bytes())
    # set the bimodal flag of section 6 (byte 21 of the section), then fix both CRCs
    pointer = 6 + 16 + 6 * 10
    index = int.from_bytes(data[pointer + 6 : pointer + 10], "little") - 1
    length = int.from_bytes(data[index + 4 : index + 8], "little")
    data[index + 21] = 1
    data[index : index + 2] = binascii.crc_hqx(bytes(data[index + 2 : index + length]), 0xFFFF).to_bytes(2, "little")
    data[0:2] = binascii.crc_hqx(bytes(data[2:]), 0xFFFF).to_bytes(2, "little")
    path = tmp_path / "bimodal.scp"
    path.write_bytes(bytes(data))
    with pytest.raises(RecordError, match=re.escape(str(path)) + ".*bimodal compression is not supported"):
        read_ecg(path)


# --------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize("kind", [kind for kind in WRITERS if kind != "csv"])  # CSV holds none
def test_identifiers_read_but_kept_out_of_records(written, kind) -> None:
    raw = read_raw_ecg(written[kind])
    held = " ".join(raw.identifiers.reveal().values())
    assert IDENTITY["id"] in held and IDENTITY["last"] in held  # they were read
    record = read_ecg(written[kind])
    for text in (repr(record.metadata), json.dumps(record.metadata, default=str), repr(raw),
                 str(raw.identifiers)):
        for value in IDENTITY.values():
            assert value not in text
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(raw.identifiers)


def test_measure_json_reads_every_format_without_identifiers(written, capsys) -> None:
    from ecgwb.cli import main

    for kind, path in written.items():
        assert main(["measure", str(path), "--json"]) == 0
        out = capsys.readouterr().out
        row = json.loads(out)
        assert row["record"] == path.name and "error" not in row
        assert 40 < row["hr_bpm"] < 100  # the same real record in every format
        for value in IDENTITY.values():
            assert value not in out
        if kind == "muse":
            assert row["device"]["source"] == "GE MUSE 12SL" and row["device"]["qrs_ms"] == 94.0


def test_measure_json_headerless_csv_options(ptbxl, tmp_path, capsys) -> None:
    from ecgwb.cli import main

    path = write_csv(ptbxl.signal, ptbxl.fs, tmp_path / "plain.txt", header=False)
    assert main(["measure", str(path), "--json"]) == 1
    assert "no time column" in json.loads(capsys.readouterr().out)["error"]
    assert main(["measure", str(path), "--json", "--fs", "500", "--units", "uV"]) == 0
    assert "hr_bpm" in json.loads(capsys.readouterr().out)


def test_measure_lead_option_names_edf_channels(ptbxl, tmp_path, capsys) -> None:
    from ecgwb.cli import main

    path = write_edf(ptbxl.signal, ptbxl.fs, tmp_path / "chan.edf",
                     labels=[f"Chan{i + 1}" for i in range(12)])
    assert main(["measure", str(path), "--json"]) == 1
    assert "no ECG channel" in json.loads(capsys.readouterr().out)["error"]
    lead_args = ["--lead-map", ",".join(f"Chan{i + 1}={lead}" for i, lead in enumerate(STANDARD_LEADS))]
    assert main(["measure", str(path), "--json", *lead_args]) == 0
    named = json.loads(capsys.readouterr().out)
    assert main(["measure", str(write_edf(ptbxl.signal, ptbxl.fs, tmp_path / "ecg.edf")), "--json"]) == 0
    assert named == {**json.loads(capsys.readouterr().out), "record": "chan.edf"}


# --------------------------------------------------------------------------- damaged files


def _damage(path: Path, kind: str) -> str:
    """Damage ``path`` in place the way a broken export or transfer would; the reason."""
    data = path.read_bytes()
    if kind == "muse":
        path.write_bytes(data[: len(data) - 300])
        return "broken XML"
    if kind == "hl7_aecg":
        path.write_bytes(data[: len(data) // 2])
        return "broken XML"
    if kind == "dicom":
        path.write_bytes(data[: len(data) // 2])
        return "unreadable DICOM"
    if kind == "edf":
        path.write_bytes(data[: len(data) - 1000])
        return "unreadable EDF"
    if kind == "csv":
        path.write_bytes(data.replace(b"\n", b"\n12.5,abc,", 1))
        return "non-number|columns"
    if kind == "philips":  # compressed data cut short: leads hold fewer samples
        start = data.index(b'leadlabels="')
        start = data.index(b">", start) + 1
        end = data.index(b"</parsedwaveforms>")
        payload = base64.b64decode(data[start:end])
        path.write_bytes(data[:start] + base64.b64encode(payload[: len(payload) // 3]) + data[end:])
        return "Philips"
    if kind == "scp":  # one bit flipped in the rhythm data: the CRCs fail
        damaged = bytearray(data)
        damaged[len(data) // 2] ^= 0x10
        path.write_bytes(bytes(damaged))
        return "CRC check"
    if kind == "cardiosoft":
        path.write_bytes(data[: len(data) - 200])
        return "broken XML"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", list(WRITERS))
def test_damaged_file_gives_clear_error(written, kind, tmp_path) -> None:
    path = tmp_path / written[kind].name
    path.write_bytes(written[kind].read_bytes())
    reason = _damage(path, kind)
    with pytest.raises(RecordError) as info:
        read_ecg(path)
    assert str(path) in str(info.value)
    assert re.search(reason, str(info.value)), str(info.value)


def test_muse_lead_failing_its_crc_costs_only_that_lead(written, ptbxl, tmp_path) -> None:
    data = written["muse"].read_bytes()
    rhythm = data.index(b"<WaveformType>Rhythm")
    start = data.index(b"<WaveFormData>", data.index(b"<LeadID>V2</LeadID>", rhythm)) + len(b"<WaveFormData>")
    end = data.index(b"</WaveFormData>", start)
    payload = bytearray(base64.b64decode(data[start:end]))
    payload[10] ^= 0x55
    path = tmp_path / "crc.xml"
    path.write_bytes(data[:start] + base64.encodebytes(bytes(payload)) + data[end:])
    record = read_ecg(path)
    assert record.missing_leads == ("V2",)
    assert "CRC32" in record.metadata["lead_errors"]["V2"]
    np.testing.assert_array_equal(record.signal[STANDARD_LEADS.index("V3")],
                                  read_ecg(written["muse"]).signal[STANDARD_LEADS.index("V3")])


def test_hl7_unusable_lead_costs_only_that_lead(written, tmp_path) -> None:
    text = written["hl7_aecg"].read_text()
    start = text.index("<digits>", text.index('code="MDC_ECG_LEAD_V3"')) + len("<digits>")
    path = tmp_path / "bad_v3.xml"
    path.write_text(text[:start] + "12 x7 " + text[start:])
    record = read_ecg(path)
    assert record.missing_leads == ("V3",)
    assert "digits are not numbers" in record.metadata["lead_errors"]["MDC_ECG_LEAD_V3"]


def test_xml_external_entity_refused(written, tmp_path) -> None:
    path = tmp_path / "xxe.xml"
    text = written["muse"].read_text(encoding="iso-8859-1")
    text = text.replace('<!DOCTYPE RestingECG SYSTEM "restecg.dtd">',
                        '<!DOCTYPE RestingECG [<!ENTITY x SYSTEM "file:///etc/passwd">]>')
    path.write_text(text.replace("<DataType>RESTING", "<DataType>&x;"), encoding="iso-8859-1")
    with pytest.raises(RecordError, match=re.escape(str(path)) + ".*unsafe XML"):
        read_ecg(path)


def test_size_limit_and_unknown_formats(written, tmp_path) -> None:
    with pytest.raises(RecordError, match=r"above the .* limit"):
        read_ecg(written["muse"], max_bytes=100_000)
    other = tmp_path / "note.xml"
    other.write_text("<?xml version='1.0'?><note><to>x</to></note>")
    with pytest.raises(RecordError, match=r"note\.xml.*<note> is not a known ECG format"):
        read_ecg(other)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(RecordError, match=r"blob\.bin.*unrecognised file format"):
        read_ecg(blob)
    with pytest.raises(RecordError, match="empty file"):
        (tmp_path / "empty.csv").write_bytes(b"")
        read_ecg(tmp_path / "empty.csv")


def test_folder_of_mixed_formats(written, ptbxl, ptbxl500, tmp_path) -> None:
    """WFDB headers and every identifiable export are records; a label CSV is not."""
    from ecgcore.io import open_source

    for kind, path in written.items():
        if kind != "csv":
            (tmp_path / path.name).write_bytes(path.read_bytes())
    for suffix in (".hea", ".dat"):
        src = ptbxl500 / "records500" / "00000" / f"00002_hr{suffix}"
        (tmp_path / src.name).write_bytes(src.read_bytes())
    (tmp_path / "labels.csv").write_text("record,label\n00002_hr,1\n")
    broken = tmp_path / "broken_muse.xml"
    broken.write_bytes(written["muse"].read_bytes()[:5000])  # root still says MUSE
    source = open_source(tmp_path)
    expected = sorted([p.stem for k, p in written.items() if k != "csv"] + ["00002_hr", broken.stem])
    assert sorted(source.record_ids) == expected
    results = dict(source.iter_records())
    assert isinstance(results[broken.stem], RecordError) and "broken XML" in str(results[broken.stem])
    good = {rid: r for rid, r in results.items() if not isinstance(r, RecordError)}
    assert len(good) == len(expected) - 1
    rows = [STANDARD_LEADS.index(lead) for lead in INDEPENDENT_LEADS]  # MUSE derives the rest
    for rid, record in good.items():
        if rid != "00002_hr":  # every export holds 00001_hr, quantised at 2.5 µV at most
            assert np.abs(record.signal[rows] - ptbxl.signal[rows]).max() <= 2.5 + EPS, rid


# --------------------------------------------------------------------------- Apple Watch


@pytest.fixture(scope="module")
def watch_lead(ptbxl: Record) -> np.ndarray:
    """PTB-XL 00001_hr's lead I at the watch's 512 Hz, three times over (30 s)."""
    from ecgcore.signal.clean import resample

    return np.tile(resample(ptbxl.signal[:1].astype(np.float64), ptbxl.fs, 512.0)[0], 3)


def test_apple_watch_export_read_as_lead_i(watch_lead, tmp_path) -> None:
    path = write_apple_watch(watch_lead, 512.0, tmp_path / "ecg_2026-03-14.csv", heart_rate=64)
    assert detect_format(path) == "apple_watch"
    raw = read_raw_ecg(path)
    assert (raw.fs, raw.leads) == (512.0, ("Lead I",))
    assert raw.metadata["device_classification"] == "Sinus Rhythm"
    assert raw.metadata["device"] == "Watch6,2" and raw.metadata["units"] == "µV"
    assert raw.device_measurements.as_dict() == {"source": "Apple Watch ECG app", "hr_bpm": 64.0}
    record = read_ecg(path)
    assert record.fs == 512.0 and record.missing_leads == tuple(STANDARD_LEADS[1:])
    assert np.abs(_row(record, "I") - watch_lead).max() <= EPS + 1e-3  # written to 0.001 µV
    # the name and birth date were read, and reach neither the record nor its repr
    held = " ".join(raw.identifiers.reveal().values())
    assert IDENTITY["last"] in held and IDENTITY["birth"][:4] in held
    for text in (repr(record.metadata), json.dumps(record.metadata, default=str), repr(raw)):
        assert IDENTITY["last"] not in text and IDENTITY["first"] not in text


def test_apple_watch_locale_and_older_exports(watch_lead, tmp_path) -> None:
    """Decimal commas (the phone's locale) and exports without Lead and Unit lines (older
    watchOS: lead I in µV, as the format defines them) read the same samples."""
    plain = read_ecg(write_apple_watch(watch_lead, 512.0, tmp_path / "a.csv"))
    comma = read_ecg(write_apple_watch(watch_lead, 512.0, tmp_path / "b.csv", decimal_comma=True))
    older = read_ecg(write_apple_watch(watch_lead, 512.0, tmp_path / "c.csv", lead_and_unit=False))
    np.testing.assert_array_equal(comma.signal[0], plain.signal[0])
    np.testing.assert_array_equal(older.signal[0], plain.signal[0])
    assert older.missing_leads == plain.missing_leads


def test_apple_watch_damaged_and_plain_csv_apart(watch_lead, ptbxl, tmp_path) -> None:
    path = write_apple_watch(watch_lead, 512.0, tmp_path / "ecg.csv")
    text = path.read_text(encoding="utf-8")
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: text.index("Sample Rate")], encoding="utf-8")
    assert detect_format(cut) == "csv"  # no rate line: not recognised as a watch export
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace("\n\n\n", "\n\n\n12.5\nabc\n", 1), encoding="utf-8")
    with pytest.raises(RecordError, match=re.escape(str(bad)) + ".*'abc' below the header"):
        read_ecg(bad)
    assert detect_format(write_csv(ptbxl.signal, ptbxl.fs, tmp_path / "table.csv")) == "csv"
    rate_line = tmp_path / "rate_line.csv"  # a table of leads under a rate line of its own
    rate_line.write_text("Sample Rate,500 hertz\nI (uV),II (uV)\n1.0,2.0\n3.0,4.0\n")
    assert detect_format(rate_line) == "csv"


def test_measure_json_apple_watch_without_identifiers(watch_lead, ptbxl, tmp_path, capsys) -> None:
    """`ecgwb measure` reads the export as one lead and prints none of the identifiers; its
    intervals are the same record's lead I read alone (at 500 Hz from PTB-XL) within a
    sample or two of either rate."""
    from ecgwb.cli import main

    path = write_apple_watch(watch_lead, 512.0, tmp_path / "ecg_2026-03-14.csv")
    assert main(["measure", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    for value in (IDENTITY["last"], IDENTITY["first"], "Feb 3"):
        assert value not in out
    row = json.loads(out)
    assert row["leads"] == ["I"] and row["record"] == path.name
    lead_i = tmp_path / "lead_i.csv"
    write_csv(np.where(np.arange(12)[:, None] == 0, ptbxl.signal, np.nan), ptbxl.fs, lead_i)
    assert main(["measure", str(lead_i), "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["leads"] == ["I"]
    for key in ("qrs_ms", "qt_ms", "pr_ms"):
        assert abs(row[key] - alone[key]) <= 6.0, (key, row[key], alone[key])


def test_folder_scan_finds_apple_watch_exports(watch_lead, tmp_path) -> None:
    from ecgcore.io import open_source

    write_apple_watch(watch_lead, 512.0, tmp_path / "ecg_2026-03-14.csv")
    (tmp_path / "labels.csv").write_text("record,label\necg_2026-03-14,1\n")
    source = open_source(tmp_path)
    assert list(source.record_ids) == ["ecg_2026-03-14"]
