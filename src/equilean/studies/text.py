"""Transcript text: reading uploads (.txt, .docx, .vtt), segmentation, and identifier scanning.

Nothing here touches the database, so a bad file is refused before anything is saved.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from equilean.engine.errors import InputError, decode_utf8

FORMATS = {".txt": "Plain text", ".docx": "Word document", ".vtt": "WebVTT captions"}
# A transcript is a few hours of talk at most; anything far larger is the wrong file.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024

# "Interviewer:", "P03:", "Dr. Amara Obi:" at the start of a line opens a speaker turn.
SPEAKER = re.compile(r"^[ \t]*([A-Z][A-Za-z0-9.'\- ]{0,39}):[ \t]+", re.MULTILINE)
BLANK_LINE = re.compile(r"\n[ \t]*\n")
SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+")
# Words whose full stop does not end a sentence.
ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "st", "vs", "e.g", "i.e", "etc", "no", "approx"}
CUE_TIMING = re.compile(r"^(\d{2,}:)?\d{2}:\d{2}\.\d{3}\s+-->\s+(\d{2,}:)?\d{2}:\d{2}\.\d{3}")
VOICE = re.compile(r"<v(?:\.[\w.]+)?\s+([^>]+)>")
TAG = re.compile(r"</?[^>]+>")


def read_upload(name: str, raw: bytes) -> str:
    """The text of an uploaded transcript file; InputError naming the file when it is unusable."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"files ending {suffix or '(no extension)'} are not read",
            file=name,
            hint="upload a .txt, .docx or .vtt file, or paste the text",
        )
    if len(raw) > MAX_UPLOAD_BYTES:
        raise InputError(
            f"the file is {len(raw) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB",
            file=name,
            hint="split the interview into parts",
        )
    if suffix == ".docx":
        text = _read_docx(name, raw)
    else:
        text = decode_utf8(PurePath(name), raw, by_line=True)
        if suffix == ".vtt":
            text = _read_vtt(name, text)
    text = normalise(text)
    if not text.strip():
        raise InputError("the file holds no text", file=name, hint="check you chose the right file")
    return text


