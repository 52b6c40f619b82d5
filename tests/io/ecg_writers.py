"""Writers of clinical ECG formats for the format tests, each following its published
schema (GE MUSE XML, HL7 aECG, Philips Sierra XML with XLI compression, CSV) or using the
format's own library (pydicom for DICOM, edfio for EDF). Every writer stores the patient
identifiers in ``IDENTITY`` so that tests can check they never leak.
"""

from __future__ import annotations

import base64
import zlib
from pathlib import Path

import numpy as np

from ecgcore.leads import STANDARD_LEADS

#: Identifiers written into every file; none may appear in a Record or in `ecgwb measure`.
IDENTITY = {"last": "Zyxwvut", "first": "Quorra", "id": "PID-8675309", "birth": "19610203"}
#: 12SL-style measurements written into the MUSE and Philips files.
DEVICE = {"hr_bpm": 63.0, "pr_ms": 158.0, "qrs_ms": 94.0, "qt_ms": 402.0, "qtc_ms": 412.0,
          "p_axis_deg": 55.0, "axis_deg": 31.0, "t_axis_deg": 40.0}
MUSE_UV_PER_BIT = 4.88
HL7_SCALE_UV, HL7_ORIGIN_UV = 2.5, 10.0
PHILIPS_UV = 5.0


def _lead(signal: np.ndarray, name: str) -> np.ndarray:
    return signal[STANDARD_LEADS.index(name)].astype(np.float64)


# --------------------------------------------------------------------------- GE MUSE


def _muse_lead(name: str, counts: np.ndarray) -> str:
    payload = counts.astype("<i2").tobytes()
    return (
        "<LeadData>"
        f"<LeadByteCountTotal>{len(payload)}</LeadByteCountTotal>"
        "<LeadTimeOffset>0</LeadTimeOffset>"
        f"<LeadSampleCountTotal>{counts.size}</LeadSampleCountTotal>"
        f"<LeadAmplitudeUnitsPerBit>{MUSE_UV_PER_BIT}</LeadAmplitudeUnitsPerBit>"
        "<LeadAmplitudeUnits>MICROVOLTS</LeadAmplitudeUnits>"
        f"<LeadID>{name}</LeadID><LeadSampleSize>2</LeadSampleSize>"
        f"<LeadDataCRC32>{zlib.crc32(payload)}</LeadDataCRC32>"
        f"<WaveFormData>{base64.encodebytes(payload).decode()}</WaveFormData>"
        "</LeadData>"
    )


def muse_counts(signal: np.ndarray) -> dict[str, np.ndarray]:
    """The int16 counts the MUSE writer stores for the 8 independent leads."""
    names = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    return {n: np.round(_lead(signal, n) / MUSE_UV_PER_BIT).astype(np.int16) for n in names}


