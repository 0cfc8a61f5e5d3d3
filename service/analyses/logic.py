"""Recording analyses and turning calculator inputs into stored analyses."""

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from labrules.units import check_quantity, convert
from schemas import Quantity
from schemas.analyses import (
    AnalysisFileOut,
    AnalysisIn,
    AnalysisOut,
    ArrheniusIn,
    BruceVincentIn,
    CalculationBase,
    Nyquist,
    NyquistSpectrum,
    ResultIn,
    ResultOut,
    TafelIn,
)
from service.analyses import calculators, eis
from service.analyses.tables import Analysis, AnalysisFile, AnalysisSubject
from service.auth.tables import User
from service.cycling.plots import PlotFormat, Trace, plot_xy
from service.db import utcnow
from service.errors import Conflict, Invalid, NotFound, problem
from service.files.store import FileStore
from service.files.tables import StoredFile
from service.items.logic import get_item
from service.items.tables import Item
from service.work import note_event


def _subjects(session: Session, codes: list[str]) -> list[int]:
    """The ids of the described items, found in one query; every unknown or voided one is a problem."""
    wanted = list(dict.fromkeys(codes))
    found = {
        code: (item_id, status)
        for item_id, code, status in session.execute(
            sa_select(col(Item.id), col(Item.code), col(Item.status)).where(col(Item.code).in_(wanted))
        ).all()
    }
    ids, problems = [], []
    for index, code in enumerate(wanted):
        if code not in found:
            problems.append(problem(f"/subjects/{index}", "no such item", got=code))
        elif found[code][1] == "voided":
            problems.append(problem(f"/subjects/{index}", "the item is voided", got=code))
        else:
            ids.append(found[code][0])
    if problems:
        raise Invalid("an analysis must describe existing items", problems)
    return ids


def _check_results(results: list[ResultIn]) -> None:
    problems = [
        found
        for index, result in enumerate(results)
        if (found := check_quantity(Quantity(value=result.value, unit=result.unit), f"/results/{index}"))
    ]
    if problems:
        raise Invalid("results need known units", problems)


def _store(
    session: Session,
    user: User,
    body: AnalysisIn,
    calculator: str | None = None,
    inputs: dict[str, Any] | None = None,
) -> Analysis:
    _check_results(body.results)
    subject_ids = _subjects(session, body.subjects)
    digests = [attached.sha256 for attached in body.files]
    file_ids = (
        dict(
            session.execute(
                sa_select(col(StoredFile.sha256), col(StoredFile.id)).where(
                    col(StoredFile.sha256).in_(digests)
                )
            ).all()
        )
        if digests
        else {}
    )
    missing = [
        problem(f"/files/{index}/sha256", "no such file; upload it with POST /files first")
        for index, digest in enumerate(digests)
        if digest not in file_ids
    ]
    if missing:
        raise Invalid("unknown files", missing)
    assert user.id is not None
    analysis = Analysis(
        technique=body.technique,
        performed_at=body.performed_at,
        instrument=body.instrument,
        title=body.title,
        results=[r.model_dump() for r in body.results],
        notes=body.notes,
        calculator=calculator,
        inputs=inputs or {},
        created_at=utcnow(),
        created_by_id=user.id,
    )
    session.add(analysis)
    session.flush()
    assert analysis.id is not None
    # Plain inserts: an import records thousands of analyses, and these rows are never read back here.
    session.execute(
        insert(AnalysisSubject), [{"analysis_id": analysis.id, "item_id": item_id} for item_id in subject_ids]
    )
    labels: dict[int, str] = {}  # a file attached twice keeps its first label
    for attached in body.files:
        labels.setdefault(file_ids[attached.sha256], attached.label)
    if labels:
        session.execute(
            insert(AnalysisFile),
            [
                {"analysis_id": analysis.id, "file_id": file_id, "label": label}
                for file_id, label in labels.items()
            ],
        )
    note_event(
        session,
        "analysis.recorded",
        "analysis",
        analysis.id,
        data={
            "technique": body.technique,
            "subjects": body.subjects,
            "calculator": calculator,
            "results": analysis.results,
            "files": [f.sha256 for f in body.files],
        },
    )
    return analysis