def normalise(text: str) -> str:
    """One newline convention and no trailing spaces, so character offsets are stable."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _read_docx(name: str, raw: bytes) -> str:
    import docx

    try:
        document = docx.Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise InputError(
            "not a Word .docx file (it could not be opened as one)",
            file=name,
            hint="open it in Word and save as .docx; an older .doc must be saved as .docx first",
        ) from error
    # Each Word paragraph becomes a paragraph of the transcript.
    return "\n\n".join(p.text for p in document.paragraphs if p.text.strip())


def _read_vtt(name: str, text: str) -> str:
    """Cues as "Speaker: words" paragraphs; consecutive cues of one voice join into one turn."""
    lines = text.split("\n")
    if not lines or not lines[0].startswith("WEBVTT"):
        raise InputError(
            'a WebVTT file starts with the line "WEBVTT"',
            file=name,
            line=1,
            hint="export the captions again as .vtt, or upload them as .txt",
        )
    turns: list[list[str]] = []
    speaker = None
    i = 1
    while i < len(lines):
        line = lines[i].strip()
        if not line or (line.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in line):
            i = _skip_block(lines, i) if line else i + 1
            continue
        if "-->" not in line and i + 1 < len(lines) and "-->" in lines[i + 1]:
            i += 1  # a cue identifier
            line = lines[i].strip()
        if not CUE_TIMING.match(line):
            raise InputError(
                f"expected a cue timing such as 00:00:01.000 --> 00:00:04.000, found {line[:60]!r}",
                file=name,
                line=i + 1,
                hint="check the captions file is complete and not edited by hand",
            )
        i += 1
        words = []
        while i < len(lines) and lines[i].strip():
            words.append(lines[i].strip())
            i += 1
        cue = " ".join(words)
        voice = VOICE.search(cue)
        who = voice.group(1).strip() if voice else speaker
        cue = TAG.sub("", cue).strip()
        if not cue:
            continue
        if turns and who == speaker:
            turns[-1].append(cue)
        else:
            turns.append([f"{who}: " if who else "", cue])
            speaker = who
    return "\n\n".join(turn[0] + " ".join(turn[1:]) for turn in turns)


def _skip_block(lines: list[str], i: int) -> int:
    """The index after a blank line or a NOTE/STYLE/REGION block."""
    if not lines[i].strip():
        return i + 1
    while i < len(lines) and lines[i].strip():
        i += 1
    return i


@dataclass(frozen=True)
class Span:
    """A unit of analysis: `kind` is turn, paragraph or sentence; text[start:end] is its words."""

    kind: str
    number: int
    start: int
    end: int
    speaker: str


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def segment(text: str) -> list[Span]:
    """Split `text` into speaker turns, paragraphs and sentences, each numbered from 1.

    A line beginning "Name: " opens a turn; the label is not part of any unit. Paragraphs end
    at a blank line or a new turn. Sentences end at . ! or ? followed by space, except after
    common abbreviations. Text without speaker labels has one turn per paragraph.
    """
    labels = list(SPEAKER.finditer(text))
    # Paragraph boundaries: blank lines, and each label (whose text is skipped).
    cuts = sorted(
        [(m.start(), m.end(), "") for m in BLANK_LINE.finditer(text)]
        + [(m.start(), m.end(), m.group(1).strip()) for m in labels]
    )
    paragraphs: list[tuple[int, int, str]] = []
    position, speaker = 0, ""
    turn_starts = {m.end(): m.group(1).strip() for m in labels}
    for cut_start, cut_end, label in cuts:
        if cut_start > position:
            paragraphs.append((position, cut_start, speaker))
        position = max(position, cut_end)
        if cut_end in turn_starts:
            speaker = label
    paragraphs.append((position, len(text), speaker))
    spans: list[Span] = []
    kept = [(*_trimmed(text, a, b), who) for a, b, who in paragraphs]
    kept = [(s, e, who) for s, e, who in kept if e > s]
    for number, (start, end, who) in enumerate(kept, 1):
        spans.append(Span("paragraph", number, start, end, who))
    # Turns: from one label to the next; without labels, each paragraph is a turn.
    if labels:
        bounds = [m.end() for m in labels]
        ends = [m.start() for m in labels[1:]] + [len(text)]
        turns = [
            (*_trimmed(text, a, b), m.group(1).strip())
            for a, b, m in zip(bounds, ends, labels, strict=True)
        ]
    else:
        turns = kept
    for number, (start, end, who) in enumerate([t for t in turns if t[1] > t[0]], 1):
        spans.append(Span("turn", number, start, end, who))
    number = 0
    for start, end, who in kept:
        for a, b in _sentences(text, start, end):
            number += 1
            spans.append(Span("sentence", number, a, b, who))
    return spans


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    pieces, position = [], start
    for match in SENTENCE_END.finditer(text, start, end):
        word = text[position : match.start()].rsplit(None, 1)
        last = word[-1].lower().rstrip(".") if word else ""
        following = text[match.end() : match.end() + 1]
        if last in ABBREVIATIONS or not (following.isupper() or following.isdigit()):
            continue
        pieces.append(_trimmed(text, position, match.end()))
        position = match.end()
    pieces.append(_trimmed(text, position, end))
    return [(a, b) for a, b in pieces if b > a]


@dataclass(frozen=True)
class Identifier:
    """Something in a transcript that looks like it identifies a person."""

    kind: str
    line: int
    excerpt: str


IDENTIFIERS = [
    (
        "medical record number",
        re.compile(r"\b(?:MRN|medical record(?: number| no\.?)?)\s*[:#]?\s*[A-Z]{0,3}\d{5,}", re.I),
    ),
    (
        "date of birth",
        re.compile(
            r"\b(?:DOB|date of birth|born(?: on)?)\s*[:\-]?\s*"
            r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{4}-\d{2}-\d{2}|[A-Z][a-z]+ \d{1,2},? \d{4})",
            re.I,
        ),
    ),
    (
        "phone number",
        re.compile(r"(?<!\d)(?:\+?1[\s.\-]?)?\(?\d{3}\)?[\s.\-]\d{3}[\s.\-]\d{4}(?!\d)"),
    ),
]


def scan_identifiers(text: str) -> list[Identifier]:
    """Medical record numbers, dates of birth and phone numbers found in `text`, by line."""
    found = []
    for kind, pattern in IDENTIFIERS:
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Identifier(kind, line, match.group(0)))
    return sorted(found, key=lambda f: (f.line, f.kind))
