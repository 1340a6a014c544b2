"""Pages of an interview study: set-up, transcripts, coding, agreement, reconciliation, themes.

Every view fetches through `for_user` (studies.scope), so only the study's team gets in, and
codings through `Coding.objects.for_user`, which keeps coding blind until comparison opens.
"""

from __future__ import annotations

from itertools import pairwise

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from equilean.engine.errors import InputError
from equilean.org.models import Node
from equilean.org.roles import Action
from equilean.studies import agreement, exports, services
from equilean.studies.forms import (
    CodeForm,
    MemberForm,
    ParticipantForm,
    ResolutionForm,
    SiteForm,
    StudyForm,
    ThemeForm,
    TranscriptForm,
    UnitForm,
)
from equilean.studies.models import (
    Code,
    Coding,
    Comparison,
    Completion,
    Segment,
    Study,
    StudyMember,
    Transcript,
)
from equilean.studies.scope import can
from equilean.studies.text import scan_identifiers

# Codes 1-9 of the codebook answer to the number keys on the coding page.
KEYED_CODES = 9


def _study(request, pk: int, action: str = Action.VIEW) -> Study:
    return get_object_or_404(Study.objects.for_user(request.user, action), pk=pk)


def _transcript(request, pk: int, transcript: int, action: str = Action.VIEW) -> Transcript:
    return get_object_or_404(
        Transcript.objects.for_user(request.user, action).select_related("study"),
        pk=transcript,
        study=pk,
    )


def _permissions(user, study: Study) -> dict[str, bool]:
    return {
        "can_code": can(user, Action.CHANGE, study),
        "can_lead": can(user, Action.ADMINISTER, study),
    }


@login_required
def study_list(request):
    studies = Study.objects.for_user(request.user).annotate(
        transcript_count=Count("transcripts", distinct=True),
        participant_count=Count("participants", distinct=True),
    )
    nodes = Node.objects.for_user(request.user, Action.CHANGE)
    form = None
    if nodes.exists():
        form = StudyForm(request.POST or None, nodes=nodes)
        if request.method == "POST" and form.is_valid():
            study = services.create_study(request.user, **form.cleaned_data)
            messages.success(request, f"Study “{study.title}” created; you lead it.")
            return redirect("studies:detail", pk=study.pk)
    elif request.method == "POST":
        raise Http404("You may not start a study.")
    return render(request, "studies/study_list.html", {"studies": studies, "form": form})


def _codebook_tree(version) -> list[tuple[Code, int]]:
    """The codes of a version in reading order with their depth, parents first."""
    if version is None:
        return []
    codes = list(version.codes.all())
    children: dict[int | None, list[Code]] = {}
    for code in codes:
        children.setdefault(code.parent_id, []).append(code)
    out: list[tuple[Code, int]] = []

    def walk(parent, depth):
        for code in children.get(parent, []):
            out.append((code, depth))
            walk(code.pk, depth + 1)

    walk(None, 0)
    return out


@login_required
@require_GET
def study_detail(request, pk: int):
    study = _study(request, pk)
    transcripts = (
        Transcript.objects.for_user(request.user)
        .filter(study=study)
        .select_related("participant")
        .annotate(
            # distinct: the two joins multiply each other's rows.
            mine=Count("codings", filter=Q(codings__coder=request.user), distinct=True),
            finished=Count("completions", distinct=True),
            finished_by_me=Count(
                "completions", filter=Q(completions__coder=request.user), distinct=True
            ),
        )
    )
    version = study.codebook()
    context = {
        "study": study,
        "transcripts": transcripts,
        "members": study.members.select_related("user__profile"),
        "participants": study.participants.select_related("site"),
        "sites": study.sites.all(),
        "version": version,
        "codebook": _codebook_tree(version),
        "versions": study.codebook_versions.annotate(n=Count("codes")),
        **_permissions(request.user, study),
    }
    if context["can_lead"]:
        context.update(
            site_form=SiteForm(),
            participant_form=ParticipantForm(study=study),
            member_form=MemberForm(),
            code_form=CodeForm(version=version) if version else None,
            unit_form=UnitForm(instance=study),
        )
    return render(request, "studies/study_detail.html", context)