def record_analysis(session: Session, user: User, body: AnalysisIn) -> Analysis:
    return _store(session, user, body)


def get_analysis(session: Session, analysis_id: int, lock: bool = False) -> Analysis:
    found = session.get(Analysis, analysis_id, with_for_update=lock)
    if found is None:
        raise NotFound(f"no analysis {analysis_id}")
    return found


def void_analysis(session: Session, user: User, analysis_id: int, reason: str) -> Analysis:
    """An analysis recorded by mistake is voided, never deleted: readable with its reason, not in lineage."""
    analysis = get_analysis(session, analysis_id, lock=True)
    if analysis.status == "voided":
        raise Conflict(
            f"analysis {analysis_id} is already voided",
            [problem("/reason", f"voided before: {analysis.void_reason}")],
        )
    analysis.status, analysis.void_reason = "voided", reason
    session.add(analysis)
    note_event(
        session,
        "analysis.voided",
        "analysis",
        analysis_id,
        data={"technique": analysis.technique, "title": analysis.title},
        changes={"status": {"from": "recorded", "to": "voided"}},
        reason=reason,
    )
    return analysis


def analyses_of_item(session: Session, code: str) -> list[Analysis]:
    item = get_item(session, code)
    return list(
        session.exec(
            select(Analysis)
            .join(AnalysisSubject, col(AnalysisSubject.analysis_id) == col(Analysis.id))
            .where(AnalysisSubject.item_id == item.id)
            .order_by(col(Analysis.id))
        ).all()
    )


def analyses_about(session: Session, item_ids: Sequence[int]) -> list[Analysis]:
    """The analyses of any of these items, each once, oldest first."""
    if not item_ids:
        return []
    studied = select(AnalysisSubject.analysis_id).where(col(AnalysisSubject.item_id).in_(list(item_ids)))
    return list(
        session.exec(select(Analysis).where(col(Analysis.id).in_(studied)).order_by(col(Analysis.id)))
    )


def analysis_out(session: Session, analysis: Analysis) -> AnalysisOut:
    return analyses_out(session, [analysis])[0]


def analyses_out(session: Session, analyses: Sequence[Analysis]) -> list[AnalysisOut]:
    """These analyses as shown, their subjects, files and authors read in one query each."""
    ids = [analysis.id or 0 for analysis in analyses]
    subjects: dict[int, list[str]] = {}
    for analysis_id, code in session.exec(
        select(AnalysisSubject.analysis_id, Item.code)
        .join(Item, col(AnalysisSubject.item_id) == col(Item.id))
        .where(col(AnalysisSubject.analysis_id).in_(ids))
        .order_by(col(Item.code))
    ).all():
        subjects.setdefault(analysis_id, []).append(code)
    files: dict[int, list[tuple[StoredFile, str]]] = {}
    for analysis_id, stored, label in session.exec(
        select(AnalysisFile.analysis_id, StoredFile, AnalysisFile.label)
        .join(StoredFile, col(AnalysisFile.file_id) == col(StoredFile.id))
        .where(col(AnalysisFile.analysis_id).in_(ids))
        .order_by(col(AnalysisFile.id))
    ).all():
        files.setdefault(analysis_id, []).append((stored, label))
    author_ids = sorted({analysis.created_by_id for analysis in analyses})
    authors = dict(session.exec(select(User.id, User.username).where(col(User.id).in_(author_ids))).all())
    return [
        _analysis_out(analysis, subjects.get(analysis.id or 0, []), files.get(analysis.id or 0, []), authors)
        for analysis in analyses
    ]


def _analysis_out(
    analysis: Analysis,
    subjects: list[str],
    files: list[tuple[StoredFile, str]],
    authors: dict[int | None, str],
) -> AnalysisOut:
    assert analysis.id is not None
    return AnalysisOut(
        id=analysis.id,
        technique=analysis.technique,
        subjects=list(subjects),
        performed_at=analysis.performed_at,
        instrument=analysis.instrument,
        title=analysis.title,
        results=[ResultOut.model_validate(r) for r in analysis.results],
        files=[
            AnalysisFileOut(
                sha256=f.sha256, name=f.name, label=label, media_type=f.media_type, url=f"/files/{f.sha256}"
            )
            for f, label in files
        ],
        notes=analysis.notes,
        calculator=analysis.calculator,
        inputs=analysis.inputs,
        status=analysis.status,
        void_reason=analysis.void_reason,
        created_at=analysis.created_at,
        created_by=authors.get(analysis.created_by_id, "?"),
    )