def write_muse(signal: np.ndarray, fs: float, path: Path) -> Path:
    """A MUSE RestingECG XML: 8 leads of rhythm and a 1.2 s median, 12SL measurements."""
    counts = muse_counts(signal)
    median = int(1.2 * fs)

    def waveform(kind: str, stop: int | None) -> str:
        leads = "".join(_muse_lead(n, c[:stop]) for n, c in counts.items())
        return (f"<Waveform><WaveformType>{kind}</WaveformType><NumberofLeads>8</NumberofLeads>"
                f"<SampleBase>{fs:g}</SampleBase><SampleExponent>0</SampleExponent>{leads}</Waveform>")

    m = DEVICE
    xml = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<!DOCTYPE RestingECG SYSTEM "restecg.dtd">\n'
        "<RestingECG><MuseInfo><MuseVersion>9.0.9.18167</MuseVersion></MuseInfo>"
        f"<PatientDemographics><PatientID>{IDENTITY['id']}</PatientID><PatientAge>63</PatientAge>"
        f"<AgeUnits>YEARS</AgeUnits><DateofBirth>{IDENTITY['birth']}</DateofBirth><Gender>MALE</Gender>"
        f"<PatientLastName>{IDENTITY['last']}</PatientLastName>"
        f"<PatientFirstName>{IDENTITY['first']}</PatientFirstName></PatientDemographics>"
        "<TestDemographics><DataType>RESTING</DataType><AcquisitionDevice>MAC55</AcquisitionDevice>"
        "<AcquisitionTime>09:41:07</AcquisitionTime><AcquisitionDate>03-17-2019</AcquisitionDate>"
        "</TestDemographics>"
        f"<RestingECGMeasurements><VentricularRate>{m['hr_bpm']:g}</VentricularRate>"
        f"<AtrialRate>{m['hr_bpm']:g}</AtrialRate><PRInterval>{m['pr_ms']:g}</PRInterval>"
        f"<QRSDuration>{m['qrs_ms']:g}</QRSDuration><QTInterval>{m['qt_ms']:g}</QTInterval>"
        f"<QTCorrected>{m['qtc_ms']:g}</QTCorrected><PAxis>{m['p_axis_deg']:g}</PAxis>"
        f"<RAxis>{m['axis_deg']:g}</RAxis><TAxis>{m['t_axis_deg']:g}</TAxis>"
        "<POnset>220</POnset><POffset>275</POffset><ECGSampleBase>500</ECGSampleBase>"
        "<ECGSampleExponent>0</ECGSampleExponent></RestingECGMeasurements>"
        "<Diagnosis><DiagnosisStatement><StmtText>Normal sinus rhythm</StmtText></DiagnosisStatement>"
        "<DiagnosisStatement><StmtText>Confirmed by "
        f"{IDENTITY['last']}, {IDENTITY['first']} (12) on 3/18/2019</StmtText></DiagnosisStatement>"
        "</Diagnosis>"
        f"{waveform('Median', median)}{waveform('Rhythm', None)}</RestingECG>"
    )
    path.write_bytes(xml.encode("iso-8859-1"))
    return path


# --------------------------------------------------------------------------- CardioSoft

CARDIOSOFT_UV_PER_LSB = 5.0


def write_cardiosoft(signal: np.ndarray, fs: float, path: Path) -> Path:
    """A GE CardioSoft CardiologyXML (UK Biobank's layout): the 12 leads as comma-separated
    integers at 5 µV a bit in ``<StripData>``, a 1.2 s median in ``<MedianSamples>``, the
    device's measurements and the patient's identifiers."""
    counts = np.round(signal / CARDIOSOFT_UV_PER_LSB).astype(np.int64)

    def strip(tag: str, stop: int | None) -> str:
        leads = "".join(f'<WaveformData lead="{name}">' + ",".join(str(v) for v in row[:stop])
                        + "</WaveformData>\n" for name, row in zip(STANDARD_LEADS, counts))
        n = counts[:, :stop].shape[1]
        return (f"<{tag}><NumberOfLeads>12</NumberOfLeads>"
                f'<SampleRate units="Hz">{fs:g}</SampleRate>'
                f"<ChannelSampleCountTotal>{n}</ChannelSampleCountTotal>"
                f'<Resolution units="uVperLsb">{CARDIOSOFT_UV_PER_LSB:g}</Resolution>{leads}</{tag}>')

    m = DEVICE
    birth = IDENTITY["birth"]
    xml = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        "<CardiologyXML><ObservationType>RestECG</ObservationType>"
        "<ObservationDateTime><Hour>9</Hour><Minute>41</Minute><Second>7</Second><Day>17</Day>"
        "<Month>3</Month><Year>2019</Year></ObservationDateTime>"
        f"<PatientInfo><PID>{IDENTITY['id']}</PID><Name><FamilyName>{IDENTITY['last']}</FamilyName>"
        f"<GivenName>{IDENTITY['first']}</GivenName></Name><Age units=\"years\">63</Age>"
        f"<BirthDateTime><Day>{birth[6:]}</Day><Month>{birth[4:6]}</Month><Year>{birth[:4]}</Year>"
        "</BirthDateTime><Gender>MALE</Gender></PatientInfo>"
        "<FilterSetting><CubicSpline>Yes</CubicSpline><Filter50Hz>Yes</Filter50Hz>"
        '<LowPass units="Hz">150</LowPass><HighPass units="Hz">0.04</HighPass></FilterSetting>'
        f'<RestingECGMeasurements><VentricularRate units="BPM">{m["hr_bpm"]:g}</VentricularRate>'
        f'<PQInterval units="ms">{m["pr_ms"]:g}</PQInterval><PDuration units="ms">Invalid</PDuration>'
        f'<QRSDuration units="ms">{m["qrs_ms"]:g}</QRSDuration><QTInterval units="ms">{m["qt_ms"]:g}'
        f'</QTInterval><QTCInterval units="ms">{m["qtc_ms"]:g}</QTCInterval>'
        f'<PAxis units="degrees">{m["p_axis_deg"]:g}</PAxis><RAxis units="degrees">{m["axis_deg"]:g}'
        f'</RAxis><TAxis units="degrees">{m["t_axis_deg"]:g}</TAxis>'
        f"{strip('MedianSamples', int(1.2 * fs))}</RestingECGMeasurements>"
        f"{strip('StripData', None)}</CardiologyXML>"
    )
    path.write_bytes(xml.encode("iso-8859-1"))
    return path