@login_required
@require_POST
def setup(request, pk: int, part: str):
    """The lead adds a site, participant, member or code, changes the unit, or versions."""
    study = _study(request, pk, Action.ADMINISTER)
    version = study.codebook()
    forms = {
        "site": lambda: SiteForm(request.POST),
        "participant": lambda: ParticipantForm(request.POST, study=study),
        "member": lambda: MemberForm(request.POST),
        "code": lambda: CodeForm(request.POST, version=version),
        "unit": lambda: UnitForm(request.POST, instance=study),
    }
    if part == "version":
        version = services.new_codebook_version(
            study, request.user, request.POST.get("note", "")[:200]
        )
        messages.success(request, f"Codebook version {version.number} started.")
        return redirect("studies:detail", pk=study.pk)
    if part not in forms:
        raise Http404("Nothing to set up by that name.")
    form = forms[part]()
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{part.title()} {field}: {error}")
        return redirect("studies:detail", pk=study.pk)
    if part == "member":
        user, role = form.cleaned_data["username"], form.cleaned_data["role"]
        StudyMember.objects.update_or_create(study=study, user=user, defaults={"role": role})
        messages.success(request, f"{user.get_username()} is now {role} of the study.")
    elif part == "unit":
        form.save()
        messages.success(request, f"Unit of analysis: {study.get_unit_display().lower()}.")
    else:
        record = form.save(commit=False)
        if part == "code":
            record.version = version
            record.order = version.codes.count() + 1
        else:
            record.study = study
        record.save()
        messages.success(request, f"Added {part} {record}.")
    return redirect("studies:detail", pk=study.pk)


@login_required
def transcript_new(request, pk: int):
    """Paste or upload a transcript; identifiers found in it must be checked before saving."""
    study = _study(request, pk, Action.ADMINISTER)
    form = TranscriptForm(request.POST or None, request.FILES or None, study=study)
    found = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        found = scan_identifiers(data["text"])
        if found and not data["checked"]:
            # Show the text back (from a file too) so the person can edit it, then confirm.
            form = TranscriptForm(
                {**request.POST.dict(), "text": data["text"], "source": data["source"]},
                study=study,
            )
            form.is_valid()
        else:
            transcript = services.add_transcript(
                study,
                request.user,
                data["title"],
                data["text"],
                data["source"],
                participant=data["participant"],
                training=data["training"],
            )
            messages.success(
                request,
                f"Saved “{transcript.title}”: "
                f"{transcript.segments.filter(kind=study.unit).count()} "
                f"{study.get_unit_display().lower()}s to code.",
            )
            return redirect("studies:detail", pk=study.pk)
    return render(
        request,
        "studies/transcript_new.html",
        {"study": study, "form": form, "identifiers": found},
    )


def _pieces(segment: Segment, text: str, codings: list[Coding]) -> list[dict]:
    """The segment's text cut wherever a coding starts or ends, each piece with its codes."""
    cuts = {segment.start, segment.end}
    for c in codings:
        cuts.update(x for x in (c.start, c.end) if segment.start < x < segment.end)
    cuts = sorted(cuts)
    pieces = []
    for a, b in pairwise(cuts):
        codes = sorted({c.code.name for c in codings if c.start < b and c.end > a})
        pieces.append({"start": a, "text": text[a:b], "codes": codes})
    return pieces


def _coding_context(request, transcript: Transcript) -> dict:
    study = transcript.study
    mine = list(
        Coding.objects.for_user(request.user)
        .filter(transcript=transcript, coder=request.user)
        .select_related("code__version")
    )
    units = []
    for segment in transcript.segments.filter(kind=study.unit):
        pieces = _pieces(segment, transcript.text, mine)
        codes = sorted({name for piece in pieces for name in piece["codes"]})
        question = bool(study.interviewer) and segment.speaker == study.interviewer
        units.append({"segment": segment, "pieces": pieces, "codes": codes, "question": question})
    codebook = _codebook_tree(study.codebook())
    return {
        "study": study,
        "transcript": transcript,
        "units": units,
        "codebook": [
            (code, depth, i + 1 if i < KEYED_CODES else None)
            for i, (code, depth) in enumerate(codebook)
        ],
        "codings": mine,
        "finished": Completion.objects.filter(transcript=transcript, coder=request.user).exists(),
        "comparable": transcript.frozen,
        **_permissions(request.user, study),
    }


@login_required
@require_GET
def transcript_code(request, pk: int, transcript: int):
    """The coding page: the transcript by unit, my codings, and the codebook to apply."""
    transcript = _transcript(request, pk, transcript)
    context = _coding_context(request, transcript)
    template = "studies/_coding.html" if request.htmx else "studies/transcript_code.html"
    return render(request, template, context)


def _after_coding(request, transcript: Transcript, error: str = ""):
    if request.htmx:
        context = {**_coding_context(request, transcript), "error": error}
        return render(request, "studies/_coding.html", context, status=400 if error else 200)
    if error:
        messages.error(request, error)
    return redirect("studies:code", pk=transcript.study_id, transcript=transcript.pk)


@login_required
@require_POST
def coding_add(request, pk: int, transcript: int):
    transcript = _transcript(request, pk, transcript, Action.CHANGE)
    version = transcript.study.codebook()
    code = version.codes.filter(pk=request.POST.get("code") or 0).first() if version else None
    try:
        start, end = int(request.POST.get("start", "")), int(request.POST.get("end", ""))
    except ValueError:
        return _after_coding(request, transcript, "Select some text, or a unit, then a code.")
    if code is None:
        return _after_coding(request, transcript, "Choose a code from the current codebook.")
    try:
        services.add_coding(transcript, request.user, code, start, end)
    except InputError as error:
        return _after_coding(request, transcript, error.message)
    return _after_coding(request, transcript)