NYQUIST_METHOD = (
    "impedance as the instrument recorded it (EC-Lab's Re(Z)/Ohm and -Im(Z)/Ohm), one spectrum per run of "
    "points with a frequency; rows without one (rests, other techniques) are left out; nothing is fitted"
)


def nyquist(session: Session, store: FileStore, analysis_id: int, chosen: str | None = None) -> Nyquist:
    """The impedance spectra of the analysis's first file that holds any (or of the file `chosen`, by name,
    label or SHA-256); a 422 saying why, per file, when none does."""
    shown = analysis_out(session, get_analysis(session, analysis_id))
    if not shown.files:
        raise eis.NotASpectrum(
            f"analysis {analysis_id} has no file; attach an EC-Lab PEIS/GEIS file (.mpt) for a Nyquist plot",
            [problem("/files", "no file attached", expected="an EC-Lab PEIS/GEIS file")],
        )
    candidates = [f for f in shown.files if chosen in (None, f.sha256, f.name, f.label)]
    # EC-Lab's own names first: each file tried is fetched from the store, and an SEM image can be large.
    candidates.sort(key=lambda f: not eis.named_like_ec_lab(f.name))
    if not candidates:
        raise Invalid(
            f"analysis {analysis_id} has no file {chosen!r}",
            [problem("query:file", "a name, label or SHA-256 of one of its files", got=chosen)],
        )
    refusals: list[eis.NotASpectrum] = []
    for attached in candidates:
        with store.local_copy(attached.sha256) as path:
            try:
                spectra = eis.read_spectra(path, attached.name)
            except eis.NotASpectrum as refused:
                refusals.append(refused)
                continue
        return Nyquist(
            analysis=analysis_id,
            file=attached,
            method=NYQUIST_METHOD,
            spectra=[NyquistSpectrum(**vars(spectrum)) for spectrum in spectra],
        )
    if len(refusals) == 1:
        raise refusals[0]
    raise eis.NotASpectrum(
        f"none of the {len(refusals)} files of analysis {analysis_id} is an impedance spectrum",
        [found for refused in refusals for found in refused.errors],
    )