# --------------------------------------------------------------------------- HL7 aECG


def hl7_digits(signal: np.ndarray) -> np.ndarray:
    return np.round((signal.astype(np.float64) - HL7_ORIGIN_UV) / HL7_SCALE_UV).astype(np.int64)


def _hl7_annotations() -> str:
    """Global measurements as aECG annotations (QT in seconds, to test the unit)."""
    m = DEVICE
    items = [("MDC_ECG_HEART_RATE", m["hr_bpm"], "bpm"), ("MDC_ECG_TIME_PD_PR", m["pr_ms"], "ms"),
             ("MDC_ECG_TIME_PD_QRS", m["qrs_ms"], "ms"), ("MDC_ECG_TIME_PD_QT", m["qt_ms"] / 1000, "s"),
             ("MDC_ECG_TIME_PD_QTc", m["qtc_ms"], "ms"), ("MDC_ECG_ANGLE_P_FRONT", m["p_axis_deg"], "deg"),
             ("MDC_ECG_ANGLE_QRS_FRONT", m["axis_deg"], "deg"), ("MDC_ECG_ANGLE_T_FRONT", m["t_axis_deg"], "deg")]
    annotations = "".join(
        f'<component><annotation><code code="{code}" codeSystem="2.16.840.1.113883.6.24"/>'
        f'<value xsi:type="PQ" value="{value:g}" unit="{unit}"/></annotation></component>'
        for code, value, unit in items)
    return f"<subjectOf><annotationSet>{annotations}</annotationSet></subjectOf>"


