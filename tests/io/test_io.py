"""ecgcore.io on real PTB-XL and LUDB records: units, leads, comments, PTB-XL labels, sources."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from ecgcore.io import (
    PTBXL,
    SUPERCLASSES,
    infer_label_kind,
    load_labels,
    open_source,
    parse_header_comments,
    read_wfdb,
    record_key,
    scan_folder,
    survey_folder,
)
from ecgcore.leads import STANDARD_LEADS

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def data_path(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"real test data missing: {path} (expected ../shared/data/ from the repo root)")
    return path


@pytest.fixture(scope="module")
def ptbxl_root() -> Path:
    return data_path("ptbxl500")


@pytest.fixture(scope="module")
def hr1() -> Path:
    """Base path (no extension) of PTB-XL ecg_id 1 at 500 Hz."""
    return data_path("ptbxl500", "records500", "00000", "00001_hr.hea").with_suffix("")


@pytest.fixture(scope="module")
def ptbxl(ptbxl_root: Path) -> PTBXL:
    return PTBXL(ptbxl_root, rate=500)


def rewrite(
    src: Path,
    out_dir: Path,
    name: str,
    *,
    channels=None,
    sig_name=None,
    units=None,
    gain_factor: float = 1.0,
    comments=None,
    d_signal=None,
) -> Path:
    """Write the digital samples of a real record as a new WFDB record; returns its base path."""
    rec = wfdb.rdrecord(str(src), physical=False)
    channels = list(range(rec.n_sig)) if channels is None else list(channels)
    digital = rec.d_signal[:, channels] if d_signal is None else d_signal
    wfdb.wrsamp(
        name,
        fs=rec.fs,
        write_dir=str(out_dir),
        d_signal=digital,
        sig_name=sig_name or [rec.sig_name[c] for c in channels],
        units=units or [rec.units[c] for c in channels],
        adc_gain=[rec.adc_gain[c] * gain_factor for c in channels],
        baseline=[rec.baseline[c] for c in channels],
        fmt=["16"] * len(channels),
        comments=comments or [],
    )
    return out_dir / name


# --------------------------------------------------------------------------- WFDB reading


def test_ptbxl_mv_header_read_as_microvolts(hr1: Path) -> None:
    record = read_wfdb(hr1)
    assert record.record_id == "00001_hr"
    assert record.signal.dtype == np.float32 and record.signal.shape == (12, 5000)
    assert record.fs == 500 and record.leads == STANDARD_LEADS and record.missing_leads == ()
    raw = wfdb.rdrecord(str(hr1))
    assert raw.units[1] == "mV"
    lead_ii = record.lead("II")
    np.testing.assert_allclose(lead_ii, raw.p_signal[:, 1] * 1000, rtol=1e-6)
    assert 100 < np.abs(lead_ii).max() < 3000  # a few hundred µV, not 0.x (mV) or 1e5
    for spelling in (f"{hr1}.hea", f"{hr1}.dat", str(hr1)):
        assert read_wfdb(spelling).signal.tobytes() == record.signal.tobytes()


def test_ludb_lower_case_leads_per_lead_gains(hr1: Path) -> None:
    base = data_path("ludb_dev", "data", "1.hea").with_suffix("")
    record = read_wfdb(base)
    raw = wfdb.rdrecord(str(base))
    assert raw.sig_name[3] == "avr" and record.missing_leads == ()
    np.testing.assert_allclose(record.lead("aVR"), raw.p_signal[:, 3] * 1000, rtol=1e-6)
    assert record.metadata["age"] == 51.0 and record.metadata["sex"] == "F"
    assert record.metadata["rhythm"] == "Sinus bradycardia."
    assert "Left ventricular hypertrophy." in record.metadata["comments"]


@pytest.mark.parametrize("unit, factor", [("uV", 1e-3), ("µV", 1e-3), ("V", 1e3), ("mV", 1.0)])
def test_header_units_converted_to_microvolts(
    hr1: Path, tmp_path: Path, unit: str, factor: float
) -> None:
    # gain per unit: 1000/mV becomes 1/µV or 1e6/V, same digital samples → same µV
    base = rewrite(hr1, tmp_path, "units", units=[unit] * 12, gain_factor=factor)
    np.testing.assert_allclose(read_wfdb(base).signal, read_wfdb(hr1).signal, rtol=1e-6)


def test_shuffled_lower_case_leads_read_identically(hr1: Path, tmp_path: Path) -> None:
    order = np.random.default_rng(0).permutation(12)
    names = [STANDARD_LEADS[c].lower() for c in order]
    base = rewrite(hr1, tmp_path, "shuffled", channels=order, sig_name=names)
    assert wfdb.rdheader(str(base)).sig_name == names
    shuffled, original = read_wfdb(base), read_wfdb(hr1)
    assert shuffled.leads == STANDARD_LEADS
    assert np.array_equal(shuffled.signal, original.signal)


def test_missing_leads_become_nan_rows(hr1: Path, tmp_path: Path) -> None:
    keep = [0, 1, 6, 7, 8, 9, 10, 11]  # I, II, V1–V6: the 8 independent leads
    record = read_wfdb(rewrite(hr1, tmp_path, "eight", channels=keep))
    assert record.missing_leads == ("III", "aVR", "aVL", "aVF")
    assert record.signal.shape == (12, 5000)
    assert np.isnan(record.signal[2:6]).all()
    np.testing.assert_array_equal(record.signal[keep], read_wfdb(hr1).signal[keep])


def test_all_nan_lead_counts_as_missing(hr1: Path, tmp_path: Path) -> None:
    digital = wfdb.rdrecord(str(hr1), physical=False).d_signal.copy()
    digital[:, 4] = -32768  # the format-16 "no sample" value, read as NaN
    record = read_wfdb(rewrite(hr1, tmp_path, "nanlead", d_signal=digital))
    assert record.missing_leads == ("aVL",) and np.isnan(record.lead("aVL")).all()


def test_non_standard_leads_kept_after_the_twelve(hr1: Path, tmp_path: Path) -> None:
    channels = list(range(12)) + [0, 1, 6, 1]
    names = list(STANDARD_LEADS) + ["vx", "vy", "vz", "MLII"]  # MLII: a second lead II
    record = read_wfdb(rewrite(hr1, tmp_path, "frank", channels=channels, sig_name=names))
    assert record.leads == STANDARD_LEADS + ("vx", "vy", "vz") and record.missing_leads == ()
    assert record.metadata["extra_leads"] == ["MLII"]
    np.testing.assert_array_equal(record.signal[12:], read_wfdb(hr1).signal[[0, 1, 6]])


def test_header_comments_written_and_parsed(hr1: Path, tmp_path: Path) -> None:
    comments = [
        "Age: 63",
        "Sex: Male",
        "Dx: 426783006,164889003",
        "Chagas label: True",
        "Labels: a, b",
        "Source: CODE-15%",
        "Rx: Unknown",
        "recorded at rest",
    ]
    record = read_wfdb(rewrite(hr1, tmp_path, "comments", comments=comments))
    meta = record.metadata
    assert meta["age"] == 63.0 and meta["sex"] == "M"
    assert meta["dx"] == ["426783006", "164889003"]
    assert meta["chagas_label"] is True and meta["labels"] == ["a", "b"]
    assert meta["source"] == "CODE-15%" and meta["rx"] == "Unknown"
    assert meta["comments"] == ["recorded at rest"] and meta["extra_leads"] == []


def test_challenge_mat_records_read_like_dat(hr1: Path, tmp_path: Path) -> None:
    """The PhysioNet/CinC Challenge layout (the samples in a MATLAB v4 ``.mat`` named by the
    header as format ``16+24``, diagnoses as ``#Dx`` comments), in which other hospitals'
    cohorts are shared (CPSC, Georgia, Chapman-Shaoxing, Ningbo, INCART): the same samples
    and intervals as the same record's ``.dat``."""
    import scipy.io

    rec = wfdb.rdrecord(str(hr1), physical=False)
    digital = rec.d_signal.T.astype(np.int16)  # [leads, samples], 1000 units a mV
    scipy.io.savemat(tmp_path / "E00001.mat", {"val": digital}, format="4")
    lines = [f"E00001 12 {rec.fs:g} {digital.shape[1]}"]
    lines += [f"E00001.mat 16+24 {rec.adc_gain[i]:g}/mV 16 {rec.baseline[i]} {digital[i, 0]} 0 0 "
              f"{name}" for i, name in enumerate(rec.sig_name)]
    lines += ["#Age: 74", "#Sex: Male", "#Dx: 426783006"]
    (tmp_path / "E00001.hea").write_text("\n".join(lines) + "\n")
    mat, dat = read_wfdb(tmp_path / "E00001"), read_wfdb(hr1)
    assert mat.leads == dat.leads and mat.fs == dat.fs
    np.testing.assert_array_equal(mat.signal, dat.signal)
    assert mat.metadata["age"] == 74.0 and mat.metadata["dx"] == ["426783006"]
    from ecgcore.signal.pipeline import process_record

    assert process_record(mat).intervals == process_record(dat).intervals


def test_parse_header_comments_variants() -> None:
    meta = parse_header_comments([" Age: NaN", " Sex: F", " Chagas label: False", "<diagnoses>:"])
    assert meta == {"age": None, "sex": "F", "chagas_label": False, "comments": ["<diagnoses>:"]}
    assert parse_header_comments(["Age: Unknown", "Sex: Female"])["age"] is None
    assert parse_header_comments(["Sex: Female", "Age: 63 years"]) == {
        "sex": "F",
        "age": 63.0,
        "comments": [],
    }
    assert parse_header_comments(["Age: 71.5", "Age: 12"]) == {"age": 71.5, "comments": ["Age: 12"]}


# --------------------------------------------------------------------------- PTB-XL


def test_ptbxl_metadata_table(ptbxl: PTBXL) -> None:
    meta = ptbxl.metadata
    assert len(meta) == 500 and meta.index.name == "ecg_id" and meta.index[0] == 1
    assert meta.loc[1, "sex"] == "F" and meta.loc[2, "sex"] == "M"  # PTB-XL sex 1 = female
    assert meta.loc[1, "age"] == 56 and np.isnan(meta.loc[108, "age"])
    assert meta.loc[1, "patient_id"] == 15709 and meta.loc[1, "strat_fold"] == 3
    assert meta.loc[1, "filename"] == "records500/00000/00001_hr"
    # scp_codes stays text (Parquet-safe); read_record gives it parsed
    assert meta.loc[1, "scp_codes"] == "{'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}"
    assert len(ptbxl.subclasses) == 23
    assert [c for c in meta if c.startswith("superclass_")] == [
        f"superclass_{s}" for s in SUPERCLASSES
    ]
    # counts from ../shared/data/README.md
    sums = {s: int(meta[f"superclass_{s}"].sum()) for s in SUPERCLASSES}
    assert sums == {"NORM": 297, "STTC": 96, "CD": 78, "MI": 73, "HYP": 40}
    assert (meta["strat_fold"] == 9).sum() == 81 and meta["age"].isna().sum() == 4


@pytest.mark.parametrize(
    "ecg_id, superclasses, subclasses",
    [
        (1, ["NORM"], ["NORM"]),  # NORM 100, LVOLT/SR not diagnostic
        (8, ["MI"], ["IMI"]),  # IMI 35
        (17, [], []),  # AFLT, ABQRS, AFIB: rhythm/form only
        (39, ["MI", "STTC"], ["IMI", "NST_", "STTC"]),  # IMI, LNGQT→STTC, NST_, DIG→STTC
        (45, ["CD", "HYP"], ["IRBBB", "RAO/RAE", "RVH"]),
        (102, ["STTC", "CD"], ["ISCA", "_AVB"]),  # ISCAL→ISCA, 1AVB→_AVB
        (263, ["MI", "STTC"], ["AMI", "NST_"]),  # ASMI 50, NST_ at likelihood 0 counts
    ],
)
def test_ptbxl_benchmark_label_mapping(ptbxl: PTBXL, ecg_id: int, superclasses, subclasses) -> None:
    row = ptbxl.metadata.loc[ecg_id]
    assert row["superclasses"] == superclasses and row["subclasses"] == subclasses
    assert [s for s in SUPERCLASSES if row[f"superclass_{s}"] == 1] == superclasses
    assert sorted(s for s in ptbxl.subclasses if row[f"subclass_{s}"] == 1) == subclasses


def test_ptbxl_read_record_both_rates(ptbxl: PTBXL, ptbxl_root: Path) -> None:
    record = ptbxl.read_record(39)
    assert record.record_id == "39" and record.fs == 500 and record.n_samples == 5000
    assert record.metadata["superclasses"] == ["MI", "STTC"] and record.metadata["ecg_id"] == 39
    assert record.metadata["scp_codes"]["IMI"] == 15.0 and record.metadata["sex"] in {"M", "F"}
    low = PTBXL(ptbxl_root, rate=100).read_record("39")
    assert low.fs == 100 and low.signal.shape == (12, 1000)
    # the same ECG at both rates: 500 Hz decimated by 5 is close to the 100 Hz record
    assert np.abs(record.signal[:, ::5] - low.signal).mean() < 50
    with pytest.raises(KeyError, match="99999"):
        ptbxl.read_record(99999)
    with pytest.raises(ValueError, match="rate"):
        PTBXL(ptbxl_root, rate=250)


# --------------------------------------------------------------------------- folders, sources


def test_scan_folder_finds_records(ptbxl_root: Path) -> None:
    ludb = scan_folder(data_path("ludb_dev"))
    assert len(ludb) == 100 and ludb[0].name == "1.hea" and ludb[1].name == "3.hea"
    assert len(scan_folder(ptbxl_root / "records100")) == 500


def test_scan_folder_skips_multisegment(hr1: Path, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    rewrite(hr1, tmp_path / "sub", "single")
    (tmp_path / "multi.hea").write_text("multi/2 12 500 10000\nseg_1 5000\nseg_2 5000\n")
    scan = survey_folder(tmp_path)
    assert [p.name for p in scan.records] == ["single.hea"]
    assert "multi-segment" in scan.skipped[tmp_path / "multi.hea"]


def test_open_source_ptbxl_root(ptbxl_root: Path) -> None:
    source = open_source(ptbxl_root)
    assert source.kind == "ptbxl" and len(source) == 500 and source.record_ids[:2] == ["1", "2"]
    assert source.metadata.loc["39", "superclass_MI"] == 1
    record = source.read("39")
    assert record.record_id == "39" and record.fs == 500
    assert open_source(ptbxl_root, rate=100).read("1").fs == 100
    with pytest.raises(KeyError, match="not in source"):
        source.read("nope")


def test_open_source_folder_and_single_file(hr1: Path) -> None:
    source = open_source(data_path("ludb_dev"))
    assert source.kind == "folder" and len(source) == 100 and "3" in source
    assert source.read("3").record_id == "3"
    single = open_source(f"{hr1}.hea")
    assert single.record_ids == ["00001_hr"] and single.read("00001_hr").fs == 500


def test_open_source_is_lazy(ptbxl_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("a signal or header was read while listing")

    monkeypatch.setattr(wfdb, "rdrecord", forbidden)
    monkeypatch.setattr(wfdb, "rdheader", forbidden)
    assert len(open_source(ptbxl_root)) == 500
    assert len(open_source(data_path("ludb_dev"))) == 100


def test_open_source_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        open_source(tmp_path / "no_such_folder")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no records here")
    with pytest.raises(ValueError, match="no WFDB records"):
        open_source(tmp_path / "empty")


# --------------------------------------------------------------------------- labels


def test_record_key_rule() -> None:
    for form in [
        "00001_hr",
        "1",
        1,
        1.0,
        "records500/00000/00001_hr",
        "records100/00000/00001_lr.hea",
        "00001",
        r"C:\data\00001_HR.dat",
    ]:
        assert record_key(form) == "1", form
    assert record_key("data/A0001.hea") == "a0001" and record_key("17") != record_key("171")


def test_infer_label_kind() -> None:
    assert infer_label_kind(pd.Series([55.0, 35.5, None, 62])) == "continuous"
    assert infer_label_kind(pd.Series(["55", "35.5"])) == "continuous"
    for values in ([0, 1, 1], [True, False], ["yes", "no", None], ["True", "false"], ["Y", "n"]):
        assert infer_label_kind(pd.Series(values)) == "binary", values
    assert infer_label_kind(pd.Series(["sinus", "afib", "sinus"])) == "categorical"
    assert infer_label_kind(pd.Series([None, None])) == "categorical"


def _labels_table() -> pd.DataFrame:
    # a made-up test fixture (PTB-XL has no LVEF): three id spellings for ecg_ids 1, 2, 3
    return pd.DataFrame(
        {
            "record": ["00001_hr", "2", "records500/00000/00003_hr", "9999"],
            "lvef": [60.0, 35.0, None, 50.0],
            "reduced_lvef": ["no", "yes", "False", "1"],
            "rhythm": ["sinus", "afib", "sinus", "sinus"],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_labels_joined_from_csv_and_parquet(ptbxl_root: Path, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"labels{suffix}"
    table = _labels_table()
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path, index=False)
    labels = load_labels(path)
    assert labels.attrs["label_kinds"] == {
        "lvef": "continuous",
        "reduced_lvef": "binary",
        "rhythm": "categorical",
    }
    assert labels["reduced_lvef"].tolist() == [False, True, False, True]
    with pytest.warns(UserWarning, match="match no record"):
        source = open_source(ptbxl_root, labels=path)
    meta = source.metadata
    assert source.label_kinds["lvef"] == "continuous" and source.unmatched_labels == ["9999"]
    assert (
        meta.loc["1", "lvef"] == 60.0
        and meta.loc["2", "lvef"] == 35.0
        and np.isnan(meta.loc["3", "lvef"])
    )
    assert (
        bool(meta.loc["2", "reduced_lvef"]) is True and bool(meta.loc["1", "reduced_lvef"]) is False
    )
    assert (
        meta.loc["3", "rhythm"] == "sinus"
        and meta.loc["3", "label_id"] == "records500/00000/00003_hr"
    )
    assert pd.isna(meta.loc["4", "lvef"]) and len(meta) == 500
    assert meta.loc["1", "superclass_NORM"] == 1  # PTB-XL metadata kept beside the labels


def test_labels_on_plain_folder(tmp_path: Path) -> None:
    path = tmp_path / "ludb_labels.csv"
    pd.DataFrame({"ID": ["1", "003"], "weight": [51, 70], "paced": [0, 1]}).to_csv(
        path, index=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every label row matches a record
        source = open_source(data_path("ludb_dev"), labels=path)
    assert (
        source.metadata.loc["3", "weight"] == 70 and bool(source.metadata.loc["3", "paced"]) is True
    )
    assert pd.isna(source.metadata.loc["5", "weight"])
    assert source.label_kinds == {"weight": "continuous", "paced": "binary"}


def test_label_column_clashing_with_dataset_column(ptbxl_root: Path) -> None:
    labels = pd.DataFrame({"ecg_id": [1, 2], "age": [99.0, 98.0]})
    source = open_source(ptbxl_root, labels=labels)
    assert source.metadata.loc["1", "age"] == 99.0 and source.metadata.loc["1", "age_dataset"] == 56


def test_label_table_errors(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    pd.DataFrame({"ecg_id": ["1", "00001_hr"], "lvef": [50, 60]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="more than once"):
        load_labels(path)
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        load_labels(tmp_path / "absent.csv")
    no_id = tmp_path / "no_id.csv"
    pd.DataFrame({"patient": ["1"], "lvef": [50]}).to_csv(no_id, index=False)
    with pytest.raises(ValueError, match="record-id column"):
        load_labels(no_id)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": ["1", "2"], "lvef": ["55", "low"]}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="lvef"):
        load_labels(bad, kinds={"lvef": "continuous"})


def test_lead_names_aliases_and_maps() -> None:
    from ecgcore.leads import map_lead_name, normalize_lead_name

    assert [normalize_lead_name(n) for n in ("avf", "Lead aVR", "DII", "MLII", "MLIII", "v5")] == [
        "aVF", "aVR", "II", "II", "III", "V5"]
    # Holter names that are not 12-lead names stay unknown (D3 of the European ST-T
    # database is not lead III; CM5 is a bipolar chest lead, not V5).
    assert [normalize_lead_name(n) for n in ("ECG", "ECG1", "CM5", "D3", "mod.V1", "-aVR")] == [None] * 6
    assert map_lead_name(" CM5 ") == "CM5" and map_lead_name("cm5", {"CM5": "v5"}) == "V5"
    assert map_lead_name("ECG", {"ecg": "Holter"}) == "Holter"