def nyquist_csv(answer: Nyquist) -> str:
    out = io.StringIO()
    out.write(f"# {answer.method}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["spectrum", "technique", "sequence", "frequency_Hz", "re_Z_ohm", "minus_im_Z_ohm"])
    for spectrum in answer.spectra:
        sequence = "" if spectrum.sequence is None else spectrum.sequence
        for row in zip(spectrum.frequency_Hz, spectrum.re_Z_ohm, spectrum.minus_im_Z_ohm, strict=True):
            writer.writerow([spectrum.label, spectrum.technique, sequence, *row])
    return out.getvalue()


def nyquist_figure(answer: Nyquist, fmt: PlotFormat) -> bytes:
    """−Im(Z) against Re(Z) on equal axes, so a semicircle looks round; one colour per spectrum."""
    traces = [
        Trace(spectrum.label, spectrum.re_Z_ohm, spectrum.minus_im_Z_ohm, index)
        for index, spectrum in enumerate(answer.spectra)
    ]
    title = f"analysis {answer.analysis} · {answer.file.name} · Nyquist"
    return plot_xy(traces, "Re(Z) / Ω", "−Im(Z) / Ω", title, fmt, equal_aspect=True, markers=True)


def _value(quantity: Quantity, unit: str, pointer: str) -> float:
    found = check_quantity(quantity, pointer)
    if found is not None:
        raise Invalid("a quantity has an unknown unit", [found])
    try:
        return convert(quantity, unit)
    except Exception:  # pint's DimensionalityError: the unit measures something else
        raise Invalid(
            "a quantity has the wrong dimension",
            [problem(pointer, f"must convert to {unit}", expected=unit, got=str(quantity))],
        ) from None


def _derived(session: Session, body: CalculationBase) -> None:
    missing = [
        problem(f"/derived_from/{i}", "no such analysis", got=aid)
        for i, aid in enumerate(body.derived_from)
        if session.get(Analysis, aid) is None
    ]
    if missing:
        raise Invalid("derived from unknown analyses", missing)


def _calculated(
    session: Session,
    user: User,
    body: CalculationBase,
    technique: str,
    calculator: str,
    title: str,
    results: list[ResultIn],
) -> Analysis:
    _derived(session, body)
    inputs = body.model_dump(mode="json", exclude={"subjects", "performed_at", "instrument"})
    record = AnalysisIn(
        technique=technique,
        subjects=body.subjects,
        performed_at=body.performed_at or datetime.now().astimezone(),
        instrument=body.instrument,
        title=title,
        results=results,
    )
    return _store(session, user, record, calculator=calculator, inputs=inputs)


def _calculation_failed(exc: calculators.CalculationError) -> Invalid:
    return Invalid("the calculation is not possible with these inputs", [problem("/points", str(exc))])


def bruce_vincent(session: Session, user: User, body: BruceVincentIn) -> Analysis:
    try:
        t = calculators.transference_number(
            _value(body.delta_V, "V", "/delta_V"),
            _value(body.I0, "A", "/I0"),
            _value(body.Is, "A", "/Is"),
            _value(body.R0, "ohm", "/R0"),
            _value(body.Rs, "ohm", "/Rs"),
        )
    except calculators.CalculationError as exc:
        raise _calculation_failed(exc) from None
    return _calculated(
        session,
        user,
        body,
        "chronoamperometry",
        "bruce-vincent",
        "Li+ transference number (Bruce–Vincent)",
        [ResultIn(name="Li+ transference number", value=t, unit="dimensionless")],
    )


def tafel(session: Session, user: User, body: TafelIn) -> Analysis:
    limit = abs(_value(body.min_overpotential, "V", "/min_overpotential"))
    unit = body.points[0].current_density.unit
    etas, currents = [], []
    for index, point in enumerate(body.points):
        eta = _value(point.overpotential, "V", f"/points/{index}/overpotential")
        if abs(eta) >= limit:
            etas.append(eta)
            currents.append(_value(point.current_density, unit, f"/points/{index}/current_density"))
    try:
        fit = calculators.tafel(etas, currents, _value(body.temperature, "K", "/temperature"))
    except calculators.CalculationError as exc:
        raise _calculation_failed(exc) from None
    return _calculated(
        session,
        user,
        body,
        "Tafel",
        "tafel",
        "Exchange current density (Tafel fit)",
        [
            ResultIn(name="exchange current density", value=fit.exchange_current_density, unit=unit),
            ResultIn(
                name="Tafel slope", value=fit.tafel_slope_V_per_decade * 1000, unit="mV", note="per decade"
            ),
            ResultIn(name="transfer coefficient", value=fit.transfer_coefficient, unit="dimensionless"),
            ResultIn(name="R²", value=fit.r_squared, unit="dimensionless", note=f"{fit.n} points"),
        ],
    )


def arrhenius(session: Session, user: User, body: ArrheniusIn) -> Analysis:
    temperatures = [_value(p.temperature, "K", f"/points/{i}/temperature") for i, p in enumerate(body.points)]
    resistances = [_value(p.rct, "ohm", f"/points/{i}/rct") for i, p in enumerate(body.points)]
    try:
        fit = calculators.arrhenius(temperatures, resistances)
    except calculators.CalculationError as exc:
        raise _calculation_failed(exc) from None
    return _calculated(
        session,
        user,
        body,
        "EIS",
        "arrhenius",
        "Activation energy of interfacial Li+ transport (Arrhenius fit of Rct)",
        [
            ResultIn(name="activation energy", value=fit.activation_energy_J_per_mol / 1000, unit="kJ/mol"),
            ResultIn(name="R²", value=fit.r_squared, unit="dimensionless", note=f"{fit.n} points"),
        ],
    )