def write_hl7_aecg(signal: np.ndarray, fs: float, path: Path) -> Path:
    """An FDA HL7 aECG: one rhythm series, TIME_ABSOLUTE GLIST_TS and 12 SLIST_PQ leads."""
    codes = {"aVR": "AVR", "aVL": "AVL", "aVF": "AVF"}
    digits = hl7_digits(signal)
    sequences = "".join(
        f'<component><sequence><code code="MDC_ECG_LEAD_{codes.get(name, name)}" '
        'codeSystem="2.16.840.1.113883.6.24"/><value xsi:type="SLIST_PQ">'
        f'<origin value="{HL7_ORIGIN_UV:g}" unit="uV"/><scale value="{HL7_SCALE_UV:g}" unit="uV"/>'
        f"<digits>{' '.join(map(str, digits[i]))}</digits></value></sequence></component>"
        for i, name in enumerate(STANDARD_LEADS)
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<id root="1.2.3.4"/><code code="93000" codeSystem="2.16.840.1.113883.6.12"/>'
        '<effectiveTime><low value="20190317094107"/><high value="20190317094117"/></effectiveTime>'
        "<componentOf><timepointEvent><componentOf><subjectAssignment><subject><trialSubject>"
        f'<id root="2.16.1" extension="{IDENTITY["id"]}"/><subjectDemographicPerson>'
        f"<name><given>{IDENTITY['first']}</given><family>{IDENTITY['last']}</family></name>"
        f'<administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>'
        f'<birthTime value="{IDENTITY["birth"]}"/></subjectDemographicPerson></trialSubject>'
        "</subject></subjectAssignment></componentOf></timepointEvent></componentOf>"
        '<component><series><code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>'
        "<author><seriesAuthor><manufacturedSeriesDevice><manufacturerModelName>ELI 350"
        "</manufacturerModelName></manufacturedSeriesDevice></seriesAuthor></author>"
        "<component><sequenceSet>"
        '<component><sequence><code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.5.4"/>'
        f'<value xsi:type="GLIST_TS"><head value="20190317094107.000"/>'
        f'<increment value="{1 / fs:g}" unit="s"/></value></sequence></component>'
        f"{sequences}</sequenceSet></component>{_hl7_annotations()}</series></component></AnnotatedECG>"
    )
    path.write_text(xml, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- DICOM (pydicom)

DICOM_SENSITIVITY_UV = 1.25


def write_dicom(signal: np.ndarray, fs: float, path: Path) -> Path:
    """A 12-lead ECG Waveform Storage file written by pydicom: a median group first, then
    the rhythm group, int16 samples at 1.25 µV with SCP-ECG channel codes."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    scp = {"I": 1, "II": 2, "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8,
           "III": 61, "aVR": 62, "aVL": 63, "aVF": 64}
    counts = np.round(signal.astype(np.float64) / DICOM_SENSITIVITY_UV).astype("<i2")

    def group(label: str, data: np.ndarray) -> Dataset:
        g = Dataset()
        g.MultiplexGroupTimeOffset = "0"
        g.WaveformOriginality = "ORIGINAL" if label == "RHYTHM" else "DERIVED"
        g.NumberOfWaveformChannels = data.shape[0]
        g.NumberOfWaveformSamples = data.shape[1]
        g.SamplingFrequency = f"{fs:g}"
        g.MultiplexGroupLabel = label
        channels = []
        for name in STANDARD_LEADS:
            c = Dataset()
            source = Dataset()
            source.CodeValue = f"5.6.3-9-{scp[name]}"
            source.CodingSchemeDesignator = "SCPECG"
            source.CodeMeaning = f"Lead {name}"
            c.ChannelSourceSequence = Sequence([source])
            c.ChannelSensitivity = f"{DICOM_SENSITIVITY_UV:g}"
            unit = Dataset()
            unit.CodeValue = "uV"
            unit.CodingSchemeDesignator = "UCUM"
            unit.CodeMeaning = "microvolt"
            c.ChannelSensitivityUnitsSequence = Sequence([unit])
            c.ChannelSensitivityCorrectionFactor = "1"
            c.ChannelBaseline = "0"
            c.WaveformBitsStored = 16
            channels.append(c)
        g.ChannelDefinitionSequence = Sequence(channels)
        g.WaveformBitsAllocated = 16
        g.WaveformSampleInterpretation = "SS"
        g.WaveformData = np.ascontiguousarray(data.T).astype("<i2").tobytes()
        return g

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.9.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "ECG"
    ds.Manufacturer = "TestWriter"
    ds.PatientName = f"{IDENTITY['last']}^{IDENTITY['first']}"
    ds.PatientID = IDENTITY["id"]
    ds.PatientBirthDate = IDENTITY["birth"]
    ds.PatientSex = "M"
    ds.PatientAge = "063Y"
    ds.WaveformSequence = Sequence([group("MEDIAN BEAT", counts[:, : int(fs)]), group("RHYTHM", counts)])
    ds.save_as(path, enforce_file_format=True)
    return path


# --------------------------------------------------------------------------- EDF (edfio)

EDF_RANGE_UV = (-20000.0, 20000.0)
EDF_STEP_UV = (EDF_RANGE_UV[1] - EDF_RANGE_UV[0]) / 65535


def write_edf(signal: np.ndarray, fs: float, path: Path, *, labels: list[str] | None = None,
              bdf: bool = False) -> Path:
    """An EDF+ file (or 24-bit BDF) by edfio: the 12 leads as "ECG <lead>" in µV over
    ±20 mV, plus a respiration channel that must not be read as ECG."""
    import datetime

    import edfio

    labels = labels or [f"ECG {name}" for name in STANDARD_LEADS]
    make = edfio.BdfSignal if bdf else edfio.EdfSignal
    signals = [
        make(signal[i].astype(np.float64), fs, label=label, physical_dimension="uV",
             physical_range=EDF_RANGE_UV)
        for i, label in enumerate(labels)
    ]
    signals.append(make(np.sin(np.arange(signal.shape[1]) / fs), fs, label="Resp",
                        physical_dimension="mV", physical_range=(-2, 2)))
    patient = edfio.Patient(code=IDENTITY["id"], sex="F", birthdate=datetime.date(1961, 2, 3),
                            name=f"{IDENTITY['last']}_{IDENTITY['first']}")
    (edfio.Bdf if bdf else edfio.Edf)(signals, patient=patient).write(path)
    return path


# --------------------------------------------------------------------------- CSV


def write_csv(signal: np.ndarray, fs: float, path: Path, *, header: bool = True) -> Path:
    """Comma-separated µV to 0.001 µV; with a header a time column in ms and units in names."""
    n = signal.shape[1]
    lines = []
    if header:
        lines.append(",".join(["time (ms)"] + [f"{name} (uV)" for name in STANDARD_LEADS]))
    for j in range(n):
        values = [f"{v:.3f}" for v in signal[:, j]]
        lines.append(",".join(([f"{1000 * j / fs:.3f}"] if header else []) + values))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_apple_watch(lead_uv: np.ndarray, fs: float, path: Path, *, decimal_comma: bool = False,
                      lead_and_unit: bool = True, heart_rate: float | None = None) -> Path:
    """One lead as the Health app exports an Apple Watch ECG: a ``key,value`` header (the
    patient's name and birth date, the watch's classification, its rate in hertz), blank
    lines, then one µV sample a line to 0.001 µV (decimal commas as some locales write)."""
    head = [f"Name,{IDENTITY['first']} {IDENTITY['last']}", f'Date of Birth,"Feb 3, {IDENTITY["birth"][:4]}"',
            "Recorded Date,2026-03-14 09:15:00 -0400", "Classification,Sinus Rhythm", "Symptoms,",
            "Software Version,1.90", 'Device,"Watch6,2"', f"Sample Rate,{fs:g} hertz", "", ""]
    if lead_and_unit:
        head += ["Lead,Lead I", "Unit,µV"]
    if heart_rate is not None:
        head.append(f"Average Heart Rate,{heart_rate:g} bpm")
    values = [f"{v:.3f}" for v in lead_uv]
    if decimal_comma:
        values = [v.replace(".", ",") for v in values]
    path.write_text("\n".join(head + ["", ""] + values) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- Philips XLI


def _lzw_encode(data: bytes, bits: int = 10) -> bytes:
    """LZW with fixed ``bits``-bit codes, MSB first, no clear code (the XLI variant)."""
    max_code = (1 << bits) - 2
    table = {bytes([i]): i for i in range(256)}
    next_code, word, codes = 256, b"", []
    for byte in data:
        candidate = word + bytes([byte])
        if candidate in table:
            word = candidate
            continue
        codes.append(table[word])
        if next_code <= max_code:
            table[candidate] = next_code
            next_code += 1
        word = bytes([byte])
    if word:
        codes.append(table[word])
    out, acc, n_bits = bytearray(), 0, 0
    for code in codes:
        acc = (acc << bits) | code
        n_bits += bits
        while n_bits >= 8:
            n_bits -= 8
            out.append((acc >> n_bits) & 0xFF)
    if n_bits:
        out.append((acc << (8 - n_bits)) & 0xFF)
    return bytes(out)


def _xli_chunk(samples: np.ndarray) -> bytes:
    """One lead as XLI: second-difference residuals (+64), split high/low bytes, LZW."""
    x = samples.astype(np.int64)
    n = x.size
    deltas = np.zeros(n, dtype=np.int64)
    deltas[0], deltas[1] = x[0], x[1]
    # the decoder rebuilds x[i] = 2x[i-1] - x[i-2] - (deltas[i-1] - 64) for i >= 3, and
    # x[2] from the header's "start"; deltas[n-1] is never read
    start = 2 * x[1] - x[0] - x[2]
    deltas[2 : n - 1] = 2 * x[2 : n - 1] - x[1 : n - 2] - x[3:n] + 64
    words = deltas.astype(np.int16).view(np.uint16)
    buffer = bytes((words >> 8).astype(np.uint8)) + bytes((words & 0xFF).astype(np.uint8))
    chunk = _lzw_encode(buffer)
    header = len(chunk).to_bytes(4, "little") + b"\x00\x00" + int(start).to_bytes(2, "little", signed=True)
    return header + chunk


def philips_counts(signal: np.ndarray) -> np.ndarray:
    """The 12 leads in Philips counts (5 µV), as the decoder must return them."""
    return np.round(signal.astype(np.float64) / PHILIPS_UV).astype(np.int64)


def write_philips(signal: np.ndarray, fs: float, path: Path, *, xli: bool = True,
                  residuals: bool = True) -> Path:
    """A Philips PhilipsECG 1.04 XML with XLI-compressed (or plain int16) leads, III, aVR,
    aVL, aVF stored as the residuals sierraecg adds back (or as values), demographics and
    global measurements."""
    q = {name: row for name, row in zip(STANDARD_LEADS, philips_counts(signal))}
    one, two, three = q["I"], q["II"], q["III"]
    stored = dict(q)
    if residuals:
        stored["III"] = two - one - three
        stored["aVR"] = -q["aVR"] - np.floor_divide(one + two, 2)
        stored["aVL"] = np.floor_divide(one - three, 2) - q["aVL"]
        stored["aVF"] = np.floor_divide(two + three, 2) - q["aVF"]
    if xli:
        payload = b"".join(_xli_chunk(stored[name]) for name in STANDARD_LEADS)
    else:
        payload = np.stack([stored[name] for name in STANDARD_LEADS]).astype("<i2").tobytes()
    n = signal.shape[1]
    m = DEVICE
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>\n<restingecgdata>'
        "<documentinfo><documentname>test</documentname><documenttype>PhilipsECG</documenttype>"
        "<documentversion>1.04</documentversion></documentinfo>"
        f"<patient><generalpatientdata><patientid>{IDENTITY['id']}</patientid>"
        f"<name><lastname>{IDENTITY['last']}</lastname><firstname>{IDENTITY['first']}</firstname></name>"
        f"<age><years>63</years><dateofbirth>{IDENTITY['birth']}</dateofbirth></age><sex>Male</sex>"
        "</generalpatientdata></patient>"
        '<dataacquisition date="2019-03-17" time="09:41:07"><machine>PageWriter TC70</machine>'
        f"<signalcharacteristics><samplingrate>{fs:g}</samplingrate><resolution>{PHILIPS_UV:g}</resolution>"
        "<acquisitiontype>STD-12</acquisitiontype><numberchannelsallocated>12</numberchannelsallocated>"
        "</signalcharacteristics></dataacquisition>"
        "<interpretations><interpretation><globalmeasurements>"
        f"<heartrate>{m['hr_bpm']:g}</heartrate><pdur>102</pdur><print>{m['pr_ms']:g}</print>"
        f"<qrsdur>{m['qrs_ms']:g}</qrsdur><qtint>{m['qt_ms']:g}</qtint><qtcb>{m['qtc_ms']:g}</qtcb>"
        f"<pfrontaxis>{m['p_axis_deg']:g}</pfrontaxis><qrsfrontaxis>{m['axis_deg']:g}</qrsfrontaxis>"
        f"<tfrontaxis>Invalid</tfrontaxis></globalmeasurements></interpretation></interpretations>"
        f'<waveforms><parsedwaveforms durationperchannel="{round(n * 1000 / fs)}" '
        f'dataencoding="Base64" compression="{"XLI" if xli else "Uncompressed"}" numberofleads="12" '
        f'leadlabels="{" ".join(STANDARD_LEADS)}">{base64.b64encode(payload).decode()}'
        "</parsedwaveforms></waveforms></restingecgdata>"
    )
    path.write_text(xml, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- SCP-ECG

SCP_AVM_NV = 2500  # amplitude value multiplier: 2.5 µV per count
SCP_LEAD_CODES = {"I": 1, "II": 2, "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8,
                  "III": 61, "aVR": 62, "aVL": 63, "aVF": 64}
#: P on/off, QRS on/off, T off (ms) written into section 7, giving DEVICE's intervals.
SCP_FIDUCIALS = (100, 202, 258, 352, 660)


def _scp_section(sid: int, body: bytes) -> bytes:
    if len(body) % 2:
        body += b"\0"  # sections have an even length
    reserved = b"SCPECG" if sid == 0 else b"\0" * 6
    rest = sid.to_bytes(2, "little") + (16 + len(body)).to_bytes(4, "little") + bytes([20, 20]) + reserved + body
    import binascii

    return binascii.crc_hqx(rest, 0xFFFF).to_bytes(2, "little") + rest


def _huffman_bits(values: np.ndarray) -> bytes:
    """The SCP default Huffman table: 0 → '0'; ±k (k ≤ 8) → k ones, '0', sign bit;
    else an 8- or 16-bit escape followed by the two's-complement value."""
    parts = []
    for v in values.tolist():
        if v == 0:
            parts.append("0")
        elif abs(v) <= 8:
            parts.append("1" * abs(v) + "0" + ("1" if v < 0 else "0"))
        elif -128 <= v <= 127:
            parts.append("1111111110" + format(v & 0xFF, "08b"))
        else:
            parts.append("1111111111" + format(v & 0xFFFF, "016b"))
    bits = "".join(parts)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def scp_counts(signal: np.ndarray) -> np.ndarray:
    return np.round(signal.astype(np.float64) * 1000 / SCP_AVM_NV).astype(np.int64)


def write_scp(signal: np.ndarray, fs: float, path: Path, *, huffman: bool = True,
              difference: int = 2) -> Path:
    """An SCP-ECG record: sections 0, 1, (2: default Huffman), 3, 6 and 7."""
    counts = scp_counts(signal)
    n = counts.shape[1]

    def tag(t: int, value: bytes) -> bytes:
        return bytes([t]) + len(value).to_bytes(2, "little") + value

    patient = b"".join([
        tag(0, IDENTITY["last"].encode() + b"\0"), tag(1, IDENTITY["first"].encode() + b"\0"),
        tag(2, IDENTITY["id"].encode() + b"\0"), tag(4, (63).to_bytes(2, "little") + b"\x01"),
        tag(5, (1961).to_bytes(2, "little") + bytes([2, 3])), tag(8, b"\x01"),
        tag(14, b"\0" * 8 + b"CT90A\0" + b"\0" * 22),
        tag(25, (2019).to_bytes(2, "little") + bytes([3, 17])), tag(26, bytes([9, 41, 7])),
        tag(255, b""),
    ])
    leads = b"".join((1).to_bytes(4, "little") + n.to_bytes(4, "little") + bytes([SCP_LEAD_CODES[name]])
                     for name in STANDARD_LEADS)
    lead_def = bytes([12, 4 | (12 << 3)]) + leads
    payloads = []
    for row in counts:
        d = row.copy()  # the first (1st differences) or first two (2nd) samples stay values
        if difference == 1:
            d[1:] = row[1:] - row[:-1]
        elif difference == 2:
            d[2:] = row[2:] - 2 * row[1:-1] + row[:-2]
        payloads.append(_huffman_bits(d) if huffman else d.astype("<i2").tobytes())
    rhythm = (SCP_AVM_NV.to_bytes(2, "little") + round(1e6 / fs).to_bytes(2, "little")
              + bytes([difference, 0]) + b"".join(len(p).to_bytes(2, "little") for p in payloads)
              + b"".join(payloads))
    rr = round(60_000 / DEVICE["hr_bpm"])
    block = b"".join(v.to_bytes(2, "little") for v in (*SCP_FIDUCIALS, int(DEVICE["p_axis_deg"]),
                                                       int(DEVICE["axis_deg"]), 999))
    measures = (bytes([1, 0]) + rr.to_bytes(2, "little") + rr.to_bytes(2, "little") + block
                + (0).to_bytes(2, "little") + int(DEVICE["hr_bpm"]).to_bytes(2, "little") * 2
                + int(DEVICE["qtc_ms"]).to_bytes(2, "little") + b"\x01" + (0).to_bytes(2, "little"))
    bodies = {1: patient, 3: lead_def, 6: rhythm, 7: measures}
    if huffman:
        bodies[2] = (19999).to_bytes(2, "little")
    sections = {sid: _scp_section(sid, body) for sid, body in sorted(bodies.items())}
    pointer_size = 16 + 12 * 10
    offset = 6 + pointer_size
    pointers = b""
    placed = []
    for sid in range(12):
        if sid == 0:
            pointers += (0).to_bytes(2, "little") + pointer_size.to_bytes(4, "little") + (7).to_bytes(4, "little")
        elif sid in sections:
            pointers += sid.to_bytes(2, "little") + len(sections[sid]).to_bytes(4, "little") + (offset + 1).to_bytes(4, "little")
            offset += len(sections[sid])
            placed.append(sections[sid])
        else:
            pointers += sid.to_bytes(2, "little") + bytes(8)
    body = _scp_section(0, pointers) + b"".join(placed)
    import binascii

    length = (6 + len(body)).to_bytes(4, "little")
    path.write_bytes(binascii.crc_hqx(length + body, 0xFFFF).to_bytes(2, "little") + length + body)
    return path