@login_required
@require_POST
def coding_remove(request, pk: int, transcript: int, coding: int):
    transcript = _transcript(request, pk, transcript, Action.CHANGE)
    get_object_or_404(
        Coding.objects.for_user(request.user, Action.CHANGE), pk=coding, transcript=transcript
    ).delete()
    return _after_coding(request, transcript)


@login_required
@require_POST
def transcript_finish(request, pk: int, transcript: int):
    """A coder marks the transcript finished (or, again, not finished)."""
    transcript = _transcript(request, pk, transcript, Action.CHANGE)
    if transcript.frozen:
        return _after_coding(request, transcript, services.FROZEN.capitalize() + ".")
    done = Completion.objects.filter(transcript=transcript, coder=request.user)
    if done.exists():
        done.delete()
    else:
        Completion.objects.create(transcript=transcript, coder=request.user)
    return _after_coding(request, transcript)


@login_required
@require_POST
def comparison_open(request, pk: int):
    study = _study(request, pk, Action.ADMINISTER)
    try:
        services.open_comparison(study, request.user, request.POST.get("stage", ""))
    except InputError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, study.get_comparison_display() + ".")
    return redirect("studies:agreement", pk=study.pk)


def _subset(request) -> str:
    subset = request.GET.get("subset", "all")
    return subset if subset in agreement.SUBSETS else "all"


@login_required
@require_GET
def agreement_page(request, pk: int):
    study = _study(request, pk)
    subset = _subset(request)
    levels = {}
    for level in agreement.LEVELS:
        figures = agreement.figures(agreement.ratings(study, request.user, level, subset))
        groups = {}
        for figure in figures:
            groups.setdefault(figure.coders, []).append(figure)
        levels[level] = list(groups.items())
    headline = next((f for _, fs in levels["segment"] for f in fs if f.pooled), None)
    return render(
        request,
        "studies/agreement.html",
        {
            "study": study,
            "subset": subset,
            "subsets": agreement.SUBSETS,
            "levels": levels,
            "headline": headline,
            "unit": study.get_unit_display().lower(),
            "comparison_closed": study.comparison == Comparison.CLOSED,
            **_permissions(request.user, study),
        },
    )


@login_required
@require_GET
def disagreement_list(request, pk: int):
    study = _study(request, pk)
    subset = _subset(request)
    rows = agreement.disagreements(study, request.user, subset)
    return render(
        request,
        "studies/disagreements.html",
        {
            "study": study,
            "rows": rows,
            "open": [r for r in rows if r.resolution is None],
            "subset": subset,
            "subsets": agreement.SUBSETS,
            "form": ResolutionForm(),
            **_permissions(request.user, study),
        },
    )


@login_required
@require_POST
def resolve(request, pk: int, segment: int):
    """The lead decides a disagreement on one code in one segment."""
    study = _study(request, pk, Action.ADMINISTER)
    segment = get_object_or_404(
        Segment.objects.for_user(request.user, Action.ADMINISTER).filter(
            transcript__study=study,
            transcript__in=agreement.comparable_transcripts(study, request.user),
        ),
        pk=segment,
    )
    code = request.POST.get("code", "")
    form = ResolutionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether the code applies and say why.")
    else:
        services.resolve(
            segment, code, form.cleaned_data["applies"], form.cleaned_data["reason"], request.user
        )
        messages.success(
            request, f"Resolved “{code}” in {segment.transcript}, {segment.kind} {segment.number}."
        )
    return redirect(reverse("studies:disagreements", args=[study.pk]) + f"#seg-{segment.pk}")


@login_required
def theme_list(request, pk: int):
    study = _study(request, pk)
    perms = _permissions(request.user, study)
    form = ThemeForm(request.POST or None, study=study) if perms["can_lead"] else None
    if request.method == "POST":
        if form is None:
            raise Http404("Only the study lead adds themes.")
        if form.is_valid():
            theme = form.save(commit=False)
            theme.study = study
            try:
                theme.save()
            except IntegrityError:
                form.add_error("name", "A theme with that name exists.")
            else:
                messages.success(request, f"Theme “{theme.name}” added.")
                return redirect("studies:themes", pk=study.pk)
    report = exports.theme_report(study, request.user)
    return render(
        request,
        "studies/themes.html",
        {"study": study, "form": form, "report": report, **perms},
    )


@login_required
@require_GET
def export(request, pk: int, kind: str):
    """Downloads: consensus codings and agreement as CSV, the report as Markdown or Word."""
    study = _study(request, pk)
    if kind not in exports.EXPORTS:
        raise Http404("No export by that name.")
    body, content_type, filename = exports.EXPORTS[kind](study, request.user)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
